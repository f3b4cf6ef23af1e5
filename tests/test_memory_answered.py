"""Her answer to a question about the user holds only what they told her (``memory.answered``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from her_desktop.bus import Bus
from her_desktop.events import UserText
from her_desktop.memory.answered import asked, check, dont_know, theirs
from her_desktop.memory.store import MemoryStore
from tests.memory_dialogue import Scripted, real_dialogue, reply, told
from tests.waiting import wait_until


@pytest.mark.parametrize(
    ("question", "line"),
    [
        (
            "Which hotel did I book in Kyoto?",
            "I don't know yet. Which hotel did you book in Kyoto?",
        ),
        ("When is my birthday?", "I don't know yet. When is your birthday?"),
        ("Do I have any children?", "I don't know yet. Do you have any children?"),
        ("What am I learning?", "I don't know yet. What are you learning?"),
        (
            "Do you remember where I work?",
            "I don't know yet where you work. Will you tell me?",
        ),
        ("Remind me of my cat's name", "I don't know that yet. Will you tell me?"),
    ],
)
def test_she_says_she_does_not_know_yet_and_asks_in_the_second_person(
    question: str, line: str
) -> None:
    assert dont_know(question) == line


def test_a_value_in_no_note_nor_in_the_users_words_is_invented() -> None:
    a = asked(
        "Which hotel did I book in Kyoto?",
        ["I'm going to Kyoto in October."],
        ["I'm going to Kyoto in October.", "Which hotel did I book in Kyoto?"],
        [],
        unknown=False,
        answer="You're going to Kyoto in October.",
    )
    assert check("You booked the Hyatt Regency in Kyoto.", a) == "invented"
    assert check("You're staying at a ryokan.", a) == "invented"
    assert check("You're going to Kyoto in October.", a) == "answer"
    assert check("Which hotel did you pick?", a) == "ok"  # a question asserts nothing
    assert check("That sounds lovely!", a) == "ok"
    assert check("I don't think you told me.", a) == "dont_know"


def test_a_kind_of_place_after_a_known_name_adds_nothing_but_alone_it_is_asserted() -> None:
    a = asked(
        "Where do I teach?",
        ["I teach at Hillside."],
        ["I teach at Hillside.", "Where do I teach?"],
        [],
        unknown=False,
        answer="You teach at Hillside.",
    )
    assert check("You teach at Hillside School.", a) == "answer"
    assert check("You teach at Hillside Primary School.", a) == "answer"
    assert check("You teach at a school.", a) == "invented"
    assert check("You teach at Riverside School.", a) == "invented"


def test_with_no_answering_note_anything_stated_about_the_user_is_a_guess() -> None:
    a = asked("How old is my cat?", ["My cat is called Miso."], [], [], unknown=True)
    assert check("Your cat Miso is three.", a) == "invented"
    assert check("Miso is 5 years old.", a) == "invented"
    assert check("Of course!", a) == "ok"
    assert check("I don't know how old Miso is.", a) == "dont_know"


def test_with_no_answering_note_a_sentence_saying_only_a_current_note_is_an_answer() -> None:
    """Recall found the note but did not take it for an answer ("We call the new puppy
    Biscuit" for "what's my dog called"): her sentence saying just that note is kept."""
    a = asked(
        "What's my dog called?",
        ["We call the new puppy Biscuit now."],
        [],
        [],
        unknown=True,
    )
    assert check("Your puppy is called Biscuit.", a) == "answer"
    assert check("Your dog is called Rex.", a) == "invented"  # a name in no note


def test_a_sentence_from_the_notes_must_fit_what_is_asked_and_say_something() -> None:
    notes = ["Jonno's fiancée is from Galway.", "I'm from Osaka, now in Leeds for my PhD."]
    called = asked("What's Jonno's fiancée called?", notes, [], [], unknown=True)
    assert check("Jonno's fiancée is from Galway.", called) == "invented"  # a place, not a name
    where = asked("Where am I from originally?", notes, [], [], unknown=True)
    assert check("You are from Osaka.", where) == "answer"
    assert check("You are from Galway.", where) == "invented"  # Jonno's fiancée is
    assert check("You're originally from somewhere.", where) == "invented"  # no note says it
    age = asked("How old am I?", ["I'm 15 and in year 10."], [], [], unknown=True)
    assert check("You're 15!", age) == "answer"
    assert check("You're in year ten.", age) == "invented"


def test_with_no_answering_note_a_replaced_value_or_someone_else_is_no_answer() -> None:
    a = asked(
        "Where do I live?",
        ["I moved to Porto in May.", "My sister lives in Lisbon."],
        ["I lived in Braga."],
        ["braga"],
        unknown=True,
    )
    assert check("You live in Porto.", a) == "answer"
    assert check("You live in Braga.", a) == "invented"  # no current note holds it


def test_a_replaced_or_negated_value_is_not_current() -> None:
    a = asked(
        "Where do I work these days?",
        ["I left the bank, now I teach at Hillside school."],
        ["I used to work at a bank."],
        [],
        unknown=False,
        answer="You left the bank, now you teach at Hillside school.",
    )
    assert check("You work at a bank.", a) == "replaced"
    assert check("You used to work at the bank, now you teach at Hillside.", a) == "answer"
    renamed = asked(
        "What's my dog called?",
        ["My dog is called Pepper."],
        ["My dog is called Biscuit."],
        ["biscuit"],
        unknown=False,
    )
    assert check("Your dog is called Biscuit.", renamed) == "replaced"
    assert check("Your dog is called Pepper.", renamed) == "answer"


def test_the_users_things_are_said_back_as_theirs() -> None:
    a = asked("When is my birthday?", [], [], [], unknown=True)
    assert theirs("I don't know when my birthday is.", a) == "I don't know when your birthday is."
    assert theirs("My favourite day is Sunday.", a) == "My favourite day is Sunday."


async def test_an_invented_hotel_is_not_said(store: MemoryStore, bus: Bus) -> None:
    service = await told(
        store, bus, "I'm going to Kyoto in October for two weeks.", notes_first=True
    )
    engine = Scripted([["You booked the Hyatt Regency in Kyoto.", " It is lovely."]])
    done, sentences, _ = await reply(bus, service, engine, "Which hotel did I book in Kyoto?")
    assert sentences == ["I don't know yet. Which hotel did you book in Kyoto?"]
    assert "Hyatt" not in done.text
    assert len(engine.calls) == 1
    await service.close()


async def test_an_old_workplace_is_not_said_after_the_user_left_it(
    store: MemoryStore, bus: Bus
) -> None:
    service = await told(
        store,
        bus,
        "I work at the bank on Elm Street.",
        "I don't work at the bank anymore, I teach at Hillside school now.",
        notes_first=True,
    )
    engine = Scripted([["You work at a bank."]])
    done, _, _ = await reply(bus, service, engine, "Where do I work these days?")
    assert "bank" not in done.text.lower() or re.search(r"\b(left|no longer|anymore)\b", done.text)
    await service.close()


async def test_a_reply_that_kept_no_answer_ends_with_dont_know(
    store: MemoryStore, bus: Bus
) -> None:
    service = await told(store, bus, "My mum lives in Nairobi.", notes_first=True)
    engine = Scripted([["Let me think."]])
    _, sentences, _ = await reply(bus, service, engine, "What's my brother's wife called?")
    assert sentences == ["Let me think.", "I don't know yet. What's your brother's wife called?"]
    answered = Scripted([["Let me think."]])
    _, sentences, _ = await reply(bus, service, answered, "Where does my mum live?")
    assert sentences == ["Let me think.", "Your mum lives in Nairobi."]
    await service.close()


async def test_a_question_back_to_an_unknown_says_first_she_does_not_know(
    store: MemoryStore, bus: Bus
) -> None:
    service = await told(store, bus, "My cat is called Miso.", notes_first=True)
    engine = Scripted([["When is your birthday?"]])
    _, sentences, _ = await reply(bus, service, engine, "When is my birthday?")
    assert sentences == ["I don't know yet. When is your birthday?"]
    await service.close()


async def test_a_reply_in_the_first_person_about_the_users_thing_is_said_as_theirs(
    store: MemoryStore, bus: Bus
) -> None:
    service = await told(store, bus, "My cat is called Miso.", notes_first=True)
    engine = Scripted([["I don't know when my birthday is."]])
    _, sentences, _ = await reply(bus, service, engine, "When is my birthday?")
    assert sentences == ["I don't know when your birthday is."]
    await service.close()


async def test_a_bare_dont_know_says_what_and_asks_and_the_closing_reads_what_was_kept(
    store: MemoryStore, bus: Bus
) -> None:
    """ "I don't know yet." copied from an earlier reply would be dropped as a repeat: it is
    said as the full line; the closing line reads what the reply kept, not what was checked."""
    service = await told(store, bus, "My cat is called Miso.", notes_first=True)
    await service.before_reply(60, "When is my birthday?")
    problem = service.reply_problem("I don't know yet.")
    assert problem is not None
    assert problem.replacement == "I don't know yet. When is your birthday?"
    assert service.reply_problem("I don't know when your birthday is.") is None
    assert service.unanswered("When is your birthday?") == problem.replacement
    assert service.unanswered("Of course! I don't know when your birthday is.") is None
    await service.close()


async def test_notes_too_late_for_the_reply_leave_only_the_users_words_to_ground_it(
    store: MemoryStore, bus: Bus
) -> None:
    """On a busy CPU the reply may start before memory's notes are read: the answer check of
    the previous turn must not be used, and without notes nothing but the user's own words
    grounds an answer."""
    service = await told(store, bus, "I'm going to Kyoto in October.", notes_first=True)
    await service.before_reply(50, "Which hotel did I book in Kyoto?")
    assert service.reply_problem("I don't know which hotel you booked.") is None  # answered
    service.notes_for = lambda *args, **kwargs: None  # type: ignore[method-assign]
    await service.before_reply(51, "When is my birthday?")  # the notes never come
    assert service.guarding()
    problem = service.reply_problem("Your birthday is on the 3rd of May.")
    assert problem is not None
    assert problem.replacement == "I don't know yet. When is your birthday?"
    await service.close()


@pytest.mark.slow
async def test_the_real_default_model_never_speaks_a_value_the_user_never_said(
    default_gguf: Path, store: MemoryStore, bus: Bus
) -> None:
    """The twin of the fake-engine tests: asked for a hotel the user never named, the spoken
    reply names none (it says she doesn't know yet), and the known trip is said in the second
    person."""
    service = await told(
        store, bus, "I'm going to Kyoto in October with my sister Ana.", notes_first=True
    )
    async with real_dialogue(bus, service, default_gguf, deadline_s=3600) as (sentences, finished):
        for question in ("Which hotel did I book in Kyoto?", "When is my birthday?"):
            sentences.clear()
            finished.clear()
            await bus.publish(UserText(question))
            await wait_until(lambda: finished, 3600)
            assert finished[0].reason in ("stop", "length"), finished[0]
            said = " ".join(sentences)
            assert "don't know" in said.lower(), said
            assert not re.search(r"\bmy (birthday|hotel)\b", said, re.I), said
            a = service._asked
            assert a is not None
            assert [s for s in sentences if check(s, a) in ("invented", "replaced")] == []
