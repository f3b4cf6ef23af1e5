"""A reply begun before the user's turn is certain: speculative prefill and generation.

While the user speaks, the dialogue already knows most of the next prompt: the persona, the
history and what the transcriber heard so far. A :class:`Speculation` sends that prompt to the
LM early:

* at a live partial transcript (``kind="prefill"``): one token is generated and thrown away,
  only so that the LM's prompt cache holds the prompt up to the words said so far; the final
  prompt shares that prefix, so the reply reads only what is new;
* at a pause transcript (``kind="reply"``): the reply itself is generated into a buffer. When
  the turn ends with that very prompt (the same words, no notes from memory or mood that the
  speculation did not have, the same settings), the dialogue *adopts* it: its text is already
  there when the turn ends. Otherwise it is cancelled and never shown or spoken.

The LM engine serves one request at a time and keeps the longest common prefix of its cache
(llama.cpp), so a cancelled speculation leaves a consistent cache: the next prompt reuses the
part they share and re-reads the rest. Every wait is bounded: ``cancel`` waits at most
``CANCEL_WAIT_S`` for the engine to stop (it normally takes milliseconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Literal

from her_desktop.llm.base import GenerationParams, GenerationStats, LLMEngine, LLMError, Message

log = logging.getLogger(__name__)

CANCEL_WAIT_S = 2.0
"""How long ``cancel`` waits for the engine to let go (the engine's own bound is longer)."""
BUILD_WAIT_S = 0.5
"""How long the turn waits for a speculation's prompt to be built (tokenized) to compare it."""

Kind = Literal["prefill", "reply"]


class Speculation:
    """One speculative request; create it, ``start`` it, then ``adopt`` or ``cancel`` it."""

    def __init__(
        self,
        engine: LLMEngine,
        kind: Kind,
        user_text: str,
        build: Callable[[], Sequence[Message]],
        params: GenerationParams,
    ) -> None:
        """``build`` makes the prompt (in a worker thread: it tokenizes to fit the context)."""
        self.engine = engine
        self.kind: Kind = kind
        self.user_text = user_text
        self._build = build
        self._built = asyncio.Event()
        self.messages: list[Message] | None = None
        self.params = params if kind == "reply" else _prefill_params(params)
        self.stats = GenerationStats()
        self.started = 0.0
        self._queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.adopted = False
        self.on_built: Callable[[Sequence[Message]], None] | None = None
        """called with the prompt once it is built, before the LM is asked (on the loop)"""

    def start(self) -> None:
        self.started = time.monotonic()
        self._task = asyncio.create_task(self._pump(), name=f"speculate-{self.kind}")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def mismatch(self, messages: Sequence[Message], params: GenerationParams) -> str:
        """Why this is not the reply the turn asks for ("" when it is: same prompt, same
        settings). Waits at most ``BUILD_WAIT_S`` for its prompt to be built."""
        if self.kind != "reply":
            return "only read ahead"
        if not self._built.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._built.wait(), BUILD_WAIT_S)
        if self.messages is None:
            return "not ready"
        if params != self.params:
            return "other settings"
        if self.messages[-1:] != list(messages[-1:]):
            return "other words or notes"
        return "" if self.messages == list(messages) else "other history"

    async def _pump(self) -> None:
        try:
            try:
                self.messages = list(await asyncio.to_thread(self._build))
            except LLMError:
                return  # the turn itself will say what is wrong
            finally:
                self._built.set()
            if self.on_built is not None:
                self.on_built(self.messages)
            async for piece in self.engine.stream(self.messages, self.params, self.stats):
                self._queue.put_nowait(piece)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # handed to whoever adopts it
            self._queue.put_nowait(exc)
        finally:
            self._queue.put_nowait(None)

    async def pieces(self) -> AsyncIterator[str]:
        """The reply's text: what was buffered, then the rest as it comes. Closing this
        iterator early cancels the generation."""
        self.adopted = True
        try:
            while True:
                item = await self._queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if self.running:
                await self.cancel()

    def abort(self) -> None:
        """Stop the request without waiting (the engine frees itself within milliseconds)."""
        if self._task is not None:
            self._task.cancel()

    async def cancel(self) -> None:
        """Stop the request and wait (bounded) until the engine is free again."""
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=CANCEL_WAIT_S)
        if not done:
            log.warning("speculation did not stop within %.1f s", CANCEL_WAIT_S)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            if task.done():
                task.result()


def reads_ahead(spec: Speculation, messages: Sequence[Message]) -> bool:
    """True when ``spec`` reads the start of ``messages``: the same history, and its user
    message (notes and words so far) a prefix of theirs up to its words' end (only its own
    guide after them differs)."""
    if spec.messages is None or not messages or spec.messages[:-1] != list(messages[:-1]):
        return False
    content = spec.messages[-1].content
    said = _unfinished(spec.user_text)
    end = content.find(said)
    return bool(said) and end >= 0 and messages[-1].content.startswith(content[: end + len(said)])


def of_use(spec: Speculation, messages: Sequence[Message]) -> bool:
    """True when what ``spec`` reads is of use to ``messages``: it reads their start
    (``reads_ahead``), or at least its notes are theirs (other words: the notes, read before
    the words, are still the start of their user message). False when its notes differ: then
    it shares no more than the history, which the LM's cache holds already."""
    if reads_ahead(spec, messages):
        return True
    if spec.messages is None or not messages or spec.messages[:-1] != list(messages[:-1]):
        return False
    content = spec.messages[-1].content
    said = _unfinished(spec.user_text)
    end = content.find(said) if said else -1
    return end > 0 and messages[-1].content.startswith(content[:end])


def _unfinished(text: str) -> str:
    """Words heard so far without the closing mark a transcriber adds ("… a good name for.")."""
    return text.rstrip(" .?!,;:…")


def continues(text: str, before: str) -> bool:
    """True when ``text`` goes on from the words heard ``before`` (their closing mark aside)."""
    said = _unfinished(before)
    return bool(said) and text.startswith(said)


def read_after_end(
    stats: GenerationStats, adopted: bool, written_ahead: int, unread: Sequence[Speculation]
) -> int:
    """Prompt tokens the LM read for this reply after the turn ended: none for a reply begun
    at the pause that had written its first token by then; else its prompt less what was
    cached, plus what the read-aheads still reading at the end went on to read (the reply's
    cache holds it; counted whole although part of it was read before the end: an upper
    bound). A read-ahead stopped at the end read nothing the reply reused."""
    if adopted and written_ahead:
        return 0
    own = max(0, stats.prompt_tokens - stats.cached_tokens)
    ahead = sum(
        max(0, s.stats.prompt_tokens - s.stats.cached_tokens)
        for s in unread
        if s.stats.tokens and not s.adopted
    )
    return own + ahead


def _prefill_params(params: GenerationParams) -> GenerationParams:
    """One greedy token: enough for every engine to read (and cache) the whole prompt."""
    import dataclasses

    return dataclasses.replace(params, max_tokens=1, temperature=0.0, grammar=None, stop=())
