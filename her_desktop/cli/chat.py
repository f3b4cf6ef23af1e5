"""``her-desktop chat``: a terminal text conversation with streamed replies.

Ctrl-C stops the reply in progress, not the app; at the prompt it says how to leave
(``/quit`` or Ctrl-D; a second Ctrl-C within two seconds leaves too). With stdin not a terminal
(a pipe), each line is one turn and the command ends after the last reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
import time
from typing import TextIO

from her_desktop.app import App
from her_desktop.events import (
    CancelReply,
    Event,
    Notice,
    ReplyFinished,
    ReplyToken,
    StageError,
    UserText,
)
from her_desktop.feedback.commands import HELP as FEEDBACK_HELP
from her_desktop.feedback.commands import is_feedback_command, run_feedback_command

HELP = (
    "Commands: /quit (or Ctrl-D) leave · /reset forget this conversation · /help this text\n"
    f"          {FEEDBACK_HELP}"
)
DOUBLE_CTRL_C_S = 2.0
MEMORY_WAIT_S = 15.0


class TerminalChat:
    def __init__(self, app: App, *, name: str, stdin: TextIO, stdout: TextIO, stderr: TextIO):
        self.app = app
        self.name = name
        self.stdin = stdin
        self.out = stdout
        self.err = stderr
        self.interactive = stdin.isatty()
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self.finished: asyncio.Queue[ReplyFinished] = asyncio.Queue()
        self.replying = False
        self.last_interrupt = 0.0
        self.quit = asyncio.Event()
        self._at_line_start = True
        self.last_reply: ReplyFinished | None = None
        """her latest reply with text (what /good and /bad rate)"""

    # -- output ------------------------------------------------------------------------------

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        if text:
            self._at_line_start = text.endswith("\n")

    def _newline(self) -> None:
        if not self._at_line_start:
            self.write("\n")

    async def on_token(self, event: ReplyToken) -> None:
        if self._at_line_start:
            self.write(f"{self.name} › ")
        self.write(event.text)

    async def on_finished(self, event: ReplyFinished) -> None:
        if event.text.strip():
            self.last_reply = event
        if event.reason == "cancelled":
            self._newline()
            self.write("  [stopped]\n")
        elif event.reason == "length":
            self._newline()
            self.write("  [reply cut at the length limit]\n")
        elif event.reason == "deadline":
            self._newline()
            self.write("  [reply cut: it took too long]\n")
        else:
            self._newline()
        await self.finished.put(event)

    async def on_problem(self, event: Event) -> None:
        if not isinstance(event, StageError | Notice):
            return
        self._newline()
        mark = "!" if isinstance(event, StageError) else "·"
        self.err.write(f"{mark} {event.message}\n")
        self.err.flush()

    # -- input -------------------------------------------------------------------------------

    def _read_stdin(self, loop: asyncio.AbstractEventLoop) -> None:
        """Daemon thread: hands each line to the loop; None at end of input."""
        while True:
            try:
                line = self.stdin.readline()
            except (OSError, ValueError):
                line = ""
            if loop.is_closed():
                return
            try:
                loop.call_soon_threadsafe(self.lines.put_nowait, line if line else None)
            except RuntimeError:
                return
            if not line:
                return

    def on_sigint(self) -> None:
        now = time.monotonic()
        if self.replying:
            self.app.bus.publish_nowait(CancelReply(reason="ctrl-c"))
            return
        if now - self.last_interrupt < DOUBLE_CTRL_C_S:
            self.quit.set()
            self.lines.put_nowait(None)
            return
        self.last_interrupt = now
        self._newline()
        self.write("(Ctrl-C stops a reply. To leave: /quit, Ctrl-D, or Ctrl-C again.)\n")
        self._prompt()

    def _prompt(self) -> None:
        if self.interactive:
            self.write("you › ")

    async def run(self, greeting: str) -> int:
        bus = self.app.bus
        bus.subscribe(ReplyToken, self.on_token, name="terminal:tokens")
        bus.subscribe(ReplyFinished, self.on_finished, name="terminal:finished")
        bus.subscribe((StageError, Notice), self.on_problem, name="terminal:problems")
        for notice in self.app.startup_notices:  # published before we subscribed
            await self.on_problem(notice)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, self.on_sigint)
        threading.Thread(
            target=self._read_stdin, args=(loop,), daemon=True, name="stdin-reader"
        ).start()
        await self._wait_for_memory()
        if self.interactive:
            self.write(f"({HELP})\n")
            await self.greet(greeting)
        try:
            while not self.quit.is_set():
                self._prompt()
                line = await self.lines.get()
                if line is None:
                    self._newline()
                    break
                text = line.strip()
                if not text:
                    continue
                if text in ("/quit", "/exit"):
                    break
                if text == "/help":
                    self.write(HELP + "\n")
                    continue
                if is_feedback_command(text):
                    answer = await run_feedback_command(self.app.style, self.last_reply, text)
                    self.write(answer + "\n")
                    continue
                if text == "/reset":
                    self.app.dialogue.reset()
                    self.write("(conversation forgotten)\n")
                    continue
                await self.turn(text)
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGINT)
        return 0

    async def _wait_for_memory(self) -> None:
        """Memory loads in the background; the first turn waits a little for it so what the
        user says first is remembered (the app is usable without it after the wait)."""
        try:
            async with asyncio.timeout(MEMORY_WAIT_S):
                await self.app.memory_ready.wait()
        except TimeoutError:
            self.err.write("· memory is still loading; this first message may not be kept\n")

    async def greet(self, greeting: str) -> None:
        """With memories of earlier conversations, she opens with continuity (an LM greeting
        that may ask about something recent); otherwise with the persona's greeting."""
        app = self.app
        notes = app.memory.greeting_context() if app.memory is not None else None
        if not notes:
            self.write(f"{self.name} › {greeting}\n")
            return
        self.replying = True
        try:
            task = app.dialogue.greet(notes)
            await asyncio.wait({task})
            while not self.finished.empty():
                self.finished.get_nowait()
        finally:
            self.replying = False

    async def turn(self, text: str) -> None:
        event = UserText(text)
        self.replying = True
        try:
            await self.app.bus.publish(event)
            while True:
                finished = await self.finished.get()
                if finished.turn_id == event.turn_id:
                    return
        finally:
            self.replying = False


async def run_chat(
    app: App,
    *,
    name: str,
    greeting: str,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    chat = TerminalChat(
        app,
        name=name,
        stdin=stdin or sys.stdin,
        stdout=stdout or sys.stdout,
        stderr=stderr or sys.stderr,
    )
    await app.start()
    app.dialogue.warm_up()
    try:
        return await chat.run(greeting)
    finally:
        await app.stop()
