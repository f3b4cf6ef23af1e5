"""``her-desktop memory ...``: list, search, show, edit, forget, forget-all, export."""

from __future__ import annotations

import argparse
import json
import stat
from pathlib import Path

import pytest

from her_desktop.cli import memory_cmd
from her_desktop.memory.embeddings import HashingEmbedder
from her_desktop.memory.records import NewMemory
from her_desktop.memory.store import MemoryStore
from her_desktop.memory.store_file import default_path


@pytest.fixture(autouse=True)
def hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory_cmd, "create_embedder", lambda: HashingEmbedder())


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    memory_cmd.add_parser(parser.add_subparsers(dest="command"))
    return memory_cmd.run(parser.parse_args(["memory", *argv]))


def _seed() -> dict[str, int]:
    e = HashingEmbedder()
    ids: dict[str, int] = {}
    with MemoryStore.open() as store, store.turn() as tx:
        conv = tx.new_conversation()
        for subject, text, kind in [
            ("pet.dog.name", "My dog is called Max.", "fact"),
            ("likes.jazz", "I love jazz.", "preference"),
            (None, "I took Max to the vet today.", "episode"),
        ]:
            mid = tx.add_message(conv, "user", f"(said) {text}", turn_id=len(ids))
            ids[text] = tx.upsert_memory(
                NewMemory(kind, text, subject, embedding=e.embed([text])[0], embedder=e.name),
                source_message_id=mid,
            ).id
    return ids


def test_list_and_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run() == 0  # "list" is the default
    assert _run("list") == 0
    assert capsys.readouterr().out.count("No memories yet.") == 2
    _seed()
    assert _run("list") == 0
    out = capsys.readouterr().out
    assert '"My dog is called Max."' in out
    assert "[pet.dog.name]" in out
    assert _run("list", "--kind", "preference") == 0
    out = capsys.readouterr().out
    assert "jazz" in out
    assert "dog" not in out


def test_search_by_meaning_and_words(capsys: pytest.CaptureFixture[str]) -> None:
    _seed()
    assert _run("search", "what is my dog called") == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "My dog is called Max." in first
    assert _run("search", "zzzz-nothing") == 0
    assert "Nothing found." in capsys.readouterr().out


def test_show_edit_and_history(capsys: pytest.CaptureFixture[str]) -> None:
    ids = _seed()
    dog = ids["My dog is called Max."]
    assert _run("edit", str(dog), "My dog is called Rex.") == 0
    assert _run("show", str(dog)) == 0
    out = capsys.readouterr().out
    assert '"My dog is called Rex."' in out
    assert 'learned from: "(said) My dog is called Max."' in out
    assert 'before (just now): "My dog is called Max."' in out
    assert _run("edit", "999", "x y") == 1
    assert _run("edit", str(dog), "   ") == 1
    assert _run("show", "999") == 1


def test_forget_one(capsys: pytest.CaptureFixture[str]) -> None:
    ids = _seed()
    assert _run("forget", str(ids["I love jazz."])) == 0
    assert _run("forget", str(ids["I love jazz."])) == 1
    _run("list")
    assert "jazz" not in capsys.readouterr().out


def test_forget_all_asks_first_and_deletes_set_aside_copies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed()
    copy = default_path().with_name("memory.sqlite3.corrupt-20260101-000000")
    copy.write_bytes(b"old damaged memories")
    assert _run("forget-all") == 1  # not a terminal: not confirmed
    assert "Not confirmed" in capsys.readouterr().out
    assert copy.exists()
    assert _run("forget-all", "--yes") == 0
    assert not copy.exists()
    with MemoryStore.open() as store:
        assert store.count() == 0
        assert store.messages() == []


def test_export_to_a_private_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _seed()
    out = tmp_path / "export.json"
    assert _run("export", "--out", str(out)) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert {m["text"] for m in data["memories"]} >= {"My dog is called Max.", "I love jazz."}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    capsys.readouterr()
    assert _run("export") == 0
    assert json.loads(capsys.readouterr().out)["format"] == "her_desktop-memory-export"


def test_unusable_store_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    default_path().parent.mkdir(parents=True, exist_ok=True)
    with MemoryStore.open() as store:
        store._conn.execute("PRAGMA user_version = 99")  # as if a newer version wrote it
    assert _run("list") == 2
    assert "newer version" in capsys.readouterr().err
