"""Has the user finished their turn? Smart Turn v3 (an end-of-turn model on the audio itself).

Smart Turn v3.2 (BSD-2-Clause, by Daily; a Whisper-tiny encoder with a classifier head) reads
the last 8 s of the utterance — words *and* how they were said — and gives the probability that
the speaker has finished. About 10–40 ms on one CPU core, so it can decide at the first short
pause instead of waiting for a long silence or for a transcript (whose speed depends on the
machine). The model file ships inside the ``pipecat-ai`` wheel, installed with ``--no-deps`` as
one of the embedded model packages (requirements-models.txt); only its ONNX file is used (never
imported as code), verified against its sha256 before loading.

``SmartTurn.load()`` raises :class:`TurnModelError` in plain words when the file is missing or
damaged; the listener then ends turns by silence (and the transcript rule) alone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from her_desktop.audio.format import CAPTURE_RATE
from her_desktop.audio.whisper_mel import last_window, log_mel

log = logging.getLogger(__name__)

LOAD_WAIT_S: Final = 30.0
"""How long a second caller of ``load`` waits for the first one's load."""

MODEL_FILE: Final = "smart-turn-v3.2-cpu.onnx"
MODEL_SHA256: Final = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
MODEL_SIZE: Final = 8679182
PACKAGE: Final = "pipecat"
"""The module of the ``pipecat-ai`` wheel; located with find_spec, never imported."""
MIN_AUDIO_S: Final = 0.3


class TurnModelError(RuntimeError):
    """The end-of-turn model cannot be used; the message says why and what to do."""


def find_model() -> Path | None:
    """Where the model file is: a copy bundled beside this module (the installers put it in
    ``audio/data/``), else the installed package's; None when neither is there."""
    bundled = Path(__file__).resolve().parent / "data" / MODEL_FILE
    if bundled.is_file():
        return bundled
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).resolve().parent / "audio" / "turn" / "smart_turn" / "data"
    path = path / MODEL_FILE
    return path if path.is_file() else None


def _verify(path: Path) -> None:
    size = path.stat().st_size
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if size == MODEL_SIZE else ""
    if digest != MODEL_SHA256:
        raise TurnModelError(
            f"the end-of-turn model {path} is damaged (size {size}, expected {MODEL_SIZE}) — "
            "reinstall it: pip install --force-reinstall --no-deps -r requirements-models.txt"
        )


class SmartTurn:
    """Smart Turn v3 on onnxruntime. Thread-safe after ``load`` (one session, one call at a
    time: it runs in the listener's worker thread)."""

    def __init__(self, path: Path | None = None, *, threads: int = 1) -> None:
        self.path = path
        self.threads = threads
        self._session: Any = None
        self._claim = threading.Lock()  # guards the claim below; never held across the load
        self._loader: threading.Thread | None = None
        """The thread that claimed the load (the others do not wait for it)."""
        self._loaded = threading.Event()
        self._error: TurnModelError | None = None

    def load(self, timeout: float = LOAD_WAIT_S) -> None:
        """Load the model (once). Another thread already loading it is waited for at most
        ``timeout``; raises :class:`TurnModelError` (also when that load failed)."""
        with self._claim:
            mine = self._loader is None
            if mine:
                self._loader = threading.current_thread()
        if not mine:
            if not self._loaded.wait(timeout):
                raise TurnModelError("the end-of-turn model is still loading")
            if self._error is not None:
                raise self._error
            return
        try:
            self._load()
        except TurnModelError as exc:
            self._error = exc
            raise
        except BaseException as exc:
            self._error = TurnModelError(f"the end-of-turn model could not load ({exc})")
            raise
        finally:
            self._loaded.set()

    @property
    def loading(self) -> bool:
        """Another thread is loading it right now."""
        return self._loader is not None and not self._loaded.is_set()

    def _load(self) -> None:
        path = self.path or find_model()
        if path is None:
            raise TurnModelError(
                "the end-of-turn model is not installed (the pipecat-ai package, installed "
                "with --no-deps by scripts/setup); turns end by silence alone"
            )
        _verify(path)
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        try:
            session = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's own exception types
            raise TurnModelError(f"the end-of-turn model could not load ({exc})") from exc
        self.path = path
        self._session = session
        log.info("end-of-turn model loaded: %s", path)

    def complete_probability(self, audio: npt.ArrayLike) -> float:
        """P(the speaker has finished) for an utterance so far (16 kHz mono float32).

        Very short audio (< 0.3 s) returns 0.0: too little to judge."""
        samples = np.asarray(audio, dtype=np.float32).reshape(-1)
        if samples.size < MIN_AUDIO_S * CAPTURE_RATE:
            return 0.0
        if self._session is None and self.loading:
            return 0.0  # still loading elsewhere: no judgement yet (silence ends the turn)
        self.load()
        samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
        features = log_mel(last_window(samples))[None, :, :]
        (probability,) = self._session.run(None, {"input_features": features})[0][0]
        return float(np.clip(probability, 0.0, 1.0))
