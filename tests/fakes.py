"""Fakes for unit tests. Each has a twin test on the real part (see test_dialogue_real.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from her_desktop.llm.base import (
    EngineInfo,
    GenerationParams,
    GenerationStats,
    LLMEngine,
    LLMError,
    Message,
)


class FakeEngine(LLMEngine):
    """Streams scripted pieces; can fail, stall, or never stop (until the cap or a cancel)."""

    name = "fake"

    def __init__(
        self,
        pieces: Sequence[str] = ("Hello", " there.", " How", " are", " you?"),
        *,
        delay: float = 0.0,
        forever: bool = False,
        fail: LLMError | None = None,
        context_size: int = 4096,
    ) -> None:
        self.pieces = list(pieces)
        self.delay = delay
        self.forever = forever
        self.fail = fail
        self._context = context_size
        self.loaded = 0
        self.calls: list[list[Message]] = []
        self.warmups = 0
        self.active = 0

    @property
    def context_size(self) -> int:
        return self._context

    async def load(self) -> None:
        self.loaded += 1

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return sum(len(m.content) // 4 + 4 for m in messages)

    async def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        stats: GenerationStats | None = None,
    ) -> AsyncIterator[str]:
        stats = stats if stats is not None else GenerationStats()
        if params.max_tokens == 1:  # the dialogue's warm-up probe, not a turn
            self.warmups += 1
        else:
            self.calls.append(list(messages))
        if self.fail is not None:
            raise self.fail
        self.active += 1
        try:
            i = 0
            while True:
                if i >= params.max_tokens:
                    stats.finish_reason = "length"
                    return
                if not self.forever and i >= len(self.pieces):
                    stats.finish_reason = "stop"
                    return
                await asyncio.sleep(self.delay)
                piece = self.pieces[i % len(self.pieces)]
                stats.tokens += 1
                if stats.first_token_s is None:
                    stats.first_token_s = 0.001
                yield piece
                i += 1
        finally:
            self.active -= 1

    def info(self) -> EngineInfo:
        return EngineInfo(engine="fake", model="fake", context_size=self._context)
