"""One whole voice turn from recorded audio: feed it to the listener, wait for her spoken answer,
and time every stage. Used by ``her-desktop converse`` and ``her-desktop bench voice``.

A harness around a built :class:`~her_desktop.app.App`, not a stage: it sits above ``app.py``
beside its callers, so nothing under ``voice/`` imports the app.

Times are measured on the bus (every event carries its monotonic creation time) and reported
in seconds after the end of the user's speech:

* ``speech_end``: the last sample of the user's speech was heard (fed at real time), or the
  audio ran out (fed as fast as possible);
* ``vad_end``: the listener decided the utterance was over (after ``vad.end_silence_ms``);
* ``final_transcript``, ``lm_first_token``, ``first_sentence``, ``first_audio`` (TTS produced
  it), ``first_played`` (it reached the speaker).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from her_desktop.app import App, Voice
from her_desktop.audio.format import CAPTURE_RATE, VAD_BLOCK
from her_desktop.bus import Bus, Overflow
from her_desktop.events import (
    DialogueState,
    Event,
    FinalTranscript,
    Notice,
    PartialTranscript,
    ReplyFinished,
    ReplySentence,
    ReplyStarted,
    SpeakingFinished,
    SpeakingStarted,
    SpeechEnded,
    SpeechResumed,
    SpeechStarted,
    StageError,
)
from her_desktop.tts.base import TTSEngine

BLOCK = VAD_BLOCK
SAMPLE_RATE = CAPTURE_RATE
TAIL_SILENCE_S = 1.5


@dataclass
class TurnResult:
    transcript: str = ""
    reply: str = ""
    heard: str = ""
    interrupted: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    """seconds after the end of the user's speech"""
    problems: list[str] = field(default_factory=list)
    audio_s: float = 0.0
    transcribe_s: float = 0.0
    tokens: int = 0
    reply_s: float = 0.0
    barge_in: dict[str, float] = field(default_factory=dict)
    """seconds from the interruption to the speaking stage ending the reply, and to the LM
    stopping (silence on a real speaker: ``bench.barge_in``)"""
    end_reason: str = ""
    """the end-of-turn rule that fired (``SpeechEnded.end_reason``)"""
    turn_probability: float | None = None
    """the end-of-turn model's P(finished) at the last pause"""
    transcript_verdict: str = ""
    """what the pause's transcript said when the turn ended (``SpeechEnded``)"""
    speculative: bool = False
    """her reply was begun at the user's pause and adopted at the end of the turn"""
    speculation: str = ""
    """what became of a reply begun at the pause (``ReplyFinished.speculation``)"""
    prompt_tokens: int = 0
    cached_tokens: int = 0
    """of the reply's prompt: tokens, and how many the LM reused from its cache"""
    read_after_end: int = 0
    """prompt tokens the LM read after the turn ended (``ReplyFinished.read_after_end``)"""
    written_ahead: int = 0
    """tokens an adopted reply had written when the turn ended"""

    @property
    def ok(self) -> bool:
        return bool(self.transcript and self.reply) and not self.problems


