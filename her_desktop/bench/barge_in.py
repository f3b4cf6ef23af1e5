"""Barge-in → silence on a real sound device: how fast she stops, as the speaker's output shows.

Her reply goes out through the real speaker path (``PlayerSink`` → PortAudio → the sound server),
and an independent recording of the speaker's monitor (on the virtual card, its microphone
``her_mic`` *is* the speaker's monitor) is time-stamped block by block. Each run: ask her
something that takes a while to answer, wait until she has been speaking for a moment, then the
user "starts to speak": the listener's ``SpeechStarted`` is published (that instant is the
moment speech is detected). The figure is the time from that instant to the end of the last
audible 5 ms window of her voice on the monitor.

The recording's own input latency is included (each block is stamped when it is delivered), so
the figure is an upper bound. A run where she was not audible right before the interruption
(she had already finished, or was between sentences) is skipped with the reason; a figure that
cannot be measured is reported as absent, never as zero.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from her_desktop.app import App, Voice, attach_voice, build_app
from her_desktop.audio.format import CAPTURE_RATE
from her_desktop.bench.common import percentile
from her_desktop.config import Settings
from her_desktop.events import Event, SpeakingFinished, SpeakingStarted, SpeechStarted, UserText
from her_desktop.llm.base import LLMEngine
from her_desktop.persona import Persona
from her_desktop.tts.base import TTSEngine

RATE = CAPTURE_RATE
WINDOW = 80
"""5 ms windows at 16 kHz."""
AUDIBLE_RMS = 0.003
"""About -50 dBFS: her voice is above it, the idle virtual card far below."""
LOOK_BEFORE_S = 0.1
"""She must have been audible within this long before the interruption for the run to count."""
LOOK_AFTER_S = 2.0
MIN_COVER_S = 0.5
"""The recording must go on at least this long after the interruption to show silence."""
PROMPTS = (
    "Tell me a long story about a lighthouse keeper and a storm.",
    "Describe a slow walk through an old forest in autumn, in detail.",
    "Tell me about the sea, the tides and the boats, at length please.",
)


class MonitorRecording:
    """Blocks from the monitor, each stamped (monotonic) when PortAudio delivered it."""

    def __init__(self) -> None:
        self.blocks: list[tuple[float, npt.NDArray[np.float32]]] = []

    def add(self, block: npt.NDArray[np.float32]) -> None:
        """The capture callback: append only (atomic; never waits)."""
        self.blocks.append((time.monotonic(), block))

    def windows(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(end time, RMS) of every 5 ms window recorded so far."""
        ends: list[npt.NDArray[np.float64]] = []
        levels: list[npt.NDArray[np.float64]] = []
        for delivered, block in list(self.blocks):
            n = len(block) // WINDOW
            if n == 0:
                continue
            w = block[: n * WINDOW].astype(np.float64).reshape(n, WINDOW)
            levels.append(np.sqrt(np.mean(w**2, axis=1)))
            ends.append(delivered - (len(block) - WINDOW * np.arange(1, n + 1)) / RATE)
        if not ends:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(ends), np.concatenate(levels)

    def silence_after(self, t0: float) -> tuple[float | None, str]:
        """Seconds from ``t0`` to the end of the last audible window in the next
        ``LOOK_AFTER_S``; None with the reason when it cannot be measured."""
        ends, levels = self.windows()
        loud = levels > AUDIBLE_RMS
        before = loud & (ends > t0 - LOOK_BEFORE_S) & (ends <= t0)
        if not before.any():
            return None, "she was not audible right before the interruption"
        if not ends.size or ends.max() < t0 + MIN_COVER_S:
            return None, "the monitor recording stopped after the interruption"
        after = loud & (ends > t0) & (ends <= t0 + LOOK_AFTER_S)
        if not after.any():
            return 0.0, ""  # silent within the window that held the interruption
        return float(ends[after].max() - t0), ""


@dataclass
class BargeInResult:
    to_silence_s: list[float] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        values = self.to_silence_s
        return {
            "runs": len(values),
            "median": round(statistics.median(values), 4) if values else None,
            "p90": round(percentile(values, 90), 4) if values else None,
            "values": [round(v, 4) for v in values],
            "skipped": self.skipped,
            "measured_as": "speech detected (SpeechStarted) → her voice's last audible 5 ms on "
            "the recorded speaker monitor; includes the recording's input latency",
        }


async def _interrupt_once(
    app: App, voice: Voice, recording: MonitorRecording, prompt: str, rng: random.Random
) -> tuple[float | None, str]:
    started = asyncio.Event()
    finished = asyncio.Event()

    async def watch(event: Event) -> None:
        if isinstance(event, SpeakingStarted):
            started.set()
        elif isinstance(event, SpeakingFinished):
            finished.set()

    sub = app.bus.subscribe((SpeakingStarted, SpeakingFinished), watch, name="barge-in-bench")
    try:
        app.dialogue.reset()
        await app.bus.publish(UserText(prompt))
        try:
            await asyncio.wait_for(started.wait(), 120)
        except TimeoutError:
            return None, "she did not start speaking within 120 s"
        await asyncio.sleep(rng.uniform(0.6, 1.2))
        if finished.is_set():
            return None, "she had finished before the interruption"
        t0 = time.monotonic()
        await app.bus.publish(SpeechStarted(-1))
        try:
            await asyncio.wait_for(finished.wait(), 10)
        except TimeoutError:
            return None, "she did not stop within 10 s"
        await asyncio.sleep(LOOK_AFTER_S)
        return recording.silence_after(t0)
    finally:
        await app.bus.unsubscribe(sub)
        await asyncio.sleep(0.3)  # the cancelled reply settles before the next one


async def measure_barge_in(
    settings: Settings,
    persona: Persona,
    *,
    runs: int = 10,
    engine: LLMEngine | None = None,
    tts: TTSEngine | None = None,
    monitor: str = "",
    seed: int = 7,
) -> BargeInResult:
    """Interrupt her ``runs`` times on the default speaker, recording the input ``monitor``
    (a device that hears the speaker; on the virtual card the default microphone)."""
    from her_desktop.audio.capture import AudioCapture

    result = BargeInResult()
    recording = MonitorRecording()
    capture = AudioCapture(monitor, on_audio=recording.add)
    await asyncio.to_thread(capture.start)
    app = build_app(settings, persona, engine=engine, with_memory=False)
    await app.start()
    try:
        # no microphone for the app: the "user" is the published SpeechStarted, so the monitor
        # recording holds her voice only
        voice = await attach_voice(app, microphone=False, tts=tts)
        await asyncio.gather(app.dialogue.warm_up(), voice.speaker.warm_up())
        rng = random.Random(seed)
        for i in range(runs):
            value, why = await _interrupt_once(
                app, voice, recording, PROMPTS[i % len(PROMPTS)], rng
            )
            if value is None:
                result.skipped.append(why)
            else:
                result.to_silence_s.append(value)
    finally:
        await app.stop()
        await asyncio.to_thread(capture.close)
    return result
