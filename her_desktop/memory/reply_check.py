"""Checking her reply sentence by sentence (``ReplyGuard``, ``ReplyCloser``; a layer of
``MemoryService``): what the user is allergic to, avoids or dislikes (``constraints``); a
recalled memory said as her own (``person``); and, when the user asked about themselves, a
guess or a value they never told her (``answered``).
"""

from __future__ import annotations

from typing import Final

from her_desktop.memory.answered import Asked, bare, check, dont_know, theirs
from her_desktop.memory.constraints import offended
from her_desktop.memory.person import speaks_as_user
from her_desktop.memory.retrieval import second_person
from her_desktop.memory.state import MemoryState
from her_desktop.sentences import split_sentences
from her_desktop.turn_context import ReplyProblem

UNKNOWN_INSTRUCTION: Final = (
    "The notes do not say this about the user: do not guess. Say in one short sentence that "
    "you don't know it yet, and ask them."
)


class ReplyCheck(MemoryState):
    """The reply checks: see the module docstring."""

    def guarding(self) -> bool:
        return self.enabled and (
            bool(self._constraints) or self._asked is not None or bool(self._told)
        )

    def reply_problem(self, sentence: str) -> ReplyProblem | None:
        """A reply sentence that suggests what the user is allergic to, avoids or dislikes;
        or a sentence that states a recalled memory as her own (said back in the second
        person: ``person``); or, when the user asked about themselves, a sentence that
        asserts what they never told her (a guess, a value in no note nor in their words, a
        replaced value): she says she does not know it yet and asks instead (``answered``)."""
        if not self.enabled:
            return None
        found = offended(sentence, self._constraints)
        if found is not None:
            return ReplyProblem(found.instruction, found.reminder)
        if speaks_as_user(sentence, self._told):  # "I work at St. Mary's…": the user's fact
            return ReplyProblem("", second_person(sentence), rewrite=True)
        a = self._asked
        if a is None:
            return None
        fixed = theirs(sentence, a)  # "I don't know when my birthday is": the user's birthday
        verdict = check(fixed, a)
        told = self._told_answer(a)
        if verdict in ("invented", "replaced"):  # a guess, a value never told, a replaced one
            if self._answered:
                return ReplyProblem(UNKNOWN_INSTRUCTION, "")  # the reply ends before it
            self._answered = True  # what the note says, or that she doesn't know yet
            return ReplyProblem(
                UNKNOWN_INSTRUCTION, told or dont_know(a.question), rewrite=True, answer=bool(told)
            )
        if verdict == "dont_know" and told is not None and not self._answered:
            self._answered = True  # "I don't know yet" though a note answers it: the note
            return ReplyProblem("", told, rewrite=True, answer=True)
        if verdict == "dont_know" and bare(fixed):
            self._answered = True  # "I don't know yet.": what, and her question (never a repeat)
            return ReplyProblem("", dont_know(a.question), rewrite=True)
        if verdict in ("answer", "dont_know"):
            self._answered = True
        elif a.unknown and not self._answered and fixed.rstrip().endswith("?"):
            self._answered = True  # her question ends the reply: say first she doesn't know
            return ReplyProblem("", dont_know(a.question), rewrite=True)
        return ReplyProblem("", fixed, rewrite=True) if fixed != sentence else None

    def unanswered(self, said: str) -> str | None:
        """What she says when her reply to a question about the user (``said``: what of it
        was kept) holds no answer: the note that answers it (second person), or that she does
        not know it yet (``ReplyCloser``)."""
        a = self._asked
        if not self.enabled or a is None:
            return None
        if any(check(theirs(x, a), a) in ("answer", "dont_know") for x in split_sentences(said)):
            return None
        return self._told_answer(a) or dont_know(a.question)

    @staticmethod
    def _told_answer(a: Asked) -> str | None:
        """The note that answers ``a`` (second person), when one does and saying it asserts
        only what is current: what she says in place of a guess or a "don't know"."""
        if a.unknown or a.answer is None or check(a.answer, a) != "answer":
            return None
        return a.answer
