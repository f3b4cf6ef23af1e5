"""The per-reply guide worked out in Python from the user's message (llm.turn_guide)."""

from __future__ import annotations

import pytest

from her_desktop.llm.reply_filter import ReplyFilter
from her_desktop.llm.turn_guide import troubled, turn_guide


@pytest.mark.parametrize(
    ("text", "phrase", "lang"),
    [
        ("How do you say 'good night' in German?", "good night", "German"),
        (
            "translate “where is the bus stop” into Portuguese",
            "where is the bus stop",
            "Portuguese",
        ),
        ("what's 'cheers' in Japanese", "cheers", "Japanese"),
        (
            "can you tell me how to say 'where is the train station?' in French",
            "where is the train station?",
            "French",
        ),
        ("how could I say 'thank you' in Italian", "thank you", "Italian"),
        ("what is the French word for butterfly?", "butterfly", "French"),
        ("say 'happy birthday' in Spanish", "happy birthday", "Spanish"),
        ("translate to French: I'm going home", "I'm going home", "French"),
        ("translate into German - where is the bank?", "where is the bank?", "German"),
        ("'thank you' in Japanese?", "thank you", "Japanese"),
        ("what's the Spanish for 'the dog is hungry'?", "the dog is hungry", "Spanish"),
    ],
)
def test_translations_name_the_words_and_the_language(text: str, phrase: str, lang: str) -> None:
    guide = turn_guide(text)
    assert guide is not None
    assert guide.kind == "translate"
    assert f'"{phrase}" into {lang}' in guide.text


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("What does 'serendipity' mean?", "serendipity"),
        ("define gregarious", "gregarious"),
        ("what's the meaning of nostalgia?", "nostalgia"),
        ("what does it mean to be pragmatic?", "pragmatic"),
        ("what's empathy mean?", "empathy"),
        ("can you tell me what 'verbose' means", "verbose"),
        ("define 'benevolent' for me", "benevolent"),
        ("what does procrastinate mean exactly?", "procrastinate"),
        ("what is 'schadenfreude'?", "schadenfreude"),
    ],
)
def test_definitions(text: str, word: str) -> None:
    guide = turn_guide(text)
    assert guide is not None
    assert guide.kind == "define"
    assert f'"{word}"' in guide.text


@pytest.mark.parametrize("text", ["what do you mean", "what does that mean?", "I say it in class"])
def test_other_wordings_are_not_a_definition_or_translation(text: str) -> None:
    guide = turn_guide(text)
    assert guide is None or guide.kind not in ("define", "translate")


@pytest.mark.parametrize(
    "text",
    [
        "what's the capital of Spain",
        "which planet is closest to the sun",
        "who was the first person to walk on the moon",
        "random question, what's the capital of Australia?",
        "quick question: how many legs does a spider have?",
    ],
)
def test_a_question_of_fact_with_or_without_its_question_mark(text: str) -> None:
    guide = turn_guide(text)
    assert guide is not None
    assert guide.kind == "fact"


@pytest.mark.parametrize("text", ["what's up", "what a day", "what I need is a holiday"])
def test_a_greeting_or_exclamation_is_not_a_question_of_fact(text: str) -> None:
    guide = turn_guide(text)
    assert guide is None or guide.kind != "fact"


def test_a_recall_is_not_guided_but_answered_in_python() -> None:
    guide = turn_guide("Can you remind me what I told you?")
    assert guide is None or guide.kind in ("fact", "personal")  # ``llm.recap`` answers it


@pytest.mark.parametrize(
    "text",
    [
        "My grandmother died on Sunday.",
        "I'm so worried about the scan results.",
        "we had a massive argument and she left",
        "Got laid off this morning.",
    ],
)
def test_hard_moments_ask_for_acknowledgement_first(text: str) -> None:
    guide = turn_guide(text)
    assert guide is not None
    assert guide.kind == "trouble"
    assert "sympathy" in guide.text


@pytest.mark.parametrize(
    "text", ["my grandad's out of hospital and back home", "We won the quiz, finally!"]
)
def test_good_news_is_not_trouble(text: str) -> None:
    assert not troubled(text)


def test_other_turns() -> None:
    fact = turn_guide("What's the tallest mountain in Africa?")
    assert fact is not None
    assert fact.kind == "fact"
    personal = turn_guide("I started a pottery class today.")
    assert personal is not None
    assert personal.kind == "personal"
    assert turn_guide("   ") is None


def test_the_filter_counts_what_it_held_back_before_the_first_sound() -> None:
    style = ReplyFilter()
    assert style.accept("Certainly!") is None
    assert style.held_chars == len("Certainly!")
    assert style.accept("Oh, that sounds hard.") is not None
    assert style.accept("Feel free to ask me anything.") is None
    assert style.held_chars == len("Certainly!")  # only what came before the first sound
    assert ReplyFilter().held_chars == 0


def test_a_request_is_not_personal_news() -> None:
    assert turn_guide("Give me a random fun fact.") is None
    assert turn_guide("tell me a joke") is None


def test_a_sum_in_a_longer_message_gives_the_lm_the_computed_answer() -> None:
    guide = turn_guide("I'm fed up with this spreadsheet. What's 19 times 21?")
    assert guide is not None
    assert guide.kind == "sum"
    assert "comes to 399" in guide.text


def test_a_question_about_a_recent_event_is_declined_plainly() -> None:
    guide = turn_guide("Who scored in the derby last night?")
    assert guide is not None
    assert guide.kind == "fact"
    assert "don't know" in guide.text
    plain = turn_guide("Who wrote Pride and Prejudice?")
    assert plain is not None
    assert "don't know" not in plain.text


@pytest.mark.parametrize(
    "text",
    [
        "have you ever been in love?",
        "did you watch the match last night?",
        "what's your favourite food?",
        "What's your favourite colour?",
        "so anyway, how's your day going?",
        "Do you like music?",
        "are you ever bored?",
        "Have you read Dune?",
        "how was your weekend",
        "where are you from?",
    ],
)
def test_a_question_about_her_own_life_is_answered_as_what_she_is(text: str) -> None:
    guide = turn_guide(text)
    assert guide is not None
    assert guide.kind == "self"
    assert "AI" in guide.text


@pytest.mark.parametrize(
    "text",
    [
        "Do you think I should go?",
        "Can you help me with something?",
        "do you remember what I said?",
        "What's the capital of Peru?",
        "I had a lovely walk, you know?",
    ],
)
def test_other_questions_with_you_are_not_about_her_life(text: str) -> None:
    guide = turn_guide(text)
    assert guide is None or guide.kind != "self"


@pytest.mark.parametrize("text", ["meh", "Meh.", "ugh", "been better", "not great", "blah..."])
def test_a_flat_word_is_a_mood_to_notice(text: str) -> None:
    guide = turn_guide(text)
    assert guide is not None
    assert guide.kind == "trouble"


def test_a_longer_message_is_not_only_a_flat_word() -> None:
    guide = turn_guide("meh, the film was fine I guess")
    assert guide is None or "flat" not in guide.text
