"""A dialogue stage that speculates, with its event collector and note providers: shared by
the speculation tests (test_speculative.py, test_notes_preview.py)."""

from __future__ import annotations

import asyncio

from her_desktop.bus import Bus
from her_desktop.dialogue import DialogueStage
from her_desktop.events import Event, ReplyFinished, ReplySentence, ReplyToken
from her_desktop.llm.base import GenerationParams, LLMEngine
from her_desktop.speculative import Speculation
from tests.waiting import wait_until


class Collector:
    """Every event on ``bus``, and the finished replies one by one (each waited for at most
    ``wait_s``)."""

    def __init__(self, bus: Bus, wait_s: float = 30) -> None:
        self.events: list[Event] = []
        self.finished: asyncio.Queue[ReplyFinished] = asyncio.Queue()
        self.wait_s = wait_s
        bus.subscribe(Event, self.on_event, name="collector")

    async def on_event(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, ReplyFinished):
            self.finished.put_nowait(event)

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]

    def spoken(self, turn_id: int) -> list[str]:
        """The sentences said aloud for ``turn_id``."""
        return [
            e.text for e in self.events if isinstance(e, ReplySentence) and e.turn_id == turn_id
        ]

    def shown(self) -> list[Event]:
        return [e for e in self.events if isinstance(e, ReplyToken | ReplySentence)]

    async def next_finished(self) -> ReplyFinished:
        return await asyncio.wait_for(self.finished.get(), self.wait_s)


class Notes:
    name = "notes"

    def __init__(self, note: str | None) -> None:
        self.note = note

    async def before_reply(self, turn_id: int, user_text: str) -> str | None:
        return self.note

    async def after_reply(self, turn_id: int, user_text: str, reply_text: str) -> None:
        return None


async def make(
    engine: LLMEngine, *providers: Notes, **params: object
) -> tuple[Bus, DialogueStage, Collector]:
    bus = Bus()
    collector = Collector(bus)
    stage = DialogueStage(
        bus,
        engine,
        system_prompt="You are Sam.",
        params=GenerationParams(**params),  # type: ignore[arg-type]
        providers=providers,
    )
    stage.speculate = True  # the fake engine stands for the local one
    await stage.start()
    return bus, stage, collector


async def speculating(stage: DialogueStage, kind: str = "reply", text: str = "") -> Speculation:
    def begun() -> bool:
        spec = stage._ahead.spec
        return spec is not None and spec.kind == kind and (not text or spec.user_text == text)

    await wait_until(begun)
    assert stage._ahead.spec is not None
    return stage._ahead.spec
