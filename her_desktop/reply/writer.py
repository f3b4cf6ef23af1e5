"""What of one streamed reply is shown (``ReplyToken``) and spoken (``ReplySentence``).

Every chunk passes one ``llm.reply_filter.ReplyFilter`` (no markdown in the voice, no assistant
clichés, no human-experience claims, no sentence of her recent replies again, one question at
most, short unless more was asked for); generation stops once the filter will keep nothing
more. Before the filter, each sentence is checked:

- a sentence that says the user's own words in their first person is said to them
  (``llm.user_voice``); the user's style rules shape it (a ``ReplyShape``, ``feedback``);
- what the user said a reply must respect (the guards, :mod:`~her_desktop.reply.guards`): a
  sentence fixed in Python is said fixed, an offending one stops the reply there;
- a hard moment is acknowledged first, made sure of in Python (``llm.acknowledge``): when the
  reply's first sentence kept is advice, a question or a restatement, a short acknowledgement
  for the feeling, in the user's own words where it can be, is said before it (not in the
  wording of one of her recent replies); an affect estimate that came after the prompt was
  made (a loaded machine) still counts, and a reply the deadline cut still gets it; no
  celebrating a hard moment, and no condolences to good news.

At the end (:meth:`ReplyWriter.close`) she adds what the reply left out: a sum's computed
answer, the acknowledgement when every sentence was dropped, the closer's line, and an honest
line for a reply left with nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from her_desktop.bus import Bus
from her_desktop.events import FinishReason, ReplySentence, ReplyToken
from her_desktop.llm.acknowledge import (
    Feeling,
    acknowledgement,
    acknowledges,
    cheers,
    condoles,
    glad_line,
)
from her_desktop.llm.base import GenerationStats
from her_desktop.llm.reply_filter import Kept, ReplyFilter, asks
from her_desktop.llm.turn_guide import Guide
from her_desktop.llm.user_voice import as_said_to_user
from her_desktop.reply.answers import missing_sum
from her_desktop.reply.guards import closing_line, reply_problem
from her_desktop.sentences import SentenceSplitter
from her_desktop.turn_context import ReplyGuard, ReplyProblem, ReplyShape

FIRST_CHUNK_MIN_CHARS = 20
"""The first spoken chunk may end at a clause mark (", ; :") once it holds this many
characters, so her voice starts without waiting for a long first sentence (about 0.5 s of LM
time)."""


class ReplyWriter:
    """Shows and speaks one reply, sentence by sentence."""

    def __init__(
        self,
        bus: Bus,
        turn_id: int,
        style: ReplyFilter,
        *,
        user_text: str,
        said_by_user: str,
        replies: Callable[[], list[str]],
        speaking: Callable[[], None],
    ) -> None:
        """``said_by_user``: whose words she must not take; ``replies``: her replies so far
        (oldest first); ``speaking``: told when the first piece of the reply arrives."""
        self.bus = bus
        self.turn_id = turn_id
        self.style = style
        self.user_text = user_text
        self.said_by_user = said_by_user
        self.replies = replies
        self._speaking = speaking
        self.guards: list[ReplyGuard] = []
        self.shape: ReplyShape | None = None
        self.hard: Feeling | None = None
        """the feeling of a hard moment this turn tells of"""
        self.glad = False
        """the turn tells good news"""
        self.sentence_index = 0
        self.enough = False
        """the user's style rules want nothing more of this reply"""
        self.late: Callable[[], tuple[bool, Feeling | None]] | None = None
        """(whether affect's estimate of the turn has come, the turn's feeling with it): asked
        until it has, before the first sentence kept, when it had not come before the prompt
        was made (a loaded machine)"""
        self._acknowledged = False
        self._answered = False
        """a sentence of the model's own was kept"""
        self._produced = False
        self._splitter = SentenceSplitter(first_min_chars=FIRST_CHUNK_MIN_CHARS)

    async def write(
        self, pieces: AsyncIterator[str], stats: GenerationStats
    ) -> tuple[FinishReason, ReplyProblem | None]:
        """Show and speak what is kept of ``pieces``, the reply's text as it streams. Stops at
        the first sentence that must not be said (its problem is returned) or when nothing
        more will be kept; the stream is closed then, not at GC."""
        problem: ReplyProblem | None = None
        try:
            async for piece in pieces:
                if not self._produced:
                    self._produced = True
                    self._speaking()
                problem = await self.emit(self._splitter.feed(piece))
                if problem is not None or self.style.done or self.enough:  # the rest is dropped
                    break
        finally:  # an early stop ends the engine's generation now, not at GC
            aclose = getattr(pieces, "aclose", None)
            if aclose is not None:
                await aclose()
        done = self.style.done or self.enough
        reason: FinishReason = "stop" if done else (stats.finish_reason or "stop")
        if problem is None:
            cut = reason if reason in ("length", "deadline") else None
            problem = await self.emit(self._splitter.flush(), cut=cut)
        if problem is not None:
            self._splitter = SentenceSplitter(first_min_chars=FIRST_CHUNK_MIN_CHARS)
        return reason, problem

    def keep_unsaid(self) -> None:
        """A cancelled reply is kept as far as it was produced."""
        for chunk in self._splitter.flush():
            self.style.accept(chunk)

    async def emit(
        self, chunks: list[str], *, cut: FinishReason | None = None, checked: bool = True
    ) -> ReplyProblem | None:
        """Show and speak what the reply filter keeps of ``chunks``; with guards, each chunk
        is checked first. Returns the problem of the first chunk that must not be said
        (nothing of it or after it is kept)."""
        style, shape = self.style, self.shape
        for i, chunk in enumerate(chunks):
            if checked and self.user_text:
                chunk = as_said_to_user(chunk, self.said_by_user)  # never as the user
            if shape is not None and checked:  # the user's style rules (``feedback``)
                shaped = None if self.enough else shape.sentence(chunk)
                if shaped is None:
                    self.enough = True
                    return None
                if not shaped:
                    continue
                chunk = shaped
            if self.guards and checked:
                problem = reply_problem(self.guards, chunk)
                if problem is not None and problem.answer and not self.enough:
                    await self._publish(style.must_say(problem.replacement))  # though said before
                    self.sentence_index += 1
                    continue
                if problem is not None and problem.rewrite:
                    chunk = problem.replacement  # fixed in Python: say it and go on
                elif problem is not None:
                    return problem
            if self.late is not None and not style.kept_any:
                came, feeling = self.late()
                if came:  # affect's estimate came after the prompt was made
                    self.late = None
                    self.hard = None if self.glad else feeling
            hard = self.hard
            if checked and hard is not None and cheers(chunk):
                continue  # no celebrating a hard moment
            if checked and self.glad and condoles(chunk):
                if not style.kept_any:  # good news: gladness, not condolences
                    await self.say(glad_line(self.replies()))
                continue
            if (
                checked
                and hard is not None
                and not self._acknowledged
                and not style.kept_any  # the first sentence kept, not the first written:
                and chunk.strip()  # an acknowledgement the filter drops opens nothing
                and not acknowledges(chunk)
            ):
                await self.acknowledge(hard)  # before anything else is said
            kept = style.accept(chunk, cut=cut if i == len(chunks) - 1 else None)
            if kept is None:
                continue
            self._answered = self._answered or checked
            if kept.spoken:
                await self._sentence(kept.spoken)
            await self.bus.publish(ReplyToken(self.turn_id, kept.shown))
        return None

    async def say(self, line: str) -> None:
        """Say ``line`` of her own through the reply filter."""
        said = self.style.accept(line)
        if said is not None and said.spoken:
            await self._sentence(said.spoken)
        if said is not None:
            await self.bus.publish(ReplyToken(self.turn_id, said.shown))

    async def acknowledge(self, feeling: Feeling) -> None:
        """Say a short acknowledgement of a hard moment, in their words where it can be (not
        the wording of one of her recent replies)."""
        self._acknowledged = True
        await self.say(acknowledgement(feeling, self.replies(), self.user_text))

    async def close(self, reason: FinishReason, guide: Guide | None) -> None:
        """The lines she adds once the reply has ended for ``reason``."""
        style = self.style
        if guide is not None and guide.kind == "sum" and reason != "cancelled":
            found = missing_sum(self.user_text, style.text)  # in time or not
            if found is not None:
                said = style.must_say(found.answer)
                await self._publish(said)
                self.sentence_index += 1
        if self.hard is not None and reason != "error":
            if not style.kept_any:  # every sentence was dropped: the acknowledgement stays
                await self.acknowledge(self.hard)
            if reason == "deadline" and not self._answered:  # and she says she was too slow
                slow = style.fallback(too_slow=True, after=True)
                if slow is not None:
                    await self._publish(slow)
                    self.sentence_index += 1
        closing = closing_line(self.guards, style.text) if reason in ("stop", "length") else None
        if closing:  # no answer kept to a question memory checks: its line, checked
            shown = style.text
            await self.emit([closing], checked=False)
            if style.text == shown and not style.done:  # said in a recent reply: it answers
                await self._publish(style.must_say(closing))
                self.sentence_index += 1
        fallback = style.fallback(
            too_slow=reason == "deadline",
            question=asks(self.user_text),
            about_her=guide is not None and guide.kind == "self",
        )
        if fallback is not None:
            await self._publish(fallback)

    async def _sentence(self, spoken: str) -> None:
        await self.bus.publish(ReplySentence(self.turn_id, self.sentence_index, spoken))
        self.sentence_index += 1

    async def _publish(self, kept: Kept) -> None:
        """``kept`` spoken and shown as it is (the sentence index is left as it is)."""
        await self.bus.publish(ReplySentence(self.turn_id, self.sentence_index, kept.spoken))
        await self.bus.publish(ReplyToken(self.turn_id, kept.shown))
