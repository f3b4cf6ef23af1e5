"""The turn's notes told before the turn ends (``turn_context.NotesPreview``): the speculative
prompts carry them, so the LM has read the notes and the words so far when the turn ends, and a
reply begun at the pause is adopted with its notes. Fakes for the dialogue's rules; the real
providers (affect, style, memory) for "the preview is what ``before_reply`` gives, with no side
effect"; the real llama.cpp (tiny GGUF) for the tokens read after the end of the turn."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from her_desktop.bus import Bus
from her_desktop.dialogue import DialogueStage
from her_desktop.events import AffectEstimate, Event, MoodUpdate, PartialTranscript, UserText
from her_desktop.llm.base import GenerationParams
from her_desktop.memory.store import MemoryStore
from her_desktop.turn_context import NotesPreview
from tests.fakes import FakeEngine
from tests.speculating_dialogue import Notes, make, speculating
from tests.waiting import wait_until

NOTE = "- the user's dog is called Rex\n- Rex is nine years old and loves long walks by the sea"


class Previewing(Notes):
    """Notes that can be told ahead; counts each kind of call (the turn's one has effects)."""

    def __init__(self, note: str | None) -> None:
        super().__init__(note)
        self.previews: list[str] = []
        self.turns: list[str] = []

    def preview_notes(self, user_text: str) -> str | None:
        self.previews.append(user_text)
        return self.note

    async def before_reply(self, turn_id: int, user_text: str) -> str | None:
        self.turns.append(user_text)
        return self.note


async def stop(bus: Bus, stage: DialogueStage) -> None:
    await stage.stop()
    await bus.close()


def test_the_real_providers_can_tell_their_notes_ahead() -> None:
    from her_desktop.affect.service import AffectService
    from her_desktop.feedback.service import StyleService
    from her_desktop.memory.service import MemoryService

    for cls in (AffectService, StyleService, MemoryService):
        assert issubclass(cls, NotesPreview), cls
    assert not isinstance(Notes("x"), NotesPreview)


async def test_a_reply_begun_at_the_pause_is_adopted_with_the_notes_told_ahead() -> None:
    engine = FakeEngine()
    provider = Previewing(NOTE)
    bus, stage, col = await make(engine, provider)
    await bus.publish(PartialTranscript(1, "how is Rex?", pause=True))
    spec = await speculating(stage)
    await wait_until(lambda: spec.stats.finish_reason is not None)
    assert spec.messages is not None
    assert "Rex is nine" in spec.messages[-1].content  # the notes, in front of the words
    assert provider.turns == []  # nothing with side effects before the turn ends
    await bus.publish(UserText("how is Rex?", turn_id=7, source="voice"))
    done = await col.next_finished()
    assert done.speculative, done.speculation
    assert done.written_ahead == 5
    assert done.read_after_end == 0
    assert provider.turns == ["how is Rex?"]  # the turn's own notes, once
    assert provider.previews == ["how is Rex?"]
    assert len(engine.calls) == 1
    await stop(bus, stage)


async def test_notes_told_ahead_that_the_turn_does_not_confirm_discard_the_reply() -> None:
    engine = FakeEngine(delay=0.01)
    provider = Previewing(NOTE)
    bus, stage, col = await make(engine, provider)
    await bus.publish(PartialTranscript(1, "how is Rex?", pause=True))
    spec = await speculating(stage)
    await wait_until(lambda: spec.messages is not None)
    provider.note = "- the user's cat is called Tom"  # the turn's notes came out otherwise
    await bus.publish(UserText("how is Rex?", turn_id=8, source="voice"))
    done = await col.next_finished()
    assert not done.speculative
    assert done.speculation == "other words or notes"
    assert "Tom" in engine.calls[-1][-1].content
    assert "Rex is nine" not in engine.calls[-1][-1].content
    await stop(bus, stage)


async def test_a_read_ahead_carries_the_notes_and_one_preview_serves_both_speculations() -> None:
    engine = FakeEngine(delay=0.01)
    provider = Previewing(NOTE)
    bus, stage, col = await make(engine, provider)
    await bus.publish(PartialTranscript(1, "tell me about", pause=False))
    spec = await speculating(stage, "prefill")
    await wait_until(lambda: not spec.running)
    assert spec.messages is not None
    content = spec.messages[-1].content
    assert content.index("Rex is nine") < content.index("tell me about")
    await bus.publish(PartialTranscript(1, "tell me about", pause=True))
    reply = await speculating(stage, "reply")
    await wait_until(lambda: reply.messages is not None)
    assert provider.previews == ["tell me about"]  # the same words: previewed once
    assert reply.messages is not None
    assert reply.messages[-1].content.startswith(content.split("tell me about")[0])
    await bus.publish(UserText("tell me about", turn_id=9, source="voice"))
    done = await col.next_finished()
    assert done.speculative
    await stop(bus, stage)


async def test_a_provider_whose_preview_fails_leaves_the_turn_alone() -> None:
    class Broken(Previewing):
        def preview_notes(self, user_text: str) -> str | None:
            raise RuntimeError("no preview today")

    engine = FakeEngine()
    bus, stage, col = await make(engine, Broken(NOTE))
    await bus.publish(PartialTranscript(1, "how is Rex?", pause=True))
    spec = await speculating(stage)
    await wait_until(lambda: spec.messages is not None)
    await bus.publish(UserText("how is Rex?", turn_id=10, source="voice"))
    done = await col.next_finished()
    assert not done.speculative  # the turn's notes were not in the speculation
    assert "Rex is nine" in engine.calls[-1][-1].content
    await stop(bus, stage)


async def test_a_read_ahead_of_words_the_next_ones_continue_is_left_to_finish() -> None:
    engine = FakeEngine(delay=0.2, forever=True)  # each read-ahead takes a while
    bus, stage, col = await make(engine, Previewing(NOTE))
    await bus.publish(PartialTranscript(1, "what is a", pause=False))
    first = await speculating(stage, "prefill", "what is a")
    await wait_until(lambda: engine.active == 1)
    await bus.publish(PartialTranscript(1, "what is a good name", pause=False))
    second = await speculating(stage, "prefill", "what is a good name")
    assert stage._ahead.reading is first
    assert first.running  # reading the start of the next prompt: not thrown away
    await bus.publish(PartialTranscript(1, "something else", pause=False))
    await speculating(stage, "prefill", "something else")
    await wait_until(lambda: not second.running)  # other words: stopped at once
    assert second.stats.tokens == 0
    await wait_until(lambda: not first.running, within_s=5)
    assert first.stats.tokens == 1  # it finished its read
    engine.forever = False
    engine.delay = 0.0
    await bus.publish(UserText("something else", turn_id=11, source="voice"))
    done = await col.next_finished()
    assert done.text
    await stop(bus, stage)


async def test_a_read_ahead_still_reading_when_the_turn_ends_is_left_to_finish() -> None:
    engine = FakeEngine(delay=0.3, forever=True)
    bus, stage, col = await make(engine, Previewing(NOTE), max_tokens=3)
    await bus.publish(PartialTranscript(1, "what is a good name for.", pause=False))
    read = await speculating(stage, "prefill")
    await wait_until(lambda: engine.active == 1 and read.messages is not None)
    # the words go on from it (the transcriber's closing mark aside): it reads their start
    await bus.publish(UserText("what is a good name for a cat?", turn_id=12, source="voice"))
    done = await col.next_finished()
    assert read.stats.tokens == 1  # it finished its read before the reply
    assert not done.speculative
    assert (
        engine.calls[-1][-1].content.split("what is a good name for")[0]
        == (
            read.messages[-1].content.split("what is a good name for")[0]  # type: ignore[index]
        )
    )

    engine.delay = 0.3
    await bus.publish(PartialTranscript(1, "is it cold", pause=False))
    other = await speculating(stage, "prefill", "is it cold")
    await wait_until(lambda: engine.active == 1 and other.messages is not None)
    await bus.publish(UserText("tell me a story", turn_id=13, source="voice"))
    await col.next_finished()
    assert other.stats.tokens == 0  # other words: stopped at once
    await stop(bus, stage)


async def test_a_read_ahead_of_other_notes_is_stopped_once_the_newer_prompt_is_built() -> None:
    """Notes come before the words: a read-ahead whose notes the newer words do not have reads
    nothing the next prompt shares, so it is not left to finish (it would hold the LM)."""
    engine = FakeEngine(delay=20.0, forever=True)  # a read-ahead never finishes by itself
    provider = Previewing(NOTE)
    bus, stage, col = await make(engine, provider)
    await bus.publish(PartialTranscript(1, "what is a", pause=False))
    first = await speculating(stage, "prefill", "what is a")
    await wait_until(lambda: engine.active == 1 and first.messages is not None)
    provider.note = "- the user's cat is called Tom"  # the newer words' notes came out otherwise
    await bus.publish(PartialTranscript(1, "what is a good name", pause=False))
    second = await speculating(stage, "prefill", "what is a good name")
    await wait_until(lambda: not first.running)
    assert first.stats.tokens == 0  # stopped before its token
    assert stage._ahead.reading is None
    assert second.running
    engine.forever = False
    engine.delay = 0.0
    await bus.publish(UserText("what is a good name", turn_id=14, source="voice"))
    done = await col.next_finished()
    assert done.text
    await stop(bus, stage)


async def test_a_read_ahead_of_other_notes_than_the_turns_is_stopped_when_the_turn_ends() -> None:
    engine = FakeEngine(delay=20.0, forever=True)  # a read-ahead never finishes by itself
    provider = Previewing(NOTE)
    bus, stage, col = await make(engine, provider, max_tokens=3)
    await bus.publish(PartialTranscript(1, "what is a", pause=False))
    first = await speculating(stage, "prefill", "what is a")
    await wait_until(lambda: engine.active == 1 and first.messages is not None)
    await bus.publish(PartialTranscript(1, "what is a good name", pause=False))
    await speculating(stage, "prefill", "what is a good name")
    assert stage._ahead.reading is first  # the same notes: left to finish
    provider.note = "- the user's cat is called Tom"  # the turn's own notes came out otherwise
    engine.delay = 0.0  # the reply itself (the read-aheads are still in their wait)
    await bus.publish(UserText("what is a good name for a cat?", turn_id=15, source="voice"))
    done = await col.next_finished()
    assert first.stats.tokens == 0  # stopped, not waited for
    assert not done.speculative
    assert "Tom" in engine.calls[-1][-1].content
    await stop(bus, stage)


# -- the real providers: the preview is the turn's note, with no side effect ------------------


async def test_affect_preview_is_the_turns_tone_note_and_changes_nothing() -> None:
    from her_desktop.affect.service import AffectService
    from her_desktop.affect.text import LexiconDetector
    from her_desktop.affect.tracker import MoodTracker

    bus = Bus()
    seen: list[Event] = []

    async def on_event(event: Event) -> None:
        seen.append(event)

    bus.subscribe(Event, on_event, name="seen")
    clock = iter(float(t) for t in range(1_000, 2_000, 10))
    tracker = MoodTracker(clock=lambda: 5_000.0)
    service = AffectService(
        bus, LexiconDetector(), tracker, checkins_enabled=True, clock=lambda: next(clock)
    )
    texts = ["I feel awful and sad today", "my dog died", "I'm so happy, I got the job!"]
    for turn, text in enumerate(texts * 2):
        before = tracker.state(5_000.0)
        note = await asyncio.to_thread(service.preview_notes, text)
        await asyncio.sleep(0.01)
        assert seen == []  # nothing published
        assert tracker.state(5_000.0) == before  # nothing tracked
        assert await service.before_reply(turn, text) == note, text
        await wait_until(lambda: {type(e) for e in seen} >= {AffectEstimate, MoodUpdate})
        seen.clear()
    assert tracker.state(5_000.0).session_samples == len(texts) * 2
    await bus.close()


async def test_style_preview_is_the_turns_style_block_and_stores_nothing(
    store: MemoryStore,
) -> None:
    from her_desktop.feedback.service import StyleService

    service = StyleService(store)
    assert service.preview_notes("how are you?") == await service.before_reply(1, "how are you?")
    said = "Call me Sam. Shorter answers, please."
    note = await asyncio.to_thread(service.preview_notes, said)
    assert note
    assert "Sam" in note
    assert await asyncio.to_thread(service.preview_notes, "hello") is None  # nothing stored
    assert await service.before_reply(2, said) == note
    assert await asyncio.to_thread(service.preview_notes, "hello") == note  # now in force


# -- the real llama.cpp: tokens read after the end of the turn --------------------------------


@pytest.fixture
async def tiny_engine(tiny_gguf: Path):  # type: ignore[no-untyped-def]
    from her_desktop.llm.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(tiny_gguf, n_ctx=2048, n_threads=1)
    await engine.load()
    yield engine
    await engine.close()


async def test_llamacpp_notes_told_ahead_leave_nothing_to_read_after_the_turn(tiny_engine) -> None:  # type: ignore[no-untyped-def]
    """The same voice turn (a live partial, a pause, the end) with notes a provider can tell
    ahead and with the same notes told only at the end: counted, not timed."""
    said = "how old is Rex now?"

    async def turn(provider: Notes) -> tuple[int, int, bool]:
        bus, stage, col = await make(tiny_engine, provider, max_tokens=8, temperature=0.0)
        stage.reply_style = False  # the tiny model's words are noise: keep them raw
        await tiny_engine.warm(stage.warm_messages(), stage.params)
        await bus.publish(PartialTranscript(1, "how old is", pause=False))
        read = await speculating(stage, "prefill")
        await wait_until(lambda: not read.running, within_s=30)
        await bus.publish(PartialTranscript(1, said, pause=True))
        spec = await speculating(stage, "reply", said)
        await wait_until(lambda: spec.stats.tokens > 0 or not spec.running, within_s=30)
        await bus.publish(UserText(said, turn_id=1, source="voice"))
        done = await col.next_finished()
        await stop(bus, stage)
        return done.read_after_end, done.written_ahead, done.speculative

    ahead = await turn(Previewing(NOTE))
    at_end = await turn(Notes(NOTE))
    print(f"read after the end (tokens): notes told ahead {ahead}, at the end {at_end}")
    assert ahead == (0, ahead[1], True)
    assert ahead[1] > 0
    assert not at_end[2]
    # the notes (and the words after them) were read once the turn had ended
    assert at_end[0] > len(NOTE) // 4


async def test_memory_preview_is_the_turns_notes_and_sets_no_check(
    bus: Bus, store: MemoryStore
) -> None:
    from her_desktop.memory.embeddings import HashingEmbedder
    from her_desktop.memory.service import MemoryService

    service = MemoryService(bus, store, HashingEmbedder(), engine=None, enabled=True)
    await service.after_reply(1, "My dog is Biscuit and he loves the beach.", "Lovely!")
    await wait_until(lambda: bool(store.memories()))
    for text in ("what is my dog called again", "where does Biscuit like to go?", "hello"):
        guarding = service.guarding()
        note = await asyncio.to_thread(service.preview_notes, text)
        assert service.guarding() == guarding  # no check of her reply set by a preview
        assert await service.before_reply(2, text) == note, text
    service.set_enabled(False)
    assert service.preview_notes("what is my dog called again") is None


def test_the_tokens_read_after_the_end_are_counted_as_the_lm_read_them() -> None:
    from her_desktop.llm.base import GenerationStats
    from her_desktop.speculative import Speculation, read_after_end

    def spec(prompt: int, cached: int, tokens: int) -> Speculation:
        made = Speculation(FakeEngine(), "prefill", "hi", list, GenerationParams())
        made.stats = GenerationStats(tokens=tokens, prompt_tokens=prompt, cached_tokens=cached)
        return made

    reply = GenerationStats(prompt_tokens=560, cached_tokens=540)
    assert read_after_end(reply, True, 3, []) == 0  # adopted, already writing
    assert read_after_end(reply, True, 0, []) == 20  # adopted, still reading its prompt
    assert read_after_end(reply, False, 0, []) == 20
    # a read-ahead still reading at the end that finished (the reply reused it), and one that
    # was stopped (nothing of it reused)
    finished, stopped = spec(530, 511, 1), spec(530, 511, 0)
    assert read_after_end(reply, False, 0, [finished, stopped]) == 20 + 19
