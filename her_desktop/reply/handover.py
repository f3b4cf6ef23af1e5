"""When an exchange is handed to the providers, and when a voiced reply is over.

The providers (``TurnRecorder``) get what the user got: a typed exchange as soon as its reply
is final; a spoken one when its audio ended (the history narrowed to what was heard by then),
or earlier when the stage stops, the session is reset or a later reply comes first. With voice
output the stage stays ``speaking`` until the reply's audio has ended (``playing``).
"""

from __future__ import annotations

from collections.abc import Callable


class Handover:
    """The spoken exchange waiting for its audio's end, and the reply whose audio plays on."""

    def __init__(self, record: Callable[[int, str], None]) -> None:
        self._record = record
        """hands (turn id, user text) to the providers (the stage's ``_record``)"""
        self.pending: tuple[int, str] | None = None
        """(turn id, user text) of a spoken exchange handed to the providers once its audio
        ended (with what was heard)"""
        self.playing: int | None = None
        """the reply whose audio is still playing after its text ended"""
        self.ended: int | None = None
        """the latest turn whose audio ended (possibly before its reply did)"""

    def audio_ended(self, turn_id: int) -> bool:
        """The turn's audio ended: its exchange is handed over if it waited for that; True
        when it was the reply still playing after its text (the stage may go idle)."""
        self.ended = turn_id
        if self.pending is not None and self.pending[0] == turn_id:
            self.flush()
        if self.playing == turn_id:
            self.playing = None
            return True
        return False

    def flush(self) -> None:
        """Hand over the exchange still waiting for its audio's end, if any."""
        if self.pending is not None:
            turn_id, user_text = self.pending
            self.pending = None
            self._record(turn_id, user_text)

    def final(self, turn_id: int, user_text: str, *, aloud: bool) -> None:
        """The exchange's reply is final: handed over now, or, when it is voiced (``aloud``)
        and its audio has not ended yet, once it has."""
        if aloud and self.ended != turn_id:
            self.pending = (turn_id, user_text)  # kept when the audio ends
        else:
            self._record(turn_id, user_text)

    def voicing(self, turn_id: int, *, aloud: bool, said: bool) -> bool:
        """Whether the turn's reply plays on after its text ended (``said``: the reply has
        text and did not fail)."""
        if aloud and said and self.ended != turn_id:
            self.playing = turn_id  # idle once the audio has ended
        return self.playing == turn_id
