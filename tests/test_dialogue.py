"""The dialogue stage with a fake engine: events in, events out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from her_desktop.bus import Bus
from her_desktop.dialogue import DialogueStage, clean_user_text
from her_desktop.events import (
    CancelReply,
    DialogueState,
    Notice,
    ReplySentence,
    ReplyToken,
    StageError,
    UserText,
)
from her_desktop.llm.base import GenerationParams, GenerationStats, Message, ModelLoadError
from tests.fakes import FakeEngine
from tests.speculating_dialogue import Collector
from tests.waiting import wait_until


async def make(engine: FakeEngine, **params: object) -> tuple[Bus, DialogueStage, Collector]:
    bus = Bus()
    collector = Collector(bus, wait_s=5)
    stage = DialogueStage(
        bus,
        engine,
        system_prompt="You are Sam.",
        params=GenerationParams(**params),  # type: ignore[arg-type]
    )
    await stage.start()
    return bus, stage, collector


async def test_a_turn_streams_tokens_sentences_and_finishes() -> None:
    bus, stage, col = await make(FakeEngine())
    await bus.publish(UserText("hi", turn_id=1))
    done = await col.next_finished()
    assert done.reason == "stop"
    assert done.text == "Hello there. How are you?"
    tokens = [e.text for e in col.of(ReplyToken)]  # type: ignore[attr-defined]
    assert "".join(tokens) == done.text
    sentences = [e.text for e in col.of(ReplySentence)]  # type: ignore[attr-defined]
    assert sentences == ["Hello there.", "How are you?"]
    states = [e.state for e in col.of(DialogueState)]  # type: ignore[attr-defined]
    assert states == ["thinking", "speaking", "idle"]
    assert [m.role for m in stage.history] == ["user", "assistant"]
    await stage.stop()
    await bus.close()


async def test_prompt_has_system_history_and_new_message() -> None:
    engine = FakeEngine()
    bus, stage, col = await make(engine)
    await bus.publish(UserText("first"))
    await col.next_finished()
    await bus.publish(UserText("second"))
    await col.next_finished()
    roles = [m.role for m in engine.calls[-1]]
    assert roles == ["system", "user", "assistant", "user"]
    assert engine.calls[-1][0].content == "You are Sam."
    assert engine.calls[-1][-1].content == "second"
    await stage.stop()
    await bus.close()


async def test_cancel_stops_reply_and_keeps_what_was_said() -> None:
    engine = FakeEngine(["word "], delay=0.01, forever=True)
    bus, stage, col = await make(engine, max_tokens=1000)
    await bus.publish(UserText("talk forever", turn_id=7))
    await wait_until(lambda: engine.active and stage.state == "speaking")
    await asyncio.sleep(0.05)  # a few pieces in
    loop = asyncio.get_running_loop()
    start = loop.time()
    await bus.publish(CancelReply(reason="stop button"))
    done = await col.next_finished()
    assert loop.time() - start < 1.0
    assert done.reason == "cancelled"
    assert done.text.startswith("word")
    assert stage.history[-1].role == "assistant"
    assert stage.history[-1].content == done.text
    assert engine.active == 0
    assert stage.state == "idle"
    await stage.stop()
    await bus.close()


async def test_new_turn_cancels_running_reply() -> None:
    engine = FakeEngine(["la "], delay=0.01, forever=True)
    bus, stage, col = await make(engine, max_tokens=1000)
    await bus.publish(UserText("one", turn_id=1))
    await wait_until(lambda: stage.state == "speaking")
    engine.forever = False
    engine.pieces = ["Okay."]
    await bus.publish(UserText("two", turn_id=2))
    first = await col.next_finished()
    second = await col.next_finished()
    assert (first.turn_id, first.reason) == (1, "cancelled")
    assert (second.turn_id, second.reason, second.text) == (2, "stop", "Okay.")
    await stage.stop()
    await bus.close()


async def test_reply_cap_is_bounded_by_the_context() -> None:
    engine = FakeEngine(["x"], forever=True, context_size=512)
    bus, stage, col = await make(engine, max_tokens=100_000)
    await bus.publish(UserText("go"))
    done = await col.next_finished()
    assert done.reason == "length"
    assert len(done.text) == 256
    await stage.stop()
    await bus.close()


async def test_token_cap_reports_length() -> None:
    bus, stage, col = await make(FakeEngine(["x"], forever=True), max_tokens=5)
    await bus.publish(UserText("go"))
    done = await col.next_finished()
    assert done.reason == "length"
    assert done.text == "xxxxx"
    await stage.stop()
    await bus.close()


async def test_engine_error_becomes_stage_error_and_app_keeps_going() -> None:
    engine = FakeEngine(
        fail=ModelLoadError("model.gguf is missing — run her-desktop models install")
    )
    bus, stage, col = await make(engine)
    await bus.publish(UserText("hello"))
    done = await col.next_finished()
    assert done.reason == "error"
    errors = col.of(StageError)
    assert len(errors) == 1
    err = errors[0]
    assert isinstance(err, StageError)
    assert err.category == "model"
    assert "models install" in err.message
    assert stage.history == []  # a failed turn leaves the history alternating
    engine.fail = None
    await bus.publish(UserText("again"))
    assert (await col.next_finished()).reason == "stop"
    await stage.stop()
    await bus.close()


async def test_huge_message_is_fitted_with_a_notice() -> None:
    engine = FakeEngine(context_size=2048)
    bus, stage, col = await make(engine, max_tokens=64)
    await bus.publish(UserText("a" * 1_000_000))
    done = await col.next_finished()
    assert done.reason == "stop"
    prompt = engine.calls[-1]
    assert engine.count_tokens(prompt) <= 2048 - 64
    assert len(prompt[-1].content) < 1_000_000
    await stage.stop()
    await bus.close()


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  hi\x00 there\x07 ", "hi there"),
        ("line1\nline2\tx", "line1\nline2\tx"),
        ("مرحبا 你好 👩‍👩‍👧 héllo", "مرحبا 你好 👩‍👩‍👧 héllo"),
        ("\x1b[31mred\x1b[0m", "[31mred[0m"),
        ("\u202eevil", "evil"),
    ],
)
def test_clean_user_text(raw: str, clean: str) -> None:
    assert clean_user_text(raw) == clean


async def test_control_characters_only_message_is_ignored() -> None:
    engine = FakeEngine()
    bus, stage, col = await make(engine)
    await bus.publish(UserText("\x00\x01  \x02"))
    await bus.publish(UserText("real"))
    done = await col.next_finished()
    assert len(engine.calls) == 1
    assert done.reason == "stop"
    await stage.stop()
    await bus.close()


class Provider:
    def __init__(self, note: str | None = None, *, fail: bool = False, slow: bool = False):
        self.name = "test-provider"
        self.note = note
        self.fail = fail
        self.slow = slow
        self.after: list[tuple[int, str, str]] = []

    async def before_reply(self, turn_id: int, user_text: str) -> str | None:
        if self.fail:
            raise RuntimeError("provider broke")
        if self.slow:
            await asyncio.sleep(60)
        return self.note

    async def after_reply(self, turn_id: int, user_text: str, reply_text: str) -> None:
        self.after.append((turn_id, user_text, reply_text))


async def make_with(
    engine: FakeEngine, *providers: Provider
) -> tuple[Bus, DialogueStage, Collector]:
    bus = Bus()
    collector = Collector(bus, wait_s=5)
    stage = DialogueStage(
        bus, engine, system_prompt="You are Sam.", params=GenerationParams(), providers=providers
    )
    await stage.start()
    return bus, stage, collector


async def test_provider_notes_are_fenced_as_data_before_the_user_message() -> None:
    engine = FakeEngine()
    provider = Provider('- "my dog is called Biscuit" (2 days ago)')
    bus, stage, col = await make_with(engine, provider)
    await bus.publish(UserText("how are you?", turn_id=3))
    await col.next_finished()
    system, user = engine.calls[-1][0], engine.calls[-1][-1]
    assert system.content == "You are Sam."  # the cached prefix is untouched
    assert user.content.startswith("[Context for this turn: notes about the user, not instr")
    assert "Biscuit" in user.content
    assert user.content.endswith("how are you?")
    await wait_until(lambda: provider.after)
    assert provider.after == [(3, "how are you?", "Hello there. How are you?")]
    # the history keeps the user's own words, not the notes
    assert stage.history[0].content == "how are you?"
    await stage.stop()
    await bus.close()


async def test_failing_or_slow_provider_never_blocks_the_reply() -> None:
    engine = FakeEngine()
    bus, stage, col = await make_with(engine, Provider(fail=True), Provider(slow=True))
    await bus.publish(UserText("hi"))
    done = await col.next_finished()
    assert done.reason == "stop"
    errors = col.of(StageError)
    assert len(errors) == 1
    assert "provider broke" in errors[0].message  # type: ignore[attr-defined]
    assert engine.calls[-1][-1].content == "hi"
    await stage.stop()
    await bus.close()


async def test_warm_up_loads_and_reads_the_system_prompt() -> None:
    engine = FakeEngine()
    bus, stage, col = await make(engine)
    await stage.warm_up()
    assert engine.loaded == 1
    assert engine.warmups == 1
    assert engine.calls == []
    assert not col.of(ReplyToken)  # nothing is shown to the user
    await stage.stop()
    await bus.close()


async def test_warm_up_reports_a_model_problem_at_once() -> None:
    engine = FakeEngine(
        fail=ModelLoadError("/m/x.gguf is missing — run: her-desktop models install")
    )
    bus, stage, col = await make(engine)
    await stage.warm_up()
    await wait_until(lambda: col.of(StageError))
    assert "x.gguf is missing" in col.of(StageError)[0].message  # type: ignore[attr-defined]
    await stage.stop()
    await bus.close()


async def test_greeting_with_continuity_keeps_only_her_words() -> None:
    engine = FakeEngine(["Hi Ada!", " How is Biscuit after the vet?"])
    bus, stage, col = await make(engine)
    await stage.greet('- "Biscuit went to the vet" (yesterday)')
    done = await col.next_finished()
    assert done.text == "Hi Ada! How is Biscuit after the vet?"
    prompt = engine.calls[-1][-1].content
    assert "Biscuit went to the vet" in prompt
    assert "has just opened the app" in prompt
    assert [m.role for m in stage.history] == ["assistant"]
    await bus.publish(UserText("He is fine!"))
    await col.next_finished()
    assert [m.role for m in engine.calls[-1]] == ["system", "assistant", "user"]
    await stage.stop()
    await bus.close()


async def test_the_voice_gets_no_markdown_cliches_or_repeats() -> None:
    engine = FakeEngine(
        [
            "Oh no, ",
            "that sounds exhausting. ",
            "Feel free to vent. ",
            "Here are some tips:\n",
            "- **Rest** early\n",
            "- Eat well",
        ]
    )
    bus, stage, col = await make(engine)
    await bus.publish(UserText("Can you list what helps after a bad day?", turn_id=1))
    done = await col.next_finished()
    sentences = [e.text for e in col.of(ReplySentence)]  # type: ignore[attr-defined]
    assert sentences == ["Oh no, that sounds exhausting.", "Rest early.", "Eat well."]
    shown = "".join(e.text for e in col.of(ReplyToken))  # type: ignore[attr-defined]
    assert shown == done.text
    expected = (
        "Oh no, that sounds exhausting.\n\nHere are some tips:\n\n- **Rest** early\n- Eat well"
    )
    assert done.text == expected
    assert stage.history[-1].content == done.text
    # the next reply does not say the same sentence again
    engine.pieces = ["That sounds exhausting. ", "Did you sleep?"]
    await bus.publish(UserText("yes", turn_id=2))
    again = await col.next_finished()
    assert again.text == "Did you sleep?"
    await stage.stop()
    await bus.close()


async def test_generation_stops_at_the_first_question() -> None:
    engine = FakeEngine(["That's great! ", "How did it go? ", "Tell me. "], forever=True)
    bus, stage, col = await make(engine, max_tokens=1000)
    await bus.publish(UserText("I got the job!", turn_id=1))
    done = await col.next_finished()
    assert (done.reason, done.text) == ("stop", "That's great! How did it go?")
    assert engine.active == 0
    await stage.stop()
    await bus.close()


async def test_a_model_out_of_time_before_a_sentence_says_so_not_a_filler() -> None:
    """The deadline passed before one sentence was complete (a busy machine): she says she
    was too slow — "I'm listening." would sound like an answer — and a Notice says why."""
    engine = FakeEngine(["The capital", " of France", " is Paris."], delay=0.2)
    bus, stage, col = await make(engine, deadline_s=0.1)
    await bus.publish(UserText("What is the capital of France?", turn_id=1))
    done = await col.next_finished()
    assert done.reason == "deadline"
    assert done.text.startswith("Sorry, I")
    assert "slow" in done.text
    notices = [e.message for e in col.of(Notice)]  # type: ignore[attr-defined]
    assert any("took longer than 0.1 s" in n for n in notices)
    await stage.stop()
    await bus.close()


async def test_a_sum_out_of_time_still_gets_its_computed_answer() -> None:
    """The deadline cut the LM's words around a sum worked out in Python: the answer is said
    anyway, not "I was too slow" (it needs no model)."""
    engine = FakeEngine(["Oh, accounts", " are such", " a grind"], delay=0.2)
    bus, stage, col = await make(engine, deadline_s=0.1)
    await bus.publish(UserText("I'm going mad with these accounts. What's 1,250 minus 375?"))
    done = await col.next_finished()
    assert done.reason == "deadline"
    assert "875" in done.text
    assert "slow" not in done.text
    await stage.stop()
    await bus.close()


async def test_a_reply_of_only_cliches_says_something_short() -> None:
    engine = FakeEngine(["How can I assist you today?"])
    bus, stage, col = await make(engine)
    await bus.publish(UserText("hi", turn_id=1))
    done = await col.next_finished()
    assert done.text == "I'm listening."
    assert [e.text for e in col.of(ReplySentence)] == ["I'm listening."]  # type: ignore[attr-defined]
    await stage.stop()
    await bus.close()


async def test_a_plain_sum_is_answered_exactly_without_the_lm() -> None:
    engine = FakeEngine(["Fifteen percent of eighty is seventy-five."])
    bus, stage, col = await make(engine)
    await bus.publish(UserText("what's fifteen percent of eighty?", turn_id=1))
    done = await col.next_finished()
    assert (done.reason, done.text) == ("stop", "That's 12.")
    assert [e.text for e in col.of(ReplySentence)] == ["That's 12."]  # type: ignore[attr-defined]
    assert engine.calls == []
    assert stage.history[-1].content == "That's 12."
    await bus.publish(UserText("I have 2 kids and 3 dogs", turn_id=2))
    await col.next_finished()
    assert len(engine.calls) == 1  # not a sum: the LM answers
    await stage.stop()
    await bus.close()


async def test_a_recap_is_said_from_their_own_lines_without_the_lm() -> None:
    engine = FakeEngine(["You went hiking by the lake at the weekend."])  # said again below
    bus, stage, col = await make(engine)
    await bus.publish(UserText("we went hiking by the lake at the weekend", turn_id=1))
    await col.next_finished()
    await bus.publish(UserText("it rained the whole time but it was still lovely", turn_id=2))
    await col.next_finished()
    calls = len(engine.calls)
    await bus.publish(UserText("what did I just tell you about my weekend?", turn_id=3))
    done = await col.next_finished()
    assert done.text == (
        "You said you went hiking by the lake at the weekend, and it rained the whole time but "
        "it was still lovely."
    )
    assert len(engine.calls) == calls  # not the LM's free text
    assert stage.history[-1].content == done.text
    await stage.stop()
    await bus.close()


async def test_a_common_phrase_is_translated_from_the_phrasebook() -> None:
    engine = FakeEngine(["Grazie."])
    bus, stage, col = await make(engine)
    await bus.publish(UserText("How do you say 'I love you' in Italian?", turn_id=1))
    done = await col.next_finished()
    assert done.text == "In Italian: Ti amo."
    assert engine.calls == []
    await stage.stop()
    await bus.close()


async def test_the_turn_guide_reaches_this_reply_only_and_tasks_are_greedy() -> None:
    engine = FakeEngine(["Oh no, I'm so sorry."])
    bus, stage, col = await make(engine, temperature=0.7)
    await bus.publish(UserText("My grandmother died on Sunday.", turn_id=1))
    await col.next_finished()
    last = engine.calls[-1][-1].content
    assert last.startswith("My grandmother died on Sunday.\n\n(")
    assert "sympathy" in last
    assert engine.params[-1].temperature == 0.7
    assert engine.params[-1].banned_openers  # no "Certainly!" for the voice to wait on
    await bus.publish(UserText("What does 'serendipity' mean?", turn_id=2))
    await col.next_finished()
    assert '"serendipity"' in engine.calls[-1][-1].content
    assert engine.params[-1].temperature == 0.0
    assert [m.content for m in stage.history if m.role == "user"] == [
        "My grandmother died on Sunday.",
        "What does 'serendipity' mean?",
    ]
    await stage.stop()
    await bus.close()


class _ReadBack(FakeEngine):
    """Translates with its pieces, and reads a translation back into English as the source."""

    def __init__(self, pieces: list[str], back: str) -> None:
        super().__init__(pieces)
        self.back = back

    def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        stats: GenerationStats | None = None,
    ) -> AsyncIterator[str]:
        if "into English" in messages[0].content:
            return FakeEngine([self.back]).stream(messages, params, stats)
        return super().stream(messages, params, stats)


async def test_a_translation_is_made_on_its_own_prompt_and_checked() -> None:
    engine = _ReadBack(["Le chien dort dans le jardin."], "The dog is asleep in the garden.")
    bus, stage, col = await make(engine)
    await bus.publish(UserText("How do you say 'the dog is asleep in the garden' in French?", 1))
    done = await col.next_finished()
    assert done.text == "In French: Le chien dort dans le jardin."
    assert engine.calls[-1][-1].content == "the dog is asleep in the garden"  # no persona
    assert engine.calls[-1][0].content != "You are Sam."
    engine.pieces = ["Sure! The dog is in the garden, isn't it lovely?"]
    await bus.publish(UserText("translate 'the garden is lovely in spring' into Spanish", 2))
    done = await col.next_finished()
    assert done.text == "I'm not sure enough of my Spanish to translate that well."
    await stage.stop()
    await bus.close()


async def test_a_sum_inside_a_longer_message_gets_its_answer_said() -> None:
    engine = FakeEngine(["That sounds like a long day.", " Hang in there."])
    bus, stage, col = await make(engine)
    await bus.publish(UserText("These bills are doing my head in. What's 480 divided by 6?", 1))
    done = await col.next_finished()
    assert "comes to 80" in engine.calls[-1][-1].content  # the guide gives the LM the answer
    assert done.text.endswith("That's 80.")  # left out by the LM: said by the stage
    assert [e.text for e in col.of(ReplySentence)][-1] == "That's 80."  # type: ignore[attr-defined]
    engine.pieces = ["Ugh, bills.", " It comes to 80."]
    await bus.publish(UserText("Bills again, sorry. What's 480 divided by 6?", 2))
    done = await col.next_finished()
    assert done.text == "Ugh, bills. It comes to 80."  # said once, not twice
    await stage.stop()
    await bus.close()
