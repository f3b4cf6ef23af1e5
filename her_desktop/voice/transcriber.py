"""The transcribing stage: utterances → text, and the text → a user turn.

* ``SpeechProgress`` → a cheap partial decode → ``PartialTranscript`` (live text in the window).
  Partials never queue up: while one decodes, newer progress replaces older, and a partial
  never delays the final transcript by more than the one decode in flight.
* ``SpeechEnded`` → the final decode → ``FinalTranscript`` and, when something was said,
  ``UserText(source="voice")``. Silence and noise give an empty transcript and no turn.
* Decodes are not locked: Whisper's owner thread (``native_calls.py``) runs them one at a
  time, and each waits at most ``stt.whisper.transcribe_limit_s``, its turn in the queue
  included. The stage only counts its decodes in flight (``_decoding``, on the loop) so that a
  partial is skipped while another decode runs; a final or pause decode queues behind at most
  that one partial.
* Pauses: when the user falls silent (``SpeechProgress(pause=True)``) the audio so far is
  transcribed at once, in order with the final. If the utterance then ends without more speech
  (the end rule waits ``vad.end_silence_ms``), that transcript *is* the final one: no decode is
  left to do when the end of the utterance is confirmed.
* A recogniser that cannot load is reported once in plain words; typing keeps working and
  the next utterance tries again.
"""

from __future__ import annotations

import asyncio
import logging
import re

from her_desktop.audio.format import CAPTURE_RATE
from her_desktop.audio.resample import FloatArray, resample
from her_desktop.bus import Bus, Overflow
from her_desktop.events import (
    AudioClip,
    EndOfTurnHint,
    FinalTranscript,
    PartialTranscript,
    SpeechEnded,
    SpeechProgress,
    UserText,
)
from her_desktop.stage import Stage
from her_desktop.stt.base import STTEngine, STTError, Transcript

log = logging.getLogger(__name__)

_OPEN_ENDINGS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "so",
        "because",
        "if",
        "that",
        "to",
        "of",
        "for",
        "with",
        "my",
        "your",
        "our",
        "their",
        "um",
        "uh",
    ]
)


def reads_finished(text: str) -> bool:
    """Does a transcript read as a finished turn? A question of two words or more, or a
    statement of three or more that does not end on a word asking for more ("to the.")."""
    text = text.strip()
    if not text or text.endswith(("...", "…", ",")) or text[-1] not in ".?!":
        return False
    words = re.findall(r"[\w']+", text.lower())
    if text.endswith("?"):
        return len(words) >= 2
    # "Hi Samantha!" or "Well." often lead into more: only longer statements end early
    return len(words) >= 3 and words[-1] not in _OPEN_ENDINGS


_OPEN_TAIL = _OPEN_ENDINGS | frozenset(
    [
        "in",
        "on",
        "at",
        "about",
        "from",
        "into",
        "by",
        "like",
        "was",
        "is",
        "are",
        "were",
        "i",
        "we",
        "he",
        "she",
        "they",
        "it's",
        "i'm",
        "then",
        "when",
        "where",
        "which",
        "who",
        "what",
        "than",
        "as",
        "his",
        "her",
        "its",
        "this",
        "these",
        "those",
        "some",
        "er",
        "erm",
        "hmm",
    ]
)


def reads_open(text: str) -> bool:
    """Does a transcript end mid-thought? A trailing comma or ellipsis, or a last word that
    asks for more ("… lives in", "… and", "… the")."""
    text = text.strip()
    if not text:
        return False
    if text.endswith(("...", "…", ",", "-", "—")):
        return True
    words = re.findall(r"[\w']+", text.lower())
    return bool(words) and words[-1] in _OPEN_TAIL


def for_stt(clip: AudioClip) -> FloatArray:
    """The clip's samples at the speech model's rate (the capture rate)."""
    if clip.rate == CAPTURE_RATE:
        samples: FloatArray = clip.samples
        return samples
    return resample(clip.samples, clip.rate, CAPTURE_RATE)


PAUSE_SLACK_SAMPLES = 3 * 512
"""A pause transcript may miss this much audio at the end (VAD chunk rounding)."""


