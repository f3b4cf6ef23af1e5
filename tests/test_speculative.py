"""Speculative replies (``her_desktop.speculative``, the dialogue's ``speculate``) and the
prompt cache across turns: a fake engine for the rules, the real llama.cpp (tiny GGUF) twin for
the cache and the cancellation."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from her_desktop.bus import Bus
from her_desktop.dialogue import DialogueStage
from her_desktop.events import (
    PartialTranscript,
    SpeechResumed,
    UserText,
)
from her_desktop.llm.base import GenerationParams, GenerationStats, Message
from tests.fakes import FakeEngine
from tests.speculating_dialogue import Notes, make, speculating
from tests.waiting import wait_until


async def test_a_reply_begun_at_the_pause_is_adopted_when_the_turn_ends_with_those_words() -> None:
    engine = FakeEngine()
    bus, stage, col = await make(engine)
    await bus.publish(PartialTranscript(1, "how are you?", pause=True))
    spec = await speculating(stage)
    await wait_until(lambda: spec.stats.finish_reason is not None)  # all of it is buffered
    assert col.shown() == []  # never shown (nor spoken) before the turn ends
    await bus.publish(UserText("how are you?", turn_id=7, source="voice"))
    done = await col.next_finished()
    assert done.speculative
    assert done.speculation == "adopted with 5 tokens already written"
    assert done.text == "Hello there. How are you?"
    assert len(engine.calls) == 1  # one generation for the turn: the speculative one
    assert [m.content for m in stage.history] == ["how are you?", done.text]
    await stage.stop()
    await bus.close()


async def test_the_user_going_on_cancels_the_speculative_reply_and_nothing_of_it_is_used() -> None:
    engine = FakeEngine(delay=0.05, forever=True)
    bus, stage, col = await make(engine, max_tokens=40)
    await bus.publish(PartialTranscript(1, "what is a good name for", pause=True))
    spec = await speculating(stage)
    await wait_until(lambda: engine.active == 1)
    await bus.publish(SpeechResumed(1))
    await wait_until(lambda: engine.active == 0, within_s=5)  # the engine is free again
    assert stage._ahead.spec is None
    assert not spec.running
    assert not spec.adopted
    engine.forever = False
    await bus.publish(UserText("what is a good name for a cat?", turn_id=8, source="voice"))
    done = await col.next_finished()
    assert not done.speculative
    # the message as said, then this turn's guide (llm.turn_guide)
    assert engine.calls[-1][-1].content.startswith("what is a good name for a cat?")
    assert len(engine.calls) == 2
    await stage.stop()
    await bus.close()


async def test_other_final_words_or_notes_the_speculation_did_not_have_discard_it() -> None:
    engine = FakeEngine(delay=0.02)
    bus, stage, col = await make(engine)
    await bus.publish(PartialTranscript(1, "is it cold", pause=True))
    await speculating(stage)
    await bus.publish(UserText("is it cold outside?", turn_id=9, source="voice"))
    done = await col.next_finished()
    assert not done.speculative
    # the words as said, then this turn's guide (llm.turn_guide)
    assert engine.calls[-1][-1].content.startswith("is it cold outside?")
    assert engine.active == 0

    engine2 = FakeEngine(delay=0.02)
    bus2, stage2, col2 = await make(engine2, Notes("- the user's dog is Rex"))
    await bus2.publish(PartialTranscript(1, "how is Rex?", pause=True))
    await speculating(stage2)
    await bus2.publish(UserText("how is Rex?", turn_id=10, source="voice"))
    done = await col2.next_finished()
    assert not done.speculative  # the speculation did not know the notes
    assert done.speculation == "other words or notes"
    assert "Rex" in engine2.calls[-1][-1].content.split("[End of notes]")[0]
    for s, b in ((stage, bus), (stage2, bus2)):
        await s.stop()
        await b.close()


async def test_a_live_partial_only_reads_the_prompt_ahead_and_an_empty_turn_drops_it() -> None:
    engine = FakeEngine(delay=0.02)
    bus, stage, col = await make(engine)
    await bus.publish(PartialTranscript(1, "can you", pause=False))
    spec = await speculating(stage, "prefill")
    assert spec.params.max_tokens == 1
    assert spec.params.temperature == 0.0
    await wait_until(lambda: not spec.running)
    assert engine.warmups == 1
    assert engine.calls == []
    await bus.publish(PartialTranscript(1, "can you hear me", pause=True))
    await speculating(stage)
    from her_desktop.events import FinalTranscript

    await bus.publish(FinalTranscript(1, ""))  # nothing intelligible in the end
    await wait_until(lambda: stage._ahead.spec is None and engine.active == 0)
    assert col.shown() == []
    stage.speculate = False
    await bus.publish(PartialTranscript(2, "hello there", pause=True))
    await asyncio.sleep(0.05)
    assert stage._ahead.spec is None
    await stage.stop()
    await bus.close()


async def test_earlier_turns_are_repeated_as_the_lm_read_them_notes_included() -> None:
    engine = FakeEngine()
    bus, stage, col = await make(engine, Notes("- likes tea"))
    await bus.publish(UserText("hi", turn_id=1))
    await col.next_finished()
    first_prompt = engine.calls[-1]
    await bus.publish(UserText("and you?", turn_id=2))
    await col.next_finished()
    second = engine.calls[-1]
    assert second[: len(first_prompt)] == first_prompt  # the cached prompt is its prefix
    assert stage.history[0] == Message("user", "hi")  # the history keeps the user's words
    stage.reset()
    assert stage._conversation.sent == {}
    await stage.stop()
    await bus.close()


# -- the real llama.cpp -----------------------------------------------------------------------


@pytest.fixture
async def tiny_engine(tiny_gguf: Path):  # type: ignore[no-untyped-def]
    from her_desktop.llm.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(tiny_gguf, n_ctx=2048, n_threads=1)
    await engine.load()
    yield engine
    await engine.close()


async def test_llamacpp_each_turn_reads_only_its_own_message_and_notes(tiny_engine) -> None:  # type: ignore[no-untyped-def]
    """Prefilled tokens per turn (prompt − cached), with notes on every turn. The old layout
    (the history without the notes the LM had read: ``_sent`` emptied before each turn)
    re-read the previous user message and her reply as well."""
    note = "- the user's name is Sam\n- Sam has a dog called Rex who likes long walks"
    texts = ("hello there, how are you today?", "tell me about Rex", "ok")

    async def run(old_layout: bool) -> list[int]:
        bus, stage, col = await make(tiny_engine, Notes(note), max_tokens=12, temperature=0.0)
        stage.reply_style = False  # the tiny model's words are noise: keep them raw
        await tiny_engine.warm(stage.warm_messages(), stage.params)
        prefilled = []
        for turn, text in enumerate(texts):
            if old_layout:
                stage._conversation.sent.clear()
            await bus.publish(UserText(text, turn_id=turn + 1))
            done = await col.next_finished()
            prefilled.append(done.prompt_tokens - done.cached_tokens)
            if turn and not old_layout:
                # this turn's message and notes, and at most the previous reply (the tiny
                # model's noise does not always tokenize back to the tokens it sampled)
                new = [
                    stage.history[-3],
                    Message("user", stage._conversation.sent[stage.history[-2]]),
                ]
                assert prefilled[-1] <= tiny_engine.count_tokens(new), prefilled
        await stage.stop()
        await bus.close()
        return prefilled

    before, after = await run(old_layout=True), await run(old_layout=False)
    print(f"prefilled tokens per turn: old layout {before}, now {after}")
    assert after[0] == before[0]
    # (the engine also moves cached turns up over a changed block, ``_shift_reuse``, which
    # rescues much of the old layout: the layout itself needs no such repair)
    assert all(a <= b for a, b in zip(after[1:], before[1:], strict=True))


async def test_llamacpp_an_adopted_speculation_is_the_reply_a_plain_turn_gives(tiny_engine) -> None:  # type: ignore[no-untyped-def]
    bus, stage, col = await make(tiny_engine, max_tokens=10, temperature=0.0)
    stage.reply_style = False  # the tiny model's words are noise: compare them raw
    await bus.publish(UserText("hi", turn_id=1))
    await col.next_finished()
    history = list(stage.history)
    # the user starts speaking, pauses (a speculation begins), then goes on: it is cancelled
    await bus.publish(PartialTranscript(1, "what is a good", pause=True))
    spec = await speculating(stage)
    await bus.publish(SpeechResumed(1))
    await wait_until(lambda: stage._ahead.spec is None and not spec.running, within_s=5)
    await bus.publish(PartialTranscript(1, "what is a good name?", pause=True))
    spec = await speculating(stage, text="what is a good name?")
    await bus.publish(UserText("what is a good name?", turn_id=2, source="voice"))
    adopted = await col.next_finished()
    assert adopted.speculative
    assert adopted.tokens > 0

    # the same turn without speculation, from the same history: the same reply
    stage.history[:] = history
    stage.speculate = False
    await bus.publish(UserText("what is a good name?", turn_id=3, source="voice"))
    plain = await col.next_finished()
    assert not plain.speculative
    assert plain.text == adopted.text
    assert plain.cached_tokens > 0  # the speculation's prompt stayed in the cache, consistently
    await stage.stop()
    await bus.close()


async def test_a_full_context_leaves_out_a_block_of_old_turns_so_the_next_prompts_share_it() -> (
    None
):
    """At the context limit, each turn used to drop one more old exchange: every prompt then
    differed right after the system prompt and the LM re-read the whole history each turn."""
    engine = FakeEngine(context_size=600)
    bus, stage, col = await make(engine, max_tokens=100)
    stage.reply_style = False  # no turn guides: the sizes below are the messages' own
    for turn in range(40):
        await bus.publish(UserText(f"this is message number {turn} of ours", turn_id=turn + 1))
        await col.next_finished()
    prompts = engine.calls
    budget = 600 - 100 - 16
    assert all(engine.count_tokens(p) <= budget for p in prompts)
    assert prompts[-1][1] != prompts[0][1]  # old turns were left out
    rebuilt = [
        i
        for i in range(1, len(prompts))
        if prompts[i][: len(prompts[i - 1]) - 1] != prompts[i - 1][:-1]
    ]
    # a prompt that does not continue the previous one: only when a block is left out
    assert 1 <= len(rebuilt) <= 6, rebuilt
    assert all(b - a >= 4 for a, b in itertools.pairwise(rebuilt)), rebuilt
    await stage.stop()
    await bus.close()


async def test_llamacpp_turns_after_a_left_out_block_are_moved_up_not_read_again(  # type: ignore[no-untyped-def]
    tiny_engine,
) -> None:
    system = Message("system", "You are Sam, a kind companion. " * 4)
    old = [Message("user", "an old message " * 12), Message("assistant", "an old reply " * 12)]
    kept = [Message("user", "a later message " * 12), Message("assistant", "a later reply " * 12)]
    params = GenerationParams(max_tokens=4, temperature=0.0)
    stats = GenerationStats()
    async for _ in tiny_engine.stream([system, *old, *kept, Message("user", "hi")], params, stats):
        pass
    shorter = [system, *kept, Message("user", "and now?")]
    _, tokens = tiny_engine.formatted_prompt(shorter)
    _, reusable = tiny_engine.formatted_prompt([system, *kept])
    stats = GenerationStats()
    pieces = [p async for p in tiny_engine.stream(shorter, params, stats)]
    assert stats.prompt_tokens == len(tokens)
    # the later turns were moved up over the left-out ones: only the new message is read
    # (``reusable`` ends with the assistant header, which this prompt does not have there)
    _, system_only = tiny_engine.formatted_prompt([system])
    assert stats.cached_tokens >= len(reusable) - 8, (stats.cached_tokens, len(reusable))
    assert stats.cached_tokens > len(system_only) + 100
    assert stats.finish_reason == "length"
    assert pieces
    # and the cache stays consistent: the same prompt again reuses all of it
    again = GenerationStats()
    async for _ in tiny_engine.stream(shorter, params, again):
        pass
    assert again.cached_tokens == len(tokens) - 1


async def test_the_providers_are_asked_at_once_and_their_notes_kept_in_order() -> None:
    """The reply waits for the slowest provider, not for the sum of them: the first one here
    only answers once the second has been asked."""
    asked = asyncio.Event()

    class First(Notes):
        async def before_reply(self, turn_id: int, user_text: str) -> str | None:
            await asked.wait()
            return "- first"

    class Second(Notes):
        async def before_reply(self, turn_id: int, user_text: str) -> str | None:
            asked.set()
            return "- second"

    engine = FakeEngine()
    bus, stage, col = await make(engine, First(None), Second(None))
    await bus.publish(UserText("hello", turn_id=1))
    await col.next_finished()
    assert "- first\n- second" in engine.calls[-1][-1].content
    await stage.stop()
    await bus.close()


def test_only_an_engine_that_computes_locally_speculates_by_default(tiny_gguf: Path) -> None:
    from her_desktop.llm.llamacpp import LlamaCppEngine

    bus = Bus()
    local = DialogueStage(
        bus, LlamaCppEngine(tiny_gguf), system_prompt="", params=GenerationParams()
    )
    elsewhere = DialogueStage(bus, FakeEngine(), system_prompt="", params=GenerationParams())
    assert local.speculate
    assert not elsewhere.speculate  # a remote engine would bill every thrown-away try


async def test_a_guided_turn_is_adopted_too() -> None:
    """The speculation reads the same turn guide (and settings) as the turn itself."""
    engine = FakeEngine()
    bus, stage, col = await make(engine)
    said = "My grandmother died on Sunday."
    await bus.publish(PartialTranscript(1, said, pause=True))
    spec = await speculating(stage)
    await wait_until(lambda: spec.stats.finish_reason is not None)
    await bus.publish(UserText(said, turn_id=7, source="voice"))
    done = await col.next_finished()
    assert done.speculative
    assert len(engine.calls) == 1
    assert "sympathy" in engine.calls[0][-1].content
    await stage.stop()
    await bus.close()


def test_a_read_ahead_is_of_use_while_its_notes_start_the_newer_prompt() -> None:
    from her_desktop.speculative import Speculation, of_use

    def prompt(notes: str, words: str) -> list[Message]:
        block = f"[notes]\n{notes}\n[end]\n\n" if notes else ""
        return [Message("system", "You are Sam."), Message("user", block + words)]

    def read_ahead(notes: str, words: str) -> Speculation:
        built = prompt(notes, words)
        spec = Speculation(FakeEngine(), "prefill", words, lambda: built, GenerationParams())
        spec.messages = built
        return spec

    dog = read_ahead("the dog is Rex", "what is a.")
    assert of_use(dog, prompt("the dog is Rex", "what is a good name"))  # reads its start
    assert of_use(dog, prompt("the dog is Rex", "something else"))  # its notes, at least
    assert not of_use(dog, prompt("the cat is Tom", "what is a good name"))  # other notes
    assert not of_use(dog, [Message("system", "Other."), *prompt("the dog is Rex", "what")[1:]])
    bare = read_ahead("", "what is a")
    assert of_use(bare, prompt("", "what is a good name"))
    assert not of_use(bare, prompt("", "something else"))  # no notes: only its words count
    assert not of_use(bare, prompt("the cat is Tom", "what is a good name"))
