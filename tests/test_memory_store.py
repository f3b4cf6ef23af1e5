"""The memory database: schema, one transaction per turn, corruption, locking, forgetting."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest

from her_desktop.memory.records import NewMemory
from her_desktop.memory.schema import SCHEMA_VERSION
from her_desktop.memory.store import MemoryStore
from her_desktop.memory.store_file import (
    DB_NAME,
    MemoryStoreError,
    MemoryStoreLocked,
    default_path,
    set_aside_copies,
)
from her_desktop.paths import data_dir


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _vec(seed: int, dim: int = 8) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def test_default_file_is_in_the_data_dir_owner_only_wal_and_versioned() -> None:
    with MemoryStore.open() as store:
        assert store.path == default_path() == data_dir() / DB_NAME
        with store.turn() as tx:
            tx.add_message(tx.new_conversation(), "user", "hello", turn_id=1)
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
        for side in ("-wal", "-shm"):
            side_path = Path(f"{store.path}{side}")
            if side_path.exists():
                assert stat.S_IMODE(side_path.stat().st_mode) == 0o600
    conn = sqlite3.connect(default_path())
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"conversations", "messages", "memories", "memory_history", "mood_samples"} <= tables
    conn.close()


def test_a_turn_commits_everything_or_nothing(tmp_path: Path) -> None:
    store = MemoryStore.open(tmp_path / "m.sqlite3")
    with store.turn() as tx:
        conv = tx.new_conversation()
        tx.add_message(conv, "user", "first", turn_id=1)

    def crashing_turn() -> None:
        with store.turn() as tx:
            tx.add_message(conv, "user", "second", turn_id=2)
            tx.upsert_memory(NewMemory("fact", "I like tea."), source_message_id=None)
            raise RuntimeError("crash mid-turn")

    with pytest.raises(RuntimeError):
        crashing_turn()
    assert [m["text"] for m in store.messages()] == ["first"]
    assert store.count() == 0
    store.close()


def test_same_subject_updates_and_keeps_history(tmp_path: Path) -> None:
    clock = Clock()
    store = MemoryStore.open(tmp_path / "m.sqlite3", clock=clock)
    with store.turn() as tx:
        conv = tx.new_conversation()
        m1 = tx.add_message(conv, "user", "my dog is Biscuit", turn_id=1)
        first = tx.upsert_memory(
            NewMemory("fact", "My dog is called Biscuit.", "pet.dog.name", embedding=_vec(1)),
            source_message_id=m1,
        )
    clock.t += 60
    with store.turn() as tx:
        m2 = tx.add_message(conv, "user", "actually he's called Max", turn_id=2)
        second = tx.upsert_memory(
            NewMemory("fact", "My dog is called Max.", "pet.dog.name"), source_message_id=m2
        )
        again = tx.upsert_memory(
            NewMemory("fact", "my dog is called max.", "pet.dog.name", confidence=0.9),
            source_message_id=m2,
        )
    assert first.status == "added"
    assert (second.status, second.id, second.previous_text) == (
        "updated",
        first.id,
        "My dog is called Biscuit.",
    )
    assert again.status == "same"
    assert store.count() == 1
    record = store.get(first.id)
    assert record is not None
    assert (record.text, record.source_message_id, record.updated) == (
        "My dog is called Max.",
        m2,
        clock.t,
    )
    assert record.confidence == 0.9
    assert [(h.text, h.source_message_id) for h in store.history(first.id)] == [
        ("My dog is called Biscuit.", m1)
    ]
    store.close()


def test_embeddings_and_stale_rows(tmp_path: Path) -> None:
    store = MemoryStore.open(tmp_path / "m.sqlite3")
    with store.turn() as tx:
        a = tx.upsert_memory(
            NewMemory("fact", "a", embedding=_vec(1), embedder="e1"), source_message_id=None
        ).id
        b = tx.upsert_memory(
            NewMemory("fact", "b", embedding=_vec(2, 4), embedder="e1"), source_message_id=None
        ).id
        c = tx.upsert_memory(NewMemory("fact", "c"), source_message_id=None).id
    table = store.embeddings("e1", 8)
    assert table.ids.tolist() == [a]
    np.testing.assert_allclose(table.vectors[0], _vec(1))
    assert sorted(i for i, _ in store.stale("e1", 8)) == [b, c]
    store.set_embeddings([(b, _vec(3)), (c, _vec(4))], "e1")
    assert store.stale("e1", 8) == []
    assert sorted(store.embeddings("e1", 8).ids.tolist()) == [a, b, c]
    store.close()


def test_mood_samples_round_trip(tmp_path: Path) -> None:
    store = MemoryStore.open(tmp_path / "m.sqlite3")
    store.add_mood_sample(30.0, -0.5, 0.2, "sadness", 3)
    store.add_mood_sample(10.0, 0.5, 0.6, "joy", 1)
    with store.turn() as tx:
        tx.add_mood_sample(20.0, 0.0, 0.3, "neutral", 2)
    assert [(s.ts, s.label, s.turn_id) for s in store.mood_samples(15.0)] == [
        (20.0, "neutral", 2),
        (30.0, "sadness", 3),
    ]
    store.close()


def test_corrupt_file_is_set_aside_with_a_message_and_a_fresh_one_started(
    tmp_path: Path,
) -> None:
    path = tmp_path / "memory.sqlite3"
    garbage = b"this is not a database at all " * 200
    path.write_bytes(garbage)
    Path(f"{path}-wal").write_bytes(b"old wal")
    store = MemoryStore.open(path, clock=Clock())
    assert store.problem is not None
    assert "set aside" in store.problem
    assert store.set_aside is not None
    assert store.set_aside.read_bytes() == garbage  # kept, byte for byte
    assert Path(f"{store.set_aside}-wal").read_bytes() == b"old wal"
    assert store.set_aside.name.startswith("memory.sqlite3.corrupt-")
    assert store.set_aside.name in store.problem
    with store.turn() as tx:  # the fresh database works
        tx.add_message(tx.new_conversation(), "user", "hi")
    store.close()
    # a second damaged file never overwrites the first one set aside
    path.write_bytes(b"damaged again" * 100)
    Path(f"{path}-wal").unlink(missing_ok=True)
    second = MemoryStore.open(path, clock=Clock())
    assert second.set_aside is not None
    assert second.set_aside != store.set_aside
    assert store.set_aside.read_bytes() == garbage
    assert len([p for p in set_aside_copies(path) if not p.name.endswith(("-wal", "-shm"))]) == 2
    second.close()


def test_damaged_pages_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "memory.sqlite3"
    store = MemoryStore.open(path)
    with store.turn() as tx:
        conv = tx.new_conversation()
        for i in range(300):
            tx.add_message(conv, "user", f"message number {i} " * 20)
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data), page):  # scribble over every page but the first two
        data[offset : offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    reopened = MemoryStore.open(path)
    assert reopened.problem is not None
    assert reopened.set_aside is not None
    assert reopened.set_aside.exists()
    assert reopened.messages() == []
    reopened.close()


def test_locked_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "memory.sqlite3"
    MemoryStore.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(MemoryStoreLocked, match="in use by another program"):
            MemoryStore.open(path, timeout_s=0.05)
    finally:
        holder.rollback()
        holder.close()
    assert not set_aside_copies(path)  # a locked file is never mistaken for a corrupt one


def test_write_while_another_writer_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "memory.sqlite3"
    store = MemoryStore.open(path, timeout_s=0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(MemoryStoreLocked), store.turn() as tx:
            tx.add_message(1, "user", "x")
    finally:
        holder.rollback()
        holder.close()
    store.close()


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "memory.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(MemoryStoreError, match="newer version"):
        MemoryStore.open(path)
    assert path.read_bytes() == before
    assert not set_aside_copies(path)


def _file_bytes(path: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )


def test_forget_one_deletes_the_memory_its_history_and_source_messages(tmp_path: Path) -> None:
    path = tmp_path / "memory.sqlite3"
    store = MemoryStore.open(path)
    with store.turn() as tx:
        conv = tx.new_conversation()
        src = tx.add_message(conv, "user", "my secret is Zanzibar-Quokka", turn_id=1)
        tx.add_message(conv, "assistant", "Zanzibar-Quokka, got it", turn_id=1)
        keep_msg = tx.add_message(conv, "user", "I like tea", turn_id=2)
        secret = tx.upsert_memory(
            NewMemory("fact", "My secret is Zanzibar-Quokka.", "user.secret"),
            source_message_id=src,
        ).id
        kept = tx.upsert_memory(
            NewMemory("preference", "I like tea.", "likes.tea"), source_message_id=keep_msg
        ).id
    assert store.forget(secret) is True
    assert store.forget(secret) is False
    assert store.get(secret) is None
    assert store.get(kept) is not None
    assert [m["text"] for m in store.messages()] == ["I like tea"]
    assert b"Zanzibar-Quokka" not in _file_bytes(path)
    store.close()
    assert b"Zanzibar-Quokka" not in _file_bytes(path)


def test_forget_all_also_deletes_the_damaged_copies_set_aside(tmp_path: Path) -> None:
    """Every way to "forget everything" (CLI, memory view, Settings → Privacy) ends here, so
    the old damaged databases, which still hold memories, go too."""
    path = tmp_path / "memory.sqlite3"
    old = tmp_path / "memory.sqlite3.corrupt-20261101T120000"
    old.write_bytes(b"SQLite format 3\0 Marmalade-Octopus")
    store = MemoryStore.open(path)
    assert set_aside_copies(path) == [old]
    store.forget_all()
    store.close()
    assert set_aside_copies(path) == []
    assert not old.exists()


def test_forget_all_really_deletes_from_the_file_bytes(tmp_path: Path) -> None:
    path = tmp_path / "memory.sqlite3"
    store = MemoryStore.open(path)
    with store.turn() as tx:
        conv = tx.new_conversation()
        for i in range(50):
            mid = tx.add_message(conv, "user", f"Marmalade-Octopus story {i}", turn_id=i)
            tx.upsert_memory(
                NewMemory("episode", f"Marmalade-Octopus episode {i}", embedding=_vec(i)),
                source_message_id=mid,
            )
        tx.add_mood_sample(1.0, 0.1, 0.2, "joy", 1)
    store.close()
    store = MemoryStore.open(path)
    assert b"Marmalade-Octopus" in _file_bytes(path)
    store.forget_all()
    assert store.count() == 0
    assert store.messages() == []
    assert store.mood_samples(0.0) == []
    assert b"Marmalade-Octopus" not in _file_bytes(path)
    store.close()
    assert b"Marmalade-Octopus" not in _file_bytes(path)


def test_export_has_memories_history_messages_and_moods(tmp_path: Path) -> None:
    store = MemoryStore.open(tmp_path / "m.sqlite3")
    with store.turn() as tx:
        conv = tx.new_conversation()
        mid = tx.add_message(conv, "user", "my dog is Biscuit", turn_id=1)
        tx.upsert_memory(
            NewMemory("fact", "My dog is called Biscuit.", "pet.dog.name", embedding=_vec(1)),
            source_message_id=mid,
        )
        tx.upsert_memory(
            NewMemory("fact", "My dog is called Max.", "pet.dog.name"), source_message_id=mid
        )
        tx.add_mood_sample(5.0, 0.3, 0.4, "joy", 1)
    data = store.export()
    assert data["memories"][0]["text"] == "My dog is called Max."
    assert data["memories"][0]["history"][0]["text"] == "My dog is called Biscuit."
    assert "embedding" not in data["memories"][0]
    assert data["messages"][0]["text"] == "my dog is Biscuit"
    assert data["mood_samples"][0]["label"] == "joy"
    assert len(data["conversations"]) == 1
    store.close()


def test_search_text_escapes_wildcards(tmp_path: Path) -> None:
    store = MemoryStore.open(tmp_path / "m.sqlite3")
    with store.turn() as tx:
        tx.upsert_memory(NewMemory("fact", "100% sure about tea"), source_message_id=None)
        tx.upsert_memory(NewMemory("fact", "1000 sure"), source_message_id=None)
    assert [m.text for m in store.search_text("0%")] == ["100% sure about tea"]
    assert [m.text for m in store.search_text("TEA")] == ["100% sure about tea"]
    store.close()