class TranscribeStage(Stage):
    name = "transcriber"

    def __init__(
        self,
        bus: Bus,
        stt: STTEngine,
        *,
        partials: bool = True,
        end_silence_s: float = 0.6,
        predictive_end: bool = True,
    ) -> None:
        super().__init__(bus)
        self.predictive_end = predictive_end
        self.end_silence_s = end_silence_s
        self.stt = stt
        self.partials = partials
        self._decoding = 0
        """This stage's decodes in flight (changed on the loop only)."""
        self._latest_final: int = -1
        self._at_pause: tuple[int, int, Transcript] | None = None
        """(utterance id, samples, transcript) of the latest pause"""
        self.reused_pauses = 0
        self._next_pause: SpeechProgress | None = None
        self._pause_task: asyncio.Task[None] | None = None
        self._reported: str | None = None

    async def setup(self) -> None:
        self.subscribe((SpeechEnded, SpeechProgress), self._on_final_lane, name="transcriber:final")
        if self.partials:
            self.subscribe(
                SpeechProgress,
                self._on_progress,
                name="transcriber:partial",
                maxsize=1,
                overflow=Overflow.DROP_OLDEST,
            )

    async def _on_final_lane(self, event: SpeechEnded | SpeechProgress) -> None:
        if isinstance(event, SpeechEnded):
            await self._on_speech_ended(event)
        elif event.pause:
            await self._on_pause(event)

    def warm_up(self) -> asyncio.Task[None]:
        """Load the recogniser now, in the background."""
        return self.spawn(self._warm_up(), name="warm-up")

    async def _warm_up(self) -> None:
        try:
            await asyncio.to_thread(self.stt.load)
        except STTError as exc:
            self._report(exc)

    def _transcribe(self, clip: AudioClip, *, partial: bool = False) -> Transcript:
        """In a worker thread: the clip at the speech model's rate (resampled here, never on the
        loop), then decoded."""
        return self.stt.transcribe(for_stt(clip), partial=partial)

    async def _decode(self, clip: AudioClip, *, partial: bool = False) -> Transcript:
        """Decode in a worker thread (bounded by the engine), counted in ``_decoding``."""
        self._decoding += 1
        try:
            return await asyncio.to_thread(self._transcribe, clip, partial=partial)
        finally:
            self._decoding -= 1

    def _report(self, exc: STTError) -> None:
        message = f"{exc} Voice input is off for now; typing still works."
        if message != self._reported:  # once, not at every utterance
            self._reported = message
            self.report("model", message, repr(exc))

    async def _on_pause(self, event: SpeechProgress) -> None:
        """Transcribe the latest pause in the background; newer pauses replace older ones
        that have not started (a decode is never queued behind stale ones)."""
        if event.utterance_id <= self._latest_final:
            return
        self._next_pause = event
        if self._pause_task is None or self._pause_task.done():
            self._pause_task = self.spawn(self._pause_worker(), name="pause")

    async def _pause_worker(self) -> None:
        while self._next_pause is not None:
            event, self._next_pause = self._next_pause, None
            if event.utterance_id <= self._latest_final:
                continue
            try:
                transcript = await self._decode(event.audio)
            except STTError:
                continue  # the final decode reports it
            self._at_pause = (event.utterance_id, len(event.audio), transcript)
            if transcript.text and event.utterance_id > self._latest_final:
                await self.bus.publish(
                    PartialTranscript(event.utterance_id, transcript.text, pause=True)
                )
                if self.predictive_end:
                    text = transcript.text
                    verdict = True if reads_finished(text) else False if reads_open(text) else None
                    await self.bus.publish(EndOfTurnHint(event.utterance_id, verdict))

    def _pause_covers(self, event: SpeechEnded, end_silence_samples: int) -> Transcript | None:
        """The pause transcript, when nothing but the closing silence came after it."""
        if self._at_pause is None or self._at_pause[0] != event.utterance_id:
            return None
        _, samples, transcript = self._at_pause
        if samples + end_silence_samples + PAUSE_SLACK_SAMPLES >= len(event.audio):
            return transcript
        return None

    async def _on_progress(self, event: SpeechProgress) -> None:
        if event.pause:
            return  # the final lane transcribes pauses
        if event.utterance_id <= self._latest_final or self._decoding:
            return  # stale, or a decode is running: the next progress will do
        try:
            transcript = await self._decode(event.audio, partial=True)
        except STTError as exc:
            self._report(exc)
            return
        if event.utterance_id > self._latest_final and transcript.text:
            await self.bus.publish(PartialTranscript(event.utterance_id, transcript.text))

    async def _on_speech_ended(self, event: SpeechEnded) -> None:
        if self._pause_task is not None and not self._pause_task.done():
            if self._next_pause is not None and self._next_pause.utterance_id != event.utterance_id:
                self._next_pause = None
            await asyncio.wait({self._pause_task})  # its decode is most of ours
        self._latest_final = max(self._latest_final, event.utterance_id)
        reused = self._pause_covers(event, int(self.end_silence_s * event.audio.rate))
        self._at_pause = None
        if reused is not None:
            transcript = reused
            self.reused_pauses += 1
        else:
            try:
                transcript = await self._decode(event.audio)
            except STTError as exc:
                self._report(exc)
                await self.bus.publish(FinalTranscript(event.utterance_id, ""))
                return
        self._reported = None
        text = transcript.text.strip()
        await self.bus.publish(
            FinalTranscript(
                event.utterance_id,
                text,
                language=transcript.language,
                audio_s=transcript.audio_s,
                decode_s=transcript.decode_s,
            )
        )
        if text:
            await self.bus.publish(UserText(text, source="voice", audio=event.audio))
