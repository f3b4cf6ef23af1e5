"""A whole app on a scripted engine, for tests that talk to it through the bus."""

from __future__ import annotations

import asyncio
import sqlite3

from her_desktop.app import App, build_app
from her_desktop.config import Settings
from her_desktop.events import Event, ReplyFinished, UserText
from her_desktop.llm.base import LLMEngine
from her_desktop.persona import load_persona
from tests.waiting import wait_until


def light_settings() -> Settings:
    """Defaults, with the fast embedding stand-ins (no MiniLM load per test)."""
    s = Settings()
    s.memory.embeddings = "hashing"
    s.affect.use_embeddings = False
    return s


async def started(
    engine: LLMEngine | None = None, settings: Settings | None = None
) -> tuple[App, list[Event]]:
    """The app built and started (memory ready), and a list that records every event."""
    app = build_app(settings or light_settings(), load_persona("samantha"), engine=engine)
    seen: list[Event] = []

    async def record(event: Event) -> None:
        seen.append(event)

    app.bus.subscribe(Event, record, name="test")
    await app.start()
    await asyncio.wait_for(app.memory_ready.wait(), 30)
    return app, seen


async def say(app: App, seen: list[Event], text: str, within_s: float = 10.0) -> ReplyFinished:
    """Type ``text`` and wait for her reply to finish."""
    event = UserText(text)
    await app.bus.publish(event)
    await wait_until(
        lambda: any(isinstance(e, ReplyFinished) and e.turn_id == event.turn_id for e in seen),
        within_s,
    )
    return next(e for e in seen if isinstance(e, ReplyFinished) and e.turn_id == event.turn_id)


async def saved_messages(app: App, count: int = 1, *, including: str | None = None) -> list[str]:
    """Wait until memory has saved at least ``count`` messages (and the one ``including``,
    when given: how many came before it may depend on the disk); their texts."""

    def done() -> bool:
        if app.store is None:
            return False
        texts = [m["text"] for m in app.store.messages()]
        return len(texts) >= count and (including is None or including in texts)

    await wait_until(done)
    assert app.store is not None
    return [m["text"] for m in app.store.messages()]


def disk_full(*_: object, **__: object) -> int:
    """Patch a store write with this to simulate SQLITE_FULL."""
    raise sqlite3.OperationalError("database or disk is full")
