"""Streaming voice activity detection: Silero VAD on onnxruntime, and utterance segmentation.

Policy:

- The model is the Silero VAD ONNX file that faster-whisper ships in its ``assets`` folder
  (already installed with the STT engine; no torch, no download). It runs on 512-sample chunks
  at 16 kHz (32 ms), with its recurrent state and the last 64 samples of context carried from
  one chunk to the next. One chunk costs well under a millisecond on one CPU thread.
- :class:`SileroVAD` is the bare model: :meth:`SileroVAD.prob` gives the speech probability of
  one chunk. :class:`UtteranceSegmenter` turns chunk probabilities into utterances:

  * start: after ``min_speech_ms`` of speech (chunks at or above ``threshold``; a chunk below
    ``threshold - 0.15`` breaks the run). The utterance audio begins ``pre_roll_ms`` before the
    first speech chunk, so soft first syllables are not cut off.
  * end: after ``end_silence_ms`` of silence (chunks below ``threshold - 0.15``); the audio
    includes the pre-roll and the trailing silence.
  * forced end: at ``max_utterance_s``. If the speaker is still talking, the next utterance
    starts at once (no pre-roll, so no audio is duplicated).
  * push-to-talk: :meth:`UtteranceSegmenter.begin` / :meth:`UtteranceSegmenter.end` set the
    boundaries whatever the VAD says (the pre-roll is still included at ``begin``); while held,
    the VAD is not consulted.

- Input is sanitised with :func:`her_desktop.audio.resample.clean` (NaN/inf become 0, overshoot
  is clipped to [-1, 1], integer PCM is scaled). Blocks of any length are accepted and cut
  into 512-sample chunks internally.
- Not thread-safe by design: one worker thread owns a segmenter (and its model state).
"""

from __future__ import annotations

import collections
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from her_desktop.audio.format import CAPTURE_RATE
from her_desktop.audio.resample import clean as sanitize
from her_desktop.config import VADSettings

SAMPLE_RATE = CAPTURE_RATE
CHUNK_SAMPLES = 512
"""Samples per VAD chunk at 16 kHz (32 ms): the size Silero VAD is trained on."""
CHUNK_MS = CHUNK_SAMPLES * 1000 / SAMPLE_RATE
CONTEXT_SAMPLES = 64
"""Samples of the previous chunk that Silero VAD sees before each chunk (at 16 kHz)."""
NEG_THRESHOLD_GAP = 0.15
"""Hysteresis: once speaking, a chunk counts as silence only below ``threshold - 0.15``."""

AudioArray = npt.NDArray[np.float32]
EndReason = Literal["silence", "max_length", "push_to_talk", "flush"]


class VADError(Exception):
    """The VAD model could not be found or loaded; the message says what to do."""


def default_model_path() -> Path:
    """The Silero VAD ONNX file shipped inside faster-whisper's ``assets`` folder."""
    try:
        from faster_whisper.utils import get_assets_path
    except ImportError as exc:
        raise VADError(
            "voice detection needs the faster-whisper package, which is not installed — "
            "install her_desktop's requirements (pip install faster-whisper)"
        ) from exc
    assets = Path(get_assets_path())
    found = sorted(assets.glob("silero_vad*.onnx"))
    if not found:
        raise VADError(
            f"no Silero VAD model (silero_vad*.onnx) in {assets} — reinstall faster-whisper "
            "(pip install --force-reinstall --no-deps faster-whisper)"
        )
    return found[-1]


