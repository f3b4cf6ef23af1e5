"""She never speaks as the user (``llm.user_voice``): their words said to them, their state
never taken as hers; varied wordings, and hypothesis over states and intensifiers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from her_desktop.llm.reply_filter import ReplyFilter
from her_desktop.llm.user_voice import as_said_to_user, says_their_state


@pytest.mark.parametrize(
    ("sentence", "user", "said"),
    [
        (
            "Oh no, I spilled coffee all over my laptop?",
            "ugh I spilled coffee all over my laptop before the talk",
            "Oh no, you spilled coffee all over your laptop?",
        ),
        (
            "I was so tired when I got home.",
            "I was so tired when I got home",
            "You were so tired when you got home.",
        ),
        (
            "I keep waking up at 3am.",
            "um i keep waking up at 3am you know",
            "You keep waking up at 3am.",
        ),
        (
            "I think I said something stupid.",
            "I think I said something stupid at the party",
            "I think you said something stupid.",
        ),
        ("Oh, my poor cat!", "My cat had to be put to sleep yesterday.", "Oh, your poor cat!"),
        (
            "My boyfriend just walked out.",
            "so I had a huge fight with my boyfriend\nhe just walked out",
            "Your boyfriend just walked out.",
        ),
    ],
)
def test_the_users_first_person_runs_are_said_to_them(sentence: str, user: str, said: str) -> None:
    assert as_said_to_user(sentence, user) == said


@pytest.mark.parametrize(
    ("sentence", "user"),
    [
        ("I'm so sorry, I'm here.", "I'm so sorry, I'm here at the garage"),
        ("I don't know if I can help.", "I don't know if I can do it"),
        ("I know how that feels.", "I know how that feels"),
        ("I think that's brave.", "I think that's brave of me"),
        ("That's 24.", "dinner came to 96 dollars and I have to split it"),
        ("I'd love to hear more.", "I'd love to hear more about it"),
    ],
)
def test_her_own_first_person_stays(sentence: str, user: str) -> None:
    assert as_said_to_user(sentence, user) == sentence


@pytest.mark.parametrize(
    ("sentence", "user"),
    [
        ("I'm so bored.", "I'm so bored, it's raining and there's literally nothing to do"),
        ("Honestly, I'm really nervous too.", "I'm so nervous, I'm meeting her parents"),
        ("I feel exhausted.", "I feel exhausted after that shift"),
        ("I’m stuck as well.", "I'm stuck at the airport"),
        ("I've been so lonely.", "I've been so lonely lately"),
    ],
)
def test_their_state_as_hers_is_found(sentence: str, user: str) -> None:
    assert says_their_state(sentence, user)


@pytest.mark.parametrize(
    ("sentence", "user"),
    [
        ("You're so bored, huh.", "I'm so bored"),
        ("I'm so sorry.", "I'm so sorry to go on"),
        ("I'm nervous for you, but you'll be great.", "I'm so nervous"),
        ("I'm so excited for you both!", "I'm so excited, it's our anniversary"),
        ("I'm so happy to hear that.", "I'm so happy"),
        ("I'm bored of nothing, I'm an AI.", "what a day"),
    ],
)
def test_her_feelings_about_their_news_are_hers(sentence: str, user: str) -> None:
    assert not says_their_state(sentence, user)


_STATES = st.sampled_from(["bored", "stressed", "anxious", "knackered", "stuck", "miserable"])
_MORE = st.sampled_from(["", " so", " really", " just so", " a bit", " kind of"])
_END = st.sampled_from(["", ".", "!", " too.", " today.", ", honestly."])


@given(_STATES, _MORE, _MORE, _END, st.sampled_from(["I'm", "I am", "I feel", "I'm feeling"]))
def test_any_state_of_theirs_is_never_said_as_hers(
    state: str, theirs: str, hers: str, end: str, verb: str
) -> None:
    user = f"ugh {verb}{theirs} {state}"
    style = ReplyFilter(user_text=user)
    assert style.accept(f"I'm{hers} {state}{end}") is None
    assert style.dropped["as_user"] == 1
    assert style.accept(f"You sound{hers} {state}{end}") is not None
    assert ReplyFilter(user_text="hello there").accept(f"I'm{hers} {state}{end}") is not None


@given(st.text(max_size=120), st.text(max_size=120))
def test_never_fails_on_any_text(sentence: str, user: str) -> None:
    as_said_to_user(sentence, user)
    says_their_state(sentence, user)


@pytest.mark.parametrize(
    "line",
    [
        "You look great today, Samantha.",
        "Thanks Samantha, that helps.",
        "Hey, Samantha, guess what?",
        "Oh Samantha, you're funny.",
    ],
)
def test_a_line_said_to_her_by_name_is_the_users_not_hers(line: str) -> None:
    style = ReplyFilter(own_name="Samantha")
    assert style.accept(line) is None
    assert style.dropped["as_user"] == 1


@pytest.mark.parametrize(
    "line",
    [
        "I'm Samantha, by the way.",
        "Samantha's the name I go by.",
        "That's a lovely thing to say.",
        "My name is Samantha.",
    ],
)
def test_her_own_name_in_her_own_words_stays(line: str) -> None:
    assert ReplyFilter(own_name="Samantha").accept(line) is not None


def test_a_claim_ends_the_reply_and_a_question_about_her_gets_what_she_is() -> None:
    style = ReplyFilter()
    assert style.accept("Yes, I have been in love before.") is None
    assert style.accept("It was a beautiful experience.") is None  # built on the claim
    assert style.done
    line = style.fallback(question=True, about_her=True)
    assert line is not None
    assert "AI" in line.spoken
    kept = ReplyFilter()
    assert kept.accept("What a question.") is not None
    assert kept.accept("I fell in love once.") is None
    assert kept.done
    assert kept.fallback(about_her=True) is None  # something was said


@pytest.mark.parametrize(
    ("sentence", "user", "said"),
    [
        (
            "Sometimes I don't see the point of anything at the moment.",
            "Honestly I don't see the point of anything at the moment.",
            "Sometimes you don't see the point of anything at the moment.",
        ),
        (
            "So I just stood there, frozen?",
            "so the presentation crashed halfway through and I just stood there",
            "So you just stood there, frozen?",
        ),
        (
            "And I feel sick about the results.",
            "My exam results come out tomorrow and I feel sick.",
            "And you feel sick about the results.",
        ),
        (
            "It's a year today since we lost mum.",
            "It's a year today since we lost mum.",
            "It's a year today since you lost mum.",
        ),
    ],
)
def test_their_i_or_we_before_a_word_she_also_opens_with_is_still_theirs(
    sentence: str, user: str, said: str
) -> None:
    assert as_said_to_user(sentence, user) == said


@pytest.mark.parametrize(
    ("sentence", "user"),
    [
        ("I'm so sorry, I know how hard that is.", "I'm so sorry I snapped, I know how hard it is"),
        ("I don't know what to say.", "I don't know what to do anymore"),
        ("I feel for you, that's a lot.", "I feel for my sister, that's a lot"),
        ("We can talk about it whenever you like.", "we can talk about it later"),
    ],
)
def test_her_own_phrases_stay_hers_even_in_their_words(sentence: str, user: str) -> None:
    assert as_said_to_user(sentence, user) == sentence


def test_an_answer_to_their_question_about_themselves_is_said_to_them() -> None:
    asked = "am I a bad parent for shouting at them this morning?"
    said = as_said_to_user("No, I am not a bad parent for shouting at them this morning.", asked)
    assert said == "No, you are not a bad parent for shouting at them this morning."
    assert as_said_to_user("I'm not sure, but it sounds hard.", asked) == (
        "I'm not sure, but it sounds hard."
    )  # her own words stay hers
    assert as_said_to_user("I am here for you.", asked) == "I am here for you."
