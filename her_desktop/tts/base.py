"""The text-to-speech interface: one small ABC, the audio it yields, and its errors.

Policy:

- ``synthesize(text)`` is a generator that yields ONE :class:`AudioChunk` per sentence, as soon
  as that sentence is synthesised, so playback starts after the first sentence. Sentences come
  from the project's splitter (``her_desktop.sentences``, fed lazily so a megabyte of text
  costs nothing up front); each is normalised for speech (``normalize.py``) and skipped when
  nothing speakable is left (emoji, punctuation), so empty or emoji-only text yields no chunks.
- Cancelling: set the ``cancel`` event (checked before and after each sentence) or simply stop
  iterating; nothing is held between chunks, so dropping or ``close()``-ing the generator frees
  everything at once.
- Engines load lazily (an explicit ``load()``, or the first speakable sentence), leave
  themselves warm (a short synthesis inside ``_load``, so the first real sentence is fast),
  and are called from worker threads, never the asyncio loop. Each engine has one owner thread
  (:class:`~her_desktop.native_calls.NativeCalls`) that makes its model calls, ``_load`` and
  ``_synthesize_one``, one at a time and without a lock; callers wait with a bound
  (:data:`LOAD_LIMIT_S`, :data:`SENTENCE_LIMIT_S`), and a call that hangs leaves the engine
  saying so in plain words (the reply is shown as text) instead of freezing its caller.
- Samples are mono float32 in [-1, 1] at ``sample_rate``; NaN/inf are zeroed, peaks clipped.
- Errors are :class:`TTSError` with a plain message (what happened, what to do); a missing
  voice is :class:`VoiceNotFound`, naming the voice, what is installed, and the fix. Engines
  never download anything: a voice that is not on disk is reported as not installed.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from her_desktop.audio.resample import clean
from her_desktop.native_calls import NativeCalls, NativeTimeout
from her_desktop.numeric import finite_clamp
from her_desktop.sentences import SentenceSplitter
from her_desktop.tts.normalize import normalize_for_speech

__all__ = [
    "MAX_SPEED",
    "MIN_SPEED",
    "AudioArray",
    "AudioChunk",
    "TTSEngine",
    "TTSError",
    "TTSInfo",
    "VoiceInfo",
    "VoiceNotFound",
    "iter_sentences",
]

AudioArray = npt.NDArray[np.float32]

MIN_SPEED = 0.5
MAX_SPEED = 2.0
_FEED_CHARS = 4096
"""Text is handed to the sentence splitter this many characters at a time."""
LOAD_LIMIT_S = 300.0
"""Bound on loading a voice (seconds; minutes from a slow disk)."""
SENTENCE_LIMIT_S = 120.0
"""Bound on synthesising one sentence, waiting for its turn included (well under a second
to a few seconds on a CPU): only a hang meets it."""
T = TypeVar("T")


class TTSError(Exception):
    """Speech synthesis failed; ``str(error)`` says what happened and what to do."""


class VoiceNotFound(TTSError):
    """The requested voice is not installed (the message names it, the installed ones, the fix)."""

    def __init__(self, engine: str, voice: str, installed: Sequence[str], fix: str) -> None:
        self.engine = engine
        self.voice = voice
        self.installed = tuple(installed)
        listed = ", ".join(self.installed) if self.installed else "none"
        super().__init__(
            f'the {engine} voice "{voice}" is not installed (installed: {listed}) — {fix}'
        )


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """One voice an engine knows. Offer only ``installed`` ones; others are listed so the
    settings view can say plainly that they are not installed (they are never downloaded)."""

    id: str
    name: str
    installed: bool
    licence: str
    language: str = "en-US"


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """The audio of one sentence."""

    samples: AudioArray
    """Mono float32 in [-1, 1]."""
    sample_rate: int
    text: str
    """The sentence as written (for captions)."""
    spoken: str = ""
    """The words actually synthesised (after normalisation)."""

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0


@dataclass(frozen=True, slots=True)
class TTSInfo:
    """What an engine runs, for ``doctor`` and the settings view."""

    engine: str
    voice: str
    sample_rate: int
    licence: str
    model_path: str
    loaded: bool


def iter_sentences(text: str) -> Iterator[str]:
    """The sentences of ``text`` (the project's splitter), produced lazily."""
    splitter = SentenceSplitter()
    for start in range(0, len(text), _FEED_CHARS):
        yield from splitter.feed(text[start : start + _FEED_CHARS])
    yield from splitter.flush()


def _check_speed(speed: float) -> float:
    return finite_clamp(float(speed), MIN_SPEED, MAX_SPEED, 1.0)


class TTSEngine(ABC):
    """One speech engine. Subclasses implement ``_load``, ``_synthesize_one`` and the facts."""

    engine_name: str = ""

    def __init__(self) -> None:
        self._native = NativeCalls(f"tts-{self.engine_name or 'voice'}", restart_after_hang=False)
        self._loaded = False

    # ------------------------------------------------------------------ facts

    @property
    @abstractmethod
    def sample_rate(self) -> int:
        """Samples per second of every chunk this engine yields."""

    @property
    @abstractmethod
    def voice(self) -> str:
        """The voice id in use."""

    @abstractmethod
    def voices(self) -> list[VoiceInfo]:
        """Every voice the engine knows, each marked installed or not (cheap: no model load)."""

    @abstractmethod
    def info(self) -> TTSInfo:
        """What the engine runs."""

    @property
    def loaded(self) -> bool:
        return self._loaded

    # ------------------------------------------------------------------ work

    def load(self) -> None:
        """Load the model (blocking; call from a worker thread). Idempotent and thread-safe."""
        if not self._loaded:
            self._call(self._load_once, LOAD_LIMIT_S)

    def _call(self, fn: Callable[[], T], limit_s: float) -> T:
        try:
            return self._native.call(fn, timeout=limit_s)
        except NativeTimeout:
            raise TTSError(
                f"the {self.engine_name} voice stopped responding (a call ran far past its time "
                "limit) — replies are shown as text; restart her_desktop to hear her again"
            ) from None

    def _load_once(self) -> None:
        """On the owner thread."""
        if self._loaded:
            return
        try:
            self._load()
        except TTSError:
            raise
        except Exception as exc:
            raise TTSError(
                f"could not load the {self.engine_name} voice ({type(exc).__name__}: {exc}) "
                "— run `her-desktop doctor`; replies are shown as text meanwhile"
            ) from exc
        self._loaded = True

    def _synthesize_owned(self, spoken: str, speed: float) -> npt.ArrayLike:
        """On the owner thread."""
        try:
            return self._synthesize_one(spoken, speed)
        except TTSError:
            raise
        except Exception as exc:
            raise TTSError(
                f"the {self.engine_name} voice failed on a sentence "
                f"({type(exc).__name__}: {exc}) — the reply is shown as text; "
                "if it keeps happening, pick another voice or engine in Settings"
            ) from exc

    def synthesize(
        self, text: str, *, speed: float = 1.0, cancel: threading.Event | None = None
    ) -> Generator[AudioChunk, None, None]:
        """Yield one chunk per speakable sentence of ``text`` (see the module docstring).

        ``speed`` is 0.5 (slow) .. 2.0 (fast); out-of-range values are clamped.
        """
        speed = _check_speed(speed)
        for sentence in iter_sentences(text):
            if cancel is not None and cancel.is_set():
                return
            spoken = normalize_for_speech(sentence)
            if not spoken:
                continue
            self.load()
            raw = self._call(partial(self._synthesize_owned, spoken, speed), SENTENCE_LIMIT_S)
            samples = clean(np.asarray(raw).reshape(-1))  # flattened, not channel-averaged
            if cancel is not None and cancel.is_set():
                return
            if samples.size:
                yield AudioChunk(samples, self.sample_rate, sentence, spoken)

    @abstractmethod
    def _load(self) -> None:
        """Load the model; called once, on the engine's owner thread."""

    @abstractmethod
    def _synthesize_one(self, spoken: str, speed: float) -> npt.ArrayLike:
        """Audio for one normalised sentence (any length >= 0; cleaned by the caller); called
        on the engine's owner thread."""
