"""A reply sentence that takes the user's stored fact for her own (``memory.person``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from her_desktop.memory.person import speaks_as_user, told_phrases

TOLD = told_phrases(
    [
        "I work at St. Mary's as a night nurse.",
        "My dog is called Pepper.",
        "My favourite film is Paddington Two.",
        "I am allergic to peanuts.",
        "I'm learning the cello.",
    ]
)


@pytest.mark.parametrize(
    "sentence",
    [
        "I work at St. Mary's Hospital as a night nurse.",
        "My dog is called Pepper.",
        "my favourite film is Paddington Two",
        "I am allergic to peanuts, so no.",
        "I'm learning the cello and it's hard.",
        "I still work nights at St. Mary's.",
    ],
)
def test_the_users_fact_in_her_first_person_is_caught(sentence: str) -> None:
    assert speaks_as_user(sentence, TOLD)


@pytest.mark.parametrize(
    "sentence",
    [
        "I'm glad your dog Pepper is doing well.",
        "You work at St. Mary's as a night nurse.",
        "I love Paddington Two too.",  # a claim, not the user's voice: the reply filter's job
        "I'm here for you.",
        "Do I remember your dog's name?",
        "I work hard on remembering things.",  # opens "I work" but says nothing of St. Mary's
        "",
    ],
)
def test_her_own_first_person_is_left_alone(sentence: str) -> None:
    assert not speaks_as_user(sentence, TOLD)


def test_no_memories_no_check() -> None:
    assert told_phrases([]) == []
    assert told_phrases(["Pepper is a beagle."]) == []  # no first-person phrase to take
    assert not speaks_as_user("My dog is called Pepper.", [])


@given(st.text(max_size=300))
def test_any_text_is_judged_without_error(text: str) -> None:
    assert speaks_as_user(text, TOLD) in (True, False)
    told_phrases([text])
