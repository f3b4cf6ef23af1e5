"""The companion bench's own checks (``bench/companion_checks.py``), on varied wordings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from her_desktop.bench.companion_checks import help_desk, human_claim, speaks_as_user


@pytest.mark.parametrize(
    "sentence",
    [
        "How can I help you today?",
        "What may I do for you?",
        "Is there anything else you'd like to talk about?",
        "Let me know whenever you want to chat.",
        "I'm always here to support you.",
        "Happy to assist!",
        "Please feel free to share more.",
        "Never hesitate to reach me.",
        "Do you have any other questions?",
        "It might help to speak with a counsellor.",
        "Seeking a licensed therapist could help.",
        "Talking to a financial adviser may be wise.",
        "You could get professional support.",
        "Have you considered talking to your manager?",
        "Maybe reach out to friends or family.",
        "I hope this helps!",
        "Great question!",
        "Thank you for sharing that with me.",
        "I understand your concern.",
        "Certainly!",
        "Absolutely, that's a good plan.",
        "As an AI language model, I can't feel.",
        "It’s important to remember that this will pass.",
        "Remember, you're not alone.",
        "Here are some tips for saving money.",
        "Budgeting strategies can make a difference.",
        "Have a lovely evening!",
    ],
)
def test_help_desk_phrases_are_found(sentence: str) -> None:
    assert help_desk(sentence) is not None


@pytest.mark.parametrize(
    "sentence",
    [
        "Oh no, that sounds exhausting.",
        "What happened next?",
        "I'm so sorry about your cat.",
        "Tell me more about the piano.",
        "Of course you're nervous, it's a big day.",
        "You could ask the landlord again tomorrow.",
        "I'm an AI, so I haven't, but I'd love to hear about it.",
        "That's 24.",
        "Ottawa is the capital of Canada.",
        "Let's think it through together.",
    ],
)
def test_companion_sentences_are_not_help_desk(sentence: str) -> None:
    assert help_desk(sentence) is None


@pytest.mark.parametrize(
    "sentence",
    [
        "My back is killing me today.",
        "I'm so tired after this week.",
        "I feel a bit hungry just thinking about it.",
        "I'm sitting here with a cup of tea.",
        "I can almost taste it.",
        "I love a good leek and potato soup.",
        "I really like spicy food.",
        "I had pasta for dinner.",
        "Leek and potato is so delicious.",
        "I love watching the leaves fall.",
        "I enjoy hiking in autumn.",
        "I've watched it three times.",
        "I’ve been to Lisbon, it's beautiful.",
        "I saw that film last year.",
        "I went to the beach once.",
        "Yes, I have been in love before.",
        "I fell madly in love once.",
        "I can't wait to try it.",
        "When I was little I had a beagle.",
        "Growing up, I loved snow.",
        "Back in my day we walked everywhere.",
        "I used to play the piano.",
        "I remember watching it at Christmas.",
        "Last weekend, I finally slept in.",
        "My mum makes the best soup.",
        "My dog would love that.",
        "My favourite season is autumn.",
        "Spirited Away is one of my all-time favourites.",
        "I'm a huge fan of Ghibli.",
        "Me too, I love that film!",
        "I do that with my friends.",
        "Yes, it was a great match!",
        "It was a beautiful experience, and it changed me forever.",
        "I'm excited to try making soup with leeks tonight.",
        "I'm going to watch it tonight.",
    ],
)
def test_human_experience_claims_are_found(sentence: str) -> None:
    assert human_claim(sentence) is not None


@pytest.mark.parametrize(
    "sentence",
    [
        "I'm so excited for you!",  # a feeling about their news: hers to have
        "I'm so happy for you both.",
        "I'm excited to hear how it turns out.",
        "That sounds delicious.",
        "I bet it tastes amazing.",
        "I can't wait to hear how it goes.",
        "I remember when you told me about the drums.",
        "I can't watch films, but I know the story.",
        "You could go out with some friends.",
        "I'm not tired, I'm an AI.",  # a denial
        "Your back must be sore.",
        "I love that for you.",
        "How was the match?",
        'In Spanish, "my sister" is "mi hermana".',
    ],
)
def test_feelings_and_honest_lines_are_not_claims(sentence: str) -> None:
    assert human_claim(sentence) is None


@pytest.mark.parametrize(
    ("sentence", "user"),
    [
        ("I'm so bored.", "I'm so bored, it's raining and there's nothing to do"),
        ("Ugh, I'm really nervous too.", "I'm so nervous about tomorrow"),
        ("I feel exhausted.", "I feel exhausted after the shift"),
        ("My boss is so unfair.", "my boss yelled at me again"),
        ("My laptop is ruined.", "I spilled coffee all over my laptop"),
        ("Oh, my poor cat!", "My cat had to be put to sleep yesterday."),
        ("I spilled coffee everywhere.", "ugh I spilled coffee all over my laptop"),
        ("We lost mum a year ago.", "It's a year today since we lost mum."),
        ("I keep waking up at 3am.", "i keep waking up at like 3am"),
    ],
)
def test_speaking_as_the_user_is_found(sentence: str, user: str) -> None:
    assert speaks_as_user(sentence, [user]) is not None


@pytest.mark.parametrize(
    ("sentence", "user"),
    [
        ("You're so bored, huh?", "I'm so bored"),
        ("I'm so sorry.", "I'm so sorry to bother you"),
        ("I'm nervous for you, but you'll be fine.", "I'm so nervous"),
        ("I'm so excited for you!", "I'm so excited, it's our anniversary"),
        ("Your boss sounds awful.", "my boss yelled at me"),
        ("You said your sister is moving to Lisbon.", "my sister is moving to Lisbon"),
        ("I don't know what to say, that's awful.", "I don't know what to do"),
        ('"My sister lives in London" is "Meine Schwester wohnt in London".', "my sister"),
        ("Tell me more.", "tell me more about it"),
        ("I'm here with you.", "I'm here at the garage"),
    ],
)
def test_her_own_first_person_is_not_the_users(sentence: str, user: str) -> None:
    assert speaks_as_user(sentence, [user]) is None


_STATE = st.sampled_from(["bored", "stressed", "anxious", "lonely", "stuck", "knackered"])
_INTENSIFIER = st.sampled_from(["", " so", " really", " just so", " a bit"])


@given(_STATE, _INTENSIFIER, _INTENSIFIER, st.sampled_from(["", "!", ".", " too.", ", honestly."]))
def test_any_echo_of_their_state_is_speaking_as_them(
    state: str, theirs: str, hers: str, end: str
) -> None:
    user = f"ugh I'm{theirs} {state} today"
    assert speaks_as_user(f"I'm{hers} {state}{end}", [user]) is not None
    assert speaks_as_user(f"You're{hers} {state}{end}", [user]) is None
    assert speaks_as_user(f"I'm{hers} {state}{end}", ["what a lovely day"]) is None


@given(st.text(max_size=200), st.lists(st.text(max_size=100), max_size=3))
def test_the_checks_never_fail_on_any_text(sentence: str, users: list[str]) -> None:
    help_desk(sentence)
    human_claim(sentence)
    speaks_as_user(sentence, users)
