"""Summaries of what the user said, made from their own lines (``llm.recap``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from her_desktop.bus import Bus
from her_desktop.dialogue import DialogueStage
from her_desktop.events import UserText
from her_desktop.llm.base import GenerationParams
from her_desktop.llm.recap import recap, recap_request, said_back
from tests.speculating_dialogue import Collector


@pytest.mark.parametrize(
    "text",
    [
        "what did I just say?",
        "Can you remind me what I said was bothering me?",
        "sorry I rambled, can you just sum up what I said?",
        "can you recap what I told you?",
        "sum it up for me",
        "Could you give me a quick summary of what I've said so far?",
        "so what have I told you so far?",
        "in a nutshell, what did I just tell you?",
        "repeat back what I said, please",
        "Can you summarize what I've been telling you?",
        "what were the two things I mentioned?",
        "tell me what I just said",
        "what did I say I needed to do?",
        "give me the short version of what I said",
        "what was I going on about?",
        "okay what's on my list again?",
        "I lost my keys and missed the bus. Can you sum up my day?",
        "can you summarise our conversation?",
        "what have we talked about?",
        "do you remember what I told you?",
        "give me a recap",
        "so what are the things I need to get?",
        "Can you remind me of everything I need to do tomorrow?",
    ],
)
def test_requests_to_sum_up_what_they_said(text: str) -> None:
    assert recap_request(text)


@pytest.mark.parametrize(
    "text",
    [
        "summarise the plot of Hamlet",
        "can you summarise this article for me",
        "what did I tell you my dog's name was?",
        "tell me what you think",
        "what was I thinking",
        "I need a recap of the match",
        "what's on the telly tonight",
        "sum up the news for me",
        "I said no to the job",
        "tell me what I need to know about mortgages",
        "list what I need for a cake",
    ],
)
def test_other_requests_are_not_a_recap(text: str) -> None:
    assert not recap_request(text)


def test_their_lines_are_said_back_to_them() -> None:
    assert said_back("I told you I was tired") == "You told me you were tired"
    assert said_back("my boss said you were right") == "Your boss said I was right"
    assert said_back("we adopted a dog and your advice helped") == (
        "You adopted a dog and my advice helped"
    )


def test_a_recap_is_built_from_their_own_statements() -> None:
    said = ["my neighbour plays drums every night", "and my sleep is a mess because of it"]
    assert recap("Can you remind me what I said was bothering me?", said) == (
        "You said your neighbour plays drums every night, and your sleep is a mess because of it."
    )


def test_questions_greetings_and_fillers_are_left_out() -> None:
    said = ["hi", "what's 12 times 12?", "okay so I need to buy balloons and a cake"]
    reply = recap("what's on my list again?", said)
    assert reply == "You said you need to buy balloons and a cake."


def test_more_than_two_lines_make_two_sentences_and_only_the_latest_count() -> None:
    said = [
        "I used to live in Leeds",
        "so my sister is moving to Lisbon next month for a new job",
        "and she's taking her cat Miso with her",
        "I'm kind of sad but also really happy for her",
        "she leaves on the fifth",
    ]
    reply = recap("sum up what I said", said)
    assert reply is not None
    assert "Leeds" not in reply  # more than four lines ago
    assert reply.startswith("You said your sister is moving to Lisbon")
    assert "Also you're kind of sad but also really happy for her, and she leaves" in reply


def test_the_sentences_of_the_request_itself_count() -> None:
    reply = recap("I lost my keys, missed the bus and spilled tea on my laptop. Sum up my day?", [])
    assert reply is not None
    assert reply.startswith("You said you lost your keys, missed the bus and spilled tea on your")
    assert "sorry" not in reply  # a hard request: the stage acknowledges it first
    one = recap("I lost my keys and missed the bus, so can you sum up my day?", [])
    assert one == "You said you lost your keys and missed the bus."
    rambled = recap("sorry I rambled on, can you just sum up what I said?", ["my cat is Miso"])
    assert rambled == "You said your cat is Miso."


def test_a_long_line_is_cut_at_a_clause() -> None:
    line = (
        "I went to the market this morning to get vegetables for the stew, and then I ran into "
        "my old teacher who talked for an hour about her garden and her grandchildren"
    )
    reply = recap("what did I just tell you?", [line])
    assert reply == "You said you went to the market this morning to get vegetables for the stew."


def test_mostly_hard_lines_get_a_word_of_sympathy() -> None:
    hard = recap("what did I tell you?", ["my grandad died last week", "I failed my test again"])
    assert hard is not None
    assert hard.endswith("I'm sorry it's been so hard.")
    glad = recap("what did I tell you?", ["we adopted a dog", "she's scared of the hoover"])
    assert glad is not None
    assert "sorry" not in glad


def test_nothing_to_sum_up_or_another_topic_is_left_to_the_lm() -> None:
    assert recap("what did I tell you?", []) is None
    assert recap("what did I tell you?", ["hi", "hello?"]) is None
    assert recap("what did I say about my sister?", ["the boiler broke"]) is None
    assert recap("what did I say about my car?", ["my car failed its MOT"]) is not None
    assert recap("how are you?", ["the boiler broke"]) is None
    assert recap("what did I tell you about my day?", ["the boiler broke"]) is not None


def test_a_recap_of_long_lines_fits_a_voice_reply() -> None:
    line = "I went to the market this morning to get vegetables for the stew and some bread too"
    reply = recap("sum up what I said", [line] * 2 + [line.replace("market", "bank")] * 2)
    assert reply is not None
    assert len(reply.split()) <= 55  # the reply filter's word cap keeps all of it


@pytest.mark.slow
async def test_the_real_model_leaves_the_recap_to_python(default_gguf: Path) -> None:
    """Twin of the dialogue test with the fake engine (``test_dialogue``), on the default
    model: two turns answered by the LM, then the recap said exactly, the LM not asked."""
    from her_desktop.llm.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(default_gguf, n_ctx=2048)
    bus = Bus()
    collector = Collector(bus, wait_s=600)  # the test is on the answer, not this machine's speed
    params = GenerationParams(max_tokens=24, deadline_s=600)
    stage = DialogueStage(bus, engine, system_prompt="You are Sam.", params=params)
    await stage.start()
    try:
        said = ["my neighbour plays drums every night", "and my sleep is a mess because of it"]
        for turn_id, line in enumerate(said, start=1):
            await bus.publish(UserText(line, turn_id=turn_id))
            await collector.next_finished()
        await bus.publish(UserText("can you remind me what I said was bothering me?", turn_id=3))
        done = await collector.next_finished()
        summary = recap("can you remind me what I said was bothering me?", said)
        assert summary is not None
        assert done.text.endswith(summary)  # after a word for "bothering me" where one is due
        assert done.tokens == 0  # not one token of the LM's
    finally:
        await stage.stop()
        await bus.close()
        await engine.close()
