"""What the memory database holds, as values: a stored memory, one to store, the outcome of a
write, a memory's earlier texts, mood samples, and the embeddings table for the vector index."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    id: int
    kind: str
    subject: str | None
    text: str
    created: float
    updated: float
    source_message_id: int | None
    valence: float
    arousal: float | None
    salience: float
    confidence: float


@dataclass(frozen=True, slots=True)
class NewMemory:
    """A memory to store (already validated and clamped by the extractor)."""

    kind: str
    text: str
    subject: str | None = None
    confidence: float = 0.5
    valence: float = 0.0
    arousal: float | None = None
    salience: float = 0.5
    embedding: Vector | None = None
    embedder: str | None = None


@dataclass(frozen=True, slots=True)
class Upserted:
    id: int
    status: str
    """``"added"``, ``"updated"`` (same subject, new text: the old text went to the history) or
    ``"same"`` (same subject and text: only the time and confidence were refreshed)."""
    previous_text: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    text: str
    replaced: float
    source_message_id: int | None


@dataclass(frozen=True, slots=True)
class MoodRow:
    ts: float
    valence: float
    arousal: float
    label: str
    turn_id: int | None


@dataclass(frozen=True, slots=True)
class EmbeddingTable:
    """Every memory embedded by one embedder, for the in-memory index."""

    ids: npt.NDArray[np.int64]
    vectors: Vector
    updated: npt.NDArray[np.float64]
    salience: npt.NDArray[np.float32]
