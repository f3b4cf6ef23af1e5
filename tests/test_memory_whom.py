"""A question about someone else in the user's life is answered about them, not the user
(``memory.whom``): "where is greta living now" is not answered by where the user lives."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from her_desktop.memory.whom import (
    about_someone_else,
    asked_about,
    mentions,
    says_the_user_does,
    the_users_own,
)
from tests.memory_dialogue import say

NOTES = [
    "I live in tacoma.",
    "my sister greta called, she's just moved out to duluth for her new job.",
    "we're calling her biscotti for now i think.",
    "Bea is our neighbour.",
]


@pytest.mark.parametrize(
    ("question", "whom"),
    [
        ("remind me where greta is living now", {"greta", "sister"}),
        ("where does my sister live?", {"sister", "greta"}),
        ("Where does my sis... my sister work?", {"sister", "greta"}),
        ("what does my mum do", {"mother"}),
        ("When is Theo's wedding?", {"theo"}),
        ("what's jonno's surname", {"jonno"}),
        ("is bea still next door?", {"bea", "neighbour"}),
        ("which city do i live in again", set()),
        ("what's the kitten called?", set()),
        ("Where do I work?", set()),
        ("What do I do for a living?", set()),
    ],
)
def test_whom_a_question_asks_about(question: str, whom: set[str]) -> None:
    assert asked_about(question, NOTES) == whom


def test_a_note_mentions_them_by_name_or_by_any_word_for_the_relation() -> None:
    whom = frozenset({"mother"})
    assert mentions("My mum lives in Nairobi.", whom)
    assert mentions("my mother retired last year", whom)
    assert not mentions("I live in Tacoma.", whom)
    assert mentions("I live in Tacoma.", frozenset())  # a question about the user: any note


@pytest.mark.parametrize(
    ("sentence", "wrong"),
    [
        ("You live in tacoma.", True),
        ("Your job is in Tacoma.", True),
        ("She moved to Duluth for her new job.", False),
        ("Greta lives in Duluth now.", False),
        ("Your sister is in Duluth.", False),
        ("I don't know yet.", False),
    ],
)
def test_her_sentence_about_the_user_answers_the_wrong_person(sentence: str, wrong: bool) -> None:
    assert about_someone_else(sentence, asked_about("where is greta living now", NOTES)) is wrong


async def test_asked_where_someone_else_lives_the_notes_about_them_answer(
    rules_memory: Any,
) -> None:
    await say(
        rules_memory,
        "morning",
        "my sister greta called, she's just moved out to duluth for her new job",
        "i live in tacoma so i thought i had it bad with the rain",
    )
    asking = "remind me where greta is living now"
    notes = await asyncio.to_thread(rules_memory.notes_for, asking, 7)
    assert notes is not None
    first = notes.splitlines()[1]
    assert "duluth" in first.lower()  # the note about her first, though the user's is newer
    asked = rules_memory._asked
    assert asked is not None
    assert asked.answer is not None
    assert "duluth" in asked.answer.lower()
    problem = rules_memory.reply_problem("You live in tacoma.")
    assert problem is not None
    assert problem.rewrite
    assert "tacoma" not in problem.replacement.lower()
    # the user's own home still answers the user's own question
    await asyncio.to_thread(rules_memory.notes_for, "which city do i live in again", 8)
    assert rules_memory.reply_problem("You live in Tacoma.") is None


async def test_someone_named_in_lower_case_is_asked_about_and_the_note_about_it_answers(
    rules_memory: Any,
) -> None:
    """ "what does elodie do on saturdays": a question about the user's life though it has
    no "my" and no capital; the note sharing most of it answers (not her birthday cake)."""
    await say(
        rules_memory,
        "elodie's started ballet on saturdays now, she's obsessed",
        "elodie turned seven yesterday, i did a unicorn cake",
    )
    await asyncio.to_thread(rules_memory.notes_for, "what does elodie do on saturdays", 9)
    asked = rules_memory._asked
    assert asked is not None
    assert asked.answer is not None
    assert "ballet" in asked.answer
    await asyncio.to_thread(rules_memory.notes_for, "how old is elodie now", 10)
    asked = rules_memory._asked
    assert asked is not None
    assert asked.answer is not None
    assert "seven" in asked.answer


async def test_advice_about_someone_named_is_not_a_question_about_them(
    rules_memory: Any,
) -> None:
    await say(rules_memory, "jonno's getting married in august and i'm best man")
    await asyncio.to_thread(rules_memory.notes_for, "what should I get jonno as a present?", 11)
    assert rules_memory._asked is None
    await asyncio.to_thread(rules_memory.notes_for, "what month is jonno's wedding?", 12)
    assert rules_memory._asked is not None


def test_a_note_of_the_users_own_and_one_of_someone_of_theirs() -> None:
    assert the_users_own("I'm from Osaka, now in Leeds for my PhD.")
    assert the_users_own("We call the new puppy Biscuit now.")
    assert the_users_own("my phone's broken again")
    assert not the_users_own("My sister lives in Lisbon.")
    assert not the_users_own("Jonno's fiancée is from Galway.")
    assert says_the_user_does("You live in Porto.")
    assert not says_the_user_does("Your sister lives in Lisbon.")
