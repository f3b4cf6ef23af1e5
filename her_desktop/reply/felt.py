"""How the user seemed in the turns still being answered: affect's first estimate of each.

A hard moment is acknowledged first (``llm.acknowledge.hard_turn``), read with the turn's
estimate when it came; the reply writer asks again when it came late (``late``).
"""

from __future__ import annotations

from collections.abc import Callable

from her_desktop.events import AffectEstimate
from her_desktop.llm.acknowledge import Feeling, hard_turn

FELT_TURNS = 8
"""Affect estimates kept for the turns still being answered (the newest few)."""


class Felt:
    """turn id → how the user seemed in that turn (affect's first estimate)."""

    def __init__(self) -> None:
        self._turns: dict[int, AffectEstimate] = {}

    def __contains__(self, turn_id: int) -> bool:
        return turn_id in self._turns

    def keep(self, event: AffectEstimate) -> None:
        """Keep how the user seems this turn: a hard moment is acknowledged first."""
        if event.source == "lm" or event.turn_id in self._turns:
            return  # the first estimate is the one the turn's reply is made with
        self._turns[event.turn_id] = event
        while len(self._turns) > FELT_TURNS:
            del self._turns[next(iter(self._turns))]

    def hard(self, turn_id: int, user_text: str) -> Feeling | None:
        """The feeling of a turn that tells of a hard moment (``llm.acknowledge.hard_turn``,
        with affect's estimate of the turn when it came), or None."""
        felt = self._turns.get(turn_id)
        if felt is None:
            return hard_turn(user_text)
        return hard_turn(user_text, felt.label, felt.valence, felt.confidence, felt.scores)

    def late(
        self, turn_id: int, hard: Callable[[], Feeling | None]
    ) -> Callable[[], tuple[bool, Feeling | None]]:
        """For a turn whose affect estimate had not come when its prompt was made: (whether
        it has come now, the turn's feeling with it: ``hard()``)."""

        def felt() -> tuple[bool, Feeling | None]:
            came = turn_id in self._turns
            return came, hard() if came else None

        return felt
