"""The in-memory vector index: every memory's embedding in one float32 matrix.

Choice (measured, see ``her-desktop bench memory``): brute-force cosine similarity as one numpy
matrix-vector product over a cached matrix. At 100k memories × 384 dimensions that is a 150 MB
matrix and a few milliseconds per query on a laptop CPU — exact, with no extra dependency.
sqlite-vec was the alternative; it needs ``sqlite3`` built with extension loading, which Python
builds do not all have (this project's does not), and it would not be faster at this scale.

Rows are kept in a growable buffer (capacity doubles), so adding a memory is amortised O(1);
removing swaps the last row in. Not thread-safe by itself: the service guards it with a lock,
held only for the few statements of a change or of taking a view.

Copy on write: a view stays valid after later changes (the first change after a view copies
the live rows first), so a reader ranks its view with no lock held while the writer goes on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from her_desktop.memory.records import EmbeddingTable

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class IndexView:
    """The live rows at the time of ``view()`` (unchanged by later changes: copy on write)."""

    ids: npt.NDArray[np.int64]
    vectors: Vector
    updated: npt.NDArray[np.float64]
    salience: npt.NDArray[np.float32]


class VectorIndex:
    def __init__(self, dim: int, capacity: int = 64) -> None:
        self.dim = dim
        capacity = max(1, capacity)
        self._ids = np.zeros(capacity, dtype=np.int64)
        self._vectors = np.zeros((capacity, dim), dtype=np.float32)
        self._updated = np.zeros(capacity, dtype=np.float64)
        self._salience = np.zeros(capacity, dtype=np.float32)
        self._rows: dict[int, int] = {}
        self._n = 0
        self._shared = False
        """A view shares the arrays: the next change copies them first."""

    @classmethod
    def from_table(cls, table: EmbeddingTable, dim: int) -> VectorIndex:
        index = cls(dim, capacity=max(64, int(len(table.ids) * 1.25)))
        n = len(table.ids)
        index._ids[:n] = table.ids
        index._vectors[:n] = table.vectors
        index._updated[:n] = table.updated
        index._salience[:n] = table.salience
        index._rows = {int(i): row for row, i in enumerate(table.ids)}
        index._n = n
        return index

    def __len__(self) -> int:
        return self._n

    def __contains__(self, memory_id: int) -> bool:
        return memory_id in self._rows

    def upsert(self, memory_id: int, vector: Vector, updated: float, salience: float) -> None:
        self._own()
        row = self._rows.get(memory_id)
        if row is None:
            if self._n == len(self._ids):
                self._grow()
            row = self._n
            self._n += 1
            self._rows[memory_id] = row
        self._ids[row] = memory_id
        self._vectors[row] = vector
        self._updated[row] = updated
        self._salience[row] = salience

    def remove(self, memory_id: int) -> bool:
        if memory_id not in self._rows:
            return False
        self._own()
        row = self._rows.pop(memory_id)
        last = self._n - 1
        if row != last:
            moved = int(self._ids[last])
            self._ids[row] = self._ids[last]
            self._vectors[row] = self._vectors[last]
            self._updated[row] = self._updated[last]
            self._salience[row] = self._salience[last]
            self._rows[moved] = row
        self._n = last
        return True

    def clear(self) -> None:
        self._rows.clear()
        self._n = 0

    def view(self) -> IndexView:
        n = self._n
        self._shared = True
        return IndexView(self._ids[:n], self._vectors[:n], self._updated[:n], self._salience[:n])

    def vector(self, memory_id: int) -> Vector | None:
        row = self._rows.get(memory_id)
        return None if row is None else self._vectors[row].copy()

    def _own(self) -> None:
        """Before a change: stop sharing the arrays with the views given out (copy them)."""
        if not self._shared:
            return
        self._ids = self._ids.copy()
        self._vectors = self._vectors.copy()
        self._updated = self._updated.copy()
        self._salience = self._salience.copy()
        self._shared = False

    def _grow(self) -> None:
        capacity = len(self._ids) * 2
        self._ids = np.resize(self._ids, capacity)
        vectors = np.zeros((capacity, self.dim), dtype=np.float32)
        vectors[: self._n] = self._vectors[: self._n]
        self._vectors = vectors
        self._updated = np.resize(self._updated, capacity)
        self._salience = np.resize(self._salience, capacity)
