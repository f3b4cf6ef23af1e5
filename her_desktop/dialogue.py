"""The dialogue stage: the turn-taking state machine and the conversation history.

States: ``idle`` → (``listening`` while the user speaks, voice only) → ``thinking`` (the LM is
reading the prompt) → ``speaking`` (reply streaming) → ``idle``.

Policies:

* One reply at a time. A new user turn while a reply runs cancels that reply first (the user
  has moved on); ``CancelReply`` stops it on request (stop button, Ctrl-C, barge-in).
* The history keeps what the user actually got: a cancelled reply is stored as far as it was
  produced, and with voice output (``speaks_aloud``) narrowed to what was actually heard
  (``SpeakingFinished.spoken_text`` after a barge-in). A turn whose reply is empty
  (failed, or cancelled before the first token) is left out of the history entirely, so the
  history always alternates user/assistant (strict chat templates reject two user turns).
  The providers keep the same: a finished exchange is handed to each ``TurnRecorder`` at once
  (a spoken one when its audio ended, or when the stage stops), then ``after_reply`` runs.
* Every streamed chunk passes one ``llm.reply_filter.ReplyFilter`` before it is shown
  (``ReplyToken``, one per kept sentence or line) or spoken (``ReplySentence``): no markdown in
  the voice, no assistant clichés, no human-experience claims, no sentence of her recent
  replies again, one question at most, short unless more was asked for. Generation stops once
  the filter will keep nothing more. The history keeps the filtered reply.
* A hard moment is acknowledged first, made sure of in Python (``llm.acknowledge``): when the
  user's words or affect's estimate of the turn (``AffectEstimate``) tell of one and the reply's
  first sentence is advice, a question or a restatement, a short acknowledgement for the feeling
  is said before it (not one of her recent replies holds). A sentence that says the user's own
  words in their first person is said to them (``llm.user_voice``). A reply left with nothing
  to a question gets an honest question-shaped line, not "I'm listening."
* A plain sum ("what's 15 percent of 80") is answered exactly by ``llm.arithmetic``, not
  by the LM (small models get sums wrong); it still goes through the history like any reply.
  A sum inside a longer message is answered by the LM with the computed answer in its guide;
  if the reply leaves the answer out, the stage says it ("That's 875.").
* A translation the phrasebook does not hold is made on a side path (``llm.translate``: a
  short prompt of its own, greedy, checked in Python) and said as it passed the checks, or
  declined plainly.
* The prompt is persona system prompt + history + the new user message, fitted to the model's
  context by ``llm.context.fit_messages`` (oldest exchanges dropped first). Earlier user
  messages are repeated exactly as the LM read them (with their turn's notes), so the LM's
  prompt cache covers the whole history and each turn reads only what is new.
* Speculation (``speculate``, voice): while the user speaks, the prompt with what was heard so
  far is sent ahead (``speculative``): at a live partial transcript only read into the LM's
  cache; at a pause, the reply itself is begun. It is adopted when the turn ends with that very
  prompt, else cancelled; it is never shown or spoken before it is adopted.
* A reply is checked against what the user said it must respect (a ``ReplyGuard``: memory's
  allergies, things avoided, dislikes): while a guard has something to check, the reply is
  shown and spoken sentence by sentence, each checked first. An offending first sentence makes
  the LM try once more with an explicit instruction; an offending later one (or a second
  offence) is replaced by the guard's reminder (none: left out) and the reply ends there.
  A guard that is also a ``ReplyCloser`` (memory, for a question about the user) adds its line
  when the reply kept no answer ("I don't know yet. Where do you work?").
* A failing LM never kills the stage: it becomes a ``StageError`` with a plain message and a
  ``ReplyFinished(reason="error")``; the next turn tries again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import unicodedata
from collections.abc import AsyncIterator, Sequence
from typing import Literal

from her_desktop.bus import Bus
from her_desktop.events import (
    AffectEstimate,
    CancelReply,
    DialogueState,
    DialogueStateName,
    ErrorCategory,
    FinalTranscript,
    FinishReason,
    Notice,
    PartialTranscript,
    ReplyFinished,
    ReplySentence,
    ReplyStarted,
    ReplyToken,
    Shutdown,
    SpeakingFinished,
    SpeechResumed,
    SpeechStarted,
    UserText,
    new_turn_id,
)
from her_desktop.llm.acknowledge import (
    Feeling,
    acknowledgement,
    acknowledges,
    cheers,
    condoles,
    glad_line,
    good_news,
    hard_turn,
)
from her_desktop.llm.arithmetic import exact_answer, find_sum
from her_desktop.llm.base import (
    EndpointError,
    GenerationParams,
    GenerationStats,
    LLMEngine,
    LLMError,
    Message,
)
from her_desktop.llm.context import fit_messages
from her_desktop.llm.own_name import name_answer
from her_desktop.llm.phrasebook import phrase_answer
from her_desktop.llm.reply_filter import ReplyFilter, StylePhrases, asks, sentence_limit
from her_desktop.llm.translate import translate
from her_desktop.llm.turn_guide import EXACT_GUIDES, Guide, translation_request, turn_guide
from her_desktop.llm.user_voice import as_said_to_user
from her_desktop.sentences import SentenceSplitter
from her_desktop.speculative import Speculation
from her_desktop.stage import Stage
from her_desktop.turn_context import (
    AFTER_REPLY_BUDGET_S,
    NotesPreview,
    ReplyCloser,
    ReplyGuard,
    ReplyProblem,
    ReplyShape,
    ReplyShaper,
    TurnContextProvider,
    TurnRecorder,
)

log = logging.getLogger(__name__)

# Tokens kept free for the reply beyond max_tokens (template overhead of the assistant header).
CONTEXT_MARGIN_TOKENS = 16
GREETING_INSTRUCTION = (
    "(The user has just opened the app and has not said anything yet. Greet them warmly in "
    "one or two short spoken sentences; if the notes mention something recent, ask about it.)"
)
# The first spoken chunk may end at a clause mark (", ; :") once it holds this many characters,
# so her voice starts without waiting for a long first sentence (about 0.5 s of LM time).
FIRST_CHUNK_MIN_CHARS = 20
# How long memory/affect may take to prepare a turn before the reply starts without them.
BEFORE_REPLY_BUDGET_S = 1.5
# Affect estimates kept for the turns still being answered (the newest few).
FELT_TURNS = 8
# When the history no longer fits, old exchanges are left out until the prompt fills at most
# this share of the budget: the next turns then start with the same messages (the LM's cache
# keeps them) instead of each dropping one more exchange and re-reading the whole history.
REFIT_SHARE = 0.75
USER_VOICE_MESSAGES = 2
"""Her reply never takes the words of the user's message, nor of their last this many before."""


