"""What one reply is written from, composed before the LM writes a word.

``Composer.plan`` gathers it for a turn: the providers' notes (``reply.notes``), how the user
seemed (``reply.felt``: a hard moment, good news), the turn's guide (``llm.turn_guide``), the
prompt fitted to the context (``reply.prompt``), the guards on duty after the notes, the answer
computed in Python or the translation asked for (``reply.answers``), the user's style shape and
the generation settings (``reply.settings``). The same prompt, guide and settings serve the
speculations sent ahead of the turn's end (``ahead``).

The stage's settings are read at each turn (``DialogueSettings``: tests and benches change
``reply_style`` and ``params`` on a running stage); the composer does not import the stage.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Literal, Protocol

from her_desktop.llm.acknowledge import Feeling, good_news, troubled
from her_desktop.llm.base import GenerationParams, LLMEngine, Message
from her_desktop.llm.reply_filter import ReplyFilter
from her_desktop.llm.turn_guide import Guide, translation_request, turn_guide
from her_desktop.reply.ahead import stop_stale
from her_desktop.reply.answers import python_answer
from her_desktop.reply.felt import Felt
from her_desktop.reply.history import History
from her_desktop.reply.notes import turn_notes
from her_desktop.reply.prompt import CONTEXT_MARGIN_TOKENS, GREETING_INSTRUCTION, turn_prompt
from her_desktop.reply.settings import reply_filter, reply_params, turn_params
from her_desktop.reply.writer import ReplyWriter
from her_desktop.speculative import Speculation
from her_desktop.turn_context import ReplyGuard, ReplyShape, ReplyShaper, TurnContextProvider


class DialogueSettings(Protocol):
    """What of the dialogue stage a reply is composed from (``dialogue.DialogueStage``)."""

    engine: LLMEngine
    system_prompt: str
    params: GenerationParams
    reply_style: bool
    """False: replies are the LM's raw text (no guide, no filter, no Python answers)"""
    own_name: str
    providers: list[TurnContextProvider]
    shaper: ReplyShaper | None


@dataclasses.dataclass
class Plan:
    """What one turn's reply is written from (``reply.run.write_reply`` takes it)."""

    messages: list[Message]
    params: GenerationParams
    guide: Guide | None = None
    shape: ReplyShape | None = None
    exact: str | None = None
    """the answer computed in Python (a sum, a phrase, her name, a summary of what they said)"""
    translation: tuple[str, str] | None = None
    """(phrase, language) of a translation asked for"""


