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
  (a spoken one when its audio ended, or when the stage stops: ``reply.handover``), then
  ``after_reply`` runs.
* The reply itself is made of the parts in ``her_desktop.reply``, what it is written from
  gathered for each turn by ``reply.compose``: its prompt (persona, history as the LM read
  it, the turn's notes and guide, fitted to the context: ``reply.prompt``), the providers'
  notes around the turn (``reply.notes``), how the user seemed (``reply.felt``), its settings
  (``reply.settings``), turns answered in Python (a sum, a phrase, her name, a summary of
  what the user said, a translation: ``reply.answers``), the run that writes it, asked once
  more when its first sentence goes against a ``ReplyGuard`` (``reply.run``), and what of the
  streamed text is shown and spoken, each sentence checked (``reply.writer``, with the guards
  and the closer: ``reply.guards``). The history keeps the filtered reply.
* Speculation (``speculate``, voice): while the user speaks, the prompt with what was heard so
  far is sent ahead (``speculative``): at a live partial transcript only read into the LM's
  cache; at a pause, the reply itself is begun. It is adopted when the turn ends with that very
  prompt, else cancelled; it is never shown or spoken before it is adopted.
* A failing LM never kills the stage: it becomes a ``StageError`` with a plain message and a
  ``ReplyFinished(reason="error")``; the next turn tries again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import unicodedata
from collections.abc import Sequence
from typing import Literal

from her_desktop.bus import Bus
from her_desktop.events import (
    AffectEstimate,
    CancelReply,
    DialogueState,
    DialogueStateName,
    ErrorCategory,
    FinalTranscript,
    Notice,
    PartialTranscript,
    ReplyStarted,
    Shutdown,
    SpeakingFinished,
    SpeechResumed,
    SpeechStarted,
    UserText,
    new_turn_id,
)
from her_desktop.llm.base import (
    EndpointError,
    GenerationParams,
    LLMEngine,
    LLMError,
    Message,
)
from her_desktop.reply.ahead import Ahead
from her_desktop.reply.compose import Composer
from her_desktop.reply.felt import Felt
from her_desktop.reply.handover import Handover
from her_desktop.reply.history import History
from her_desktop.reply.notes import after_reply, preview_notes, record_turn
from her_desktop.reply.run import Outcome, write_reply
from her_desktop.reply.settings import out_of_time
from her_desktop.reply.writer import ReplyWriter
from her_desktop.stage import Stage
from her_desktop.turn_context import (
    ReplyShaper,
    TurnContextProvider,
)

log = logging.getLogger(__name__)

USER_VOICE_MESSAGES = 2
"""Her reply never takes the words of the user's message, nor of their last this many before."""


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
        self._conversation = History()
        """the conversation as the user got it (``history``), and what the LM read of it"""
        self.state: DialogueStateName = "idle"
        self._reply: asyncio.Task[None] | None = None
        self._reply_turn: int | None = None
        self.speaks_aloud = False
        """True when a speaking stage voices the replies: the state stays ``speaking`` until
        the audio ends, and an interrupted reply is kept as far as it was heard."""
        self.reply_style = True
        """False: replies are the LM's raw text (``bench companion --no-filter`` measures it)."""
        self._handover = Handover(self._record)
        """when the providers get each exchange; a voiced reply's end (``reply.handover``)"""
        self.speculate = engine.speculation_ok
        """Begin reading (and, at a pause, answering) the user's words before the turn ends
        (by default only with a local engine: a remote one would bill every thrown-away try)."""
        self._ahead = Ahead()
        """the speculations of the turn the user is still speaking"""
        self._felt = Felt()
        """how the user seemed in the turns still being answered (``reply.felt``)"""
        self._compose = Composer(
            self, self._conversation, self._felt, notice=self._notice, failed=self._failed
        )
        """what each reply is written from: notes, guide, prompt, settings (``reply.compose``)"""

    @property
    def history(self) -> list[Message]:
        """The conversation as the user got it (``reply.history``), oldest first."""
        return self._conversation.messages

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
        self._felt.keep(event)

    def _replies(self) -> list[str]:
        """Her replies so far in this conversation, oldest first."""
        return self._conversation.said("assistant")

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
            await self._ahead.drop()
            if self.state == "listening":
                self._set_state("idle", None)  # nothing intelligible was said

    async def _on_speech_so_far(self, event: PartialTranscript | SpeechResumed) -> None:
        """Send the prompt with the words heard so far ahead of the end of the turn."""
        if isinstance(event, SpeechResumed):
            self._ahead.resumed()  # the user went on: a reply begun at the pause is stale
            return
        if not self.speculate or self._replying():
            return
        text = clean_user_text(event.text)
        kind: Literal["prefill", "reply"] = "reply" if event.pause else "prefill"
        if not text or self._ahead.has(text, kind):
            return
        self._ahead.supersede(text)
        if not self.running:
            return

        self._ahead.begin(self._compose.ahead(kind, text, self._preview_notes))

    def _preview_notes(self, user_text: str) -> str:
        """The turn's notes as far as they can be told before it ends (in a worker thread;
        ``reply.notes.preview_notes``), one preview for the read-ahead and the reply at the
        pause."""
        return self._ahead.preview(user_text, lambda words: preview_notes(self.providers, words))

    def _replying(self) -> bool:
        return self._reply is not None and not self._reply.done()

    async def _on_speaking_finished(self, event: SpeakingFinished) -> None:
        """The reply's audio ended: keep in the history only what the user heard."""
        if event.interrupted:
            self._conversation.heard(event.turn_id, event.spoken_text)
        if self._handover.audio_ended(event.turn_id) and not self._replying():
            self._set_state("idle", None)

    def _record(self, turn_id: int, user_text: str) -> None:
        """The exchange is final: hand what the user got (the history's narrowed reply, empty
        when nothing was heard) to the recorders at once, then start the slow after-reply work."""
        reply = self._conversation.reply_to(turn_id)
        record_turn(self.providers, turn_id, user_text, reply, self._failed)
        if self.running:
            self.spawn(self._after_reply(turn_id, user_text, reply), name=f"after-{turn_id}")

    async def teardown(self) -> None:
        await self._ahead.drop()
        self._handover.flush()  # closing while she speaks: keep the turn all the same

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
        self._handover.flush()
        self._conversation.clear()
        self._ahead.abort()

    # -- the turn ----------------------------------------------------------------------------

    def _set_state(self, state: DialogueStateName, turn_id: int | None) -> None:
        if state != self.state:
            self.state = state
            self.bus.publish_nowait(DialogueState(state, turn_id))

    def _failed(self, provider: TurnContextProvider, exc: Exception) -> None:
        """A provider raised: the stage reports it and the turn goes on without it."""
        self.report("internal", f"{provider.name} failed: {exc}", repr(exc))

    async def _after_reply(self, turn_id: int, user_text: str, reply_text: str) -> None:
        await after_reply(self.providers, turn_id, user_text, reply_text, self._failed)

    def _notice(self, text: str) -> None:
        self.bus.publish_nowait(Notice(self.name, text))

    def _ran_out_of_time(self, deadline_s: float) -> None:
        """The model did not finish within the reply's deadline: say so in plain words (what
        was said is kept; a reply left with nothing says she was too slow, not a filler)."""
        self.bus.publish_nowait(Notice(self.name, out_of_time(deadline_s)))

    def greet(self, notes: str) -> asyncio.Task[None]:
        """Open the conversation with continuity: a short LM greeting that may pick up on
        ``notes`` (what memory recalls: the user's name, a recent episode). The greeting is
        kept in the history as her first message; the instruction behind it is not."""
        turn_id = new_turn_id()
        self._reply_turn = turn_id
        self._reply = self.spawn(self._respond(turn_id, "", greeting_notes=notes), name="greet")
        return self._reply

    async def _respond(self, turn_id: int, user_text: str, *, greeting_notes: str = "") -> None:
        spec, reading = self._ahead.take()
        # what the LM had read and written ahead when the turn ended (``ReplyFinished``)
        written_ahead = spec.stats.tokens if spec is not None else 0
        unread = [s for s in (reading, spec) if s is not None and s.running and not s.stats.tokens]
        outcome = Outcome(finishing=[] if reading is None else [reading])
        sent_text = ""
        self._set_state("thinking", turn_id)
        await self.bus.publish(ReplyStarted(turn_id))
        earlier = self._conversation.said("user")[-USER_VOICE_MESSAGES:]
        writer = ReplyWriter(
            self.bus,
            turn_id,
            self._compose.reply_filter(user_text, greeting=bool(greeting_notes)),
            user_text=user_text,
            said_by_user="\n".join([*earlier, user_text]),  # whose words she must not take
            replies=self._replies,
            speaking=lambda: self._set_state("speaking", turn_id),
        )
        start = time.monotonic()
        try:
            await self.engine.load()
            plan = await self._compose.plan(
                turn_id, user_text, writer, greeting_notes=greeting_notes, reading=reading
            )
            sent_text = plan.messages[-1].content if plan.messages else ""
            await write_reply(
                self.engine,
                writer,
                plan.messages,
                plan.params,
                outcome,
                spec=spec,
                exact=plan.exact,
                translation=plan.translation,
                complete=plan.shape is not None and plan.shape.complete,  # only a correction
                guide=plan.guide,
                out_of_time=self._ran_out_of_time,
            )
        except asyncio.CancelledError:
            outcome.reason = "cancelled"
            writer.keep_unsaid()  # kept as far as it was produced
            raise
        except LLMError as exc:
            category: ErrorCategory = "network" if isinstance(exc, EndpointError) else "model"
            self.report(category, str(exc), repr(exc))
        except Exception as exc:  # a stage that throws must not take the app down
            log.exception("dialogue: reply failed")
            self.report("internal", f"The reply failed unexpectedly: {exc}", repr(exc))
        finally:
            for left in (spec, *outcome.finishing):
                if left is not None and not left.adopted:
                    await left.cancel()
            reason, text = outcome.reason, writer.style.text
            if text and greeting_notes:
                self._conversation.add_greeting(text)
            elif text:
                self._handover.flush()  # an earlier spoken turn whose end never came
                self._conversation.add_exchange(turn_id, user_text, text, sent_text)
                if self.providers and reason != "error":
                    self._handover.final(turn_id, user_text, aloud=self.speaks_aloud)
            self.bus.publish_nowait(
                outcome.finished(
                    turn_id,
                    text,
                    total_s=time.monotonic() - start,
                    held_chars=writer.style.held_chars,
                    written_ahead=written_ahead,
                    unread=unread,
                )
            )
            said = bool(text) and reason != "error"
            voicing = self._handover.voicing(turn_id, aloud=self.speaks_aloud, said=said)
            if self._reply_turn == turn_id and not voicing:
                self._set_state("idle", None)