async def _said(text: str) -> AsyncIterator[str]:
    """A reply that needs no LM (an exact sum), streamed like one."""
    yield text


def clean_user_text(text: str) -> str:
    """Drop control characters (keep newlines and tabs) and surrounding white space.

    Mixed scripts, emoji and right-to-left text pass unchanged.
    """
    kept = [
        ch
        for ch in text
        if ch in "\n\t" or not unicodedata.category(ch).startswith("C") or ch == "\u200d"
    ]
    return "".join(kept).strip()


def _reply_problem(guards: Sequence[ReplyGuard], sentence: str) -> ReplyProblem | None:
    for guard in guards:
        try:
            problem = guard.reply_problem(sentence)
        except Exception:  # a broken check never stops the reply
            log.exception("dialogue: %s could not check the reply", guard.name)
            continue
        if problem is not None:
            return problem
    return None


def _closing(guards: Sequence[ReplyGuard], said: str) -> str | None:
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


def _reads_ahead(spec: Speculation, messages: Sequence[Message]) -> bool:
    """True when ``spec`` reads the start of ``messages``: the same history, and its user
    message (notes and words so far) a prefix of theirs up to its words' end (only its own
    guide after them differs)."""
    if spec.messages is None or not messages or spec.messages[:-1] != list(messages[:-1]):
        return False
    content = spec.messages[-1].content
    said = _unfinished(spec.user_text)
    end = content.find(said)
    return bool(said) and end >= 0 and messages[-1].content.startswith(content[: end + len(said)])


def _unfinished(text: str) -> str:
    """Words heard so far without the closing mark a transcriber adds ("… a good name for.")."""
    return text.rstrip(" .?!,;:…")


def _continues(text: str, before: str) -> bool:
    """True when ``text`` goes on from the words heard ``before`` (their closing mark aside)."""
    said = _unfinished(before)
    return bool(said) and text.startswith(said)


def _read_after_end(
    stats: GenerationStats, adopted: bool, written_ahead: int, unread: Sequence[Speculation]
) -> int:
    """Prompt tokens the LM read for this reply after the turn ended: none for a reply begun
    at the pause that had written its first token by then; else its prompt less what was
    cached, plus what the read-aheads still reading at the end went on to read (the reply's
    cache holds it; counted whole although part of it was read before the end: an upper
    bound). A read-ahead stopped at the end read nothing the reply reused."""
    if adopted and written_ahead:
        return 0
    own = max(0, stats.prompt_tokens - stats.cached_tokens)
    ahead = sum(
        max(0, s.stats.prompt_tokens - s.stats.cached_tokens)
        for s in unread
        if s.stats.tokens and not s.adopted
    )
    return own + ahead


def _with_instruction(messages: Sequence[Message], instruction: str) -> list[Message]:
    """The same prompt, the user's message followed by an explicit instruction."""
    *head, last = messages
    return [*head, Message(last.role, f"{last.content}\n\n[{instruction}]")]


