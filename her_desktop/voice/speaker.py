"""The speaking stage: reply sentences → TTS → the speaker, one sentence at a time, and barge-in.

* Each ``ReplySentence`` is synthesised (in a worker thread) as soon as it arrives, so the first
  sentence is heard while the LM is still writing the rest.
* ``SpeakingStarted`` when the reply's first sample is played; ``SpeakingFinished`` when its
  last one is, or when it is cut short, with the text the user actually heard (whole sentences
  played plus the played share of the sentence that was cut).
* **Barge-in:** ``SpeechStarted`` (the user talks) while she speaks flushes the speaker at once,
  stops synthesis and asks the dialogue to stop the LM (``CancelReply(reason="barge-in")``).
  The listening stage decides whether speech during her own voice is the user or an echo.
* A voice that cannot be loaded, or a speaker that fails, is reported in plain words; the text
  reply still appears, and later replies try again. A speaker lost mid-reply ends the reply
  (``SpeakingFinished`` with what was heard) and publishes ``DeviceStatus``; the sink reopens
  it when it is back.
* Nothing here blocks the loop on the device: ``flush`` is a request the audio side honours on
  its next block, ``play`` and ``close`` run in worker threads, and audio made before a flush
  (the sink's ``epoch``) is dropped by the sink, never played late.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import numpy as np

from her_desktop.bus import Bus
from her_desktop.events import (
    CancelReply,
    DeviceStatus,
    MoodUpdate,
    ReplyFinished,
    ReplySentence,
    ReplyStarted,
    Shutdown,
    SpeakingFinished,
    SpeakingStarted,
    SpeechStarted,
)
from her_desktop.stage import Stage
from her_desktop.tts.base import TTSEngine, TTSError
from her_desktop.voice.ports import AudioSink

log = logging.getLogger(__name__)

_END = object()


@dataclass
class _Turn:
    turn_id: int
    sentences: asyncio.Queue[ReplySentence | object] = field(default_factory=asyncio.Queue)
    texts: dict[int, str] = field(default_factory=dict)
    finished_chunks: set[int] = field(default_factory=set)
    queued: list[int] = field(default_factory=list)
    started: bool = False
    task: asyncio.Task[None] | None = None
    all_played: asyncio.Event = field(default_factory=asyncio.Event)
    progress: asyncio.Event = field(default_factory=asyncio.Event)
    failed: bool = False
    quiet: bool = False
    """shown, not voiced (``SpeakStage.text_only`` when the reply started)"""
    first_audio: float | None = None
    """monotonic time the TTS produced the reply's first audio"""


@dataclass(frozen=True)
class ChunkTag:
    turn_id: int
    index: int


