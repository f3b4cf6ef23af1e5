"""Privacy: owner-only files, no message text in the logs, and "delete everything" that leaves
no trace of what was said on disk."""

from __future__ import annotations

import logging
import sqlite3
import stat
from pathlib import Path

import pytest

from her_desktop.config import PrivacySettings, Settings
from her_desktop.events import StageError
from her_desktop.instance import LOCK_NAME, acquire_single_instance
from her_desktop.llm.base import ModelLoadError
from her_desktop.memory.store import Turn
from her_desktop.paths import cache_dir, config_dir, data_dir, models_dir
from her_desktop.privacy import delete_everything, loggable
from tests.fakes import FakeEngine
from tests.running_app import disk_full, light_settings, saved_messages, say, started
from tests.waiting import wait_until

SECRET = "Zorblax-7781 is my bank PIN and my sister Quillonia hates me"
MARKERS = (b"Zorblax", b"Quillonia", "Zorblax".encode("utf-16-le"))


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def containing_secret(*roots: Path) -> list[Path]:
    return [p for p in files_under(*roots) if any(m in p.read_bytes() for m in MARKERS)]


async def test_data_dir_and_database_files_are_owner_only() -> None:
    app, seen = await started(FakeEngine(["Noted."]))
    await say(app, seen, "My cat is called Pixel.")
    assert app.memory is not None
    await saved_messages(app)
    data = data_dir()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    db_files = list(data.glob("memory.sqlite3*"))
    assert db_files, "the database was not created"
    for path in db_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    await app.stop()
    assert stat.S_IMODE((data / "memory.sqlite3").stat().st_mode) == 0o600


async def test_logs_never_contain_what_was_said(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A normal turn, a failing LM, and a failing memory write: the user's words and her
    reply stay out of every log record (debug_log_messages is off by default)."""
    caplog.set_level(logging.DEBUG)
    engine = FakeEngine(["I hear you about Quillonia."])
    app, seen = await started(engine)
    assert not app.settings.privacy.debug_log_messages
    await say(app, seen, SECRET)
    assert app.memory is not None
    await saved_messages(app)
    engine.fail = ModelLoadError("the model could not be loaded")
    await say(app, seen, SECRET + " again")
    engine.fail = None

    with monkeypatch.context() as patch:
        patch.setattr(Turn, "add_message", disk_full)
        await say(app, seen, SECRET + " third time")
        await wait_until(
            lambda: any(isinstance(e, StageError) and "disk is full" in e.message for e in seen)
        )
    await app.stop()
    text = caplog.text + "\n".join(
        str(r.exc_info[1]) for r in caplog.records if r.exc_info and r.exc_info[1]
    )
    assert caplog.records, "nothing was logged: the test checks nothing"
    for word in ("Zorblax", "Quillonia"):
        assert word not in text, f"{word!r} leaked into the log"


def test_loggable_hides_text_unless_asked() -> None:
    off = PrivacySettings()
    assert loggable(SECRET, off) == f"<message: {len(SECRET)} chars>"
    assert "Zorblax" not in loggable(SECRET, Settings())
    assert loggable(SECRET, PrivacySettings(debug_log_messages=True)) == SECRET


async def test_delete_everything_leaves_no_trace_and_keeps_models_and_settings() -> None:
    settings = light_settings()
    model = models_dir() / "some-model.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 64)
    settings_file = config_dir() / "settings.toml"
    settings_file.write_text("persona = 'samantha'\n")
    cache_file = cache_dir() / "transcripts" / "today.txt"
    cache_file.parent.mkdir(parents=True)
    cache_file.write_text(SECRET)
    log_file = data_dir() / "logs" / "her.log"
    log_file.parent.mkdir()
    log_file.write_text(f"user said {SECRET}\n")

    for i in range(3):  # two sessions: memories, messages and mood samples all written
        app, seen = await started(FakeEngine(["Oh no, that's hard."]))
        await say(app, seen, f"{SECRET} ({i}). I feel so sad and lonely today.")
        await saved_messages(app)
        await app.stop()
    (data_dir() / "memory.sqlite3.corrupt-20260101-000000").write_bytes(SECRET.encode())
    assert containing_secret(data_dir(), cache_dir()), "the test wrote nothing to find"

    with acquire_single_instance(data_dir()):  # the app calls it while holding its lock
        report = delete_everything(settings)
    assert report.ok, report.summary()
    assert "deleted" in report.summary()
    assert containing_secret(data_dir(), cache_dir(), config_dir()) == []
    assert model.exists()
    assert settings_file.exists()
    assert models_dir() in report.kept
    assert not (data_dir() / "memory.sqlite3").exists()
    assert (data_dir() / LOCK_NAME).exists()

    app, seen = await started(FakeEngine(["Hello again."]))  # a fresh start works
    assert app.memory is not None
    assert app.memory.store.count() == 0
    assert app.memory.store.messages() == []
    await app.stop()


async def test_delete_everything_with_models_and_settings() -> None:
    model = models_dir() / "m.gguf"
    model.write_bytes(b"GGUF")
    (config_dir() / "settings.toml").write_text("persona = 'samantha'\n")
    report = delete_everything(light_settings(), include_models=True, include_settings=True)
    assert report.ok
    assert not model.exists()
    assert not (config_dir() / "settings.toml").exists()


def test_delete_everything_refuses_a_database_held_by_another_program() -> None:
    from her_desktop.memory.store import MemoryStore

    path = data_dir() / "memory.sqlite3"
    with MemoryStore.open(path) as store, store.turn() as tx:
        tx.add_message(tx.new_conversation(), "user", SECRET)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        report = delete_everything(light_settings())
    finally:
        holder.rollback()
        holder.close()
    assert not report.ok
    assert "in use by another program" in report.summary()
    assert path.exists()  # never deleted half-way under a running app
    with MemoryStore.open(path) as store:
        assert [m["text"] for m in store.messages()] == [SECRET]


def test_a_file_that_cannot_be_deleted_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stuck = data_dir() / "stuck.txt"
    stuck.write_text(SECRET)
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self.name == "stuck.txt":
            raise PermissionError(13, "Permission denied")
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    report = delete_everything(light_settings())
    assert not report.ok
    assert "stuck.txt: Permission denied" in report.summary()
    assert SECRET.encode() not in stuck.read_bytes()  # its bytes were overwritten anyway
