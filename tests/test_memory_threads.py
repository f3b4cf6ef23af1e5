"""The memory's SQLite connection belongs to one thread; every caller waits with a bound.

A slow write (a wedged disk, a long VACUUM) must never hold a caller — the asyncio loop least
of all — longer than its bound, and a caller that gave up must not find its write committed
behind its back. The slow part is simulated by a job that waits for an event (no wall-clock
assertions: each test checks what happened while the slow job was still running).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from her_desktop.memory import sqlite_thread
from her_desktop.memory.index import VectorIndex
from her_desktop.memory.records import NewMemory
from her_desktop.memory.store import MemoryStore, Turn
from her_desktop.memory.store_file import MemoryStoreBusy, MemoryStoreError

BOUND_S = 0.3
"""The bound of the calls meant to give up (the slow job waits up to 30 s: far longer). The
other calls keep a generous bound, so a loaded machine cannot fail them."""


@pytest.fixture
def quick(tmp_path: Path) -> Iterator[MemoryStore]:
    s = MemoryStore.open(tmp_path / "memory.sqlite3", call_timeout_s=30.0)
    yield s
    s.close()


@contextlib.contextmanager
def bounded(store: MemoryStore) -> Iterator[None]:
    """The calls made inside wait at most ``BOUND_S``."""
    store.call_timeout_s = BOUND_S
    try:
        yield
    finally:
        store.call_timeout_s = 30.0


def _slow_write(store: MemoryStore, release: threading.Event, started: threading.Event) -> None:
    """A write that takes until ``release`` (at most 30 s), on the store's thread."""

    def work(tx: Turn) -> None:
        tx.add_message(tx.new_conversation(), "user", "written slowly")
        started.set()
        release.wait(30.0)

    store.write(work, timeout=30.0)


def test_every_statement_runs_on_the_store_thread(quick: MemoryStore) -> None:
    threads: set[str] = set()
    quick._run(lambda conn: conn.set_trace_callback(lambda _: threads.add(_thread())))
    with quick.turn() as tx:  # a turn from this thread: its statements are sent over
        tx.add_message(tx.new_conversation(), "user", "hello")
        assert [m["text"] for m in quick.messages()] == ["hello"]  # reads its own transaction
    done = threading.Thread(target=lambda: quick.add_mood_sample(1.0, 0.1, 0.2, "calm"))
    done.start()
    done.join(5.0)
    quick.count()
    quick._run(lambda conn: conn.set_trace_callback(None))
    assert threads == {"memory-sqlite"}


def _thread() -> str:
    return threading.current_thread().name


def test_a_read_waits_at_most_its_bound_behind_a_slow_write(quick: MemoryStore) -> None:
    release, started = threading.Event(), threading.Event()
    writer = threading.Thread(target=_slow_write, args=(quick, release, started))
    writer.start()
    assert started.wait(5.0)
    try:
        with pytest.raises(MemoryStoreBusy, match="did not answer within"), bounded(quick):
            quick.count()
        assert not release.is_set()  # it came back while the write was still running
    finally:
        release.set()
        writer.join(5.0)
    assert quick.count() == 0  # and the store answers again once the write is done
    assert [m["text"] for m in quick.messages()] == ["written slowly"]


async def test_the_loop_is_never_held_longer_than_the_bound(quick: MemoryStore) -> None:
    """A caller on the loop waiting behind a slow write gets its answer — a plain-words
    error — while the write still runs."""
    release, started = threading.Event(), threading.Event()
    writer = threading.Thread(target=_slow_write, args=(quick, release, started))
    writer.start()
    assert started.wait(5.0)
    try:
        with pytest.raises(MemoryStoreBusy), bounded(quick):
            await asyncio.to_thread(quick.count)
        assert not release.is_set()
    finally:
        release.set()
        writer.join(5.0)