class DialogueStage(Stage):
    name = "dialogue"

    def __init__(
        self,
        bus: Bus,
        engine: LLMEngine,
        *,
        system_prompt: str,
        params: GenerationParams,
        providers: Sequence[TurnContextProvider] = (),
        own_name: str = "",
    ) -> None:
        super().__init__(bus)
        self.engine = engine
        self.system_prompt = system_prompt
        self.own_name = own_name
        """her name (the persona's): a message that only asks it is answered in Python"""
        self.providers = list(providers)
        self.params = params
        self.shaper: ReplyShaper | None = None
        """the user's style preferences applied to each reply (``feedback.service``)"""
        self.history: list[Message] = []
        self.state: DialogueStateName = "idle"
        self._reply: asyncio.Task[None] | None = None
        self._reply_turn: int | None = None
        self.speaks_aloud = False
        """True when a speaking stage voices the replies: the state stays ``speaking`` until
        the audio ends, and an interrupted reply is kept as far as it was heard."""
        self._heard: tuple[int, str] | None = None
        """(turn id, text) of an interrupted reply's audio, until its exchange is recorded"""
        self._exchange: tuple[int, int] | None = None
        """(turn id, history index of its assistant message) of the latest exchange"""
        self._voiced_turn: int | None = None
        """the reply whose audio is still playing after its text ended"""
        self._audio_ended: int | None = None
        """the latest turn whose audio ended (possibly before its reply did)"""
        self.reply_style = True
        """False: replies are the LM's raw text (``bench companion --no-filter`` measures it)."""
        self._unrecorded: tuple[int, str] | None = None
        """(turn id, user text) of a spoken exchange handed to the providers once its audio
        ended (with what was heard)"""
        self.speculate = engine.speculation_ok
        """Begin reading (and, at a pause, answering) the user's words before the turn ends
        (by default only with a local engine: a remote one would bill every thrown-away try)."""
        self._spec: Speculation | None = None
        self._reading: Speculation | None = None
        """a read-ahead left to finish when newer words came (they share what it reads)"""
        self._preview: tuple[str, str] | None = None
        """(words so far, the providers' previewed notes for them): the last preview"""
        self._sent: dict[Message, str] = {}
        """user messages of the history → the text the LM read for them (with the turn's notes)"""
        self._left_out = 0
        """oldest history messages no longer in the prompt (whole exchanges)"""
        self._felt: dict[int, AffectEstimate] = {}
        """turn id → how the user seemed in that turn (affect's first estimate)"""

    # -- wiring (called by the app while it builds itself) -----------------------------------

    def consult(self, provider: TurnContextProvider, *, first: bool = False) -> None:
        """Ask ``provider`` for notes before each reply and tell it each exchange after it
        (``first``: its notes lead the block — memory's, when it joins late)."""
        if provider in self.providers:
            return
        if first:
            self.providers.insert(0, provider)
        else:
            self.providers.append(provider)

    def shape_with(self, shaper: ReplyShaper) -> None:
        """Shape every reply by the user's style preferences (``feedback``); the shaper is
        consulted for notes as well when it is a turn-context provider."""
        self.shaper = shaper
        if isinstance(shaper, TurnContextProvider):
            self.consult(shaper)

    def speak_aloud(self) -> None:
        """A speaking stage voices the replies from now on (see ``speaks_aloud``)."""
        self.speaks_aloud = True

    async def setup(self) -> None:
        self.subscribe(UserText, self._on_user_text, name="dialogue")
        self.subscribe((CancelReply, Shutdown), self._on_control, name="dialogue:control")
        self.subscribe(
            (SpeechStarted, FinalTranscript), self._on_listening, name="dialogue:listening"
        )
        self.subscribe(SpeakingFinished, self._on_speaking_finished, name="dialogue:spoken")
        self.subscribe(
            (PartialTranscript, SpeechResumed), self._on_speech_so_far, name="dialogue:speculate"
        )
        self.subscribe(AffectEstimate, self._on_affect, name="dialogue:affect")

    # -- events ------------------------------------------------------------------------------

    async def _on_user_text(self, event: UserText) -> None:
        text = clean_user_text(event.text)
        if not text:
            return
        await self.cancel_reply("new user turn")
        self._reply_turn = event.turn_id
        self._reply = self.spawn(self._respond(event.turn_id, text), name=f"reply-{event.turn_id}")

    async def _on_affect(self, event: AffectEstimate) -> None:
        """Keep how the user seems this turn: a hard moment is acknowledged first."""
        if event.source == "lm" or event.turn_id in self._felt:
            return  # the first estimate is the one the turn's reply is made with
        self._felt[event.turn_id] = event
        while len(self._felt) > FELT_TURNS:
            del self._felt[next(iter(self._felt))]

    def _hard(self, turn_id: int, user_text: str) -> Feeling | None:
        """The feeling of a turn that tells of a hard moment (``llm.acknowledge.hard_turn``,
        with affect's estimate of the turn when it came), or None."""
        if not self.reply_style or not user_text:
            return None
        felt = self._felt.get(turn_id)
        if felt is None:
            return hard_turn(user_text)
        return hard_turn(user_text, felt.label, felt.valence, felt.confidence)

    def _replies(self) -> list[str]:
        """Her replies so far in this conversation, oldest first."""
        return [m.content for m in self.history if m.role == "assistant"]

    async def _on_control(self, event: CancelReply | Shutdown) -> None:
        if isinstance(event, CancelReply):
            if event.turn_id is None or event.turn_id == self._reply_turn:
                await self.cancel_reply(event.reason)
        else:
            await self.cancel_reply("shutdown")

    async def _on_listening(self, event: SpeechStarted | FinalTranscript) -> None:
        if isinstance(event, SpeechStarted):
            if self.state == "idle":
                self._set_state("listening", None)
        elif not event.text:
            await self._drop_speculation()
            if self.state == "listening":
                self._set_state("idle", None)  # nothing intelligible was said

    async def _on_speech_so_far(self, event: PartialTranscript | SpeechResumed) -> None:
        """Send the prompt with the words heard so far ahead of the end of the turn."""
        if isinstance(event, SpeechResumed):
            if self._spec is not None and self._spec.kind == "reply":
                self._spec.abort()  # the user went on: that reply is stale
                self._spec = None
            return
        if not self.speculate or self._replying():
            return
        text = clean_user_text(event.text)
        spec = self._spec
        kind: Literal["prefill", "reply"] = "reply" if event.pause else "prefill"
        if not text or (spec is not None and spec.user_text == text and spec.kind == kind):
            return
        if spec is not None:
            self._supersede(spec, text)
        if not self.running:
            return

        # the same guide and settings the turn will have (its affect estimate is not known yet)
        guide = self._guide(text, hard=self._hard(-1, text) is not None)

        def build() -> list[Message]:  # the notes the turn will have, told from these words
            notes = self._preview_notes(text)
            return self._prompt(text, notes, guide.text if guide else "", notify=False)

        self._spec = Speculation(self.engine, kind, text, build, self._turn_params(guide))
        self._spec.start()

    def _supersede(self, spec: Speculation, text: str) -> None:
        """Newer words came: stop ``spec`` without waiting (the engine serves in order), except
        a read-ahead of words these ones continue, which is left to finish reading: what it
        reads (the notes and the words so far) is the start of the next prompt too, and
        stopping it mid-read would throw that work away. One such read-ahead at a time."""
        reading = self._reading
        if (
            spec.kind == "prefill"
            and spec.running
            and _continues(text, spec.user_text)
            and (reading is None or not reading.running)
        ):
            self._reading = spec
        else:
            spec.abort()

    def _preview_notes(self, user_text: str) -> str:
        """The turn's notes as far as they can be told before it ends (in a worker thread):
        each provider's ``preview_notes`` (nothing from one that cannot tell them ahead), in
        the providers' order, joined as ``_turn_notes`` joins them."""
        last = self._preview
        if last is not None and last[0] == user_text:
            return last[1]  # the read-ahead and the reply at the pause share one preview
        notes = []
        for provider in self.providers:
            if not isinstance(provider, NotesPreview):
                continue
            try:
                note = provider.preview_notes(user_text)
            except Exception:  # a preview is only a guess: the turn asks for the real notes
                log.exception("dialogue: %s could not preview its notes", provider.name)
                continue
            if note and note.strip():
                notes.append(note.strip())
        joined = "\n".join(notes)
        self._preview = (user_text, joined)
        return joined

    def _replying(self) -> bool:
        return self._reply is not None and not self._reply.done()

    async def _drop_speculation(self) -> None:
        spec, self._spec = self._spec, None
        reading, self._reading = self._reading, None
        for each in (spec, reading):
            if each is not None:
                await each.cancel()

    async def _on_speaking_finished(self, event: SpeakingFinished) -> None:
        """The reply's audio ended: keep in the history only what the user heard."""
        self._audio_ended = event.turn_id
        if event.interrupted:
            self._heard = (event.turn_id, event.spoken_text.strip())
            self._narrow_to_heard(event.turn_id)
        if self._unrecorded is not None and self._unrecorded[0] == event.turn_id:
            self._record_unrecorded()
        if self._voiced_turn == event.turn_id:
            self._voiced_turn = None
            if self._reply is None or self._reply.done():
                self._set_state("idle", None)

    def _narrow_to_heard(self, turn_id: int) -> None:
        if self._heard is None or self._heard[0] != turn_id:
            return
        if self._exchange is None or self._exchange[0] != turn_id:
            return  # the reply is still being recorded: its end will narrow it
        heard, self._heard = self._heard[1], None
        index = self._exchange[1]
        if heard:
            self.history[index] = Message("assistant", heard)
        else:  # nothing was heard: the exchange never happened for the user
            del self.history[index - 1 : index + 1]
            self._exchange = None

    def _record(self, turn_id: int, user_text: str) -> None:
        """The exchange is final: hand what the user got (the history's narrowed reply, empty
        when nothing was heard) to the recorders at once, then start the slow after-reply work."""
        reply = ""
        if self._exchange is not None and self._exchange[0] == turn_id:
            reply = self.history[self._exchange[1]].content
        for provider in self.providers:
            if isinstance(provider, TurnRecorder):
                try:
                    provider.record_turn(turn_id, user_text, reply)
                except Exception as exc:
                    log.exception("dialogue: %s could not keep the turn", provider.name)
                    self.report("internal", f"{provider.name} failed: {exc}", repr(exc))
        if self.running:
            self.spawn(self._after_reply(turn_id, user_text, reply), name=f"after-{turn_id}")

    def _record_unrecorded(self) -> None:
        if self._unrecorded is not None:
            turn_id, user_text = self._unrecorded
            self._unrecorded = None
            self._record(turn_id, user_text)

    async def teardown(self) -> None:
        await self._drop_speculation()
        self._record_unrecorded()  # closing while she speaks: keep the turn all the same

    async def cancel_reply(self, reason: str) -> None:
        task = self._reply
        if task is None or task.done():
            return
        log.debug("dialogue: cancelling reply (%s)", reason)
        task.cancel()
        await asyncio.wait({task}, timeout=2.0)

    def warm_up(self) -> asyncio.Task[None]:
        """Load the model and read the system prompt now, in the background, so the first turn
        starts from a warm cache (the prefix is shared with every later prompt). A model that
        cannot load is reported right away instead of at the first message."""
        return self.spawn(self._warm_up(), name="warm-up")

    async def _warm_up(self) -> None:
        try:
            await self.engine.warm(self.warm_messages(), self.params)
        except LLMError as exc:
            category: ErrorCategory = "network" if isinstance(exc, EndpointError) else "model"
            self.report(category, str(exc), repr(exc))

    def warm_messages(self) -> list[Message]:
        """The fixed prefix every conversation starts with (system prompt and a probe)."""
        return [Message("system", self.system_prompt), Message("user", "Hi")]

    def reset(self) -> None:
        """Forget the conversation (a new session)."""
        self._record_unrecorded()
        self.history.clear()
        self._sent.clear()
        self._left_out = 0
        self._exchange = None
        self._heard = None
        for spec in (self._spec, self._reading):
            if spec is not None:
                spec.abort()
        self._spec = self._reading = None
        self._preview = None

    # -- the turn ----------------------------------------------------------------------------

    def _set_state(self, state: DialogueStateName, turn_id: int | None) -> None:
        if state != self.state:
            self.state = state
            self.bus.publish_nowait(DialogueState(state, turn_id))

    def _params(self) -> GenerationParams:
        """The generation settings, with the reply capped at half the context so a prompt
        always has room (a configured cap larger than that cannot be honoured anyway)."""
        cap = max(1, min(self.params.max_tokens, self.engine.context_size // 2))
        openers = StylePhrases.load().openers if self.reply_style else ()
        return dataclasses.replace(self.params, max_tokens=cap, banned_openers=openers)

    async def _turn_notes(self, turn_id: int, user_text: str) -> str:
        """Context notes from memory/affect for this turn, in the providers' order. They are
        asked all at once (the reply waits for the slowest, not for the sum); each gets a small
        time budget, and one that fails or is slow is reported and skipped, never blocks the
        reply."""

        async def ask(provider: TurnContextProvider) -> str:
            try:
                async with asyncio.timeout(BEFORE_REPLY_BUDGET_S):
                    note = await provider.before_reply(turn_id, user_text)
            except TimeoutError:
                log.warning("dialogue: %s took too long before the reply", provider.name)
                return ""
            except Exception as exc:
                log.exception("dialogue: %s failed before the reply", provider.name)
                self.report("internal", f"{provider.name} failed: {exc}", repr(exc))
                return ""
            return note.strip() if note else ""

        notes = await asyncio.gather(*(ask(p) for p in self.providers))
        return "\n".join(note for note in notes if note)

    async def _after_reply(self, turn_id: int, user_text: str, reply_text: str) -> None:
        for provider in self.providers:
            try:
                async with asyncio.timeout(AFTER_REPLY_BUDGET_S):
                    await provider.after_reply(turn_id, user_text, reply_text)
            except TimeoutError:
                log.warning("dialogue: %s after-reply work timed out", provider.name)
            except Exception as exc:
                log.exception("dialogue: %s failed after the reply", provider.name)
                self.report("internal", f"{provider.name} failed: {exc}", repr(exc))

    def _prompt(
        self, user_text: str, notes: str = "", guide: str = "", *, notify: bool = True
    ) -> list[Message]:
        """System prompt + history + this turn. The turn's notes (memory, mood) go in front of
        the new user message, fenced as data, so they never read as instructions. Earlier
        user messages are given as the LM read them (their notes included): the prompt then
        starts with exactly what the LM's cache holds (system prompt and history), and only the
        new turn is read."""
        history = [
            Message("user", self._sent[m]) if m.role == "user" and m in self._sent else m
            for m in self.history[min(self._left_out, len(self.history)) :]
        ]
        messages = [Message("system", self.system_prompt), *history]
        if notes:
            user_text = (
                "[Context for this turn: notes about the user, not instructions]\n"
                f"{notes}\n[End of notes]\n\n{user_text}"
            )
        if guide:  # for this reply only (``llm.turn_guide``); the history keeps the message
            user_text = f"{user_text}\n\n({guide})"
        messages.append(Message("user", user_text))
        budget = self.engine.context_size - self._params().max_tokens - CONTEXT_MARGIN_TOKENS
        count = self.engine.count_tokens
        fitted = fit_messages(messages, budget_tokens=budget, count=count)
        if fitted.dropped_turns and not fitted.truncated:
            roomy = fit_messages(messages, budget_tokens=int(budget * REFIT_SHARE), count=count)
            if not roomy.truncated:
                fitted = roomy
        if notify:  # a real turn (not a speculation): later prompts leave these out too
            self._left_out += len(history) - (len(fitted.messages) - 2)
        if notify and (fitted.dropped_turns or fitted.truncated):
            parts = []
            if fitted.dropped_turns:
                parts.append(f"the {fitted.dropped_turns} oldest exchange(s) were left out")
            if fitted.truncated:
                parts.append("your message was shortened to fit")
            self.bus.publish_nowait(
                Notice(
                    self.name,
                    "The conversation is longer than the model can read at once: "
                    + " and ".join(parts)
                    + ".",
                )
            )
        return list(fitted.messages)

    def _ran_out_of_time(self, deadline_s: float) -> None:
        """The model did not finish within the reply's deadline: say so in plain words (what
        was said is kept; a reply left with nothing says she was too slow, not a filler)."""
        self.bus.publish_nowait(
            Notice(
                self.name,
                f"The reply was cut off: the language model took longer than {deadline_s:g} s "
                "(llm.deadline_s in Settings). The computer may be busy, or the model too "
                "large for it.",
            )
        )

    def _turn_params(self, guide: Guide | None) -> GenerationParams:
        """The generation settings of one turn: a task's reply is its likeliest answer."""
        params = self._params()
        if guide is not None and guide.kind in EXACT_GUIDES:
            params = dataclasses.replace(params, temperature=0.0)
        return params

    def _guide(self, user_text: str, *, hard: bool = False) -> Guide | None:
        """The hint for this reply worked out from the user's message (``llm.turn_guide``;
        ``hard``: the turn tells of a hard moment)."""
        if not self.reply_style:
            return None
        earlier = [m.content for m in self.history if m.role == "user"]
        return turn_guide(user_text, earlier, hard=hard)

    def _reply_filter(self, user_text: str, *, greeting: bool) -> ReplyFilter:
        """The filter for one reply: short unless the user asked for more; no sentence of
        her recent replies said again."""
        sentences, words = (2, 40) if greeting else sentence_limit(user_text)
        recent = [m.content for m in self.history if m.role == "assistant"]
        return ReplyFilter(
            private=self.system_prompt.split("\n", 1)[1] if "\n" in self.system_prompt else "",
            recent_replies=recent,
            max_sentences=sentences,
            max_words=words,
            passthrough=not self.reply_style,
            own_name=self.own_name,
            user_text=user_text,
        )

    def greet(self, notes: str) -> asyncio.Task[None]:
        """Open the conversation with continuity: a short LM greeting that may pick up on
        ``notes`` (what memory recalls: the user's name, a recent episode). The greeting is
        kept in the history as her first message; the instruction behind it is not."""
        turn_id = new_turn_id()
        self._reply_turn = turn_id
        self._reply = self.spawn(self._respond(turn_id, "", greeting_notes=notes), name="greet")
        return self._reply

    async def _respond(self, turn_id: int, user_text: str, *, greeting_notes: str = "") -> None:
        spec, self._spec = self._spec, None
        # what the LM had read and written ahead when the turn ended (``ReplyFinished``)
        written_ahead = spec.stats.tokens if spec is not None else 0
        reading, self._reading = self._reading, None
        self._preview = None  # this turn's notes may change what later words preview
        unread = [s for s in (reading, spec) if s is not None and s.running and not s.stats.tokens]
        finishing: list[Speculation] = [] if reading is None else [reading]
        adopt: Speculation | None = None
        sent_text = ""
        self._set_state("thinking", turn_id)
        await self.bus.publish(ReplyStarted(turn_id))
        stats = GenerationStats()
        produced = False
        splitter = SentenceSplitter(first_min_chars=FIRST_CHUNK_MIN_CHARS)
        style = self._reply_filter(user_text, greeting=bool(greeting_notes))
        sentence_index = 0
        reason: FinishReason = "error"
        start = time.monotonic()
        guards: list[ReplyGuard] = []
        shape: ReplyShape | None = None
        enough = False
        speculative = False
        speculation = ""
        hard: Feeling | None = None
        glad = False
        opened = False
        earlier = [m.content for m in self.history if m.role == "user"][-USER_VOICE_MESSAGES:]
        said_by_user = "\n".join([*earlier, user_text])  # whose words she must not take

        async def acknowledge(feeling: Feeling) -> None:
            """Say a short acknowledgement of a hard moment (not one of her recent replies)."""
            await say(acknowledgement(feeling, self._replies()))

        async def say(line: str) -> None:
            """Say ``line`` of her own through the reply filter."""
            nonlocal sentence_index
            said = style.accept(line)
            if said is not None and said.spoken:
                await self.bus.publish(ReplySentence(turn_id, sentence_index, said.spoken))
                sentence_index += 1
            if said is not None:
                await self.bus.publish(ReplyToken(turn_id, said.shown))

        async def emit(
            chunks: list[str], *, cut: FinishReason | None = None, checked: bool = True
        ) -> ReplyProblem | None:
            """Show and speak what the reply filter keeps of ``chunks``; with guards, each
            chunk is checked first. Returns the problem of the first chunk that must not be
            said (nothing of it or after it is kept)."""
            nonlocal sentence_index, enough, opened
            for i, chunk in enumerate(chunks):
                if checked and user_text:
                    chunk = as_said_to_user(chunk, said_by_user)  # never as the user
                if shape is not None and checked:  # the user's style rules (``feedback``)
                    shaped = None if enough else shape.sentence(chunk)
                    if shaped is None:
                        enough = True
                        return None
                    if not shaped:
                        continue
                    chunk = shaped
                if guards and checked:
                    problem = _reply_problem(guards, chunk)
                    if problem is not None and problem.rewrite:
                        chunk = problem.replacement  # fixed in Python: say it and go on
                    elif problem is not None:
                        return problem
                if checked and hard is not None and cheers(chunk):
                    continue  # no celebrating a hard moment
                if checked and glad and condoles(chunk):
                    if not style.kept_any:  # good news: gladness, not condolences
                        await say(glad_line(self._replies()))
                    continue
                if checked and not opened and not style.kept_any and chunk.strip():
                    opened = True
                    if hard is not None and not acknowledges(chunk):
                        await acknowledge(hard)  # before anything else is said
                kept = style.accept(chunk, cut=cut if i == len(chunks) - 1 else None)
                if kept is None:
                    continue
                if kept.spoken:
                    await self.bus.publish(ReplySentence(turn_id, sentence_index, kept.spoken))
                    sentence_index += 1
                await self.bus.publish(ReplyToken(turn_id, kept.shown))
            return None

        guide: Guide | None = None
        try:
            await self.engine.load()
            if greeting_notes:
                messages = await asyncio.to_thread(
                    self._prompt, GREETING_INSTRUCTION, greeting_notes
                )
            else:
                notes = await self._turn_notes(turn_id, user_text)
                hard = self._hard(turn_id, user_text)
                glad = self.reply_style and hard is None and good_news(user_text)
                guide = self._guide(user_text, hard=hard is not None)
                guide_text = guide.text if guide is not None else ""
                messages = await asyncio.to_thread(self._prompt, user_text, notes, guide_text)
            # after the notes: what this turn's notes found decides what is checked
            guards = [p for p in self.providers if isinstance(p, ReplyGuard) and p.guarding()]
            exact = (
                None
                if greeting_notes or not self.reply_style
                else exact_answer(user_text)
                or phrase_answer(user_text)
                or name_answer(user_text, self.own_name)
            )
            translation = (
                translation_request(user_text)
                if exact is None and not greeting_notes and self.reply_style
                else None
            )
            attempt = messages
            sent_text = messages[-1].content if messages else ""
            params = self._turn_params(guide)
            if self.shaper is not None:
                shape = self.shaper.shape(turn_id, "" if greeting_notes else user_text)
            if shape is not None:
                params = dataclasses.replace(params, max_tokens=shape.max_tokens(params.max_tokens))
            if spec is not None:
                complete = shape is not None and shape.complete
                why = "exact answer" if exact is not None or translation or complete else ""
                speculation = why or await spec.mismatch(messages, params)
                if not speculation:
                    adopt = spec  # begun at the user's pause: its text may already be there
                    speculation = f"adopted with {spec.stats.tokens} tokens already written"
                elif spec.kind == "prefill" and spec.running and _reads_ahead(spec, messages):
                    finishing.append(spec)  # reading the start of this prompt: let it finish
                else:
                    log.debug("dialogue: speculation not used: %s", speculation)
                    await spec.cancel()  # never shown: the engine is free for this turn
            if translation is not None and not (shape is not None and shape.complete):
                phrase, lang = translation  # said checked, or declined plainly
                exact = await translate(self.engine, phrase, lang, deadline_s=params.deadline_s)
            if shape is not None and shape.opening:
                await emit([shape.opening], checked=False)
            while shape is None or not shape.complete:
                problem: ReplyProblem | None = None
                if exact is not None:
                    pieces = _said(exact)
                elif adopt is not None:
                    pieces, stats, adopt = adopt.pieces(), adopt.stats, None
                    speculative = True
                else:
                    pieces = self.engine.stream(attempt, params, stats)
                try:
                    async for piece in pieces:
                        if not produced:
                            produced = True
                            self._set_state("speaking", turn_id)
                        problem = await emit(splitter.feed(piece))
                        if problem is not None or style.done or enough:  # the rest is dropped
                            break
                finally:  # an early stop ends the engine's generation now, not at GC
                    aclose = getattr(pieces, "aclose", None)
                    if aclose is not None:
                        await aclose()
                reason = "stop" if style.done or enough else (stats.finish_reason or "stop")
                if problem is None:
                    cut = reason if reason in ("length", "deadline") else None
                    problem = await emit(splitter.flush(), cut=cut)
                if problem is None:
                    break
                splitter = SentenceSplitter(first_min_chars=FIRST_CHUNK_MIN_CHARS)
                if sentence_index == 0 and not style.text and attempt is messages:
                    log.info("dialogue: the reply went against a stored constraint; asking again")
                    attempt = _with_instruction(messages, problem.instruction)
                    continue
                if problem.replacement:  # "": the reply ends before the sentence
                    await emit([problem.replacement], checked=False)
                reason = "stop"
                break
            if shape is not None and shape.complete:
                reason = "stop"  # the turn was only a correction: the opening was the reply
            if reason == "deadline":
                self._ran_out_of_time(params.deadline_s)
            if guide is not None and guide.kind == "sum" and reason != "cancelled":
                found = find_sum(user_text)  # the reply carries the computed answer, in time or not
                if found is not None and found.spoken.replace(",", "") not in style.text.replace(
                    ",", ""
                ):
                    said = style.must_say(found.answer)
                    await self.bus.publish(ReplySentence(turn_id, sentence_index, said.spoken))
                    await self.bus.publish(ReplyToken(turn_id, said.shown))
                    sentence_index += 1
            if hard is not None and not style.kept_any and reason not in ("deadline", "error"):
                await acknowledge(hard)  # every sentence was dropped: the acknowledgement stays
            closing = _closing(guards, style.text) if reason in ("stop", "length") else None
            if closing:  # no answer kept to a question memory checks: its line, checked
                await emit([closing], checked=False)
            fallback = style.fallback(
                too_slow=reason == "deadline",
                question=asks(user_text),
                about_her=guide is not None and guide.kind == "self",
            )
            if fallback is not None:
                await self.bus.publish(ReplySentence(turn_id, sentence_index, fallback.spoken))
                await self.bus.publish(ReplyToken(turn_id, fallback.shown))
        except asyncio.CancelledError:
            reason = "cancelled"
            for chunk in splitter.flush():  # kept as far as it was produced
                style.accept(chunk)
            raise
        except LLMError as exc:
            category: ErrorCategory = "network" if isinstance(exc, EndpointError) else "model"
            self.report(category, str(exc), repr(exc))
        except Exception as exc:  # a stage that throws must not take the app down
            log.exception("dialogue: reply failed")
            self.report("internal", f"The reply failed unexpectedly: {exc}", repr(exc))
        finally:
            for left in (spec, *finishing):
                if left is not None and not left.adopted:
                    await left.cancel()
            text = style.text
            if text and greeting_notes:
                self.history.append(Message("assistant", text))
            elif text:
                self._record_unrecorded()  # an earlier spoken turn whose end never came
                self.history += [Message("user", user_text), Message("assistant", text)]
                if sent_text and sent_text != user_text:
                    self._sent[self.history[-2]] = sent_text
                self._sent = {m: t for m, t in self._sent.items() if m in self.history}
                self._exchange = (turn_id, len(self.history) - 1)
                self._narrow_to_heard(turn_id)
                if self.providers and reason != "error":
                    if self.speaks_aloud and self._audio_ended != turn_id:
                        self._unrecorded = (turn_id, user_text)  # kept when the audio ends
                    else:
                        self._record(turn_id, user_text)
            self.bus.publish_nowait(
                ReplyFinished(
                    turn_id,
                    text,
                    reason,
                    tokens=stats.tokens,
                    first_token_s=stats.first_token_s,
                    total_s=time.monotonic() - start,
                    prompt_tokens=stats.prompt_tokens,
                    cached_tokens=stats.cached_tokens,
                    speculative=speculative,
                    speculation=speculation,
                    held_chars=style.held_chars,
                    read_after_end=_read_after_end(stats, speculative, written_ahead, unread),
                    written_ahead=written_ahead if speculative else 0,
                )
            )
            voiced = self._audio_ended != turn_id
            if self.speaks_aloud and text and reason != "error" and voiced:
                self._voiced_turn = turn_id  # idle once the audio has ended
            if self._reply_turn == turn_id and self._voiced_turn != turn_id:
                self._set_state("idle", None)
