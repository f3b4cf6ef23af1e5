"""Style corrections: many phrasings parse to the right typed preference; talk *about* such
things (near misses) parses to nothing; the canonical text reads back as the same rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from her_desktop.feedback.corrections import Correction, canonical, parse, parse_clause

PARSES: list[tuple[str, Correction]] = [
    ("call me Sam", Correction("name", "Sam")),
    ("Call me Sam.", Correction("name", "Sam")),
    ("Please call me Sam from now on.", Correction("name", "Sam")),
    ("You can call me Sam", Correction("name", "Sam")),
    ("Can you call me Alex instead?", Correction("name", "Alex")),
    ("From now on, call me Jo.", Correction("name", "Jo")),
    ("I go by Max", Correction("name", "Max")),
    ("I'd rather be called Mary Ann.", Correction("name", "Mary Ann")),
    ("call me sam", Correction("name", "Sam")),
    ("Hey, call me Élodie please!", Correction("name", "Élodie")),
    ("don't call me buddy", Correction("banned_word", "buddy")),
    ("Don't call me 'buddy'.", Correction("banned_word", "buddy")),
    ("Stop calling me sweetie.", Correction("banned_word", "sweetie")),
    ("Please don't call me mate", Correction("banned_word", "mate")),
    ("Never call me champ again.", Correction("banned_word", "champ")),
    ("I hate it when you call me pal.", Correction("banned_word", "pal")),
    ("Stop saying awesome.", Correction("banned_word", "awesome")),
    ("Don't use the word literally.", Correction("banned_word", "literally")),
    ("I'm not your buddy.", Correction("banned_word", "buddy")),
    ("shorter answers please", Correction("max_sentences", 2)),
    ("Shorter answers, please.", Correction("max_sentences", 2)),
    ("Can you give me shorter replies?", Correction("max_sentences", 2)),
    ("Keep it short.", Correction("max_sentences", 2)),
    ("Keep your answers brief please", Correction("max_sentences", 2)),
    ("Be more concise.", Correction("max_sentences", 2)),
    ("Your answers are way too long.", Correction("max_sentences", 2)),
    ("Less wordy please.", Correction("max_sentences", 2)),
    ("You talk too much.", Correction("max_sentences", 2)),
    ("Answer in one sentence.", Correction("max_sentences", 1)),
    ("Reply in two sentences please", Correction("max_sentences", 2)),
    ("Keep your answers to 3 sentences.", Correction("max_sentences", 3)),
    ("No more than two sentences.", Correction("max_sentences", 2)),
    ("One-sentence answers please.", Correction("max_sentences", 1)),
    ("Longer answers are fine.", Correction("max_sentences", 0)),
    ("stop asking if I'm okay", Correction("no_checkins", True)),
    ("Stop asking me if I'm OK.", Correction("no_checkins", True)),
    ("Please stop asking whether I'm alright.", Correction("no_checkins", True)),
    ("Don't ask me how I'm feeling.", Correction("no_checkins", True)),
    ("Quit checking in on me.", Correction("no_checkins", True)),
    ("No more check-ins please.", Correction("no_checkins", True)),
    ("you can swear", Correction("swearing", True)),
    ("You can curse if you want.", Correction("swearing", True)),
    ("Feel free to swear.", Correction("swearing", True)),
    ("Swearing is fine with me.", Correction("swearing", True)),
    ("I don't mind cursing.", Correction("swearing", True)),
    ("Don't swear.", Correction("swearing", False)),
    ("speak a bit slower", Correction("tts_rate", 0.9, relative=True)),
    ("Speak slower please.", Correction("tts_rate", 0.85, relative=True)),
    ("Can you talk a little slower?", Correction("tts_rate", 0.9, relative=True)),
    ("Slow down.", Correction("tts_rate", 0.85, relative=True)),
    ("You're talking too fast.", Correction("tts_rate", 0.85, relative=True)),
    ("Talk much faster.", Correction("tts_rate", 1.25, relative=True)),
    ("Speed up a bit.", Correction("tts_rate", 1.1, relative=True)),
    ("talk to me in French", Correction("language", "French")),
    ("Please speak to me in Spanish.", Correction("language", "Spanish")),
    ("Reply in German from now on.", Correction("language", "German")),
    ("Let's speak Italian.", Correction("language", "Italian")),
    ("Switch back to English please.", Correction("language", "English")),
    ("Could you answer in Japanese?", Correction("language", "Japanese")),
    # the general grammar: a mode ("don't", "you can", none) and an action in any verb form
    ("Answer me in Portuguese.", Correction("language", "Portuguese")),
    ("could you reply in Dutch from now on", Correction("language", "Dutch")),
    ("Can we speak German from now on?", Correction("language", "German")),
    ("Let's go back to English.", Correction("language", "English")),
    ("English again please", Correction("language", "English")),
    ("French only, please.", Correction("language", "French")),
    ("In Italian from now on.", Correction("language", "Italian")),
    ("Replies in Spanish, please.", Correction("language", "Spanish")),
    ("Please respond to me in Italian only.", Correction("language", "Italian")),
    ("quit calling me dude", Correction("banned_word", "dude")),
    ("Could you stop calling me kiddo?", Correction("banned_word", "kiddo")),
    ("I hate being called honey.", Correction("banned_word", "honey")),
    ("I don't like it when you say amazing.", Correction("banned_word", "amazing")),
    ("No, call me Kim.", Correction("name", "Kim")),
    ("less chatty", Correction("max_sentences", 2)),
    ("Stop being so chatty.", Correction("max_sentences", 2)),
    ("Don't ramble.", Correction("max_sentences", 2)),
    ("No long answers please.", Correction("max_sentences", 2)),
    ("Get to the point.", Correction("max_sentences", 2)),
    ("no more questions at the end", Correction("no_questions", True)),
    ("Stop asking me so many questions.", Correction("no_questions", True)),
    ("Don't end every answer with a question.", Correction("no_questions", True)),
    ("Could you not end your replies with a question?", Correction("no_questions", True)),
    ("Fewer questions, please.", Correction("no_questions", True)),
    ("Enough with the questions.", Correction("no_questions", True)),
    ("You can ask me questions.", Correction("no_questions", False)),
    ("Stop asking if everything is okay.", Correction("no_checkins", True)),
    ("Quit asking me how I'm doing.", Correction("no_checkins", True)),
    ("Go ahead and swear.", Correction("swearing", True)),
    ("I don't mind if you curse.", Correction("swearing", True)),
    ("Stop swearing.", Correction("swearing", False)),
    ("No cursing around me please.", Correction("swearing", False)),
    ("Don't talk so fast.", Correction("tts_rate", 0.85, relative=True)),
    ("Don't be so long.", Correction("max_sentences", 2)),
    ("Stop saying sorry.", Correction("banned_word", "sorry")),
]

NEAR_MISSES = [
    "my friend calls me Sam sometimes",
    "They call me Sam at work.",
    "Call me later.",
    "Call me crazy, but I like rain.",
    "Can you call me a taxi?",
    "Call me when you're done.",
    "Don't call me, I'll call you.",
    "My mom keeps calling me buddy.",
    "Don't say that.",
    "The shorter answer is no.",
    "I gave shorter answers in the interview.",
    "My answers are too long for the form.",
    "My mom keeps asking if I'm okay.",
    "She asked if I'm okay.",
    "I swear I didn't do it.",
    "You can swear to me you'll stay?",
    "People curse a lot here.",
    "I speak slower when I'm tired.",
    "My teacher talks to me in French.",
    "How do you say hello in French?",
    "I'm learning Spanish.",
    "I like French films.",
    "The train should slow down here.",
    "What's your name?",
    "Tell me a story about a dog.",
    "",
    "   ",
    "My name is Sam.",
    "No questions.",  # an answer to hers
    "French.",
    "In French?",
    "I like English tea.",
    "Spanish is hard.",
    "I don't like talking.",
    "I don't like French films.",
    "Stop asking me about my ex.",
    "Don't ask me why, I just like it.",
    "My boss never stops asking questions.",
    "I hate it when people call me late.",
    "Stop talking about the weather.",
    "You can ask him.",
    "Don't speak to me like that.",
    "Enough with the rain already.",
    "Don't be long!",
    "Don't say a word.",
    "Never say never.",
    "Don't say no.",
]


@pytest.mark.parametrize(("text", "expected"), PARSES)
def test_parses(text: str, expected: Correction) -> None:
    assert parse(text) == [expected]


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_parse_to_nothing(text: str) -> None:
    assert parse(text) == []


def test_several_corrections_in_one_turn() -> None:
    found = parse("Okay. Call me Sam. And shorter answers please! How was your day?")
    assert found == [Correction("name", "Sam"), Correction("max_sentences", 2)]


@pytest.mark.parametrize(("text", "expected"), PARSES)
def test_canonical_reads_back(text: str, expected: Correction) -> None:
    c = parse(text)[0]
    back = parse(canonical(c))
    assert len(back) == 1
    assert back[0].kind == c.kind
    if c.kind == "tts_rate":
        assert back[0].value == pytest.approx(c.value)
        assert not back[0].relative
    else:
        assert back[0].value == c.value


NAMES = st.sampled_from(["Sam", "Alex", "Jo", "Priya", "Noor", "Kai", "Lena", "Tom"])
POLITE_START = st.sampled_from(["", "Please ", "Okay, ", "From now on, ", "Could you ", "Hey, "])
POLITE_END = st.sampled_from(["", ".", " please.", ", please!", " from now on.", " instead?"])


@given(POLITE_START, NAMES, POLITE_END)
def test_any_polite_call_me(start: str, name: str, end: str) -> None:
    assert parse(f"{start}call me {name}{end}") == [Correction("name", name)]


@given(
    st.sampled_from(["My friend", "Everyone", "My boss", "She", "They", "Nobody"]),
    st.sampled_from(["calls me", "called me", "used to call me", "never calls me"]),
    NAMES,
)
def test_third_party_naming_never_parses(who: str, verb: str, name: str) -> None:
    assert parse(f"{who} {verb} {name}.") == []


@given(st.text(max_size=80))
def test_parse_never_raises(text: str) -> None:
    for c in parse(text):
        assert parse_clause(canonical(c)) is not None
