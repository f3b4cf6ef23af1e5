"""The fault matrix at the level of the wired app: whatever breaks, she keeps answering, says
what happened in plain words, and never loses or overwrites what was saved.

Faults covered elsewhere (not repeated here):

- bad LM files (empty, garbage, truncated, header only, a directory): ``test_llamacpp.py``
  ``test_bad_model_files_raise_plain_errors_and_a_retry_works``; damaged/cut model parts:
  ``test_models.py``. STT/TTS model files: their packages are being written (not covered yet).
- an LM that never stops: token cap ``test_llamacpp.py::test_token_cap_gives_length``,
  deadline ``::test_deadline_gives_deadline``, cancel ``::test_cancel_during_generation_*``;
  at the dialogue level ``test_dialogue.py::test_token_cap_reports_length`` and
  ``::test_cancel_stops_reply_and_keeps_what_was_said``.
- remote LM slow / down / garbage / HTML / 500 / 401 / stall / cut: ``test_remote.py``.
- corrupt settings (not TOML, not UTF-8, invalid values, unreadable): ``test_config.py``.
- corrupt / damaged / locked / newer-schema database at the store level:
  ``test_memory_store.py``; kill -9 during writes: ``test_memory_durability.py`` and
  ``test_trust_durability.py``.
- two instances: ``test_trust_instance.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from her_desktop.events import Event, Notice, ReplyFinished, StageError
from her_desktop.llm.base import LLMError
from her_desktop.memory.store import MemoryStore, Turn
from her_desktop.memory.store_file import MemoryStoreError, set_aside_copies
from her_desktop.paths import data_dir
from tests.fakes import FakeEngine
from tests.running_app import disk_full, light_settings, saved_messages, say, started
from tests.waiting import wait_until


def errors(seen: list[Event]) -> list[StageError]:
    return [e for e in seen if isinstance(e, StageError)]


# -- each stage raising ------------------------------------------------------------------------


def _boom(*_: object, **__: object) -> None:
    raise RuntimeError("boom")


async def _aboom(*_: object, **__: object) -> None:
    raise RuntimeError("boom")


@pytest.mark.parametrize(
    "where",
    ["memory.before_reply", "memory.after_reply", "affect.before_reply", "affect.after_reply"],
)
async def test_a_provider_raising_is_reported_and_the_app_keeps_answering(where: str) -> None:
    app, seen = await started(FakeEngine(["Still here."]))
    owner, method = where.split(".")
    target = app.memory if owner == "memory" else app.affect
    assert target is not None
    setattr(target, method, _aboom)
    first = await say(app, seen, "hello")
    assert first.reason == "stop"
    assert first.text == "Still here."
    await wait_until(lambda: errors(seen))
    err = errors(seen)[0]
    assert err.stage == "dialogue"
    assert "boom" in err.message
    second = await say(app, seen, "are you still there?")
    assert second.reason == "stop"
    await app.stop()


async def test_an_unexpected_engine_exception_is_a_stage_error() -> None:
    engine = FakeEngine(["ok."])
    app, seen = await started(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "stream", _boom)
        done = await say(app, seen, "hello")
    assert done.reason == "error"
    assert errors(seen)[0].category == "internal"
    assert (await say(app, seen, "again")).text == "ok."
    await app.stop()


async def test_a_failing_subscriber_does_not_stop_the_conversation() -> None:
    app, seen = await started(FakeEngine(["Fine."]))

    async def broken(_: Event) -> None:
        raise ValueError("a GUI widget fell over")

    app.bus.subscribe(ReplyFinished, broken, name="broken-gui")
    assert (await say(app, seen, "one")).reason == "stop"
    await wait_until(lambda: any(e.category == "handler" for e in errors(seen)))
    assert (await say(app, seen, "two")).reason == "stop"
    await app.stop()


# -- model files ---------------------------------------------------------------------------


def _first_half(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


async def test_truncated_model_file_is_a_stage_error_and_the_app_keeps_running(
    tmp_path: Path, tiny_gguf: Path
) -> None:
    cut = _first_half(tiny_gguf, tmp_path / "cut.gguf")
    settings = light_settings()
    settings.llm.model = str(cut)
    app, seen = await started(settings=settings)
    for text in ("hello", "hello again"):
        done = await say(app, seen, text, within_s=60)
        assert done.reason == "error"
    errs = errors(seen)
    assert len(errs) == 2
    assert all(e.category == "model" for e in errs)
    assert str(cut) in errs[0].message
    await app.stop()


def test_missing_model_file_is_a_plain_error_before_anything_starts(tmp_path: Path) -> None:
    from her_desktop.app import make_llm

    settings = light_settings()
    settings.llm.model = str(tmp_path / "gone.gguf")
    with pytest.raises(LLMError) as info:
        make_llm(settings)
    assert "gone.gguf" in str(info.value)


# -- remote LM down ------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_remote_lm_down_is_a_network_error_and_the_app_keeps_running() -> None:
    settings = light_settings()
    settings.llm.engine = "remote"
    settings.llm.remote.url = f"http://127.0.0.1:{_closed_port()}/v1"
    settings.llm.remote.timeout_s = 2.0
    app, seen = await started(settings=settings)
    done = await say(app, seen, "hello", within_s=30)
    assert done.reason == "error"
    err = errors(seen)[0]
    assert err.category == "network"
    assert "127.0.0.1" in err.message
    assert (await say(app, seen, "hello?", within_s=30)).reason == "error"  # still answering
    await app.stop()


# -- the database ----------------------------------------------------------------------------


async def test_corrupt_database_is_set_aside_untouched_and_a_fresh_one_used() -> None:
    path = data_dir() / "memory.sqlite3"
    damaged = b"this is not sqlite, but it was the user's file " * 100
    path.write_bytes(damaged)
    app, seen = await started(FakeEngine(["Hi."]))
    await wait_until(lambda: any(isinstance(e, Notice) and "set aside" in e.message for e in seen))
    copies = set_aside_copies(path)
    assert len(copies) == 1
    assert copies[0].read_bytes() == damaged
    assert (await say(app, seen, "I live in Lisbon.")).reason == "stop"
    assert "I live in Lisbon." in await saved_messages(app, 1)
    await app.stop()
    assert copies[0].read_bytes() == damaged


async def test_locked_database_leaves_memory_off_and_the_file_untouched() -> None:
    path = data_dir() / "memory.sqlite3"
    with MemoryStore.open(path) as store, store.turn() as tx:
        tx.add_message(tx.new_conversation(), "user", "kept from before")
    before = path.read_bytes()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        app, seen = await started(FakeEngine(["Hi."]))  # waits BUSY_TIMEOUT_S for the lock
        assert app.store is None
        assert app.memory is None
        assert (await say(app, seen, "hello")).reason == "stop"
        await app.stop()
    finally:
        holder.rollback()
        holder.close()
    assert not set_aside_copies(path)
    with MemoryStore.open(path) as store:
        assert [m["text"] for m in store.messages()] == ["kept from before"]
    assert len(path.read_bytes()) >= len(before)


async def test_locked_database_notice_reaches_the_user(monkeypatch: pytest.MonkeyPatch) -> None:
    def locked(*_: object, **__: object) -> MemoryStore:
        raise MemoryStoreError("The memory file is in use by another program.")

    monkeypatch.setattr(MemoryStore, "open", locked)
    app, seen = await started(FakeEngine(["Hi."]))
    await asyncio.sleep(0.05)
    await app.stop()
    assert any(isinstance(e, Notice) and "in use" in e.message for e in seen)


# -- disk full ------------------------------------------------------------------------------


async def test_disk_full_while_saving_keeps_earlier_turns_and_keeps_answering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Simulated SQLITE_FULL (works everywhere; the real tmpfs version follows)."""
    app, seen = await started(FakeEngine(["Okay."]))
    await say(app, seen, "My brother is Tom.")
    await saved_messages(app, 2)

    with monkeypatch.context() as patch:
        patch.setattr(Turn, "add_message", disk_full)
        assert (await say(app, seen, "My sister is Ann.")).reason == "stop"
        await wait_until(lambda: errors(seen))
    err = errors(seen)[0]
    assert "disk is full" in err.message
    assert "saved before is safe" in err.message
    assert (await say(app, seen, "I like tea.")).reason == "stop"
    texts = await saved_messages(app, 4)
    assert "My brother is Tom." in texts
    assert "I like tea." in texts
    assert "My sister is Ann." not in texts  # only the turn in progress was lost
    await app.stop()