class SpeakStage(Stage):
    name = "speaker"

    def __init__(
        self,
        bus: Bus,
        tts: TTSEngine,
        sink: AudioSink,
        *,
        speed: Callable[[MoodUpdate | None], float] = lambda mood: 1.0,
    ) -> None:
        super().__init__(bus)
        self.tts = tts
        self.sink = sink
        self.speed = speed
        self.mood: MoodUpdate | None = None
        self.text_only = False
        """replies that start from now on are shown, not voiced (her voice does not speak the
        language the user asked for: ``feedback.language``)"""
        self._turn: _Turn | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.last_first_audio: float | None = None
        """When the TTS produced the latest finished reply's first audio (monotonic; the
        other moments of a turn are the times of its events)."""

    async def setup(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.sink.set_callbacks(
            on_started=self._played_start,
            on_finished=self._played_end,
            on_failed=self._sink_failed,
            on_restored=self._sink_restored,
        )
        self.sink.start()
        self.subscribe((ReplyStarted, ReplySentence, ReplyFinished), self._on_reply)
        self.subscribe((SpeechStarted, CancelReply, Shutdown), self._on_control, name="speaker:ctl")
        self.subscribe(MoodUpdate, self._on_mood, name="speaker:mood")

    async def teardown(self) -> None:
        self.sink.flush()
        await asyncio.to_thread(self.sink.close)  # bounded inside; Stage.stop bounds it too

    def warm_up(self) -> asyncio.Task[None]:
        """Load the voice in the background (a missing voice is reported now, not mid-reply)."""
        return self.spawn(self._warm_up(), name="warm-up")

    async def _warm_up(self) -> None:
        try:
            await asyncio.to_thread(self.tts.load)  # engines warm themselves up as they load
        except TTSError as exc:
            self.report("model", f"{exc} Replies will be shown as text.", repr(exc))

    # -- events ------------------------------------------------------------------------------

    async def _on_reply(self, event: ReplyStarted | ReplySentence | ReplyFinished) -> None:
        if isinstance(event, ReplyStarted):
            await self._interrupt(reason="new reply", tell_dialogue=False)
            new = _Turn(event.turn_id, quiet=self.text_only)
            self._turn = new
            new.task = self.spawn(self._speak(new), name=f"speak-{event.turn_id}")
            return
        turn = self._turn
        if turn is None or turn.turn_id != event.turn_id:
            return  # a reply we were told to drop
        if isinstance(event, ReplySentence):
            turn.texts[event.index] = event.text
            turn.sentences.put_nowait(event)
        else:
            turn.sentences.put_nowait(_END)

    async def _on_mood(self, event: MoodUpdate) -> None:
        self.mood = event  # her pace follows the user's mood (tts.prosody)

    async def _on_control(self, event: SpeechStarted | CancelReply | Shutdown) -> None:
        if isinstance(event, SpeechStarted):
            if self.speaking:
                await self._interrupt(reason="barge-in", tell_dialogue=True)
        elif isinstance(event, CancelReply):
            if event.turn_id is None or (self._turn and self._turn.turn_id == event.turn_id):
                await self._interrupt(reason=event.reason, tell_dialogue=False)
        else:
            await self._interrupt(reason="shutdown", tell_dialogue=False)

    @property
    def speaking(self) -> bool:
        """A reply is being voiced (synthesising or playing)."""
        turn = self._turn
        return turn is not None and not turn.all_played.is_set()

    # -- the turn ----------------------------------------------------------------------------

    async def _speak(self, turn: _Turn) -> None:
        while True:
            item = await turn.sentences.get()
            if item is _END:
                break
            assert isinstance(item, ReplySentence)
            if turn.failed or turn.quiet:
                continue
            try:
                await self._voice_sentence(turn, item)
            except TTSError as exc:
                turn.failed = True
                self.report("model", f"{exc} The reply is shown as text.", repr(exc))
            except Exception as exc:  # a speaker that fails must not take the reply down
                turn.failed = True
                log.exception("speaker: could not play the reply")
                self.report("audio", f"Could not play her voice: {exc}", repr(exc))
                self.bus.publish_nowait(
                    DeviceStatus("output", False, message=f"speaker unavailable: {exc}")
                )
        await self._wait_played(turn)
        self._finish(turn, interrupted=False)

    async def _voice_sentence(self, turn: _Turn, sentence: ReplySentence) -> None:
        epoch = self.sink.epoch  # a flush after this point drops this sentence's audio
        speed = self.speed(self.mood)
        chunks = await asyncio.to_thread(
            lambda: list(self.tts.synthesize(sentence.text, speed=speed))
        )
        if self._turn is not turn or not chunks:
            return
        if turn.first_audio is None:
            turn.first_audio = time.monotonic()
        rate = chunks[0].sample_rate
        if any(chunk.sample_rate != rate for chunk in chunks):
            raise TTSError("the voice changed its sample rate within a sentence")
        samples = np.concatenate([chunk.samples for chunk in chunks]).astype(np.float32)
        turn.queued.append(sentence.index)
        # resampling to the device rate costs ~20 ms per second of audio: not on the loop
        await asyncio.to_thread(
            lambda: self.sink.play(
                samples, rate, ChunkTag(turn.turn_id, sentence.index), epoch=epoch
            )
        )

    async def _wait_played(self, turn: _Turn) -> None:
        while not all(i in turn.finished_chunks for i in turn.queued):
            turn.progress.clear()
            await turn.progress.wait()

    def _finish(self, turn: _Turn, *, interrupted: bool) -> None:
        if turn.all_played.is_set():
            return
        turn.all_played.set()
        heard = (
            self._heard_text(turn)
            if interrupted
            else " ".join(turn.texts[i] for i in sorted(turn.texts))
        )
        self.last_first_audio = turn.first_audio
        self.bus.publish_nowait(SpeakingFinished(turn.turn_id, heard, interrupted=interrupted))

    def _heard_text(self, turn: _Turn) -> str:
        """Whole sentences that were played, plus the played share of the one that was cut."""
        parts: list[str] = []
        for index in sorted(turn.texts):
            text = turn.texts[index]
            if index in turn.finished_chunks:
                parts.append(text)
                continue
            fraction = self.sink.played_fraction(ChunkTag(turn.turn_id, index))
            words = text.split()
            kept = int(len(words) * fraction)
            if kept:
                parts.append(" ".join(words[:kept]) + "…")
            break
        return " ".join(parts)

    async def _interrupt(self, *, reason: str, tell_dialogue: bool) -> None:
        turn = self._turn
        if turn is None or turn.all_played.is_set():
            return
        self.sink.flush()
        if tell_dialogue:
            await self.bus.publish(CancelReply(reason=reason, turn_id=turn.turn_id))
        if turn.task is not None and not turn.task.done():
            turn.task.cancel()
        self._finish(turn, interrupted=True)
        log.debug("speaker: stopped (%s)", reason)

    # -- audio-thread callbacks --------------------------------------------------------------

    def _to_loop(self, fn: Callable[..., object], *args: object) -> None:
        """Hand a call to the event loop from an audio thread (never blocks; dropped when the
        loop has closed)."""
        if self._loop is None:
            return
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closed: the app is shutting down
            log.debug("speaker: dropped a callback at shutdown")

    def _sink_failed(self, message: str) -> None:
        self._to_loop(self._on_sink_failed, message)

    def _sink_restored(self, device: str) -> None:
        status = DeviceStatus("output", True, device=device, message=f"speaker back: {device}")
        self._to_loop(self.bus.publish_nowait, status)

    def _on_sink_failed(self, message: str) -> None:
        """The speaker stopped working: end the reply that was playing (what was heard stays)."""
        self.bus.publish_nowait(DeviceStatus("output", False, message=message))
        turn = self._turn
        if turn is None or turn.all_played.is_set():
            return
        if turn.task is not None and not turn.task.done():
            turn.task.cancel()
        self._finish(turn, interrupted=True)
        log.warning("speaker: reply cut short: %s", message)

    def _played_start(self, tag: Hashable) -> None:
        if isinstance(tag, ChunkTag):
            self._to_loop(self._on_played_start, tag)

    def _played_end(self, tag: Hashable) -> None:
        if isinstance(tag, ChunkTag):
            self._to_loop(self._on_played_end, tag)

    def _on_played_start(self, tag: ChunkTag) -> None:
        turn = self._turn
        if turn is None or turn.turn_id != tag.turn_id or turn.started:
            return
        turn.started = True
        self.bus.publish_nowait(SpeakingStarted(tag.turn_id))

    def _on_played_end(self, tag: ChunkTag) -> None:
        turn = self._turn
        if turn is not None and turn.turn_id == tag.turn_id:
            turn.finished_chunks.add(tag.index)
            turn.progress.set()
