"""Changed values at answer time (memory/changed.py): a note that says a value is over or was
wrong keeps the older notes naming the old value out of what she is handed for the present,
and is handed without the old value itself; the memory view keeps every note as told."""

from __future__ import annotations

import pytest

from her_desktop.memory.changed import Change, read_change, revise
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.service import MemoryService
from tests.memory_dialogue import say


@pytest.fixture
def service(rules_memory: MemoryService) -> MemoryService:
    return rules_memory


def _note(text: str, at: float = 0.0, memory_id: int = 1) -> MemoryRecord:
    return MemoryRecord(memory_id, "episode", None, text, at, at, None, 0.0, None, 0.5, 0.7)


def _read(text: str) -> Change:
    change = read_change(_note(text))
    assert change is not None, text
    return change


@pytest.mark.parametrize(
    ("said", "old", "now"),
    [
        ("the name biscotti didn't stick, she's nimbus now.", {"biscotti"}, "She's nimbus now."),
        ("handed in my notice at westmoor, i'm starting at kelsey park library on monday!",
         {"westmoor"}, "I'm starting at kelsey park library on monday."),
        ("i said tuesday before, the dentist is actually wednesday.", {"tuesday"},
         "The dentist is actually wednesday."),
        ("luca's birthday is the 27th of july not the 22nd, the 22nd is his brother's.",
         {"22nd"}, "Luca's birthday is the 27th of july."),
        ("we went with saffron in the end, not sultan.", {"sultan"},
         "We went with saffron in the end."),
        ("she's taking me climbing, no wait, kayaking on sunday.", {"climbing"},
         "She's taking me kayaking on sunday."),
        ("i should correct myself, i'm not a nurse, i'm a midwife.", {"nurse"},
         "I should correct myself, i'm a midwife."),
        ("the lisbon trip is off, we're doing seville instead.", {"lisbon", "trip"},
         "We're doing seville instead."),
        ("nadia and i broke up.", {"nadia"}, None),
        ("sold the fiat, it was dying.", {"fiat"}, None),
        ("i dropped history, it was too much essay writing, i'm doing psychology now",
         {"history"}, "I'm doing psychology now."),
    ],
)  # fmt: skip
def test_a_change_names_the_old_value_and_reads_without_it(
    said: str, old: set[str], now: str | None
) -> None:
    change = _read(said)
    assert change.old == old
    assert change.now == now


@pytest.mark.parametrize(
    "said",
    [
        "I don't have any pets, but I'd love a dog one day.",
        "luca doesn't drink, hasn't for years.",
        "she's never been before.",
        "juniper's favourite spot is the sofa.",
        "I left my keys at home.",
        "dropped the kids at school, then went for a run.",
        "she's off to paris for the week.",
        "the concert sold out in minutes.",
    ],
)
def test_a_negation_or_a_plain_statement_is_no_change(said: str) -> None:
    assert read_change(_note(said)) is None


def test_when_something_ended_is_not_the_value_that_ended() -> None:
    assert _read("juniper passed away on thursday, she was eight.").old == {"juniper"}


def test_who_a_change_is_about_is_not_the_old_value() -> None:
    """ "my sister no longer lives in leeds": the older notes about the sister stand."""
    assert _read("my sister no longer lives in leeds.").old == {"leeds"}


def test_left_or_dropped_ends_a_value_when_the_note_says_what_is_now() -> None:
    change = _read("i dropped history, it was too much essay writing, i'm doing psychology now")
    assert change.old == {"history"}


def _answers(question: str, record: MemoryRecord) -> bool:
    return False


def _revise(older: str, change: str, question: str) -> list[str]:
    notes = [_note(older, 1.0, 1), _note(change, 2.0, 2)]
    changes = [c for r in notes if (c := read_change(r)) is not None]
    return [r.text for r in revise(notes, changes, question, _answers).notes]


def test_an_older_note_with_the_old_value_gives_way_to_the_change() -> None:
    assert _revise(
        "we're calling her biscotti for now.",
        "the name biscotti didn't stick, she's nimbus now.",
        "what's the kitten called?",
    ) == ["She's nimbus now."]


def test_an_old_day_or_date_is_replaced_in_the_older_note() -> None:
    assert _revise(
        "I have a dentist appointment tuesday at harbour lane dental.",
        "i said tuesday before, the dentist is actually wednesday.",
        "what day's my dentist appointment?",
    ) == [
        "I have a dentist appointment wednesday at harbour lane dental.",
        "The dentist is actually wednesday.",
    ]


def test_a_move_to_a_new_day_replaces_the_day_in_notes_on_the_same_topic() -> None:
    notes = _revise(
        "i run with a club called the fenwick harriers on tuesdays.",
        "the harriers moved club night to thursdays, which suits me way better.",
        "what night is running club now",
    )
    assert notes[0] == "i run with a club called the fenwick harriers on thursdays."
    assert not any("tuesday" in n for n in notes)


def test_a_corrected_value_in_the_same_frame_keeps_the_rest_of_the_older_note() -> None:
    assert (
        _revise(
            "I'm a nurse on the maternity ward at st columba's.",
            "i should correct myself, i'm not a nurse, i'm a midwife.",
            "which hospital do i work at?",
        )[0]
        == "I'm a midwife on the maternity ward at st columba's."
    )


def test_a_spelling_corrected_by_a_like_one_replaces_the_old_name() -> None:
    notes = _revise(
        "my new manager started today, her name's katherine.",
        "no wait her name's katrin, i totally got it wrong.",
        "what's my manager's name?",
    )
    assert not any("katherine" in n for n in notes)
    assert any("katrin" in n for n in notes)


