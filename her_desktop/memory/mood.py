"""The affect tracker's mood history, kept in the memory database.

``StoreMoodHistory`` implements ``her_desktop.affect.history.MoodHistory`` over the store's
``mood_samples`` table, so the mood timeline survives restarts and is deleted by "forget
everything". The tracker adds a sample on the event loop each turn: ``add`` never touches SQLite
there — it hands the sample to a writer thread (each sample its own small transaction) and keeps
it in a pending list until written, so ``samples`` sees it at once; ``revise`` (a turn's better
estimate) goes the same way, after the ``add`` it revises. ``flush`` waits (bounded) for the
writes; the app calls it before closing the store.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from typing import Final

from her_desktop.affect.history import MoodSample
from her_desktop.memory.store import MemoryStore
from her_desktop.memory.store_file import MemoryStoreError

log = logging.getLogger(__name__)

FLUSH_TIMEOUT_S: Final = 5.0


class StoreMoodHistory:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mood-write")
        self._lock = threading.Lock()
        """Guards ``_pending`` and ``_futures`` for a few statements; never held across SQLite
        or ``submit`` (which may start the writer thread and wait for it)."""
        self._pending: list[MoodSample] = []
        self._futures: list[concurrent.futures.Future[None]] = []

    def add(self, sample: MoodSample) -> None:
        with self._lock:
            self._pending.append(sample)
        self._keep(self._writer.submit(self._write, sample))

    def _keep(self, future: concurrent.futures.Future[None]) -> None:
        with self._lock:
            self._futures = [f for f in self._futures if not f.done()]
            self._futures.append(future)

    def _write(self, sample: MoodSample) -> None:
        try:
            self.store.add_mood_sample(
                sample.ts, sample.valence, sample.arousal, sample.label, sample.turn_id
            )
        except MemoryStoreError as exc:  # the live mood goes on; the timeline misses a point
            log.warning("mood: a sample could not be kept: %s", exc)
        finally:
            with self._lock:
                key = (sample.ts, sample.turn_id)
                self._pending = [p for p in self._pending if (p.ts, p.turn_id) != key]

    def revise(self, sample: MoodSample) -> bool:
        """Queue the replacement of the kept sample with the same ``ts`` and ``turn_id``
        (True: queued; the writer finds it, or nothing, in order after the ``add``)."""
        with self._lock:
            self._pending = [
                sample if (p.ts, p.turn_id) == (sample.ts, sample.turn_id) else p
                for p in self._pending
            ]
        self._keep(self._writer.submit(self._revise, sample))
        return True

    def _revise(self, sample: MoodSample) -> None:
        try:
            self.store.revise_mood_sample(
                sample.ts, sample.valence, sample.arousal, sample.label, sample.turn_id
            )
        except MemoryStoreError as exc:
            log.warning("mood: a sample could not be revised: %s", exc)

    def samples(self, since: float) -> list[MoodSample]:
        with self._lock:
            pending = [s for s in self._pending if s.ts >= since]
        stored = [
            MoodSample(r.ts, r.valence, r.arousal, r.label, r.turn_id)
            for r in self.store.mood_samples(since)
        ]
        return sorted([*stored, *(s for s in pending if s not in stored)], key=lambda s: s.ts)

    def flush(self, timeout_s: float = FLUSH_TIMEOUT_S) -> bool:
        """Wait (at most ``timeout_s``; call it from a worker thread) for the pending writes.
        False when some were still being written."""
        with self._lock:
            futures = list(self._futures)
        _, left = concurrent.futures.wait(futures, timeout_s)
        return not left

    def close(self, timeout_s: float = FLUSH_TIMEOUT_S) -> None:
        if not self.flush(timeout_s):
            log.warning("mood: a sample was still being written when the app closed")
        self._writer.shutdown(wait=False)
