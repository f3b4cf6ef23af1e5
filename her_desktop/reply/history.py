"""The conversation's history as the user got it.

A cancelled reply is kept as far as it was produced, and a spoken one narrowed to what was
actually heard (``SpeakingFinished.spoken_text`` after a barge-in); a reply nothing of which
was heard takes its exchange out. A turn whose reply is empty (failed, or cancelled before the
first token) is never added, so the history always alternates user/assistant (strict chat
templates reject two user turns).

Earlier user messages are kept with the text the LM read for them (``sent``: with their turn's
notes), so the next prompt starts with exactly what the LM's cache holds; ``left_out`` counts
the oldest messages no longer in the prompt (``reply.prompt``).
"""

from __future__ import annotations

from her_desktop.llm.base import Message


class History:
    """The messages of the conversation so far, and what the prompt makes of them."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.sent: dict[Message, str] = {}
        """user messages → the text the LM read for them (with the turn's notes)"""
        self.left_out = 0
        """oldest messages no longer in the prompt (whole exchanges)"""
        self._heard: tuple[int, str] | None = None
        """(turn id, text) of an interrupted reply's audio, until its exchange is added"""
        self._exchange: tuple[int, int] | None = None
        """(turn id, index of its assistant message) of the latest exchange"""

    def said(self, role: str) -> list[str]:
        """What the user (``"user"``) or she (``"assistant"``) said so far, oldest first."""
        return [m.content for m in self.messages if m.role == role]

    def add_greeting(self, text: str) -> None:
        """Her opening line, before the user said anything."""
        self.messages.append(Message("assistant", text))

    def add_exchange(self, turn_id: int, user_text: str, reply: str, sent_text: str) -> None:
        """The exchange of ``turn_id`` (``sent_text``: what the LM read for the user's words),
        narrowed at once when its audio was already cut."""
        self.messages += [Message("user", user_text), Message("assistant", reply)]
        if sent_text and sent_text != user_text:
            self.sent[self.messages[-2]] = sent_text
        self.sent = {m: t for m, t in self.sent.items() if m in self.messages}
        self._exchange = (turn_id, len(self.messages) - 1)
        self._narrow(turn_id)

    def heard(self, turn_id: int, spoken_text: str) -> None:
        """The reply of ``turn_id`` was interrupted: the user heard ``spoken_text`` of it."""
        self._heard = (turn_id, spoken_text.strip())
        self._narrow(turn_id)

    def _narrow(self, turn_id: int) -> None:
        if self._heard is None or self._heard[0] != turn_id:
            return
        if self._exchange is None or self._exchange[0] != turn_id:
            return  # the reply is still being recorded: its end will narrow it
        heard, self._heard = self._heard[1], None
        index = self._exchange[1]
        if heard:
            self.messages[index] = Message("assistant", heard)
        else:  # nothing was heard: the exchange never happened for the user
            del self.messages[index - 1 : index + 1]
            self._exchange = None

    def reply_to(self, turn_id: int) -> str:
        """Her reply of ``turn_id`` as the user got it ("" when nothing was heard)."""
        if self._exchange is not None and self._exchange[0] == turn_id:
            return self.messages[self._exchange[1]].content
        return ""

    def clear(self) -> None:
        """Forget the conversation (a new session)."""
        self.messages.clear()
        self.sent.clear()
        self.left_out = 0
        self._exchange = None
        self._heard = None
