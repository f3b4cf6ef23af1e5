"""Kinds of value (``memory.kinds``): a question asking for a kind finds the notes naming one,
and of a kind that holds one at a time (a diet) the newest note wins."""

from __future__ import annotations

import pytest

from her_desktop.bus import Bus
from her_desktop.memory.kinds import kind_asked, kinds_named
from her_desktop.memory.recall import UNKNOWN_NOTE
from her_desktop.memory.store import MemoryStore
from tests.memory_dialogue import told


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("what hobby have i been doing lately", "hobby"),
        ("what are my hobbies these days?", "hobby"),
        ("what's my diet like these days", "diet"),
        ("what position does arjun play", "position"),
        ("which instrument am i learning?", "instrument"),
        ("where do i work?", None),
    ],
)
def test_the_kind_a_question_asks_for(question: str, kind: str | None) -> None:
    assert kind_asked(question) == kind


def test_a_note_names_the_kinds_of_its_values() -> None:
    named = kinds_named({"signed", "up", "for", "pottery", "and", "the", "cello"})
    assert named == {"hobby": frozenset({"pottery"}), "instrument": frozenset({"cello"})}
    assert kinds_named({"i", "work", "at", "the", "bank"}) == {}


async def test_a_question_for_a_kind_finds_the_note_naming_one(
    store: MemoryStore, bus: Bus
) -> None:
    """No word of "what hobby have i been doing lately" is in "signed up for pottery"."""
    service = await told(
        store, bus, "I tore a finger pulley, no climbing for months.",
        "So I've signed up for pottery on wednesdays instead, honestly loving it.",
    )  # fmt: skip
    notes = await service.before_reply(10, "what hobby have i been doing lately")
    assert notes is not None
    assert "pottery" in notes
    assert UNKNOWN_NOTE not in notes
    await service.close()


async def test_one_diet_at_a_time_the_newest(store: MemoryStore, bus: Bus) -> None:
    service = await told(
        store, bus, "I've been pescatarian for years so fish is kind of my thing.",
        "Cooked a massive fish pie for my flatmates tonight.",
        "My own news, I went vegan in march, it's going really well.",
    )  # fmt: skip
    notes = await service.before_reply(10, "what's my diet like these days")
    assert notes is not None
    assert "vegan" in notes
    assert "pescatarian" not in notes
    await service.close()