@dataclasses.dataclass(eq=False)
class Composer:
    """Composes each reply of one conversation (``conversation``) from the stage's settings."""

    settings: DialogueSettings
    conversation: History
    felt: Felt
    notice: Callable[[str], None]
    """publishes a ``Notice`` in the stage's name (what the prompt had to leave out)"""
    failed: Callable[[TurnContextProvider, Exception], None]
    """a provider raised: the stage reports it and the turn goes on without it"""

    def params(self) -> GenerationParams:
        """The generation settings, the reply capped (``reply.settings.reply_params``)."""
        s = self.settings
        return reply_params(s.params, s.engine.context_size, reply_style=s.reply_style)

    def turn_params(self, guide: Guide | None) -> GenerationParams:
        """The generation settings of one turn (``reply.settings.turn_params``)."""
        return turn_params(self.params(), guide)

    def guide(self, user_text: str, *, hard: bool = False) -> Guide | None:
        """The hint for this reply worked out from the user's message (``llm.turn_guide``;
        ``hard``: the turn tells of a hard moment)."""
        if not self.settings.reply_style:
            return None
        return turn_guide(user_text, hard=hard)

    def hard(self, turn_id: int, user_text: str) -> Feeling | None:
        """The feeling of a turn that tells of a hard moment (``llm.acknowledge.hard_turn``,
        with affect's estimate of the turn when it came), or None."""
        if not self.settings.reply_style or not user_text:
            return None
        return self.felt.hard(turn_id, user_text)

    def prompt(
        self, user_text: str, notes: str = "", guide: str = "", *, notify: bool = True
    ) -> list[Message]:
        """System prompt + history + this turn. The turn's notes (memory, mood) go in front of
        the new user message, fenced as data, so they never read as instructions. Earlier
        user messages are given as the LM read them (their notes included): the prompt then
        starts with exactly what the LM's cache holds (system prompt and history), and only the
        new turn is read (``reply.prompt``); a real turn (``notify``) leaves out what it had
        to leave out for later turns too, and says so."""
        engine = self.settings.engine
        budget = engine.context_size - self.params().max_tokens - CONTEXT_MARGIN_TOKENS
        prompt = turn_prompt(
            self.settings.system_prompt,
            self.conversation.messages,
            self.conversation.sent,
            self.conversation.left_out,
            user_text,
            notes,
            guide,
            budget=budget,
            count=engine.count_tokens,
        )
        if notify:  # a real turn (not a speculation): later prompts leave these out too
            self.conversation.left_out += prompt.dropped
            if prompt.notice:
                self.notice(prompt.notice)
        return prompt.messages

    def ahead(
        self, kind: Literal["prefill", "reply"], text: str, notes: Callable[[str], str]
    ) -> Speculation:
        """A request sent ahead with the words heard so far (``text``): the same guide and
        settings the turn will have (its affect estimate is not known yet), the notes it will
        have told from these words (``notes``, called in a worker thread)."""
        guide = self.guide(text, hard=self.hard(-1, text) is not None)

        def build() -> list[Message]:
            return self.prompt(text, notes(text), guide.text if guide else "", notify=False)

        return Speculation(self.settings.engine, kind, text, build, self.turn_params(guide))

    def reply_filter(self, user_text: str, *, greeting: bool) -> ReplyFilter:
        """The filter of this turn's reply (``reply.settings.reply_filter``)."""
        s = self.settings
        return reply_filter(
            s.system_prompt,
            self.conversation.said("assistant"),
            user_text,
            greeting=greeting,
            reply_style=s.reply_style,
            own_name=s.own_name,
        )

    async def plan(
        self,
        turn_id: int,
        user_text: str,
        writer: ReplyWriter,
        *,
        greeting_notes: str = "",
        reading: Speculation | None = None,
    ) -> Plan:
        """What this turn's reply is written from; the writer learns how the user seemed,
        the guards on duty and the style shape (``reading``: a read-ahead still running,
        stopped when the prompt's notes differ from its own)."""
        s = self.settings
        guide: Guide | None = None
        if greeting_notes:
            messages = await asyncio.to_thread(self.prompt, GREETING_INSTRUCTION, greeting_notes)
        else:
            notes = await turn_notes(s.providers, turn_id, user_text, self.failed)
            writer.hard = self.hard(turn_id, user_text)
            if writer.hard is None and s.reply_style and turn_id not in self.felt:
                writer.late = self.felt.late(turn_id, lambda: self.hard(turn_id, user_text))
            writer.glad = s.reply_style and writer.hard is None and good_news(user_text)
            guide = self.guide(user_text, hard=writer.hard is not None)
            guide_text = guide.text if guide is not None else ""
            messages = await asyncio.to_thread(self.prompt, user_text, notes, guide_text)
        await stop_stale(reading, messages)  # read ahead with other notes: no use now
        # after the notes: what this turn's notes found decides what is checked
        writer.guards = [p for p in s.providers if isinstance(p, ReplyGuard) and p.guarding()]
        in_python = not greeting_notes and s.reply_style
        earlier_said = self.conversation.said("user")
        exact = python_answer(user_text, s.own_name, earlier_said) if in_python else None
        translation = translation_request(user_text) if in_python and exact is None else None
        if exact is not None or translation is not None:  # answered in Python
            writer.style.exact = True
            own_words = user_text.replace(translation[0], "") if translation else user_text
            if not troubled(own_words):  # a sum, a recap, "I got soaked" to translate:
                writer.hard, writer.late = None, None  # no feeling of theirs to answer
        params = self.turn_params(guide)
        shape: ReplyShape | None = None
        if s.shaper is not None:
            shape = s.shaper.shape(turn_id, "" if greeting_notes else user_text)
        if shape is not None:
            params = dataclasses.replace(params, max_tokens=shape.max_tokens(params.max_tokens))
        writer.shape = shape
        return Plan(messages, params, guide, shape, exact, translation)
