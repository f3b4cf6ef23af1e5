"""The speculative requests of a turn the user is still speaking (``her_desktop.speculative``).

While the user speaks, the prompt with what was heard so far is sent ahead: at a live partial
transcript only read into the LM's cache (a read-ahead); at a pause, the reply itself is begun.
Newer words stop the older request, except a read-ahead of words the new ones continue, which
is left to finish reading (what it reads is the start of the next prompt too) — until the newer
prompt is built with other notes (they come before the words: then it reads nothing of use, and
it is stopped). When the turn ends (:func:`settle`), the reply begun at the pause is adopted if
the turn asks for that very prompt, a read-ahead of the prompt's start is left to finish, and
anything else is cancelled (:func:`stop_stale` for the read-ahead left to finish): nothing is
shown or spoken before it is adopted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from her_desktop.llm.base import GenerationParams, Message
from her_desktop.speculative import Speculation, continues, of_use, reads_ahead

log = logging.getLogger(__name__)


class Ahead:
    """The newest speculation (``spec``), a read-ahead left to finish (``reading``), and the
    notes preview they share."""

    def __init__(self) -> None:
        self.spec: Speculation | None = None
        self.reading: Speculation | None = None
        """a read-ahead left to finish when newer words came (they share what it reads)"""
        self._preview: tuple[str, str] | None = None
        """(words so far, the providers' previewed notes for them): the last preview"""

    def resumed(self) -> None:
        """The user went on after a pause: the reply begun there is stale."""
        if self.spec is not None and self.spec.kind == "reply":
            self.spec.abort()
            self.spec = None

    def has(self, text: str, kind: str) -> bool:
        """A speculation of just these words, of this kind, is already under way."""
        spec = self.spec
        return spec is not None and spec.user_text == text and spec.kind == kind

    def supersede(self, text: str) -> None:
        """Newer words came: stop the newest speculation without waiting (the engine serves
        in order), except a read-ahead of words these ones continue, which is left to finish
        reading: what it reads (the notes and the words so far) is the start of the next
        prompt too, and stopping it mid-read would throw that work away. One such read-ahead
        at a time."""
        spec, reading = self.spec, self.reading
        if spec is None:
            return
        if (
            spec.kind == "prefill"
            and spec.running
            and continues(text, spec.user_text)
            and (reading is None or not reading.running)
        ):
            self.reading = spec
        else:
            spec.abort()

    def begin(self, spec: Speculation) -> None:
        self.spec = spec
        reading = self.reading
        if reading is not None and reading.running:
            spec.on_built = lambda messages: self._drop_stale(reading, messages)
        spec.start()

    def _drop_stale(self, reading: Speculation, messages: Sequence[Message]) -> None:
        """The newer prompt is built: a read-ahead left to finish whose notes it does not have
        (the notes told for the newer words came out otherwise; they come before the words)
        is stopped at once: what it still reads is of no use (``of_use``), and the LM serves
        one request at a time, so it would only hold the newer one back."""
        if reading.running and not of_use(reading, messages):
            log.debug("dialogue: a read-ahead of other notes stopped")
            reading.abort()
            if self.reading is reading:
                self.reading = None

    def preview(self, user_text: str, tell: Callable[[str], str]) -> str:
        """The notes ``tell`` previews for ``user_text``; the read-ahead and the reply at the
        pause share one preview."""
        last = self._preview
        if last is not None and last[0] == user_text:
            return last[1]
        notes = tell(user_text)
        self._preview = (user_text, notes)
        return notes

    def take(self) -> tuple[Speculation | None, Speculation | None]:
        """The turn ended: (the newest speculation, the read-ahead left to finish), both
        handed to the turn; the preview is forgotten (this turn's notes may change it)."""
        spec, reading = self.spec, self.reading
        self.spec = self.reading = None
        self._preview = None
        return spec, reading

    async def drop(self) -> None:
        """Cancel both and wait (bounded) until the engine is free."""
        spec, self.spec = self.spec, None
        reading, self.reading = self.reading, None
        for each in (spec, reading):
            if each is not None:
                await each.cancel()

    def abort(self) -> None:
        """Stop both without waiting and forget the preview (a new conversation)."""
        for spec in (self.spec, self.reading):
            if spec is not None:
                spec.abort()
        self.spec = self.reading = None
        self._preview = None


async def stop_stale(reading: Speculation | None, messages: Sequence[Message]) -> None:
    """The turn's prompt is known: a read-ahead still reading with other notes than the turn's
    (``of_use``) is stopped and waited for (bounded), so the reply does not queue behind it."""
    if reading is not None and reading.running and not of_use(reading, messages):
        await reading.cancel()


async def settle(
    spec: Speculation, messages: Sequence[Message], params: GenerationParams, why: str
) -> tuple[str, Speculation | None, Speculation | None]:
    """What becomes of ``spec`` when the turn asks for ``messages`` with ``params`` (``why``:
    a reason it cannot be the reply, or ""): (what happened to it, in words; the speculation
    adopted as the reply; the read-ahead left to finish). Anything else is cancelled."""
    speculation = why or await spec.mismatch(messages, params)
    if not speculation:  # begun at the user's pause: its text may already be there
        return f"adopted with {spec.stats.tokens} tokens already written", spec, None
    if spec.kind == "prefill" and spec.running and reads_ahead(spec, messages):
        return speculation, None, spec  # reading the start of this prompt: let it finish
    log.debug("dialogue: speculation not used: %s", speculation)
    await spec.cancel()  # never shown: the engine is free for this turn
    return speculation, None, None