def test_a_write_whose_caller_gave_up_is_not_committed(quick: MemoryStore) -> None:
    release = threading.Event()

    def work(tx: Turn) -> None:
        tx.add_message(tx.new_conversation(), "user", "too late")
        release.wait(30.0)

    with pytest.raises(MemoryStoreBusy, match="was not saved"):
        quick.write(work, timeout=BOUND_S)  # its bound passes while it runs
    release.set()
    assert quick.messages() == []  # rolled back, as the caller was told
    with quick.turn() as tx:  # and the store goes on
        tx.add_message(tx.new_conversation(), "user", "next")
    assert [m["text"] for m in quick.messages()] == ["next"]


def test_a_call_queued_behind_a_slow_one_that_gives_up_never_runs(quick: MemoryStore) -> None:
    release, started = threading.Event(), threading.Event()
    writer = threading.Thread(target=_slow_write, args=(quick, release, started))
    writer.start()
    assert started.wait(5.0)
    with pytest.raises(MemoryStoreBusy), bounded(quick):
        quick.add_mood_sample(1.0, 0.0, 0.0, "calm")
    release.set()
    writer.join(5.0)
    assert quick.mood_samples(0.0) == []  # it was cancelled, not run late


def test_a_turn_whose_thread_hangs_is_rolled_back_and_lets_the_others_go(
    quick: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_thread, "TX_IDLE_S", 1.0)
    hang, inside = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hung_turn() -> None:
        try:
            with quick.turn() as tx:
                tx.add_message(tx.new_conversation(), "user", "never committed")
                inside.set()
                hang.wait(30.0)  # the caller stops sending statements
        except MemoryStoreError as exc:
            errors.append(exc)

    t = threading.Thread(target=hung_turn)
    t.start()
    assert inside.wait(5.0)
    quick.write(lambda tx: tx.add_mood_sample(2.0, 0.1, 0.1, "ok"), timeout=10.0)
    assert [r.label for r in quick.mood_samples(0.0)] == ["ok"]
    hang.set()
    t.join(5.0)
    assert [type(e) for e in errors] == [MemoryStoreBusy]  # told, at once: not saved
    assert "was undone" in str(errors[0])
    assert quick.messages() == []


def test_a_failed_turn_rolls_back_on_the_store_thread(quick: MemoryStore) -> None:
    def fails() -> None:
        with quick.turn() as tx:
            tx.upsert_memory(
                NewMemory("fact", "I like tea.", subject="likes.tea"), source_message_id=None
            )
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fails()
    assert quick.count() == 0
    with quick.turn() as tx:
        tx.upsert_memory(
            NewMemory("fact", "I like tea.", subject="likes.tea"), source_message_id=None
        )
    assert quick.count() == 1


def test_a_closed_store_says_so_in_plain_words(tmp_path: Path) -> None:
    s = MemoryStore.open(tmp_path / "memory.sqlite3")
    s.close()
    with pytest.raises(MemoryStoreError, match="closed"):
        s.count()


def test_sqlite_errors_stay_plain_words(quick: MemoryStore) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    with pytest.raises(MemoryStoreError, match="disk is full"):
        quick._run(broken)


def test_a_view_of_the_index_is_unchanged_by_later_writes() -> None:
    """Copy on write: the service ranks a view with no lock held while a writer goes on."""
    index = VectorIndex(4, capacity=2)
    one = np.array([1, 0, 0, 0], dtype=np.float32)
    two = np.array([0, 1, 0, 0], dtype=np.float32)
    index.upsert(1, one, 1.0, 0.5)
    index.upsert(2, two, 2.0, 0.5)
    view = index.view()
    index.remove(1)  # swaps row 2 into row 0
    index.upsert(3, one * -1, 3.0, 0.5)  # grows, then writes
    index.upsert(2, one, 4.0, 0.9)
    assert view.ids.tolist() == [1, 2]
    assert view.vectors.tolist() == [one.tolist(), two.tolist()]
    assert view.updated.tolist() == [1.0, 2.0]
    assert sorted(index.view().ids.tolist()) == [2, 3]
