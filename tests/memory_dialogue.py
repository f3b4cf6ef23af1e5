"""Shared helpers of the memory tests that drive the dialogue: a conversation told to the
memory, a scripted fake LM, one reply through the dialogue stage, and the real-model twin."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from her_desktop.bus import Bus
from her_desktop.dialogue import DialogueStage
from her_desktop.events import Event, ReplyFinished, ReplySentence, ReplyToken, UserText
from her_desktop.llm.base import GenerationParams, GenerationStats, Message
from her_desktop.memory.embeddings import HashingEmbedder
from her_desktop.memory.service import MemoryService
from her_desktop.memory.store import MemoryStore
from tests.fakes import FakeEngine
from tests.waiting import wait_until


async def told(
    store: MemoryStore, bus: Bus, *turns: str, notes_first: bool = False
) -> MemoryService:
    """A memory service that was told ``turns``, each kept as a turn (with ``notes_first``, as
    the app has it: each message's notes are asked for first)."""
    service = MemoryService(bus, store, HashingEmbedder(), engine=None, enabled=True)
    for i, said in enumerate(turns):
        if notes_first:
            await service.before_reply(i + 1, said)
        await service.after_reply(i + 1, said, "Okay.")
    return service


class Scripted(FakeEngine):
    """A fake LM that gives one scripted reply per call (the last one again after that)."""

    def __init__(self, replies: Sequence[Sequence[str]]) -> None:
        super().__init__(replies[0])
        self.replies = [list(r) for r in replies]

    async def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        stats: GenerationStats | None = None,
    ) -> AsyncIterator[str]:
        self.pieces = self.replies[min(len(self.calls), len(self.replies) - 1)]
        async for piece in super().stream(messages, params, stats):
            yield piece


async def reply(
    bus: Bus, service: MemoryService, engine: FakeEngine, said: str, *, turn_id: int = 77
) -> tuple[ReplyFinished, list[str], str]:
    stage = DialogueStage(
        bus, engine, system_prompt="You are Sam.", params=GenerationParams(), providers=[service]
    )
    await stage.start()
    sentences: list[str] = []
    tokens: list[str] = []
    finished: list[ReplyFinished] = []

    async def on_event(event: Event) -> None:
        if isinstance(event, ReplySentence):
            sentences.append(event.text)
        elif isinstance(event, ReplyToken):
            tokens.append(event.text)
        elif isinstance(event, ReplyFinished):
            finished.append(event)

    bus.subscribe((ReplySentence, ReplyToken, ReplyFinished), on_event, name="test")
    await bus.publish(UserText(said, turn_id=turn_id))
    await wait_until(lambda: finished)
    await stage.stop()
    return finished[0], sentences, "".join(tokens)


@contextlib.asynccontextmanager
async def real_dialogue(
    bus: Bus, service: MemoryService, gguf: Path, *, deadline_s: float
) -> AsyncIterator[tuple[list[str], list[ReplyFinished]]]:
    """The dialogue on the real model with ``service`` consulted: yields the spoken sentences
    and the finished replies as they come (the slow twins of the fake-engine tests)."""
    from her_desktop.llm.llamacpp import LlamaCppEngine
    from her_desktop.persona import load_persona

    engine = LlamaCppEngine(gguf, n_ctx=2048)
    stage = DialogueStage(
        bus,
        engine,
        system_prompt=load_persona("samantha").system_prompt(),
        params=GenerationParams(max_tokens=60, temperature=0.0, seed=1, deadline_s=deadline_s),
        providers=[service],
    )
    await stage.start()
    sentences: list[str] = []
    finished: list[ReplyFinished] = []

    async def on_event(event: Event) -> None:
        if isinstance(event, ReplySentence):
            sentences.append(event.text)
        elif isinstance(event, ReplyFinished):
            finished.append(event)

    bus.subscribe((ReplySentence, ReplyFinished), on_event, name="test")
    try:
        yield sentences, finished
    finally:
        await stage.stop()
        await engine.close()
        await service.close()


_turns = iter(range(1000, 100_000))


async def say(service: MemoryService, *turns: str) -> None:
    """The user says each of ``turns`` (a turn of its own; her reply "I see.")."""
    for said in turns:
        await service.after_reply(next(_turns), said, "I see.")