class SileroVAD:
    """Silero VAD on onnxruntime, one 512-sample chunk at a time (state carried across chunks)."""

    def __init__(self, model_path: Path | None = None, *, n_threads: int = 1) -> None:
        import onnxruntime

        path = model_path if model_path is not None else default_model_path()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = n_threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(
                os.fspath(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise VADError(
                f"could not load the voice detection model {path} ({exc}) — reinstall "
                "faster-whisper (pip install --force-reinstall --no-deps faster-whisper)"
            ) from exc
        self.model_path = path
        names = {node.name for node in self._session.get_inputs()}
        self._split_state = "h" in names and "c" in names
        # faster-whisper's export takes LSTM h/c; upstream Silero takes state + sr
        self._has_sr = "sr" in names
        self._state_shapes = {
            node.name: tuple(d if isinstance(d, int) else 1 for d in node.shape)
            for node in self._session.get_inputs()
            if node.name in ("state", "h", "c")
        }
        self._states: dict[str, npt.NDArray[np.float32]] = {}
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)
        self.reset()

    def reset(self) -> None:
        """Forget everything heard so far (start of a new stream)."""
        self._states = {
            name: np.zeros(shape, dtype=np.float32) for name, shape in self._state_shapes.items()
        }
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)

    def prob(self, chunk: npt.ArrayLike) -> float:
        """Speech probability (0..1) of one 512-sample 16 kHz chunk; updates the state."""
        samples = sanitize(chunk)
        if samples.shape[0] != CHUNK_SAMPLES:
            raise ValueError(
                f"SileroVAD.prob needs exactly {CHUNK_SAMPLES} samples, got {samples.shape[0]}"
            )
        window = np.concatenate((self._context, samples))[np.newaxis, :]
        feeds: dict[str, npt.NDArray[np.generic]] = {"input": window, **self._states}
        if self._has_sr:
            feeds["sr"] = np.array(SAMPLE_RATE, dtype=np.int64)
        outputs = self._session.run(None, feeds)
        if self._split_state:
            self._states = {"h": outputs[1], "c": outputs[2]}
        else:
            self._states = {"state": outputs[1]}
        self._context = samples[-CONTEXT_SAMPLES:].copy()
        value = float(np.asarray(outputs[0]).reshape(-1)[-1])
        return min(max(value, 0.0), 1.0)


class ChunkVAD(Protocol):
    """What the segmenter needs from a VAD: :class:`SileroVAD`, or a scripted fake in tests."""

    def prob(self, chunk: npt.ArrayLike) -> float: ...

    def reset(self) -> None: ...


@dataclass(frozen=True, slots=True)
class UtteranceStart:
    """The user started speaking (``at_s``: stream time of the utterance's first sample)."""

    index: int
    at_s: float
    push_to_talk: bool = False


@dataclass(frozen=True, slots=True)
class UtteranceEnd:
    """The user stopped speaking: the whole utterance, 16 kHz mono float32, pre-roll included."""

    index: int
    audio: AudioArray = field(repr=False, compare=False)
    reason: EndReason
    at_s: float
    """Stream time at which the end was decided."""

    @property
    def duration_s(self) -> float:
        return float(self.audio.shape[0]) / SAMPLE_RATE


SegmentEvent = UtteranceStart | UtteranceEnd


