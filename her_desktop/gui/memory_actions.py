"""What the memory window does to memories, without Qt: :class:`MemoryActions` on a bare
:class:`MemoryStore` (as the CLI does it), through the running ``MemoryService``, or a stand-in
that says why there is no memory; and the JSON export. Every call blocks: the window makes them
on a worker thread."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from her_desktop.affect.history import InMemoryMoodHistory, MoodHistory
from her_desktop.memory.embeddings import Embedder, create_embedder
from her_desktop.memory.mood import StoreMoodHistory
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.store import MemoryStore
from her_desktop.memory.store_file import MemoryStoreError
from her_desktop.paths import atomic_write_text

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from her_desktop.app import App
    from her_desktop.memory.service import MemoryService


T = TypeVar("T")


class MemoryActions(Protocol):
    """What the window does to memories. Every method blocks; the window calls them on a
    worker thread."""

    def list(self, query: str, limit: int) -> list[MemoryRecord]:
        """Newest first; ``query`` (may be empty) filters by words in the text or subject."""

    def count(self) -> int: ...

    def edit(self, memory_id: int, text: str) -> bool:
        """Replace the text (the old one goes to the history); False when it does not exist."""

    def forget(self, memory_id: int) -> bool: ...

    def forget_all(self) -> None:
        """Delete every memory, conversation and mood sample (and damaged copies set aside)."""

    def export(self) -> dict[str, Any]: ...


class StoreMemoryActions:
    """:class:`MemoryActions` straight on a :class:`MemoryStore`, the way the CLI does it.

    ``embedder``: used to re-embed an edited memory; by default the best one installed,
    created on first edit (on the worker thread).
    """

    def __init__(self, store: MemoryStore, embedder: Embedder | None = None) -> None:
        self.store = store
        self._embedder = embedder

    def _embedder_now(self) -> Embedder:
        if self._embedder is None:
            self._embedder = create_embedder()
        return self._embedder

    def list(self, query: str, limit: int) -> list[MemoryRecord]:
        if query.strip():
            return self.store.search_text(query.strip(), limit=limit)
        return self.store.memories(limit=limit)

    def count(self) -> int:
        return self.store.count()

    def edit(self, memory_id: int, text: str) -> bool:
        embedder = self._embedder_now()
        vector = embedder.embed([text])[0]
        return self.store.update_text(memory_id, text, embedding=vector, embedder=embedder.name)

    def forget(self, memory_id: int) -> bool:
        return self.store.forget(memory_id)

    def forget_all(self) -> None:
        self.store.forget_all()  # the set-aside copies too

    def export(self) -> dict[str, Any]:
        return self.store.export()


SERVICE_CALL_TIMEOUT_S = 120.0


class ServiceMemoryActions(StoreMemoryActions):
    """:class:`MemoryActions` through the running ``MemoryService``: its in-memory index stays
    in step and ``MemoryForgotten`` / ``MemoryStored`` go out on the bus.

    The service's coroutines run on ``loop`` (the app's asyncio loop, under qasync the GUI
    thread); these methods wait for them, so they must only be called from a worker thread.
    """

    def __init__(self, service: MemoryService, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(service.store, service.embedder)
        self.service = service
        self.loop = loop

    def _wait(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(SERVICE_CALL_TIMEOUT_S)

    def edit(self, memory_id: int, text: str) -> bool:
        return self._wait(self.service.edit(memory_id, text))

    def forget(self, memory_id: int) -> bool:
        return self._wait(self.service.forget(memory_id))

    def forget_all(self) -> None:
        self._wait(self.service.forget_all())


class UnavailableMemory:
    """:class:`MemoryActions` when there is no memory database: every call says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def _fail(self) -> MemoryStoreError:
        return MemoryStoreError(self.reason)

    def list(self, query: str, limit: int) -> list[MemoryRecord]:
        raise self._fail()

    def count(self) -> int:
        raise self._fail()

    def edit(self, memory_id: int, text: str) -> bool:
        raise self._fail()

    def forget(self, memory_id: int) -> bool:
        raise self._fail()

    def forget_all(self) -> None:
        raise self._fail()

    def export(self) -> dict[str, Any]:
        raise self._fail()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop running on this (the GUI) thread under qasync, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        return None
    return loop if loop.is_running() else None


def actions_for_app(app: App) -> tuple[MemoryActions, MoodHistory]:
    """What the window uses for a running ``App``: its MemoryService when memory has started,
    else its store directly, else an explanation."""
    if app.store is None:
        return (
            UnavailableMemory(
                "memory is off for now (the memory file could not be opened; see the notice "
                "in the main window)"
            ),
            InMemoryMoodHistory(),
        )
    history = StoreMoodHistory(app.store)
    loop = _running_loop()
    if app.memory is not None and loop is not None:
        return ServiceMemoryActions(app.memory, loop), history
    return StoreMemoryActions(app.store), history


def write_export(data: dict[str, Any], path: Path) -> int:
    """Write an export as JSON, atomically and readable only by the user. Returns the number of
    memories written."""
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return len(data.get("memories", []))
