"""GUI tests: pytest-qt's QApplication (offscreen) driven by a qasync loop made per test.

The app's bus and stages run on that loop, as in the real window; tests are plain functions
that run a scenario coroutine with ``run_qt(...)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from PySide6.QtWidgets import QApplication

from her_desktop.config import Settings
from her_desktop.gui.launch import GuiSession
from her_desktop.gui.qt_loop import close_qt_loop, new_qt_loop
from her_desktop.llm.base import LLMEngine
from her_desktop.persona import load_persona

T = TypeVar("T")
SCENARIO_TIMEOUT_S = 60.0

RunQt = Callable[[Awaitable[Any]], Any]


@pytest.fixture
def run_qt(qapp: QApplication) -> Iterator[RunQt]:
    qapp.setQuitOnLastWindowClosed(False)
    loop = new_qt_loop(qapp)

    def run(scenario: Awaitable[T]) -> T:
        return loop.run_until_complete(asyncio.wait_for(scenario, SCENARIO_TIMEOUT_S))

    yield run
    close_qt_loop(loop)


def light_settings() -> Settings:
    """No sentence-embedding model (seconds to load): fast GUI tests."""
    settings = Settings()
    settings.memory.embeddings = "hashing"
    settings.affect.use_embeddings = False
    settings.gui.tray_icon = False
    return settings


class Running:
    """A started window + app; ``close()`` ends it like the user closing the window."""

    def __init__(self, session: GuiSession, task: asyncio.Task[int]) -> None:
        self.session = session
        self.task = task
        self.window = session.window
        assert session.app is not None
        self.app = session.app

    async def close(self) -> int:
        self.window.close()
        return await self.task


async def start_window(
    engine: LLMEngine, settings: Settings | None = None, *, with_memory: bool = False
) -> Running:
    session = GuiSession(
        settings or light_settings(),
        load_persona("samantha"),
        engine=engine,
        with_memory=with_memory,
        save_window_settings=False,
        voice=False,
    )
    task = asyncio.ensure_future(session.run())
    ready = asyncio.ensure_future(session.ready.wait())
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # raise what went wrong
    return Running(session, task)
