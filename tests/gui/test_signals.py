"""Regression: tens of thousands of Python-side Signal.emit calls must not corrupt the
interpreter (PySide6 6.12.0 on Python 3.11 leaks a reference to True per emit and crashes).

Runs in a child process so that a crash fails this test instead of killing the test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import asyncio, sys, threading
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QApplication
    import qasync

    class Source(QObject):
        changed = Signal(int)
        flag = Signal(bool)
        text = Signal(str, float)

    app = QApplication([])
    source = Source()
    seen = [0, 0, 0]
    source.changed.connect(lambda n: seen.__setitem__(0, seen[0] + 1))
    source.flag.connect(lambda b: seen.__setitem__(1, seen[1] + 1))
    source.text.connect(lambda s, x: seen.__setitem__(2, seen[2] + 1))
    before = sys.getrefcount(True)
    for i in range(50_000):
        source.changed.emit(i)
        source.flag.emit(i % 2 == 0)
        source.text.emit("tick", 0.5)
    drift = sys.getrefcount(True) - before
    assert seen == [50_000] * 3, seen
    assert abs(drift) < 1000, f"True's refcount drifted by {drift} over 50,000 emits"

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    async def many_callbacks() -> int:
        done = asyncio.Event()
        count = [0]
        n = 20_000

        def bump() -> None:
            count[0] += 1
            source.flag.emit(True)
            if count[0] == n:
                done.set()

        def worker() -> None:
            for _ in range(n // 2):
                loop.call_soon_threadsafe(bump)

        for _ in range(n // 4):
            loop.call_soon(bump)
            loop.call_soon(bump)
        thread = threading.Thread(target=worker)
        thread.start()
        await asyncio.wait_for(done.wait(), 120)
        thread.join()
        return count[0]

    assert loop.run_until_complete(many_callbacks()) == 20_000
    loop.close()
    print("alive", seen[1], sys.getrefcount(True) - before)
    """
)


def test_many_signal_emits_and_loop_callbacks_keep_the_process_alive() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=240, env=env
    )
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert "alive" in result.stdout
