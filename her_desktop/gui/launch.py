"""``run_gui(settings)``: the desktop app's entry point (``her-desktop`` with a display).

Lifecycle (as the terminal chat's): show the window at once; on first run assemble the embedded
model from the health panel (progress bar, worker thread); build the app, start it, warm the
model up in the background; greet (with continuity when memory has notes); run until the window
closes; stop the app in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from her_desktop.app import App, attach_voice, build_app
from her_desktop.cli.common import active_persona
from her_desktop.config import LoadedSettings, Settings
from her_desktop.gui.app_window import MainWindow
from her_desktop.gui.first_run import HealthPanel, missing_model
from her_desktop.gui.qt_loop import InterruptWatcher, run_on_qt_loop
from her_desktop.llm.base import LLMEngine, LLMError
from her_desktop.persona import Persona

log = logging.getLogger(__name__)

MEMORY_WAIT_S = 15.0
DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def display_available() -> bool:
    """True where a window can be shown (an X11/Wayland display, or a Qt platform chosen).

    Windows and macOS always have one."""
    if os.name == "nt" or os.uname().sysname == "Darwin":
        return True
    return any(os.environ.get(name) for name in DISPLAY_VARIABLES)


def run_gui(
    settings: Settings | LoadedSettings,
    *,
    persona: Persona | None = None,
    engine: LLMEngine | None = None,
    with_memory: bool = True,
    voice: bool = True,
) -> int:
    """Run the window until it is closed; returns the process exit code (0 = normal).

    ``settings``: what ``load_settings()`` returned (its ``problem`` is shown in the window) or
    plain settings. ``persona`` defaults to the active one; ``engine`` overrides the configured
    LM (tests, demos); ``voice=False`` leaves the microphone and speaker alone."""
    loaded = settings if isinstance(settings, LoadedSettings) else None
    plain = loaded.settings if loaded is not None else settings
    assert isinstance(plain, Settings)
    problems: list[str] = []
    if loaded is not None and loaded.problem:
        problems.append(loaded.problem)
    if persona is None:
        chosen = active_persona(plain)
        persona = chosen.persona
        if chosen.problem:
            problems.append(chosen.problem)
    chosen_persona = persona

    async def main() -> int:
        # widgets need the QApplication, which run_on_qt_loop creates: build them here
        session = GuiSession(
            plain, chosen_persona, engine=engine, with_memory=with_memory, voice=voice
        )
        session.startup_problems = problems
        return await session.run()

    return run_on_qt_loop(main)


class GuiSession:
    """One run of the window and the app behind it."""

    def __init__(
        self,
        settings: Settings,
        persona: Persona,
        *,
        engine: LLMEngine | None = None,
        with_memory: bool = True,
        save_window_settings: bool = True,
        voice: bool = True,
    ) -> None:
        self.settings = settings
        self.voice = voice
        self.persona = persona
        self.engine = engine
        self.with_memory = with_memory
        self.startup_problems: list[str] = []
        self.window = MainWindow(
            settings, persona_name=persona.name, save_theme=save_window_settings
        )
        self.app: App | None = None
        self._closed = asyncio.Event()
        self._retry = asyncio.Event()
        self._user_spoke = False
        self.window.closed.connect(self._closed.set)
        self.window.health_closed.connect(self._on_health_closed)
        self.ready = asyncio.Event()
        """Set once the app is attached to the window (tests, screenshots)."""

    def _on_health_closed(self, changed: bool) -> None:
        if changed:
            self._retry.set()

    async def run(self) -> int:
        watcher = InterruptWatcher(self._interrupted)
        self.window.show()
        for problem in self.startup_problems:
            self.window.show_problem("error", problem)
        try:
            if self.engine is None:
                await self._first_run()
            app = await self._build()
            if app is None:
                return 0
            self.app = app
            await app.start()
            app.dialogue.warm_up()
            self.window.attach(app)
            if self.voice:  # after attach: the window hears the microphone's status
                await attach_voice(app)
            self.ready.set()
            greet = asyncio.create_task(self._greet(app), name="gui:greet")
            await self._closed.wait()
            greet.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await greet
            return 0
        finally:
            watcher.close()
            if self.app is not None:
                await self.app.stop()
            if self.window.isVisible():
                self.window.close()

    def _interrupted(self) -> None:
        """Ctrl-C in the terminal closes the window (and so the app), cleanly."""
        self.window.close()

    async def _first_run(self) -> None:
        # verifying the model may hash a 1.1 GB file: never on the UI thread
        spec = await asyncio.to_thread(missing_model, self.settings)
        if spec is None:
            return
        panel = HealthPanel(self.window, first_run_model=spec)
        done = asyncio.Event()
        panel.finished.connect(lambda _result: done.set())
        panel.refresh()
        panel.open()
        closed = asyncio.ensure_future(self._closed.wait())
        waiting = asyncio.ensure_future(done.wait())
        await asyncio.wait({closed, waiting}, return_when=asyncio.FIRST_COMPLETED)
        for task in (closed, waiting):
            task.cancel()
        if not done.is_set():
            panel.close()

    async def _build(self) -> App | None:
        """Build the app; a model that cannot be found is shown with its fix, and the build is
        tried again after a fix in the health panel. None: the window was closed first."""
        while not self._closed.is_set():
            try:
                return build_app(
                    self.settings, self.persona, engine=self.engine, with_memory=self.with_memory
                )
            except LLMError as exc:
                self.window.show_problem(
                    "error", f"{exc} — Tools → Health check can fix this for you."
                )
            self._retry.clear()
            closed = asyncio.ensure_future(self._closed.wait())
            retry = asyncio.ensure_future(self._retry.wait())
            await asyncio.wait({closed, retry}, return_when=asyncio.FIRST_COMPLETED)
            for task in (closed, retry):
                task.cancel()
        return None

    async def _greet(self, app: App) -> None:
        """Greet once memory is ready (or after a short wait), unless the user spoke first."""
        conversation = self.window.conversation
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(MEMORY_WAIT_S):
                await app.memory_ready.wait()
        if conversation.bubbles():
            return  # the user started already
        notes = app.memory.greeting_context() if app.memory is not None else None
        if notes:
            app.dialogue.greet(notes)
        else:
            self.window.add_greeting(self.persona.greeting)
