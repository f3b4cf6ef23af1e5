"""Every event on the bus, in one module.

Events are frozen dataclasses with slots. The class says the priority: ``CONTROL`` events
(stop, cancel, shutdown) overtake ``DATA`` events in every subscriber: they are delivered by a
separate worker, so they are never stuck behind a busy data handler or a full data queue.

Stages share only this module and the bus; they never import each other.
"""

from __future__ import annotations

import enum
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal


class Priority(enum.IntEnum):
    """Delivery class of an event. Lower value is delivered first."""

    CONTROL = 0
    DATA = 1


_turn_ids = itertools.count(1)


def new_turn_id() -> int:
    """A process-unique, increasing id for one user turn (text or voice)."""
    return next(_turn_ids)


@dataclass(frozen=True, slots=True)
class AudioClip:
    """Mono float32 samples with their rate: audio on the bus never travels without its format
    (as pipecat's ``AudioRawFrame`` and wyoming's ``AudioChunk`` carry theirs). The microphone
    side hands it on at ``audio.format.CAPTURE_RATE``; a consumer that needs another rate
    resamples (``audio.resample.resample``)."""

    samples: Any = field(repr=False)
    """numpy.ndarray, float32, 1-D"""
    rate: int

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"an audio clip needs a positive sample rate, not {self.rate}")

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of all events. ``ts`` is ``time.monotonic()`` at creation."""

    priority: ClassVar[Priority] = Priority.DATA
    ts: float = field(default_factory=time.monotonic, compare=False)


# ---------------------------------------------------------------------------------------------
# Control events: never dropped, never queued behind data.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ControlEvent(Event):
    priority: ClassVar[Priority] = Priority.CONTROL


@dataclass(frozen=True, slots=True)
class CancelReply(ControlEvent):
    """Stop the reply in progress now (stop button, Ctrl-C, barge-in).

    ``turn_id`` None means whatever reply is running.
    """

    reason: str = "user"
    turn_id: int | None = None


@dataclass(frozen=True, slots=True)
class Shutdown(ControlEvent):
    """The app is closing: stages stop their work and release their engines."""

    reason: str = "exit"


# ---------------------------------------------------------------------------------------------
# Data events
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserText(Event):
    """The user said or typed something complete: one user turn."""

    text: str
    turn_id: int = field(default_factory=new_turn_id)
    source: Literal["text", "voice"] = "text"
    audio: AudioClip | None = field(default=None, compare=False, repr=False)
    """For a spoken turn: what was said, for the voice's tone."""


DialogueStateName = Literal["idle", "listening", "thinking", "speaking"]


@dataclass(frozen=True, slots=True)
class DialogueState(Event):
    """The turn-taking state changed (drives the GUI's presence element)."""

    state: DialogueStateName
    turn_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReplyStarted(Event):
    turn_id: int


@dataclass(frozen=True, slots=True)
class ReplyToken(Event):
    """A piece of the reply text as the LM streams it (already free of control tokens)."""

    turn_id: int
    text: str


@dataclass(frozen=True, slots=True)
class ReplySentence(Event):
    """A complete, speakable sentence of the reply, as early as it is known."""

    turn_id: int
    index: int
    text: str


FinishReason = Literal["stop", "length", "deadline", "cancelled", "error"]


@dataclass(frozen=True, slots=True)
class ReplyFinished(Event):
    """The reply ended. ``text`` is everything that was produced (and kept in the history)."""

    turn_id: int
    text: str
    reason: FinishReason
    tokens: int = 0
    first_token_s: float | None = None
    total_s: float = 0.0
    prompt_tokens: int = 0
    """tokens of the prompt sent to the LM (its last attempt)"""
    cached_tokens: int = 0
    """of which the LM reused from its cache; ``prompt_tokens - cached_tokens`` were read anew"""
    speculative: bool = False
    """the reply was begun at the user's pause, before the turn ended, and kept (``dialogue``)"""
    speculation: str = ""
    """what became of a reply begun at the pause: "adopted with N tokens already written", or
    why it was dropped ("other words or notes", "not ready", …); "" when none was begun"""
    held_chars: int = 0
    """Characters of the LM's text the reply filter left out before the first spoken chunk:
    what filtering cost the first sound (0 in the common case)."""
    read_after_end: int = 0
    """prompt tokens the LM read for this reply after the user's turn ended (0 when a reply
    begun at the pause had written its first token by then): what the reply still had to
    read, the share of the first sound that speculation and the previewed notes aim at"""
    written_ahead: int = 0
    """tokens of an adopted reply (``speculative``) already written when the turn ended"""


ErrorCategory = Literal["model", "config", "audio", "network", "handler", "internal", "input"]


@dataclass(frozen=True, slots=True)
class StageError(Event):
    """A stage failed. ``message`` is for people: what happened and what to do, in plain words."""

    stage: str
    category: ErrorCategory
    message: str
    detail: str = ""
    fatal: bool = False


@dataclass(frozen=True, slots=True)
class Notice(Event):
    """Something the user should know that is not an error (context trimmed, model degraded…)."""

    stage: str
    message: str


@dataclass(frozen=True, slots=True)
class BusOverflow(Event):
    """A subscriber's bounded queue was full and events were dropped by its policy."""

    subscriber: str
    dropped: int


# ---------------------------------------------------------------------------------------------
# Affect and memory (the user's feelings over time, and what she remembers)
# ---------------------------------------------------------------------------------------------

EmotionLabel = Literal["joy", "sadness", "anger", "fear", "surprise", "neutral"]


