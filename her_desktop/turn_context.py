"""What the dialogue asks of memory and affect around each turn.

Memory and affect are not stages the dialogue imports: they are services the app injects
into the dialogue through this small protocol. Before a reply, each provider may add a piece of
context to the prompt; it is always *data about the user* and is quoted as such by the
dialogue (never as instructions). After the reply, each provider may do slower work (memory
extraction, LM-based affect refinement) in the background: the next turn never waits for it
longer than ``AFTER_REPLY_BUDGET_S``. A provider that can tell its notes without side effects
(``NotesPreview``) is also asked while the user speaks, for the speculative prompts.

A provider that keeps the conversation (memory) is also a ``TurnRecorder``: the dialogue hands it
each exchange once it is final — at the end of a text reply, or when a spoken reply's audio ended,
with what the user actually heard — through a call that must not block (the write goes to a
worker thread), so closing the app right after a reply cannot lose it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

AFTER_REPLY_BUDGET_S = 30.0


@runtime_checkable
class TurnContextProvider(Protocol):
    name: str

    async def before_reply(self, turn_id: int, user_text: str) -> str | None:
        """Fast (tens of ms): context notes for this turn's prompt, or None."""

    async def after_reply(self, turn_id: int, user_text: str, reply_text: str) -> None:
        """Slow work after the reply was delivered (may use the LM)."""


@runtime_checkable
class NotesPreview(Protocol):
    """A provider whose notes can be worked out before the turn ends, from the words heard so
    far: the dialogue puts them in its speculative prompts, so the LM has read them (and the
    words after them) by the time the turn ends. When the turn's own ``before_reply`` gives the
    same notes, the prompt the LM read ahead is the turn's prompt."""

    def preview_notes(self, user_text: str) -> str | None:
        """The notes ``before_reply`` would give for ``user_text`` now, with no side effect
        (nothing stored, published, counted or consumed). Runs in a worker thread: it may
        read the store or embed the text (through the engines' owner threads)."""


@runtime_checkable
class TurnRecorder(Protocol):
    def record_turn(self, turn_id: int, user_text: str, reply_text: str) -> None:
        """Keep this exchange now (never blocks: the write runs in a worker thread).
        ``reply_text`` is what the user got (heard, for a spoken reply; may be empty)."""


@dataclass(frozen=True, slots=True)
class ReplyProblem:
    """A reply sentence that must not be said: how to ask the LM again, and what to say
    instead."""

    instruction: str
    replacement: str
    rewrite: bool = False
    """say ``replacement`` instead of the sentence and go on (a Python fix: no second LM pass)"""
    answer: bool = False
    """``replacement`` answers the user's question (from memory): said even when one of her
    recent replies said it already"""


@runtime_checkable
class ReplyGuard(Protocol):
    """Checks her reply, sentence by sentence, before it is shown or spoken (pure Python, on
    the event loop: microseconds, no I/O)."""

    name: str

    def guarding(self) -> bool:
        """True when there is something to check replies against now."""

    def reply_problem(self, sentence: str) -> ReplyProblem | None:
        """None when ``sentence`` may be said."""


@runtime_checkable
class ReplyCloser(Protocol):
    """A guard with a last word: what to say when the reply kept no answer to what the user
    asked (memory: "I don't know yet. Where do you work?"). Pure Python, on the event loop."""

    def unanswered(self, said: str) -> str | None:
        """None when the reply (``said``: what of it was kept) needs nothing more."""


@runtime_checkable
class ReplyShape(Protocol):
    """How one reply is shaped by the user's style preferences (``feedback.service``)."""

    opening: str
    """a line said before the LM's reply ("Got it — Sam."), or \"\""""
    complete: bool
    """the opening is the whole reply (the user's turn was only a correction)"""

    def max_tokens(self, cap: int) -> int:
        """The reply's token cap, given the configured one."""

    def sentence(self, text: str) -> str | None:
        """One sentence of the reply as she may say it; "" drops it; None ends the reply."""


@runtime_checkable
class ReplyShaper(Protocol):
    def shape(self, turn_id: int, user_text: str) -> ReplyShape | None:
        """The shape of this turn's reply (called after the providers' ``before_reply``), or
        None to leave it as the LM writes it."""
