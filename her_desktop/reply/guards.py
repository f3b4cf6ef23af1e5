"""What the user said a reply must respect (``ReplyGuard``: memory's allergies, things avoided,
dislikes; the style's language), and the closer's line (``ReplyCloser``: memory, for a
question about the user, adds its line when the reply kept no answer: "I don't know yet.
Where do you work?"). A broken check never stops the reply: it is logged and passed over.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from her_desktop.llm.base import Message
from her_desktop.turn_context import ReplyCloser, ReplyGuard, ReplyProblem

log = logging.getLogger(__name__)


def reply_problem(guards: Sequence[ReplyGuard], sentence: str) -> ReplyProblem | None:
    """The first guard's problem with ``sentence``, or None."""
    for guard in guards:
        try:
            problem = guard.reply_problem(sentence)
        except Exception:  # a broken check never stops the reply
            log.exception("dialogue: %s could not check the reply", guard.name)
            continue
        if problem is not None:
            return problem
    return None


def closing_line(guards: Sequence[ReplyGuard], said: str) -> str | None:
    """The first closer's line for a reply that said ``said``, or None."""
    for guard in guards:
        if isinstance(guard, ReplyCloser):
            try:
                line = guard.unanswered(said)
            except Exception:  # a broken check never stops the reply
                log.exception("dialogue: %s could not close the reply", guard.name)
                continue
            if line:
                return line
    return None


def with_instruction(messages: Sequence[Message], instruction: str) -> list[Message]:
    """The same prompt, the user's message followed by an explicit instruction."""
    *head, last = messages
    return [*head, Message(last.role, f"{last.content}\n\n[{instruction}]")]
