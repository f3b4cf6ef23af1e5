"""An update that names the old value and none of the question's words
(memory/followups.py), and the note that answers in place of one ``slots.current`` made
history (``slots.in_place_of``)."""

from __future__ import annotations

from her_desktop.memory.followups import follow, value_asked, value_words
from her_desktop.memory.questions import NAMING
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.service import MemoryService
from her_desktop.memory.slots import in_place_of
from tests.memory_dialogue import say


def _note(id_: int, text: str, updated: float) -> MemoryRecord:
    return MemoryRecord(id_, "episode", None, text, updated, updated, None, 0.0, None, 0.5, 0.5)


def test_the_values_a_note_gives() -> None:
    assert "smoke" in value_words("My cat is 2, grey, they'd named her smoke.")
    assert "quillpay" in value_words("i'm a backend dev at a fintech called Quillpay")
    assert "exeter" in value_words("we live in a flat in Exeter with a tiny garden")
    assert "flat" not in value_words("we live in a flat in Exeter with a tiny garden")


def test_naming_a_pet_gives_a_name_but_naming_after_someone_does_not() -> None:
    assert NAMING.search("they'd named her smoke")
    assert NAMING.search("we've renamed her pebble though")
    assert not NAMING.search("we named her after my gran")
    assert not NAMING.search("we renamed the band")


def test_a_newer_note_naming_the_old_value_replaces_it_only_when_it_tells_a_change() -> None:
    old = _note(1, "My cat is 2, grey, they'd named her smoke.", 1.0)
    renamed = _note(2, "we've renamed her pebble though, smoke didn't suit her", 2.0)
    mention = _note(3, "smoke loves the radiator", 3.0)
    notes = {"smoke": [mention, renamed, old]}
    [up] = follow([old], "what's my cat called", lambda w: notes.get(w, []))
    assert (up.older, up.newer, up.value) == (old, renamed, "smoke")
    assert follow([old], "what's my cat called", lambda w: [mention, old]) == []


def test_an_ending_where_the_value_is_named_is_a_change_but_a_wish_is_not() -> None:
    job = _note(1, "long day, i'm a backend dev at a fintech called Quillpay", 1.0)
    leaving = _note(2, "leaving quillpay, starting at a startup called Terrawatt", 2.0)
    wish = _note(3, "thinking of leaving quillpay one day", 3.0)
    assert [u.newer for u in follow([job], "where do i work", lambda w: [leaving, job])] == [
        leaving
    ]
    assert follow([job], "where do i work", lambda w: [wish, job]) == []


def test_a_value_the_question_names_is_not_followed() -> None:
    note = _note(1, "jonno's fiancée is called Aoife", 1.0)
    later = _note(2, "jonno switched teams", 2.0)
    assert follow([note], "what does jonno do", lambda w: [later, note]) == []


def test_the_last_said_of_the_newest_notes_answers_in_place_of_the_old_one() -> None:
    old = _note(1, "we're called static pigeons", 1.0)
    why = _note(2, "we changed the band name, static pigeons was too cringe", 2.0)
    now = _note(3, "we're velvet static now", 2.0)
    other = _note(4, "got a drum kit", 3.0)
    assert in_place_of([old], [why, now, other], "whats my band called") == {3}
    assert in_place_of([], [why, now], "whats my band called") == frozenset()


async def test_the_notes_give_the_renamed_value_as_the_answer(
    rules_memory: MemoryService,
) -> None:
    await say(
        rules_memory,
        "so this might seem quick but we adopted a cat from the shelter",
        "My cat is 2, grey, they'd named her smoke.",
        "we've renamed her pebble though, smoke didn't suit her",
    )
    notes = rules_memory.notes_for("what's my cat called", 99) or ""
    assert "pebble" in notes
    assert "named her smoke" not in notes
    assert "No note answers" not in notes


async def test_the_notes_give_the_new_workplace(rules_memory: MemoryService) -> None:
    await say(
        rules_memory,
        "long day, i'm a backend dev at a fintech called Quillpay, mostly java",
        "so i got the offer!! leaving quillpay, starting at a startup called Terrawatt in 3 weeks",
    )
    notes = rules_memory.notes_for("where do i work now", 99) or ""
    assert "Terrawatt" in notes
    assert "backend dev at a fintech" not in notes


def test_only_the_value_the_question_asks_for_is_followed() -> None:
    band = "me and my mate tomasz started a band, he plays bass, we're called static pigeons"
    trip = "Kwabena rang, he's moving to Bristol with his girlfriend, lovely girl called Efua."
    assert value_asked("what's my band called", band, "static")
    assert not value_asked("what does tomasz play", band, "static")
    assert not value_asked("what's kwabena's girlfriend called", trip, "bristol")
    assert value_asked("where's kwabena moving to", trip, "bristol")
    assert value_asked("where do i work", "i'm a dev at a fintech called Quillpay", "quillpay")
