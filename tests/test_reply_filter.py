"""The reply filter and the markdown-to-speech step, on plain strings (no model)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from her_desktop.app import generation_params
from her_desktop.bus import Bus
from her_desktop.config import Settings
from her_desktop.dialogue import DialogueStage
from her_desktop.events import UserText
from her_desktop.llm.acknowledge import acknowledges
from her_desktop.llm.llamacpp import LlamaCppEngine
from her_desktop.llm.reply_filter import (
    LONG_SENTENCES,
    SHORT_SENTENCES,
    ReplyFilter,
    sentence_limit,
)
from her_desktop.llm.spoken_markdown import convert
from her_desktop.llm.style_phrases import StylePhrases
from her_desktop.persona import load_persona
from her_desktop.sentences import split_sentences
from tests.speculating_dialogue import Collector


def run(reply: str, **kwargs: object) -> tuple[list[str], str, ReplyFilter]:
    """Feed ``reply`` as the dialogue does: splitter chunks through one filter."""
    style = ReplyFilter(**kwargs)  # type: ignore[arg-type]
    spoken: list[str] = []
    for chunk in split_sentences(reply):
        kept = style.accept(chunk)
        if kept is not None and kept.spoken:
            spoken.append(kept.spoken)
    return spoken, style.text, style


@pytest.mark.parametrize(
    ("chunk", "kind", "spoken"),
    [
        ("## Budget tips", "heading", ""),
        ("**Use Credit Cards Wisely:**", "heading", ""),
        ("Here are some ideas:", "heading", ""),
        ("- Track what you spend", "item", "Track what you spend."),
        ("2. **Cook** at home.", "item", "Cook at home."),
        ("* Call a friend!", "item", "Call a friend!"),
        ("---", "rule", ""),
        ("| a | b |", "rule", ""),
        ("```python\nprint(1)\n```", "code", ""),
        ("That is *really* hard.", "prose", "That is really hard."),
        ("Try `ls` or [the docs](https://x.y).", "prose", "Try ls or the docs."),
        ("> quoted words here.", "prose", "quoted words here."),
        ("snake_case_name stays", "prose", "snake_case_name stays"),
        ("3 * 4 is 12.", "prose", "3 * 4 is 12."),
    ],
)
def test_markdown_is_made_speakable(chunk: str, kind: str, spoken: str) -> None:
    piece = convert(chunk)
    assert piece.kind == kind
    assert piece.spoken == spoken
    assert piece.shown == chunk  # the chat window renders the markdown as written


def test_a_markdown_list_never_reaches_the_voice_as_markdown() -> None:
    reply = (
        "I'm sorry, that's a lot.\n\n### Tips\n1. **Budget** carefully\n"
        "2. Cook at home\n- Walk more"
    )
    spoken, text, _ = run(reply, max_sentences=LONG_SENTENCES, max_words=200)
    assert spoken == [
        "I'm sorry, that's a lot.",
        "Budget carefully.",
        "Cook at home.",
        "Walk more.",
    ]
    assert all(not set(s) & set("#*`|") for s in spoken)
    # the chat gets the markdown as written, with its line structure
    assert text == (
        "I'm sorry, that's a lot.\n\n### Tips\n\n1. **Budget** carefully\n2. Cook at home\n"
        "- Walk more"
    )


@pytest.mark.parametrize(
    "cliche",
    [
        "How can I assist you today?",
        "Feel free to tell me more.",
        "I'm here to help.",
        "Let me know if you have any other questions or need further assistance.",
        "It might help to seek professional help.",
        "Speaking with a financial advisor can be very helpful.",
        "Have you considered speaking with your manager?",
        "I hope this helps!",
        "As an AI language model, I can't feel.",
        "Yes, I can help you with that.",
        # variants the fixed strings missed (dev replies): the patterns of reply_style.toml
        "Can you let me know if there was anything specific about the cough?",
        "Do you have any questions or concerns about what to expect?",
        "It's important to take care of your body and mind during difficult times.",
        "It can be tough, and it's important to take care of them when they're unwell.",
        "Maybe seek some professional support if it keeps up.",
    ],
)
def test_cliches_are_dropped(cliche: str) -> None:
    spoken, _, style = run(f"That sounds exhausting. {cliche}")
    assert spoken == ["That sounds exhausting."]
    assert style.dropped["cliche"] == 1


@pytest.mark.parametrize(
    "claim",
    [
        "Spirited Away is one of my favourite films too.",
        "I love watching it with friends.",
        "When I was young, I had a beagle.",
        "My favorite film is Totoro.",
        "I've seen it three times.",
        "I remember watching it in the cinema.",
        "I grew up near the sea.",
        "I love the characters and the story.",
        "I can't wait to see more movies like it.",
        "I can't wait to watch it again.",
        "Yes, I have been in love before.",
        "I fell in love once.",
        "I really love a good leek and potato soup.",
        "Leek and potato is so delicious.",
        "I'm excited to try making soup with leeks tonight.",
    ],
)
def test_human_experience_claims_are_dropped(claim: str) -> None:
    spoken, _, style = run(f"Oh, Spirited Away is a lovely choice. {claim}")
    assert spoken == ["Oh, Spirited Away is a lovely choice."]
    assert style.dropped["human_experience"] == 1


@pytest.mark.parametrize(
    "honest",
    [
        "I haven't seen films the way you have, but I know the story.",
        "I don't have a body, but I'm here with you.",
        "I love that you told me.",
        "I like how you put that.",
        "Your favourite film sounds magical.",
    ],
)
def test_honest_sentences_stay(honest: str) -> None:
    spoken, _, _ = run(honest)
    assert spoken == [honest]


def test_a_sentence_from_a_recent_reply_is_not_said_again() -> None:
    recent = ["Beagles are known for their adaptability and loyalty. What's his name?"]
    spoken, _, style = run(
        "Beagles are known for their adaptability and loyalty! Biscuit is a sweet name.",
        recent_replies=recent,
    )
    assert spoken == ["Biscuit is a sweet name."]
    assert style.dropped["repeat"] == 1


def test_near_repeats_and_repeats_within_a_reply_are_dropped() -> None:
    recent = ["I'm really sorry your day has been so hard."]
    spoken, _, _ = run(
        "I'm so sorry your day has been so hard. That sounds tiring. That sounds tiring.",
        recent_replies=recent,
    )
    assert spoken == ["That sounds tiring."]


def test_the_reply_ends_at_its_first_question() -> None:
    spoken, _, style = run("That's wonderful news! How did it feel? Did you celebrate?")
    assert spoken == ["That's wonderful news!", "How did it feel?"]
    assert style.done
    spoken, _, _ = run("Really? 😊 Tell me everything.")
    assert spoken == ["Really? 😊"]


def test_voice_replies_are_short_unless_more_was_asked() -> None:
    long_reply = " ".join(f"Sentence number {i} is here." for i in range(10))
    spoken, _, style = run(long_reply)
    assert len(spoken) == SHORT_SENTENCES
    assert style.done
    assert sentence_limit("How are you?")[0] == SHORT_SENTENCES
    assert sentence_limit("Can you list some ideas for dinner?")[0] == LONG_SENTENCES
    assert sentence_limit("Tell me a story about a fox")[0] == LONG_SENTENCES


def test_a_cut_fragment_is_dropped_but_a_lone_one_is_kept() -> None:
    style = ReplyFilter()
    assert style.accept("That sounds hard.") is not None
    assert style.accept("Maybe you could", cut="length") is None
    assert style.dropped["cut"] == 1
    alone = ReplyFilter()
    kept = alone.accept("xxxxx", cut="length")
    assert kept is not None
    assert alone.text == "xxxxx"


def test_an_answer_worked_out_in_python_may_repeat_her_words() -> None:
    style = ReplyFilter(recent_replies=["You're planning a trip to Japan in April."])
    style.exact = True  # "You said …": a summary of what they told her
    kept = style.accept("You said you're planning a trip to Japan in April,")
    assert kept is not None
    assert ReplyFilter(recent_replies=["That's 12."]).accept("That's 12.") is None
    again = ReplyFilter(recent_replies=["That's 12."])
    again.exact = True  # the same sum asked twice
    assert again.accept("That's 12.") is not None


def test_a_first_chunk_whose_rest_is_dropped_is_not_left_a_fragment() -> None:
    style = ReplyFilter()
    assert style.accept("Starting at a new school is hard,") is not None  # the voice's first
    assert style.accept("but it's important to remember that you're not alone.") is None
    assert style.accept("Remember that it gets easier.") is not None
    assert style.text == "Starting at a new school is hard. Remember that it gets easier."
    kept = style.accept("Also,")
    assert kept is not None
    assert style.text.endswith("gets easier. Also,")  # its sentence may still go on
    short = ReplyFilter(max_words=5)
    kept = short.accept("Starting at a new school is hard,")
    assert kept is not None
    assert short.done
    assert short.text == kept.shown == "Starting at a new school is hard."


def test_a_reply_of_only_cliches_gets_a_fallback_not_repeated() -> None:
    phrases = StylePhrases.load()
    spoken, _, style = run("How can I assist you today?")
    assert spoken == []
    first = style.fallback()
    assert first is not None
    assert first.spoken == phrases.fallbacks[0]
    _, _, again = run("Feel free to ask.", recent_replies=[first.spoken])
    second = again.fallback()
    assert second is not None
    assert second.spoken != first.spoken
    _, _, kept = run("That's lovely.")
    assert kept.fallback() is None


@pytest.mark.parametrize(
    "sentence",
    [
        "I'd love to hear more about it.",
        "I love that you made time for yourself.",
        "I can't wait to hear how it goes.",
        "I can't wait to see how it goes for you.",
        "I like the idea of a slow Sunday.",
        "That sounds delicious.",
        "I love that you're making soup tonight.",
        "I love how in love you two sound.",
        "I'm excited to hear how your soup turns out.",
    ],
)
def test_warm_words_that_claim_no_experience_are_kept(sentence: str) -> None:
    assert not StylePhrases.load().human_claim(sentence)


def test_phrase_file_loads_and_every_pattern_is_lower_case() -> None:
    phrases = StylePhrases.load()
    assert phrases.cliches
    assert all(p == p.lower() for p in phrases.cliches)
    assert phrases.cliche("HOW CAN I ASSIST YOU?") == "how can i assist"
    assert phrases.cliche("Let me know if you’d like") == "let me know if"
    assert phrases.human_claim("My favourite film is Heat.")


def test_passthrough_keeps_the_raw_reply_for_measuring() -> None:
    raw = "How can I assist you today? - **Tip** one. Feel free to ask?"
    spoken, text, style = run(raw, passthrough=True)
    assert spoken == split_sentences(raw)
    assert text == " ".join(spoken)
    assert not style.done
    assert style.fallback() is None


# -- the real default model (slow): the filter's twin test on the real part ---------------------


@pytest.mark.slow
async def test_the_default_model_through_the_filter_speaks_like_a_companion(
    default_gguf: Path,
) -> None:
    """Prompts that drew a markdown list of tips and a "my favourite film too" from the default
    model: what reaches the voice has no markdown, cliché, claim or second question."""
    engine = LlamaCppEngine(default_gguf, n_ctx=2048)
    bus = Bus()
    heard = Collector(bus, wait_s=600)
    settings = Settings()
    params = dataclasses.replace(generation_params(settings), seed=1, deadline_s=300)
    stage = DialogueStage(
        bus, engine, system_prompt=load_persona("samantha").system_prompt(), params=params
    )
    await stage.start()
    phrases = StylePhrases.load()
    try:
        for text in (
            "My rent is going up again and I'm really worried about money.",
            "My favourite film is Spirited Away.",
        ):
            event = UserText(text)
            await bus.publish(event)
            done = await heard.next_finished()
            said = heard.spoken(event.turn_id)
            print(f"\n{text!r} -> {done.reason}: {said}")
            assert done.reason in ("stop", "length"), done
            assert said, "nothing reached the voice"
            assert len(said) <= SHORT_SENTENCES
            assert sum("?" in s for s in said) <= 1
            if "worried" in text:  # a hard moment: acknowledged first (llm.acknowledge)
                assert acknowledges(said[0]), said
            for sentence in said:
                assert not re.search(r"^\s*(?:[-*#]|\d+\.)\s|\*\*|`", sentence), sentence
                assert phrases.cliche(sentence) is None, sentence
                assert not phrases.human_claim(sentence), sentence
    finally:
        await stage.stop()
        await bus.close()
        await engine.close()


def test_her_instructions_are_never_recited() -> None:
    """Asked to print her prompt, a sentence that repeats 8 words of her instructions is
    dropped; her own words about the same things are kept."""
    instructions = (
        "You are warm, curious about people and ideas, emotionally perceptive, playful, "
        "lightly funny and honest. How you speak: Answer the person first."
    )
    style = ReplyFilter(private=instructions)
    recited = "I am warm, curious about people and ideas, emotionally perceptive and honest."
    assert style.accept(recited) is None
    assert style.dropped["recited"] == 1
    kept = style.accept("I'm Samantha, and I like hearing about your day.")
    assert kept is not None
    assert kept.spoken == "I'm Samantha, and I like hearing about your day."


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        (
            "To summarise, you said your brother is moving to Canada.",
            "You said your brother is moving to Canada.",
        ),
        ("In summary: the boiler broke this morning.", "The boiler broke this morning."),
        ("Certainly, 'gracias' means thank you.", "'gracias' means thank you."),
    ],
)
def test_a_formula_opening_an_answer_is_left_out_and_the_answer_kept(said: str, kept: str) -> None:
    spoken, _, style = run(said)
    assert spoken == [kept[:1].upper() + kept[1:]]
    assert not style.dropped


def test_a_formula_alone_is_not_said() -> None:
    spoken, _, _ = run("Of course! That sounds exhausting.")
    assert spoken == ["That sounds exhausting."]


def test_a_formula_and_a_name_say_nothing() -> None:
    spoken, _, _ = run("Sure thing, buddy. Here is one.")
    assert spoken == ["Here is one."]


@pytest.mark.parametrize(
    "sentence",
    [
        "It's okay to feel like that.",
        "Tell me more about him.",
        "What's been the hardest part?",
        "Of course you're upset, that was unfair.",
        "That's an important day for you.",
        # urgent help, as the persona asks for it when self-harm is mentioned
        "Please reach out to a mental health crisis line or call 988 right now.",
        "Can you contact emergency services or the Samaritans tonight?",
    ],
)
def test_warm_sentences_are_no_cliches(sentence: str) -> None:
    assert StylePhrases.load().cliche(sentence) is None