class _Recorder:
    """Collects the events of one voice turn from the bus.

    If the user pauses mid-thought, starts again and so interrupts her first answer, the turn
    follows them: the transcript is everything they said, and the reply, heard text and
    timings are those of her answer to the whole of it (the last reply)."""

    KINDS = (
        SpeechStarted,
        SpeechEnded,
        FinalTranscript,
        PartialTranscript,
        SpeechResumed,
        ReplyStarted,
        DialogueState,
        ReplySentence,
        ReplyFinished,
        SpeakingStarted,
        SpeakingFinished,
        StageError,
        Notice,
    )

    def __init__(self) -> None:
        self.barge_in_after_s: float | None = None
        self.bus: Bus | None = None
        self.barge_in_ts: float | None = None
        self._barge: asyncio.Task[None] | None = None
        self.ended: SpeechEnded | None = None
        self.final_ts: float | None = None
        self.pause_ts: float | None = None
        """when the latest pause transcript came (a reply may be begun on it)"""
        self.turn_firsts: dict[tuple[int, type[Event]], float] = {}
        self.finished: ReplyFinished | None = None
        self.stopped: SpeakingFinished | None = None
        self.done = asyncio.Event()
        self.reply_done = asyncio.Event()
        self.result = TurnResult()
        self.turn_id: int | None = None
        self._heard_words: list[str] = []
        self._turn_open = False

    async def on_event(self, event: Event) -> None:
        r = self.result
        if isinstance(event, StageError):
            r.problems.append(event.message)
        elif isinstance(event, SpeechEnded):
            self.ended = event
            r.end_reason, r.turn_probability = event.end_reason, event.turn_probability
            r.transcript_verdict = event.transcript_verdict
        elif isinstance(event, PartialTranscript):
            if event.pause and event.text:
                self.pause_ts = event.ts
        elif isinstance(event, SpeechResumed):
            self.pause_ts = None  # the user went on: a reply begun at that pause was dropped
        elif isinstance(event, FinalTranscript):
            self.final_ts = event.ts
            r.transcribe_s = event.decode_s
            if event.text:
                self._heard_words.append(event.text)
                r.transcript = " ".join(self._heard_words)
            elif not self._turn_open:
                self.done.set()  # nothing (more) to answer
        elif isinstance(event, ReplyStarted):
            self.turn_id, self._turn_open = event.turn_id, True
            self.reply_done.clear()
        elif isinstance(event, DialogueState) and event.state == "speaking":
            # the dialogue turns "speaking" at the LM's first token (the text it shows comes
            # sentence by sentence, after the reply filter)
            if event.turn_id is not None:
                self.turn_firsts.setdefault((event.turn_id, DialogueState), event.ts)
        elif isinstance(event, ReplySentence | SpeakingStarted):
            self.turn_firsts.setdefault((event.turn_id, type(event)), event.ts)
            if isinstance(event, SpeakingStarted) and self.barge_in_after_s is not None:
                self._barge = asyncio.create_task(self._barge_in(self.barge_in_after_s))
        elif isinstance(event, ReplyFinished) and event.turn_id == self.turn_id:
            self.finished = event
            r.reply, r.tokens, r.reply_s = event.text, event.tokens, event.total_s
            r.speculative, r.speculation = event.speculative, event.speculation
            r.prompt_tokens, r.cached_tokens = event.prompt_tokens, event.cached_tokens
            r.read_after_end, r.written_ahead = event.read_after_end, event.written_ahead
            self.reply_done.set()
            if event.reason == "error" or (not event.text and event.reason != "cancelled"):
                self._turn_open = False
                self.done.set()
        elif isinstance(event, SpeakingFinished) and event.turn_id == self.turn_id:
            self.stopped = event
            r.heard, r.interrupted = event.spoken_text, event.interrupted
            self._turn_open = False
            if not event.interrupted or self.barge_in_ts is not None:
                self.done.set()
            # else: the user spoke again; her answer to all of it comes next

    async def _barge_in(self, after_s: float) -> None:
        await asyncio.sleep(after_s)
        assert self.bus is not None
        self.barge_in_ts = time.monotonic()
        await self.bus.publish(SpeechStarted(-1))

    def ts(self, kind: type[Event]) -> float | None:
        """When the latest reply's first ``kind`` event happened."""
        if self.turn_id is None:
            return None
        return self.turn_firsts.get((self.turn_id, kind))


