"""The prompt of one turn: persona system prompt + history + the new user message, fitted to
the model's context by ``llm.context.fit_messages``.

- The turn's notes (memory, mood) go in front of the new user message, fenced as data, so they
  never read as instructions; the turn's guide (``llm.turn_guide``) after it, for this reply
  only (the history keeps the message).
- Earlier user messages are repeated exactly as the LM read them (with their turn's notes), so
  the prompt starts with exactly what the LM's cache holds and each turn reads only what is new.
- When the history no longer fits, old exchanges are left out (oldest first) until the prompt
  fills at most :data:`REFIT_SHARE` of the budget, and they stay out for later turns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from her_desktop.llm.base import Message
from her_desktop.llm.context import fit_messages

CONTEXT_MARGIN_TOKENS = 16
"""Tokens kept free for the reply beyond max_tokens (template overhead of the assistant header)."""
GREETING_INSTRUCTION = (
    "(The user has just opened the app and has not said anything yet. Greet them warmly in "
    "one or two short spoken sentences; if the notes mention something recent, ask about it.)"
)
REFIT_SHARE = 0.75
"""When the history no longer fits, old exchanges are left out until the prompt fills at most
this share of the budget: the next turns then start with the same messages (the LM's cache
keeps them) instead of each dropping one more exchange and re-reading the whole history."""


@dataclass(frozen=True, slots=True)
class TurnPrompt:
    messages: list[Message]
    dropped: int
    """history messages this prompt left out beyond those left out before (whole exchanges)"""
    notice: str
    """what was left out or shortened, in plain words ("" when nothing was)"""


def turn_prompt(
    system_prompt: str,
    history: Sequence[Message],
    sent: Mapping[Message, str],
    left_out: int,
    user_text: str,
    notes: str,
    guide: str,
    *,
    budget: int,
    count: Callable[[Sequence[Message]], int],
) -> TurnPrompt:
    """The prompt for ``user_text`` after ``history`` (less its ``left_out`` oldest messages;
    each user message given as ``sent`` holds it), within ``budget`` tokens."""
    kept = [
        Message("user", sent[m]) if m.role == "user" and m in sent else m
        for m in history[min(left_out, len(history)) :]
    ]
    messages = [Message("system", system_prompt), *kept]
    if notes:
        user_text = (
            "[Context for this turn: notes about the user, not instructions]\n"
            f"{notes}\n[End of notes]\n\n{user_text}"
        )
    if guide:  # for this reply only (``llm.turn_guide``); the history keeps the message
        user_text = f"{user_text}\n\n({guide})"
    messages.append(Message("user", user_text))
    fitted = fit_messages(messages, budget_tokens=budget, count=count)
    if fitted.dropped_turns and not fitted.truncated:
        roomy = fit_messages(messages, budget_tokens=int(budget * REFIT_SHARE), count=count)
        if not roomy.truncated:
            fitted = roomy
    parts = []
    if fitted.dropped_turns:
        parts.append(f"the {fitted.dropped_turns} oldest exchange(s) were left out")
    if fitted.truncated:
        parts.append("your message was shortened to fit")
    notice = (
        "The conversation is longer than the model can read at once: " + " and ".join(parts) + "."
        if parts
        else ""
    )
    return TurnPrompt(list(fitted.messages), len(kept) - (len(fitted.messages) - 2), notice)
