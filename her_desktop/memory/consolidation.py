"""Background consolidation ("sleep-time" work): LM extraction while she is idle.

The rules' memories of a turn are stored at once (``MemoryService.record_turn``). The user's
message is also queued here (``submit``); while she is idle — no reply being made or spoken, the
user neither speaking nor typing, for ``IDLE_S`` — the LM reads the queued messages one at a
time:

- in the engine's background side context (``LLMEngine.background_generate``, made like the
  label scorer's), so the conversation's cached prompt is never evicted;
- its answer constrained by ``extraction.GRAMMAR`` to a JSON list of subject–relation–value
  records (``subject`` is the dotted key ``people.sister.home``: who, then which relation; the
  ``value`` the user's words), each validated and **grounded** in the message
  (``grounding.grounded``) or dropped;
- the records the rules did not already give are stored with the message as their source turn
  (``MemoryService.store_memories``, on the memory writer thread).

Giving way: the bus events that mark the user starting — ``SpeechStarted``, ``PushToTalk``
pressed, ``UserTyping``, ``UserText`` — and her starting a reply (``DialogueState`` other than
idle) set a flag the engine checks between tokens and, through llama.cpp's abort callback,
inside each compute chunk of the prompt: the work stops with ``BusyError`` within one token or
chunk (tens of ms on two cores) and the message goes back to the front of the queue, read again
at the next idle time. Messages that tell nothing about the user (questions, short chit-chat)
are not queued. The queue is kept in the memory store too (``pending_consolidation``, written
with the turn): what is still queued when the app closes is read at the first idle time after
the next start (``MemoryService.resume_pending``); ``finished`` removes a message once read.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

from her_desktop.bus import Bus, Subscription
from her_desktop.events import (
    DialogueState,
    Event,
    PushToTalk,
    SpeechStarted,
    UserText,
    UserTyping,
)
from her_desktop.llm.base import BusyError, LLMError
from her_desktop.memory.extraction import Candidate, LMExtractor

log = logging.getLogger(__name__)

IDLE_S: Final = 2.0
"""She is idle this long (no reply, the user not speaking or typing) before the LM starts."""
POLL_S: Final = 0.1
MAX_PENDING: Final = 64
"""Messages waiting to be read (the oldest are dropped past this: the rules kept theirs)."""
MAX_SEEN: Final = 4096
MIN_WORDS: Final = 4
ABOUT_THEM: Final = re.compile(r"\b(i|i'm|i've|i'd|my|me|we|we're|our|us|mine)\b", re.I)
ACTIVITY: Final = (DialogueState, PushToTalk, SpeechStarted, UserText, UserTyping)


@dataclass(frozen=True, slots=True)
class Pending:
    """A kept user message waiting for the LM: its id (the source of what is learned), its
    text, known memories on the topic (subject, text) and what the rules already stored."""

    message_id: int | None
    text: str
    known: tuple[tuple[str | None, str], ...]
    have: frozenset[str]


def worth_reading(text: str) -> bool:
    """A message that may tell something about the user (not a question or a short reply)."""
    text = text.strip()
    return (
        not text.endswith("?")
        and len(text.split()) >= MIN_WORDS
        and ABOUT_THEM.search(text) is not None
    )


Store = Callable[[int | None, Sequence[Candidate]], Awaitable[object]]
Finished = Callable[[Pending], Awaitable[object]]


class Consolidator:
    """See the module docstring. ``start`` on the running loop; ``close`` to stop."""

    def __init__(
        self,
        bus: Bus,
        extractor: LMExtractor,
        store: Store,
        *,
        idle_s: float = IDLE_S,
        clock: Callable[[], float] = time.monotonic,
        finished: Finished | None = None,
    ) -> None:
        self.bus = bus
        self.extractor = extractor
        self.store = store
        self.finished = finished
        """told when a message was read (its persisted queue entry is then removed)"""
        self.idle_s = idle_s
        self.clock = clock
        self.queue: deque[Pending] = deque(maxlen=MAX_PENDING)
        self.active = threading.Event()
        """set while the user speaks or types or she replies: the LM gives way"""
        self.last_activity = clock()
        self.yields = 0
        """times the work gave way (for tests and benches)"""
        self.read = 0
        self._state = "idle"
        self._seen: set[int] = set()
        """the message ids queued in this run"""
        self._queued = asyncio.Event()
        self._emptied = asyncio.Event()
        self._emptied.set()
        self._task: asyncio.Task[None] | None = None
        self._sub: Subscription | None = None

    def start(self) -> None:
        self._sub = self.bus.subscribe(ACTIVITY, self._on_activity, name="memory:consolidate")
        self._task = asyncio.create_task(self._run(), name="memory:consolidate")

    async def close(self) -> None:
        if self._task is not None:
            self.active.set()  # a running extraction stops at its next token
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._sub is not None:
            await self.bus.unsubscribe(self._sub)
            self._sub = None

    def submit(self, item: Pending) -> None:
        """Queue a message (once: a message queued again after a restart while this run
        already has it, or has read it, is not read twice)."""
        if not worth_reading(item.text):
            return
        if item.message_id is not None:
            if item.message_id in self._seen:
                return
            if len(self._seen) >= MAX_SEEN:
                self._seen.clear()
            self._seen.add(item.message_id)
        self.queue.append(item)
        self._emptied.clear()
        self._queued.set()

    async def drained(self, timeout_s: float) -> bool:
        """Wait (bounded) until every queued message was read. False on timeout."""
        try:
            await asyncio.wait_for(self._emptied.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def _on_activity(self, event: Event) -> None:
        if isinstance(event, DialogueState):
            self._state = event.state
            busy = event.state != "idle"
        else:
            busy = not isinstance(event, PushToTalk) or event.pressed
        self.last_activity = self.clock()
        if busy:
            self.active.set()

    def _idle(self) -> bool:
        return self._state == "idle" and self.clock() - self.last_activity >= self.idle_s

    async def _run(self) -> None:
        while True:
            if not self.queue:
                self._emptied.set()
                self._queued.clear()
                await self._queued.wait()
                continue
            if not self._idle():
                await asyncio.sleep(POLL_S)
                continue
            self.active.clear()
            item = self.queue[0]
            try:
                found = await self.extractor.extract_in_background(
                    item.text, item.known, yield_to=self.active.is_set
                )
            except BusyError:  # the user started: read it again at the next idle time
                self.yields += 1
                self.last_activity = self.clock()
                continue
            except (LLMError, TimeoutError) as exc:
                log.warning("memory: background extraction failed: %s", exc)
                found = []
            except Exception:
                log.exception("memory: background extraction failed")
                found = []
            if self.queue and self.queue[0] is item:
                self.queue.popleft()
            self.read += 1
            extra = [c for c in found if c.subject not in item.have]
            extra = [c for c in extra if c.text.casefold() not in item.have]
            if extra:
                try:
                    await self.store(item.message_id, extra)
                except Exception:
                    log.exception("memory: background memories could not be stored")
            if self.finished is not None:
                try:
                    await self.finished(item)
                except Exception:
                    log.exception("memory: a read message could not be taken off the queue")