def _trim(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    loud = np.flatnonzero(np.abs(audio) > 0.02 * float(np.abs(audio).max() or 1.0))
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio


def spoken_question(tts: TTSEngine, text: str) -> npt.NDArray[np.float32]:
    """``text`` said by ``tts`` at 16 kHz, as a person would say it: sentences joined by a
    short breath (0.25 s; the engine's own silences around each sentence are cut), and no
    silence before the first word or after the last (so "end of speech" is the last word)."""
    from her_desktop.audio.resample import resample

    gap = np.zeros(int(0.25 * SAMPLE_RATE), dtype=np.float32)
    parts: list[npt.NDArray[np.float32]] = []
    for chunk in tts.synthesize(text):
        if parts:
            parts.append(gap)
        parts.append(_trim(resample(chunk.samples, chunk.sample_rate, SAMPLE_RATE)))
    if not parts:
        raise ValueError(f"the voice has nothing to say for {text!r}")
    return np.concatenate(parts)


def blocks(audio: npt.NDArray[np.float32], *, tail_s: float = TAIL_SILENCE_S) -> list[Any]:
    """The audio as 512-sample blocks, followed by ``tail_s`` of silence (ends the utterance)."""
    tail = np.zeros(int(tail_s * SAMPLE_RATE), dtype=np.float32)
    padded = np.concatenate((np.asarray(audio, dtype=np.float32).reshape(-1), tail))
    padded = np.pad(padded, (0, -len(padded) % BLOCK))
    return [padded[i : i + BLOCK] for i in range(0, len(padded), BLOCK)]


async def run_voice_turn(
    app: App,
    voice: Voice,
    audio: npt.NDArray[np.float32],
    *,
    realtime: bool = False,
    timeout_s: float = 180.0,
    barge_in_after_s: float | None = None,
) -> TurnResult:
    """Feed ``audio`` (16 kHz mono float32) to the listener and wait for the spoken answer.

    ``barge_in_after_s``: that long after her first sound, act as if the user spoke again
    (``SpeechStarted``) and time how quickly she falls silent and the LM stops.
    """
    recorder = _Recorder()
    recorder.barge_in_after_s = barge_in_after_s
    recorder.bus = app.bus
    sub = app.bus.subscribe(
        _Recorder.KINDS, recorder.on_event, name="voice-turn", overflow=Overflow.BLOCK
    )
    speech_blocks = -(-len(audio) // BLOCK)
    speech_end = time.monotonic()
    try:
        start = time.monotonic()
        for index, block in enumerate(blocks(audio)):
            if realtime:
                delay = start + index * BLOCK / SAMPLE_RATE - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            voice.listener.feed(block)
            if index == speech_blocks - 1:
                speech_end = time.monotonic()
        if not realtime:
            await voice.listener.drain()
            speech_end = time.monotonic()
        try:
            await asyncio.wait_for(recorder.done.wait(), timeout_s)
            if barge_in_after_s is not None:
                await asyncio.wait_for(recorder.reply_done.wait(), 10.0)
        except TimeoutError:
            recorder.result.problems.append(f"no spoken answer within {timeout_s:.0f} s")
    finally:
        await app.bus.unsubscribe(sub)
    result = recorder.result
    result.audio_s = len(audio) / SAMPLE_RATE
    ended = recorder.ended
    origin = speech_end if realtime or ended is None else ended.ts
    marks: dict[str, float | None] = {
        "speech_end": speech_end if realtime else None,
        # fed faster than real time, the end decision is the origin itself
        "vad_end": ended.ts if ended is not None and realtime else None,
        "pause_transcript": recorder.pause_ts,
        "final_transcript": recorder.final_ts,
        "lm_first_token": recorder.ts(DialogueState),
        "first_sentence": recorder.ts(ReplySentence),
        "first_audio": voice.speaker.last_first_audio,
        "first_played": recorder.ts(SpeakingStarted),
    }
    result.timings = {k: round(v - origin, 4) for k, v in marks.items() if v is not None}
    if recorder.barge_in_ts is not None and recorder.stopped is not None:
        result.barge_in = {"to_reply_stopped": round(recorder.stopped.ts - recorder.barge_in_ts, 4)}
        finished = recorder.finished
        if finished is not None and finished.reason == "cancelled":
            result.barge_in["to_lm_stopped"] = round(finished.ts - recorder.barge_in_ts, 4)
    return result