@dataclass(frozen=True, slots=True)
class AffectEstimate(Event):
    """How the user seems to feel in one turn. ``scores`` are per-emotion probabilities."""

    turn_id: int
    label: EmotionLabel
    valence: float
    """-1 (very negative) .. 1 (very positive)"""
    arousal: float
    """0 (calm) .. 1 (excited/agitated)"""
    confidence: float
    scores: tuple[tuple[str, float], ...] = ()
    source: Literal["text", "voice", "text+voice", "lm"] = "text"


@dataclass(frozen=True, slots=True)
class MoodUpdate(Event):
    """The smoothed mood after a turn: now, this session, and the long-term baseline."""

    valence: float
    arousal: float
    session_valence: float
    baseline_valence: float
    baseline_arousal: float


@dataclass(frozen=True, slots=True)
class MoodChange(Event):
    """A notable change worth mentioning gently (e.g. several low evenings in a row)."""

    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class MemoryStored(Event):
    memory_id: int
    kind: str
    text: str
    updated: bool = False
    """True when an existing memory was updated (a contradiction resolved) instead of added."""


@dataclass(frozen=True, slots=True)
class MemoryForgotten(Event):
    memory_id: int | None
    """None: everything was forgotten."""


# ---------------------------------------------------------------------------------------------
# Voice: devices, listening, speaking
# ---------------------------------------------------------------------------------------------

DeviceKind = Literal["input", "output"]


@dataclass(frozen=True, slots=True)
class DeviceStatus(ControlEvent):
    """A microphone or speaker became available or unavailable (unplugged, busy, none at all).

    ``message`` is for people ("microphone unavailable: … — typing still works").
    """

    kind: DeviceKind
    available: bool
    device: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class AudioLevel(Event):
    """Live audio level for the GUI's presence element (about 30 per second per source)."""

    source: DeviceKind
    rms: float
    """0..1, linear"""
    peak: float


@dataclass(frozen=True, slots=True)
class ListenMode(ControlEvent):
    """The user chose how the microphone is used: off, push-to-talk or hands-free."""

    mode: Literal["off", "push_to_talk", "hands_free"]


@dataclass(frozen=True, slots=True)
class PushToTalk(ControlEvent):
    """The push-to-talk key or button was pressed (True) or released (False)."""

    pressed: bool


@dataclass(frozen=True, slots=True)
class UserTyping(ControlEvent):
    """The user is typing a message (the window sends it at most every ``TYPING_EVERY_S``):
    background work gives way, as it does when they start speaking."""


TYPING_EVERY_S = 0.5


@dataclass(frozen=True, slots=True)
class SpeechStarted(ControlEvent):
    """Voice activity began (a control event: it drives barge-in)."""

    utterance_id: int


@dataclass(frozen=True, slots=True)
class SpeechResumed(ControlEvent):
    """The user spoke again after a pause of the same utterance (anything begun at the pause,
    such as a speculative reply, is stale)."""

    utterance_id: int


@dataclass(frozen=True, slots=True)
class SpeechEnded(Event):
    """End of the user's utterance, with its audio (pre-roll included)."""

    utterance_id: int
    audio: AudioClip = field(compare=False, repr=False)
    duration_s: float = 0.0
    """(``ts``, as for every event, is when the end of the utterance was decided)"""
    end_reason: str = "silence"
    """Which rule ended it: "smart_turn" (the end-of-turn model at a short pause),
    "transcript" (the pause's transcript read as finished), "silence" (the full end silence),
    "push_to_talk", "max_length" or "flush"."""
    turn_probability: float | None = None
    """The end-of-turn model's P(finished) at the last pause (None: not run)."""
    transcript_verdict: str = ""
    """What the pause's transcript said when the turn ended: "finished", "open", "unsure", or
    "waiting" (not decoded yet); "" when there was no pause before the end."""


@dataclass(frozen=True, slots=True)
class SpeechProgress(Event):
    """The utterance so far, while the user is still speaking (for partial transcripts)."""

    utterance_id: int
    audio: AudioClip = field(compare=False, repr=False)
    pause: bool = False
    """The user just fell silent: this may be the whole utterance (transcribe it now, so the
    transcript is ready when the end of the utterance is confirmed)."""


@dataclass(frozen=True, slots=True)
class EndOfTurnHint(ControlEvent):
    """What the transcript at the user's pause says about the turn: ``finished`` True — it
    reads as a finished sentence, the listener may end the utterance before the full
    end-of-speech silence; False — it ends open ("… lives in", "… and"): wait for the full
    silence whatever the end-of-turn model heard; None — neither (no objection)."""

    utterance_id: int
    finished: bool | None = True


@dataclass(frozen=True, slots=True)
class PartialTranscript(Event):
    """What the user has said so far, while still speaking (may change)."""

    utterance_id: int
    text: str
    pause: bool = False
    """transcribed at a pause in the user's speech (everything said so far), not mid-word"""


@dataclass(frozen=True, slots=True)
class FinalTranscript(Event):
    """The transcript of a whole utterance (empty text: nothing intelligible was said)."""

    utterance_id: int
    text: str
    language: str = ""
    audio_s: float = 0.0
    decode_s: float = 0.0


@dataclass(frozen=True, slots=True)
class SpeakingStarted(Event):
    """The first audio of a reply reached the speaker."""

    turn_id: int


@dataclass(frozen=True, slots=True)
class SpeakingFinished(Event):
    """The reply's audio ended. ``spoken_text`` is what the user actually heard."""

    turn_id: int
    spoken_text: str
    interrupted: bool = False