@contextlib.contextmanager
def tiny_disk(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root on Linux")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _write_until_full(path: Path) -> int | None:
    """Write zeros to ``path`` until the disk refuses; the errno it refused with."""
    with path.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as exc:
            return exc.errno


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    assert _write_until_full(filler) == errno.ENOSPC
    return filler


async def test_real_full_disk_while_saving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with tiny_disk(tmp_path / "disk", "16m") as disk:
        monkeypatch.setenv("HER_DESKTOP_DATA_DIR", str(disk / "data"))
        app, seen = await started(FakeEngine(["Okay."]))
        await say(app, seen, "My brother is Tom.")
        await saved_messages(app, 2)
        filler = fill(disk)
        big = "My sister is Ann. " + "and more " * 20000  # more than the WAL can reuse
        assert (await say(app, seen, big)).reason == "stop"
        await wait_until(lambda: any("disk is full" in e.message for e in errors(seen)))
        assert (await say(app, seen, "Are you there?")).reason == "stop"  # still answering
        filler.unlink()
        assert (await say(app, seen, "I like tea.")).reason == "stop"
        # "Are you there?" may or may not have fitted on the full disk: wait for the tea turn
        texts = await saved_messages(app, 4, including="I like tea.")
        assert "My brother is Tom." in texts
        assert "I like tea." in texts
        assert big not in texts
        await app.stop()
        conn = sqlite3.connect(disk / "data" / "memory.sqlite3")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