class UtteranceSegmenter:
    """Cut a 16 kHz stream into utterances with a :class:`SileroVAD` (see the module policy)."""

    def __init__(self, vad: ChunkVAD, settings: VADSettings | None = None) -> None:
        self.vad = vad
        self.settings = settings or VADSettings()
        s = self.settings
        self._start_chunks = max(1, round(s.min_speech_ms / CHUNK_MS))
        self._end_chunks = max(1, round(s.end_silence_ms / CHUNK_MS))
        self._pre_roll_chunks = round(s.pre_roll_ms / CHUNK_MS)
        self._max_chunks = max(1, int(s.max_utterance_s * 1000 / CHUNK_MS))
        self._neg_threshold = max(s.threshold - NEG_THRESHOLD_GAP, 0.01)
        self._history: collections.deque[AudioArray] = collections.deque(
            maxlen=self._pre_roll_chunks + self._start_chunks + 1
        )
        self._pending = np.zeros(0, dtype=np.float32)
        self._chunks: list[AudioArray] = []
        self._in_utterance = False
        self._push_to_talk = False
        self._speech_run = 0
        self._silence_run = 0
        self._next_index = 0
        self._samples_seen = 0
        self.last_prob = 0.0
        """The speech probability of the latest chunk (for a level meter or barge-in)."""

    # -- state ----------------------------------------------------------------------------

    @property
    def in_utterance(self) -> bool:
        return self._in_utterance

    @property
    def push_to_talk(self) -> bool:
        return self._push_to_talk

    @property
    def speech_run_ms(self) -> float:
        """How long the current run of speech chunks has lasted (barge-in uses this)."""
        return self._speech_run * CHUNK_MS

    @property
    def time_s(self) -> float:
        """Stream time: seconds of audio consumed so far."""
        return self._samples_seen / SAMPLE_RATE

    def audio_so_far(self) -> AudioArray | None:
        """A copy of the current utterance's audio (for partial transcripts); None when idle."""
        if not self._in_utterance:
            return None
        return _join(self._chunks)

    def reset(self) -> None:
        """Drop any utterance in progress and the VAD state (e.g. after a device change)."""
        self.vad.reset()
        self._history.clear()
        self._pending = np.zeros(0, dtype=np.float32)
        self._chunks = []
        self._in_utterance = False
        self._push_to_talk = False
        self._speech_run = 0
        self._silence_run = 0

    # -- feeding --------------------------------------------------------------------------

    def feed(self, block: npt.ArrayLike) -> list[SegmentEvent]:
        """Consume 16 kHz audio (any length; 512-sample blocks are cheapest) → events."""
        samples = sanitize(block)
        if self._pending.size:
            samples = np.concatenate((self._pending, samples))
        whole = samples.shape[0] - samples.shape[0] % CHUNK_SAMPLES
        self._pending = samples[whole:].copy()
        events: list[SegmentEvent] = []
        for offset in range(0, whole, CHUNK_SAMPLES):
            events.extend(self._chunk(samples[offset : offset + CHUNK_SAMPLES]))
        return events

    def _chunk(self, chunk: AudioArray) -> list[SegmentEvent]:
        self._samples_seen += CHUNK_SAMPLES
        if self._push_to_talk:
            return self._ptt_chunk(chunk)
        prob = self.vad.prob(chunk)
        self.last_prob = prob
        if prob >= self.settings.threshold:
            self._speech_run += 1
            self._silence_run = 0
        elif prob < self._neg_threshold:
            self._speech_run = 0
            self._silence_run += 1
        if not self._in_utterance:
            self._history.append(chunk)
            if self._speech_run >= self._start_chunks:
                keep = self._pre_roll_chunks + self._speech_run
                self._chunks = list(self._history)[-keep:]
                self._history.clear()
                return [self._open()]
            return []
        self._chunks.append(chunk)
        if self._silence_run >= self._end_chunks:
            return [self._close("silence")]
        if len(self._chunks) >= self._max_chunks:
            return self._split()
        return []

    def _ptt_chunk(self, chunk: AudioArray) -> list[SegmentEvent]:
        self._chunks.append(chunk)
        if len(self._chunks) >= self._max_chunks:
            end = self._close("max_length")
            self._in_utterance = True
            self._push_to_talk = True
            return [end, self._open(push_to_talk=True)]
        return []

    def _split(self) -> list[SegmentEvent]:
        still_speaking = self._silence_run == 0 and self._speech_run > 0
        end = self._close("max_length")
        if not still_speaking:
            return [end]
        self._history.clear()
        return [end, self._open()]

    def _open(self, *, push_to_talk: bool = False) -> UtteranceStart:
        """Start utterance ``index`` with ``self._chunks`` as its audio so far."""
        self._in_utterance = True
        self._silence_run = 0
        index = self._next_index
        self._next_index += 1
        start_samples = self._samples_seen - CHUNK_SAMPLES * len(self._chunks)
        return UtteranceStart(index, max(start_samples, 0) / SAMPLE_RATE, push_to_talk)

    def _close(self, reason: EndReason) -> UtteranceEnd:
        audio = _join(self._chunks)
        self._chunks = []
        self._in_utterance = False
        self._push_to_talk = False
        self._speech_run = 0
        self._silence_run = 0
        return UtteranceEnd(self._next_index - 1, audio, reason, self.time_s)

    # -- push-to-talk ---------------------------------------------------------------------

    def begin(self) -> list[SegmentEvent]:
        """Push-to-talk pressed: start an utterance now, ``pre_roll_ms`` included.

        If the VAD already started one, that utterance simply continues under push-to-talk
        (no new event); either way only :meth:`end` (or ``max_utterance_s``) ends it.
        """
        if self._in_utterance:
            self._push_to_talk = True
            return []
        keep = self._pre_roll_chunks
        self._chunks = list(self._history)[-keep:] if keep else []
        self._history.clear()
        self._push_to_talk = True
        return [self._open(push_to_talk=True)]

    def end(self) -> list[SegmentEvent]:
        """Push-to-talk released: end the utterance now (buffered samples included)."""
        if not self._in_utterance:
            return []
        if self._pending.size:
            self._chunks.append(self._pending)
            self._samples_seen += self._pending.shape[0]
            self._pending = np.zeros(0, dtype=np.float32)
        end = self._close("push_to_talk")
        self.vad.reset()
        return [end]

    def flush(self) -> list[SegmentEvent]:
        """End of stream: close an utterance in progress (reason ``flush``)."""
        if not self._in_utterance:
            return []
        return [self._close("flush")]


def _join(chunks: Sequence[AudioArray]) -> AudioArray:
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)
