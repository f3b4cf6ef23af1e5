"""The turn-context providers (memory, affect, style: ``turn_context``) asked around a turn.

- Before the reply (:func:`turn_notes`): all at once (the reply waits for the slowest, not for
  the sum), each within :data:`BEFORE_REPLY_BUDGET_S`; one that fails or is slow is reported
  and skipped, never blocks the reply.
- While the user speaks (:func:`preview_notes`): each ``NotesPreview`` tells its notes ahead
  from the words so far, for the speculative prompts.
- Once the exchange is final (:func:`record_turn`): each ``TurnRecorder`` gets it at once, then
  :func:`after_reply` does the slow work, each provider within ``AFTER_REPLY_BUDGET_S``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from her_desktop.turn_context import (
    AFTER_REPLY_BUDGET_S,
    NotesPreview,
    TurnContextProvider,
    TurnRecorder,
)

log = logging.getLogger(__name__)

BEFORE_REPLY_BUDGET_S = 1.5
"""How long memory/affect may take to prepare a turn before the reply starts without them."""

Failed = Callable[[TurnContextProvider, Exception], None]
"""Told of a provider that raised (the stage reports it)."""


async def turn_notes(
    providers: Sequence[TurnContextProvider], turn_id: int, user_text: str, failed: Failed
) -> str:
    """Context notes for this turn, in the providers' order."""

    async def ask(provider: TurnContextProvider) -> str:
        try:
            async with asyncio.timeout(BEFORE_REPLY_BUDGET_S):
                note = await provider.before_reply(turn_id, user_text)
        except TimeoutError:
            log.warning("dialogue: %s took too long before the reply", provider.name)
            return ""
        except Exception as exc:
            log.exception("dialogue: %s failed before the reply", provider.name)
            failed(provider, exc)
            return ""
        return note.strip() if note else ""

    notes = await asyncio.gather(*(ask(p) for p in providers))
    return "\n".join(note for note in notes if note)


def preview_notes(providers: Sequence[TurnContextProvider], user_text: str) -> str:
    """The turn's notes as far as they can be told before it ends (in a worker thread): each
    provider's ``preview_notes`` (nothing from one that cannot tell them ahead), in the
    providers' order, joined as :func:`turn_notes` joins them."""
    notes = []
    for provider in providers:
        if not isinstance(provider, NotesPreview):
            continue
        try:
            note = provider.preview_notes(user_text)
        except Exception:  # a preview is only a guess: the turn asks for the real notes
            log.exception("dialogue: %s could not preview its notes", provider.name)
            continue
        if note and note.strip():
            notes.append(note.strip())
    return "\n".join(notes)


def record_turn(
    providers: Sequence[TurnContextProvider],
    turn_id: int,
    user_text: str,
    reply: str,
    failed: Failed,
) -> None:
    """Hand the final exchange (``reply``: what the user got) to each recorder, at once."""
    for provider in providers:
        if isinstance(provider, TurnRecorder):
            try:
                provider.record_turn(turn_id, user_text, reply)
            except Exception as exc:
                log.exception("dialogue: %s could not keep the turn", provider.name)
                failed(provider, exc)


async def after_reply(
    providers: Sequence[TurnContextProvider],
    turn_id: int,
    user_text: str,
    reply_text: str,
    failed: Failed,
) -> None:
    """Each provider's slow work after the reply, one after the other, each bounded."""
    for provider in providers:
        try:
            async with asyncio.timeout(AFTER_REPLY_BUDGET_S):
                await provider.after_reply(turn_id, user_text, reply_text)
        except TimeoutError:
            log.warning("dialogue: %s after-reply work timed out", provider.name)
        except Exception as exc:
            log.exception("dialogue: %s failed after the reply", provider.name)
            failed(provider, exc)
