"""Writing one reply once its prompt and settings are known: the turn's speculation settled
(adopted, or left to finish, or cancelled), then the Python answer said, the speculation
adopted, or the LM streamed; a first sentence that goes against a ``ReplyGuard`` makes the LM
try once more with an explicit instruction, a later one (or a second offence) is replaced by
the guard's reminder and the reply ends there. What the run came to is kept in an ``Outcome``,
read by the stage even when the run was cancelled or failed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from her_desktop.events import FinishReason, ReplyFinished
from her_desktop.llm.base import GenerationParams, GenerationStats, LLMEngine, Message
from her_desktop.llm.translate import translate
from her_desktop.llm.turn_guide import Guide
from her_desktop.reply.ahead import settle
from her_desktop.reply.answers import said
from her_desktop.reply.guards import with_instruction
from her_desktop.reply.writer import ReplyWriter
from her_desktop.speculative import Speculation, read_after_end

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Outcome:
    """What one reply run came to so far (``ReplyFinished`` tells it)."""

    reason: FinishReason = "error"
    stats: GenerationStats = dataclasses.field(default_factory=GenerationStats)
    speculative: bool = False
    """the reply is the speculation begun at the user's pause, adopted"""
    speculation: str = ""
    """what became of the turn's speculation, in words (``reply.ahead.settle``)"""
    finishing: list[Speculation] = dataclasses.field(default_factory=list)
    """speculations left to finish: cancelled at the end of the turn unless adopted"""

    def finished(
        self,
        turn_id: int,
        text: str,
        *,
        total_s: float,
        held_chars: int,
        written_ahead: int,
        unread: Sequence[Speculation],
    ) -> ReplyFinished:
        """The turn's ``ReplyFinished`` (``written_ahead``, ``unread``: what the LM had
        written, and which speculations had not yet written, when the turn ended)."""
        stats, speculative = self.stats, self.speculative
        return ReplyFinished(
            turn_id,
            text,
            self.reason,
            tokens=stats.tokens,
            first_token_s=stats.first_token_s,
            total_s=total_s,
            prompt_tokens=stats.prompt_tokens,
            cached_tokens=stats.cached_tokens,
            speculative=speculative,
            speculation=self.speculation,
            held_chars=held_chars,
            read_after_end=read_after_end(stats, speculative, written_ahead, unread),
            written_ahead=written_ahead if speculative else 0,
        )


async def write_reply(
    engine: LLMEngine,
    writer: ReplyWriter,
    messages: list[Message],
    params: GenerationParams,
    outcome: Outcome,
    *,
    spec: Speculation | None,
    exact: str | None,
    translation: tuple[str, str] | None,
    complete: bool,
    guide: Guide | None,
    out_of_time: Callable[[float], None],
) -> None:
    """Write the reply to ``messages`` through ``writer`` (``exact``: the answer computed in
    Python; ``translation``: the phrase and language asked for; ``complete``: the shape's
    opening is the whole reply; ``out_of_time``: told the deadline the model ran past)."""
    style, shape = writer.style, writer.shape
    adopt: Speculation | None = None
    attempt = messages
    if spec is not None:
        why = "exact answer" if exact is not None or translation or complete else ""
        outcome.speculation, adopt, left = await settle(spec, messages, params, why)
        outcome.finishing += [left] if left is not None else []
    if translation is not None and not complete:
        phrase, lang = translation  # said checked, or declined plainly
        exact = await translate(engine, phrase, lang, deadline_s=params.deadline_s)
    if shape is not None and shape.opening:
        await writer.emit([shape.opening], checked=False)
    while not complete:
        if exact is not None:
            pieces = said(exact)
        elif adopt is not None:
            pieces, outcome.stats, adopt = adopt.pieces(), adopt.stats, None
            outcome.speculative = True
        else:
            pieces = engine.stream(attempt, params, outcome.stats)
        outcome.reason, problem = await writer.write(pieces, outcome.stats)
        if problem is None:
            break
        if writer.sentence_index == 0 and not style.text and attempt is messages:
            log.info("dialogue: the reply went against a stored constraint; asking again")
            attempt = with_instruction(messages, problem.instruction)
            continue
        if problem.replacement:  # "": the reply ends before the sentence
            await writer.emit([problem.replacement], checked=False)
        outcome.reason = "stop"
        break
    if complete:
        outcome.reason = "stop"  # the turn was only a correction: the opening was the reply
    if outcome.reason == "deadline":
        out_of_time(params.deadline_s)
    await writer.close(outcome.reason, guide)
