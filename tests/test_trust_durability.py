"""Durability of the real app: ``her-desktop chat`` (a real subprocess, the tiny GGUF through
llama.cpp, memory on) fed turns over a pipe and SIGKILLed at random moments, again and again.

After every kill the database passes ``PRAGMA integrity_check``, every saved turn is whole
(the user's message and her reply together), what each run saved is a gap-free prefix of what
it was sent, and at most the turns in flight are lost: the reply being written and the turn
before it, whose save runs while the next reply starts (``store.py`` commits one transaction
per turn; ``test_memory_durability.py`` kills the bare writer)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

KILLS = 15
TURNS_PER_RUN = 40
MARK = "Samantha › "


def _drain(stream: IO[bytes], into: bytearray) -> None:
    while chunk := stream.read1(4096):  # type: ignore[attr-defined]
        into.extend(chunk)


def _saved(db: Path) -> list[tuple[tuple[int, int], str, str]]:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute(
            "SELECT conversation_id, turn_id, role, text FROM messages ORDER BY id"
        ).fetchall()
    finally:
        conn.close()
    return [((int(c), int(t)), str(r), str(x)) for c, t, r, x in rows]


def _user_texts(rows: list[tuple[tuple[int, int], str, str]]) -> list[str]:
    """The user's messages in order; asserts every turn (per conversation) is whole."""
    by_turn: dict[tuple[int, int], list[str]] = {}
    for turn_id, role, _ in rows:
        by_turn.setdefault(turn_id, []).append(role)
    for turn_id, roles in by_turn.items():
        assert roles == ["user", "assistant"], f"turn {turn_id} was half written: {roles}"
    return [text for _, role, text in rows if role == "user"]


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_chat_killed_at_random_moments_loses_at_most_the_turns_in_flight(
    tiny_gguf: Path, isolated_user_dirs: Path
) -> None:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "HER_DESKTOP__LLM__MODEL": str(tiny_gguf),
        "HER_DESKTOP__LLM__MAX_TOKENS": "12",
        # the persona with its tone examples is ~1.8k tokens in the tiny model's vocabulary
        "HER_DESKTOP__LLM__N_CTX": "4096",
        "HER_DESKTOP__MEMORY__EMBEDDINGS": "hashing",
        "HER_DESKTOP__AFFECT__USE_EMBEDDINGS": "false",
        "HER_DESKTOP__LLM__TEMPERATURE": "0.0",
    }
    db = isolated_user_dirs / "data" / "memory.sqlite3"
    rng = random.Random(8)
    sent_total: list[str] = []
    next_line = 0
    for run in range(KILLS):
        lines = [
            f"line {next_line + i} of run {run}: hello number {i}." for i in range(TURNS_PER_RUN)
        ]
        proc = subprocess.Popen(
            [sys.executable, "-m", "her_desktop", "chat"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        out = bytearray()
        reader = threading.Thread(target=_drain, args=(proc.stdout, out), daemon=True)
        reader.start()
        proc.stdin.write("".join(line + "\n" for line in lines).encode())
        proc.stdin.flush()  # stdin stays open: the chat waits for more, never ends by itself
        wanted = rng.randint(1, 8)
        deadline = time.monotonic() + 120
        while out.decode(errors="replace").count(MARK) < wanted and proc.poll() is None:
            assert time.monotonic() < deadline, "the chat did not answer"
            time.sleep(0.01)
        time.sleep(rng.random() * 0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        reader.join(timeout=30)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        assert "Traceback" not in err, err
        started = out.decode(errors="replace").count(MARK)
        assert started >= wanted, err

        saved = _user_texts(_saved(db))
        assert saved[: len(sent_total)] == sent_total, "an earlier run's turn was lost"
        this_run = saved[len(sent_total) :]
        assert this_run == lines[: len(this_run)], "turns were saved out of order or with gaps"
        # replies started = turns whose reply began; the last may be mid-reply, the one before
        # it may be mid-save; everything earlier is on disk
        assert len(this_run) >= started - 2, (started, len(this_run))
        print(f"run {run}: {started} replies started, {len(this_run)} turns saved")
        sent_total += this_run
        next_line += TURNS_PER_RUN
    assert len(sent_total) >= KILLS
