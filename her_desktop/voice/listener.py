"""The listening stage: microphone → echo handling → voice activity → utterances on the bus.

Audio arrives from the PortAudio thread (or ``feed`` for files and tests) and is processed in
one worker thread, in order, together with the user's commands (push-to-talk, listen mode), so
the VAD state is only ever touched by that thread. Results hop to the loop with
``Bus.publish_threadsafe``:

* ``SpeechStarted`` at voice onset (it also drives barge-in), ``SpeechProgress`` about every
  ``PROGRESS_S`` while the user talks (partial transcripts) and at each short pause,
  ``SpeechResumed`` when they go on after such a pause, ``SpeechEnded`` with the audio;
* ``AudioLevel`` about 30 times a second for the GUI;
* ``DeviceStatus`` when the microphone goes away or comes back: the app keeps working by text
  and the microphone is reopened when it returns.

Echo: every block first goes through the echo canceller, which also hears what the speaker
plays. In half-duplex mode the microphone is ignored while she speaks (no voice barge-in).

End of turn — three rules, the first to fire ends the utterance (``SpeechEnded.end_reason``):

* ``smart_turn``: at the first short pause (``PAUSE_CHUNKS``) the end-of-turn model
  (``audio.smart_turn``, ~50 ms here) hears whether the user sounds finished; the turn ends once
  ``predictive_end_ms`` of silence have passed and the pause's transcript raised no objection
  (or, when the transcript is late on a slow machine, after ``model_alone_ms``);
* ``transcript``: the pause's transcript reads as a finished sentence (``EndOfTurnHint``);
* a transcript that ends open ("… lives in", "… for") always waits for the full silence: the
  audio model alone cannot hear that a sentence is unfinished when the voice fell anyway;
* ``silence``: the full ``vad.end_silence_ms`` (the segmenter's own rule), always.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

import numpy as np

from her_desktop.audio.devices import AudioDeviceError
from her_desktop.audio.echo import EchoCanceller, NoEcho
from her_desktop.audio.format import CAPTURE_RATE, VAD_BLOCK_MS
from her_desktop.audio.levels import LevelMeter
from her_desktop.audio.vad import UtteranceEnd, UtteranceSegmenter, UtteranceStart
from her_desktop.bus import Bus
from her_desktop.events import (
    AudioClip,
    AudioLevel,
    DeviceStatus,
    EndOfTurnHint,
    ListenMode,
    PushToTalk,
    Shutdown,
    SpeechEnded,
    SpeechProgress,
    SpeechResumed,
    SpeechStarted,
)
from her_desktop.stage import Stage

log = logging.getLogger(__name__)

PROGRESS_S = 1.5
"""Live partial transcripts of a long utterance this often. Pauses are transcribed at once
anyway; a partial decode in flight delays the one that matters (the pause at the end), so
partials stay rare."""
PAUSE_CHUNKS = 3
"""Silent 32 ms chunks after speech that make a pause worth transcribing (word gaps are
shorter); the end rule (``vad.end_silence_ms``) confirms the end later."""
QUEUE_BLOCKS = 1000  # 32 s of audio: a stalled worker drops the oldest, never grows memory

Mode = Literal["off", "push_to_talk", "hands_free"]
TextVerdict = Literal["waiting", "finished", "open", "unsure"]


class TurnModel(Protocol):
    """An end-of-turn model (``audio.smart_turn.SmartTurn``)."""

    def load(self) -> None: ...

    def complete_probability(self, audio: Any) -> float: ...


CaptureFactory = Callable[..., Any]
"""Called as ``factory(on_audio=…, on_error=…, on_restored=…)`` → an ``AudioCapture``."""


class ListenStage(Stage):
    name = "listener"

    def __init__(
        self,
        bus: Bus,
        segmenter: UtteranceSegmenter,
        *,
        echo: EchoCanceller | None = None,
        capture_factory: CaptureFactory | None = None,
        mode: Mode = "hands_free",
        predictive_end_ms: int = 250,
        turn_model: TurnModel | None = None,
        turn_threshold: float = 0.5,
        model_alone_ms: int = 450,
    ) -> None:
        super().__init__(bus)
        self.predictive_end_ms = predictive_end_ms
        self.turn_model = turn_model
        self.turn_threshold = turn_threshold
        self.model_alone_ms = model_alone_ms
        """how long the model's "finished" waits for the pause's transcript before it ends the
        turn on its own"""
        self.segmenter = segmenter
        self.echo = echo or NoEcho()
        self.capture_factory = capture_factory
        self.mode: Mode = mode
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue(QUEUE_BLOCKS)
        self._worker: threading.Thread | None = None
        self._capture: Any = None
        self._stop_devices = threading.Event()
        self._device_thread: threading.Thread | None = None
        self._meter = LevelMeter()
        self._utterance_id: int | None = None
        self._last_progress = 0.0
        self._was_speech = False
        self._silent_chunks = 0
        self._paused_utterance: int | None = None
        self._model_done = False
        """the end-of-turn model heard a finished turn at this pause"""
        self._text: TextVerdict = "waiting"
        """what the pause's transcript says (``EndOfTurnHint``), or "waiting" for it"""
        self._end_path = "silence"
        """the rule that ended the utterance (for ``SpeechEnded.end_reason``)"""
        self._turn_p: float | None = None
        self._end_verdict = ""
        """the pause transcript's verdict when an early rule ended the utterance"""
        self.dropped_blocks = 0
        self.mic_available: bool | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def setup(self) -> None:
        self.subscribe(
            (ListenMode, PushToTalk, EndOfTurnHint, Shutdown), self._on_control, name="listener:ctl"
        )
        if self.turn_model is not None:
            await self._load_turn_model(self.turn_model)
        self._worker = threading.Thread(target=self._run, name="listener", daemon=True)
        self._worker.start()
        if self.capture_factory is not None and self.mode != "off":
            await self._open_microphone()

    async def teardown(self) -> None:
        self._stop_devices.set()
        await asyncio.to_thread(self._close_microphone)
        self._command(("stop", None))
        if self._worker is not None:
            await asyncio.to_thread(self._worker.join, 2.0)

    async def _load_turn_model(self, model: TurnModel) -> None:
        from her_desktop.events import Notice

        try:
            await asyncio.to_thread(model.load)
        except Exception as exc:  # TurnModelError, or onnxruntime's own
            log.warning("end-of-turn model unavailable: %s", exc)
            self.turn_model = None
            await self.bus.publish(Notice("audio", f"Turns end by silence alone: {exc}"))

    # -- the microphone ----------------------------------------------------------------------

    async def _open_microphone(self) -> None:
        assert self.capture_factory is not None
        if self._capture is None:
            self._capture = self.capture_factory(
                on_audio=self.feed, on_error=self._device_lost, on_restored=self._device_restored
            )
        self._stop_devices.clear()
        try:
            await asyncio.to_thread(self._capture.start)
        except AudioDeviceError as exc:
            self._device_lost(exc)
            self._watch(reconnect=True)
            return
        name = getattr(getattr(self._capture, "device", None), "name", "")
        self._publish(DeviceStatus("input", True, device=name))
        self._watch(reconnect=False)

    def _watch(self, *, reconnect: bool) -> None:
        """Supervise the device in a thread: reopen it when lost (and, first, when absent)."""
        if self._device_thread is not None and self._device_thread.is_alive():
            return
        capture, stop = self._capture, self._stop_devices

        def supervise() -> None:
            if reconnect and not capture.reconnect(stop):
                return
            capture.keep_alive(stop)

        self._device_thread = threading.Thread(target=supervise, name="mic-watch", daemon=True)
        self._device_thread.start()

    def _close_microphone(self) -> None:
        self._stop_devices.set()
        if self._capture is not None:
            self._capture.close()
            self._capture = None
        if self._device_thread is not None:
            self._device_thread.join(timeout=3.0)
            self._device_thread = None

    def _device_lost(self, error: AudioDeviceError) -> None:
        self.mic_available = False
        self._command(("reset", None))
        self._publish(DeviceStatus("input", False, message=str(error)))

    def _device_restored(self, name: str) -> None:
        self.mic_available = True
        self._publish(DeviceStatus("input", True, device=name, message=f"microphone back: {name}"))

    # -- input -------------------------------------------------------------------------------

    def feed(self, block: Any) -> None:
        """Audio in: 16 kHz mono float32 (any length). Thread-safe, never blocks."""
        try:
            self._inbox.put_nowait(("audio", block))
        except queue.Full:
            self.dropped_blocks += 1
            try:  # drop the oldest: fresh audio matters more
                self._inbox.get_nowait()
                self._inbox.put_nowait(("audio", block))
            except (queue.Empty, queue.Full):
                pass

    async def drain(self, wait_s: float = 30.0) -> bool:
        """Wait until everything fed so far has been processed (files, tests)."""
        marker = threading.Event()
        self._command(("mark", marker))
        return await asyncio.to_thread(marker.wait, wait_s)

    def _command(self, item: tuple[str, Any]) -> None:
        """Queue a command for the worker without blocking (the loop and device threads call
        this); a full inbox makes room by dropping its oldest audio block."""
        while True:
            try:
                self._inbox.put_nowait(item)
                return
            except queue.Full:
                self.dropped_blocks += 1
                with contextlib.suppress(queue.Empty):
                    self._inbox.get_nowait()

    async def _on_control(self, event: ListenMode | PushToTalk | EndOfTurnHint | Shutdown) -> None:
        if isinstance(event, EndOfTurnHint):
            self._command(("hint", (event.utterance_id, event.finished)))
        elif isinstance(event, ListenMode):
            previous, self.mode = self.mode, event.mode
            self._command(("mode", event.mode))
            if self.capture_factory is None:
                return
            if event.mode == "off" and previous != "off":
                await asyncio.to_thread(self._close_microphone)
            elif event.mode != "off" and previous == "off":
                await self._open_microphone()
        elif isinstance(event, PushToTalk):
            self._command(("ptt", event.pressed))

    # -- the worker thread -------------------------------------------------------------------

    def _publish(self, event: Any) -> None:
        try:
            self.bus.publish_threadsafe(event)
        except RuntimeError:  # the loop is closing
            log.debug("listener: dropped %s at shutdown", type(event).__name__)

    def _run(self) -> None:
        while True:
            kind, payload = self._inbox.get()
            try:
                if kind == "stop":
                    return
                if kind == "audio":
                    self._process(payload)
                elif kind == "ptt":
                    self._handle(self.segmenter.begin() if payload else self.segmenter.end())
                elif kind == "mode":
                    self.mode = payload
                    if self.segmenter.in_utterance:
                        self._end_path = "flush"
                        self._handle(self.segmenter.flush())
                    self.segmenter.reset()
                elif kind == "reset":
                    self.segmenter.reset()
                    self._utterance_id = None
                elif kind == "hint":
                    utterance, finished = payload
                    if utterance == self._paused_utterance:
                        self._text = (
                            "unsure" if finished is None else "finished" if finished else "open"
                        )
                elif kind == "mark":
                    payload.set()
            except Exception as exc:  # one bad block must not end listening
                log.exception("listener: processing failed")
                self._publish_error(exc)

    def _publish_error(self, exc: Exception) -> None:
        from her_desktop.events import StageError

        self._publish(StageError(self.name, "audio", f"Listening hit a problem: {exc}", repr(exc)))

    def _process(self, block: Any) -> None:
        samples = np.asarray(block, dtype=np.float32).reshape(-1)
        samples = self.echo.capture(samples)
        levels = self._meter.feed(samples, CAPTURE_RATE)
        if levels is not None:
            self._publish(AudioLevel("input", levels.rms, levels.peak))
        if self.mode == "off":
            return
        if self.echo.suppress_barge_in(time.monotonic()):
            # half duplex: her own voice is in the microphone; do not listen now
            if self.segmenter.in_utterance and not self.segmenter.push_to_talk:
                self.segmenter.reset()
                self._utterance_id = None
            return
        if self.mode == "push_to_talk" and not self.segmenter.push_to_talk:
            return  # only the key opens an utterance
        self._handle(self.segmenter.feed(samples))
        if self._utterance_id is None:
            self._was_speech = False
            return
        speech = self.segmenter.last_prob >= self.segmenter.settings.threshold
        self._silent_chunks = 0 if speech else self._silent_chunks + 1
        if speech:
            self._was_speech = True
            if self._paused_utterance is not None:  # the user went on after a pause
                self._publish(SpeechResumed(self._paused_utterance))
            self._paused_utterance = None  # any end hint is stale
            self._model_done = False
            self._text = "waiting"
        pause = (
            self._was_speech
            and self._silent_chunks == PAUSE_CHUNKS
            and not self.segmenter.push_to_talk
        )
        if pause:
            self._paused_utterance = self._utterance_id
            self._text = "waiting"
            # the pause's transcript is on the critical path: the transcriber starts on it
            # first, and the end-of-turn model (one core, ~50 ms) runs meanwhile
            self._progress(pause=True)
            self._judge_turn()
        early = self._early_end(self._silent_chunks * VAD_BLOCK_MS)
        if early is not None:
            # the user sounds (or reads) finished and the pause is long enough: end it now
            self._end_path = early
            self._end_verdict = self._text
            self._model_done = False
            self._text = "waiting"
            self._handle(self.segmenter.flush())
            return
        if not pause and time.monotonic() - self._last_progress > PROGRESS_S:
            self._progress(pause=False)

    def _progress(self, *, pause: bool) -> None:
        audio = self.segmenter.audio_so_far()
        if audio is not None and self._utterance_id is not None:
            self._last_progress = time.monotonic()
            self._publish(
                SpeechProgress(self._utterance_id, AudioClip(audio, CAPTURE_RATE), pause=pause)
            )

    def _early_end(self, silence_ms: int) -> str | None:
        """The rule that ends the turn before the full end silence, or None (keep listening).

        The audio model and the pause's transcript together: a transcript that ends open
        ("… lives in") always waits for the full silence; one that reads finished ends the turn;
        the model's "finished" ends it once the transcript raised no objection — or, when the
        transcript is late (a slow machine), after ``model_alone_ms``."""
        if self._paused_utterance is None or silence_ms < self.predictive_end_ms:
            return None
        if self._text == "open":
            return None
        if self._text == "finished":
            return "smart_turn" if self._model_done else "transcript"
        if self._model_done and (self._text == "unsure" or silence_ms >= self.model_alone_ms):
            return "smart_turn"
        return None

    def _judge_turn(self) -> None:
        """At a short pause: does the user sound finished? (the end-of-turn model)"""
        self._turn_p = None
        self._model_done = False
        model = self.turn_model
        audio = self.segmenter.audio_so_far()
        if model is None or audio is None:
            return
        try:
            self._turn_p = model.complete_probability(audio)
        except Exception as exc:  # the rules without the model still end the turn
            log.warning("end-of-turn model failed; turns end by silence alone: %s", exc)
            self.turn_model = None
            return
        self._model_done = self._turn_p >= self.turn_threshold

    def _handle(self, events: list[UtteranceStart | UtteranceEnd]) -> None:
        for event in events:
            if isinstance(event, UtteranceStart):
                self._utterance_id = event.index
                self._last_progress = time.monotonic()
                self._turn_p = None
                self._publish(SpeechStarted(event.index))
            else:
                self._utterance_id = None
                reason = self._end_path if event.reason == "flush" else event.reason
                verdict = self._end_verdict if event.reason == "flush" else self._text
                if self._paused_utterance is None and event.reason != "flush":
                    verdict = ""
                self._end_path, self._end_verdict = "silence", ""
                self._publish(
                    SpeechEnded(
                        event.index,
                        AudioClip(event.audio, CAPTURE_RATE),
                        duration_s=event.duration_s,
                        end_reason=reason,
                        turn_probability=self._turn_p,
                        transcript_verdict=verdict,
                    )
                )
