"""The speech-to-text interface: one small ABC, the transcript it returns, and its errors.

Policy:

- Input is always 16 kHz mono float32 in [-1, 1] (:data:`SAMPLE_RATE`); resampling belongs to the
  audio side. Engines sanitise NaN/inf and clip, so a bad buffer never crashes a decode.
- ``transcribe(partial=True)`` is the cheap variant used while the user is still speaking
  (greedy, no timestamps); its text may change. The final call may be slower and better.
- An empty ``Transcript.text`` means nothing intelligible was said (silence, noise, or text the
  engine judged to be a hallucination). Callers treat it as "no turn".
- Engines load lazily (first ``transcribe`` or an explicit ``load()``) and are thread-safe: one
  decode at a time. They are called from worker threads, never from the asyncio loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from her_desktop.audio.format import CAPTURE_RATE
from her_desktop.audio.resample import clean

SAMPLE_RATE = CAPTURE_RATE  # what every recogniser is given
"""The only sample rate engines accept."""

AudioArray = npt.NDArray[np.float32]


class STTError(Exception):
    """Speech recognition failed; ``str(error)`` says what happened and what to do."""


class STTModelError(STTError):
    """The speech model is missing, incomplete or damaged (the message names the folder)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One decoded stretch of speech, with Whisper's own confidence signals."""

    start: float
    end: float
    text: str
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0


@dataclass(frozen=True, slots=True)
class Transcript:
    """What was said in one clip, and what it cost."""

    text: str
    language: str = ""
    audio_s: float = 0.0
    """Length of the clip in seconds."""
    decode_s: float = 0.0
    """Wall time of the decode in seconds (0 when the clip was skipped as silent)."""
    segments: tuple[Segment, ...] = field(default=())
    """The kept segments (dropped hallucinations are not listed)."""
    partial: bool = False

    @property
    def rtf(self) -> float:
        """Real-time factor: decode time / audio time (below 1 is faster than real time)."""
        return self.decode_s / self.audio_s if self.audio_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class STTInfo:
    """What an engine runs, for ``doctor`` and the settings view."""

    engine: str
    model: str
    model_dir: str
    device: str
    compute_type: str
    language: str
    loaded: bool


class STTEngine(ABC):
    """A speech recogniser. Thread-safe; blocking calls (run them with ``asyncio.to_thread``)."""

    @abstractmethod
    def load(self) -> None:
        """Load the model now (idempotent). Raises :class:`STTModelError`."""

    @abstractmethod
    def transcribe(self, audio: AudioArray, *, partial: bool = False) -> Transcript:
        """Transcribe 16 kHz mono float32 ``audio`` (loads the model on first use)."""

    @abstractmethod
    def info(self) -> STTInfo:
        """What this engine runs (never loads the model)."""


def sanitize_audio(audio: npt.ArrayLike) -> AudioArray:
    """``audio`` as 1-D float32 in [-1, 1]: NaN/inf become 0, overshoot clips, int PCM is scaled,
    several channels are averaged (:func:`her_desktop.audio.resample.clean`)."""
    return clean(audio)
