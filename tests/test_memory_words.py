"""The question and wish words are written once (``memory.words``) for ``slots``, ``questions``
and ``answered``; each reader's set holds every word its own list held before the merge."""

from __future__ import annotations

from her_desktop.memory import questions, slots
from her_desktop.memory.words import ASKING_VERBS, QUESTION_WORDS, WH_WORDS

# the lists as each module wrote them before they were merged (3cbfff4)
_SLOTS_BEFORE = (
    "what whats what's where wheres where's who whos who's when whens when's which how why"
)
_QUESTIONS_BEFORE = (
    "what whats what's where wheres where's who whos who's when which how why remember "
    "recall know tell again called name do does did you think still right guess kind type "
    "ever anything something now"
)
_ANSWERED_BEFORE = (
    "what whats what's where wheres where's who whos who's when when's which how how's why "
    "whose whom do does did go going goes come coming get got make doing"
)


def test_each_reader_keeps_its_words() -> None:
    assert set(_SLOTS_BEFORE.split()) <= WH_WORDS
    assert set(_QUESTIONS_BEFORE.split()) <= QUESTION_WORDS
    assert set(_ANSWERED_BEFORE.split()) == ASKING_VERBS - {"whens"}


def test_a_question_word_is_no_topic() -> None:
    """the words one list lacked before ("whose", "how's") are no topic either"""
    assert slots.topic("Whose dog is Biscuit, and how's the gig?") == {"dog", "biscuit", "gig"}


def test_wishes_read_as_before() -> None:
    """a wish holds no value (``slots``); a note's wish is no answer (``questions``)"""
    assert slots.WISHED.search("I'm hoping the new job works out")
    assert slots.IRREALIS.search("We're planning to move to Leeds")
    assert questions.IRREALIS.sub(" ", "I have a cat. I'm hoping for a dog").strip() == (
        "I have a cat. I'm"
    )
    assert questions.IRREALIS.sub(" ", "I'm hoping it rains") == "I'm hoping it rains"