def test_the_old_value_stays_when_it_is_what_is_asked_about() -> None:
    notes = [_note("I handed in my notice at Hartley & Rowe, last day was Friday.", 2.0, 2)]
    changes = [c for r in notes if (c := read_change(r)) is not None]
    said = revise(notes, changes, "Do I still work at Hartley & Rowe?", _answers)
    assert [r.text for r in said.notes] == [notes[0].text]


def test_a_change_standing_in_for_a_note_that_answered_the_question_answers_it() -> None:
    notes = [
        _note("my new manager started today, her name's katherine.", 1.0, 1),
        _note("no wait her name's katrin, i totally got it wrong.", 2.0, 2),
    ]
    changes = [c for r in notes if (c := read_change(r)) is not None]
    said = revise(notes, changes, "what's my manager's name?", lambda q, r: "katherine" in r.text)
    assert [r.text for r in said.notes] == ["Her name's katrin."]
    assert said.standing_in == {2}


async def test_the_notes_for_the_present_leave_the_old_value_out(
    service: MemoryService,
) -> None:
    await say(
        service,
        "we got a kitten, we're calling her biscotti for now i think",
        "the name biscotti didn't stick, she's nimbus now",
        "i've got a dentist appointment tuesday at harbour lane dental",
        "sorry i said tuesday before, the dentist is actually wednesday",
        "i'm planning a party for my husband luca, his birthday's the 22nd of july",
        "oops i got that wrong, luca's birthday is the 27th of july not the 22nd",
    )
    for asked, now, old in [
        ("what's the kitten called?", "nimbus", "biscotti"),
        ("what day's my dentist appointment?", "wednesday", "tuesday"),
        ("when's luca's birthday?", "27th", "22nd"),
    ]:
        notes = service.notes_for(asked)
        assert notes is not None
        assert now in notes.lower(), (asked, notes)
        assert old not in notes.lower(), (asked, notes)
    # the memory view keeps every note as told; a question about the past still gets it
    assert any("biscotti" in m.text for m in service.store.memories())
    past = service.notes_for("what were we calling her before?")
    assert past is not None
    assert "biscotti" in past.lower()


async def test_after_a_breakup_the_older_notes_about_the_partner_are_history(
    service: MemoryService,
) -> None:
    await say(
        service,
        "me and my girlfriend nadia went to that jazz bar last night",
        "My girlfriend is a vet nurse.",
        "nadia and i broke up",
        "i've been seeing someone new, her name's saoirse, she's a firefighter",
    )
    for asked in ("who am i dating at the moment?", "what does my girlfriend do for work"):
        notes = service.notes_for(asked) or ""
        assert "nadia" not in notes.lower(), notes
        assert "vet nurse" not in notes.lower(), notes


@pytest.mark.parametrize(
    ("said", "subjects"),
    [
        ("i gave up the cello, the neighbours were complaining", []),
        ("I gave up sugar", ["avoids.sugar"]),
        ("I gave up smoking last year", ["avoids.smoking"]),
    ],
)
def test_giving_up_a_hobby_is_a_change_not_a_constraint(said: str, subjects: list[str]) -> None:
    """ "I'm off cello" would be kept as a constraint and handed as current with every
    question about what the user does now."""
    from her_desktop.memory.rules.constraints_said import said_constraints

    assert [c.subject for c in said_constraints(said)] == subjects


@pytest.mark.parametrize(
    ("said", "home"),
    [
        ("since moving to cork the commute is nothing, ten minutes on the bike", "cork"),
        ("finally settled in leeds after the move", "leeds"),
        ("I settled in quickly at the new job", None),
        ("we've settled in well", None),
    ],
)
async def test_a_move_told_in_passing_is_where_the_user_lives_now(
    service: MemoryService, said: str, home: str | None
) -> None:
    await say(service, "I live in limerick.", said)
    if home is None:  # how the user settled in, not where
        assert not any(
            m.text.startswith("I live in") and "limerick" not in m.text
            for m in service.store.memories()
        )
        return
    record = service.store.get_by_subject("user.home")
    assert record is not None
    assert record.text == f"I live in {home}."
    assert [h.text for h in service.store.history(record.id)] == ["I live in limerick."]


def test_a_change_naming_what_is_asked_answers_it() -> None:
    notes = [_note("i said tuesday before, the dentist is actually wednesday.", 2.0, 2)]
    changes = [c for r in notes if (c := read_change(r)) is not None]
    said = revise(notes, changes, "what day's my dentist appointment?", _answers)
    assert [r.text for r in said.notes] == ["The dentist is actually wednesday."]
    assert said.standing_in == {2}
    other = revise(notes, changes, "what's my sister called?", _answers)
    assert other.standing_in == frozenset()
    moved = [_note("they rang, the physio's been pushed back to the 16th, same time.", 2.0, 2)]
    changes = [c for r in moved if (c := read_change(r)) is not None]
    when = revise(moved, changes, "what time is gareth's flight home?", _answers)
    assert when.standing_in == frozenset()  # "time" is not what either is about


async def test_a_corrected_name_answers_the_question_it_corrects(service: MemoryService) -> None:
    from her_desktop.memory.recall import UNKNOWN_NOTE

    await say(
        service,
        "my new manager started today, her name's katherine",
        "no wait her name's katrin, k a t r i n, i totally got it wrong",
    )
    notes = service.notes_for("what's my manager's name?")
    assert notes is not None
    assert "katrin" in notes.lower()
    assert "katherine" not in notes.lower()
    assert UNKNOWN_NOTE not in notes
