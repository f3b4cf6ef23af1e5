"""Durability: a writer killed with SIGKILL mid-loop loses at most the turn in progress, and the
file always passes ``PRAGMA integrity_check``."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

WRITER = r"""
import sys
import numpy as np
from pathlib import Path
from her_desktop.memory.records import NewMemory
from her_desktop.memory.store import MemoryStore

path, start = Path(sys.argv[1]), int(sys.argv[2])
store = MemoryStore.open(path)
with store.turn() as tx:
    conv = tx.new_conversation()
rng = np.random.default_rng(start)
i = start
while True:
    with store.turn() as tx:
        uid = tx.add_message(conv, "user", f"user turn {i} " + "x" * 200, turn_id=i)
        tx.add_message(conv, "assistant", f"reply {i} " + "y" * 400, turn_id=i)
        tx.upsert_memory(
            NewMemory("fact", f"value {i}", subject=f"s.{i % 40}",
                      embedding=rng.standard_normal(384).astype(np.float32), embedder="t"),
            source_message_id=uid,
        )
        tx.add_mood_sample(float(i), 0.1, 0.2, "neutral", i)
    print(i, flush=True)
    i += 1
"""


def _check(path: Path) -> tuple[int, int]:
    """(integrity ok → max committed turn, number of turns); asserts every turn is whole."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute(
            "SELECT turn_id, COUNT(*) FROM messages GROUP BY turn_id ORDER BY turn_id"
        ).fetchall()
        moods = conn.execute("SELECT COUNT(*) FROM mood_samples").fetchone()[0]
    finally:
        conn.close()
    assert all(count == 2 for _, count in rows), "a turn was half written"
    turns = [t for t, _ in rows]
    assert turns == list(range(len(turns))), "turns are missing"
    assert moods == len(turns)
    return (turns[-1] if turns else -1), len(turns)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_sigkill_during_writes_loses_at_most_the_turn_in_progress(tmp_path: Path) -> None:
    path = tmp_path / "memory.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    rng = random.Random(4)
    next_turn = 0
    kills = 6
    for _ in range(kills):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(next_turn)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        wanted = rng.randint(3, 30)
        last_reported = next_turn - 1
        for _line in range(wanted):  # let it commit a few turns, then kill it mid-loop
            line = proc.stdout.readline()
            if not line:
                break
            last_reported = int(line)
        time.sleep(rng.random() * 0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        for line in proc.stdout:  # turns reported after our last read but before the kill
            last_reported = int(line)
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert last_reported >= next_turn, f"the writer did not start: {err}"
        committed, _ = _check(path)
        # everything reported as committed is there; at most the one in progress on top
        assert last_reported <= committed <= last_reported + 1
        print(f"killed after turn {last_reported}; committed through {committed}")
        next_turn = committed + 1
    assert next_turn >= kills * 3
