"""The memory service's state, and its vector index (the first layer of ``MemoryService``).

``MemoryState`` holds what the layers built on it share: the store, the embedder, the turn's
checks, the caches and the writer thread; and the in-memory ``VectorIndex`` (loaded on first
use, re-embedded when the embedder changed, kept in step under ``_index_lock``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Final

from her_desktop.bus import Bus
from her_desktop.llm.base import LLMEngine
from her_desktop.memory.answered import Asked
from her_desktop.memory.changed import Change
from her_desktop.memory.consolidation import Consolidator
from her_desktop.memory.constraints import Constraint
from her_desktop.memory.embeddings import Embedder
from her_desktop.memory.extraction import LMExtractor
from her_desktop.memory.index import VectorIndex
from her_desktop.memory.person import Told
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.retrieval import (
    DEFAULT_BUDGET_TOKENS,
    DEFAULT_LIMIT,
    DEFAULT_WEIGHTS,
    Weights,
)
from her_desktop.memory.rules import RuleExtractor
from her_desktop.memory.slots import KEPT_PREFIXES
from her_desktop.memory.store import Clock, MemoryStore

if TYPE_CHECKING:
    from her_desktop.memory.saving import SavedTurn

log = logging.getLogger(__name__)

REEMBED_BATCH: Final = 64
RECALL_CACHE_TURNS: Final = 8
PROTECTED_PREFIXES: Final = ("style:", "feedback:")
"""subjects other services own (her_desktop.feedback: how she talks, ratings): memory never
re-files, corrects or quotes them as notes"""


class MemoryState:
    """What every layer of ``MemoryService`` reads and keeps (see ``service``)."""

    def __init__(
        self,
        bus: Bus,
        store: MemoryStore,
        embedder: Embedder,
        *,
        engine: LLMEngine | None,
        enabled: bool,
        clock: Clock = time.time,
        budget_tokens: int = DEFAULT_BUDGET_TOKENS,
        limit: int = DEFAULT_LIMIT,
        weights: Weights = DEFAULT_WEIGHTS,
    ) -> None:
        self.bus = bus
        self.store = store
        self.embedder = embedder
        self.enabled = enabled
        self.clock = clock
        self.budget_tokens = budget_tokens
        self.limit = limit
        self.weights = weights
        self.rules = RuleExtractor()
        self.lm = LMExtractor(engine) if engine is not None else None
        self.consolidator: Consolidator | None = None
        """set by ``consolidate_in_background``: the LM reads turns while she is idle"""
        self.conversation_id: int | None = None
        """set only once a conversation's first turn is committed"""
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="memory-write")
        self._saves: dict[int, concurrent.futures.Future[SavedTurn]] = {}
        self._constraints: list[Constraint] = []
        self._asked: Asked | None = None
        """this turn's question about the user, and what her answer may say (``answered``)"""
        self._answered = False
        """her reply to ``_asked`` has answered it, or said she does not know"""
        self._heard: list[str] = []
        """the user's messages in this conversation (their own words: ``answered``)"""
        self._told: list[Told] = []
        """the first-person phrases of this turn's recalled memories (``person``)"""
        self._stale: dict[str, float] = {}
        """the words of replaced texts, and when each was last replaced"""
        self._stale_values: dict[str, float] = {}
        """replaced values (names, places, numbers) and when they were replaced"""
        """words of replaced values ("Denver" after "I moved to Austin")"""
        self._changes: list[Change] | None = None
        """the notes that say a value is over or was wrong (``changed``), newest first; None
        until first read"""
        self._read: dict[int, tuple[str, Change | None]] = {}
        """each note's text when it was last read for a change, and the change"""
        self._index: VectorIndex | None = None
        self._index_lock = threading.Lock()
        """Guards ``_index``'s rows for the few statements of a change or of taking a view
        (copy on write); never held across SQLite, an embedding or ranking."""
        self._recalled: OrderedDict[int, list[MemoryRecord]] = OrderedDict()
        self._recent: list[tuple[str, str]] = []
        self._resuming: asyncio.Task[int] | None = None

    def index(self) -> VectorIndex:
        """The in-memory index, loaded from the store on first use (a worker thread: it reads
        SQLite; two first uses may both load, the first one kept)."""
        with self._index_lock:
            if self._index is not None:
                return self._index
        table = self.store.embeddings(self.embedder.name, self.embedder.dim)
        loaded = VectorIndex.from_table(table, self.embedder.dim)
        with self._index_lock:
            if self._index is None:
                self._index = loaded
            return self._index

    def reembed_stale(self, batch: int = REEMBED_BATCH) -> int:
        """Embed up to ``batch`` memories that have no embedding from this embedder."""
        stale = self.store.stale(self.embedder.name, self.embedder.dim, limit=batch)
        if not stale:
            return 0
        vectors = self.embedder.embed([text for _, text in stale])
        rows = [(memory_id, vectors[i]) for i, (memory_id, _) in enumerate(stale)]
        self.store.set_embeddings(rows, self.embedder.name)
        records = self.store.get_many([memory_id for memory_id, _ in rows])
        index = self.index()
        with self._index_lock:
            for memory_id, vector in rows:
                record = records.get(memory_id)
                if record is not None:
                    index.upsert(memory_id, vector, record.updated, record.salience)
        return len(rows)

    def _unindex(self, memory_id: int | None) -> None:
        """Remove a memory from the index (None: all of them). A worker thread."""
        index = self.index()
        with self._index_lock:
            if memory_id is None:
                index.clear()
            else:
                index.remove(memory_id)


def is_kept(record: MemoryRecord) -> bool:
    """A note no change hides (constraints, other services' notes)."""
    return record.subject is not None and record.subject.startswith(KEPT_PREFIXES)


def protected(subject: str | None) -> bool:
    """A subject another service owns (``PROTECTED_PREFIXES``)."""
    return subject is not None and subject.startswith(PROTECTED_PREFIXES)
