"""Turns answered in Python, not by the LM: a small model gets sums, phrases, her own name and
summaries of what the user said wrong, so these are worked out exactly and said like any reply
(through the reply filter and into the history).

- A plain sum ("what's 15 percent of 80"): ``llm.arithmetic.exact_answer``; a sum inside a
  longer message is answered by the LM with the computed answer in its guide, and when the
  reply leaves it out the stage says it (:func:`missing_sum`: "That's 875.").
- A phrase the phrasebook holds (``llm.phrasebook``) and a message that only asks her name
  (``llm.own_name``).
- A request to sum up what the user said ("remind me what I told you"): their own lines said
  back to them (``llm.recap``), never the LM's free text.
- A translation the phrasebook does not hold is made on a side path (``llm.translate``: a
  short prompt of its own, greedy, checked in Python) and said as it passed the checks, or
  declined plainly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from her_desktop.llm.arithmetic import Sum, exact_answer, find_sum
from her_desktop.llm.own_name import name_answer
from her_desktop.llm.phrasebook import phrase_answer
from her_desktop.llm.recap import recap


def python_answer(
    user_text: str, own_name: str, earlier_user_messages: Sequence[str] = ()
) -> str | None:
    """The exact reply to a message that is only a sum, a phrase, a question of her name, or
    a request to sum up what the user said (``earlier_user_messages``: what they said before
    in this conversation, oldest first)."""
    return (
        exact_answer(user_text)
        or phrase_answer(user_text)
        or name_answer(user_text, own_name)
        or recap(user_text, earlier_user_messages)
    )


async def said(text: str) -> AsyncIterator[str]:
    """A reply that needs no LM (an exact sum), streamed like one."""
    yield text


def missing_sum(user_text: str, reply: str) -> Sum | None:
    """The sum in ``user_text`` whose computed answer ``reply`` left out, else None."""
    found = find_sum(user_text)
    if found is not None and found.spoken.replace(",", "") not in reply.replace(",", ""):
        return found
    return None
