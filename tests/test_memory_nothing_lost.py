"""Nothing lost: a failed first save, closing right after a reply, what was heard."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from her_desktop.affect.history import MoodSample
from her_desktop.bus import Bus
from her_desktop.dialogue import DialogueStage
from her_desktop.events import ReplyFinished, SpeakingFinished, UserText
from her_desktop.llm.base import GenerationParams
from her_desktop.memory.embeddings import HashingEmbedder
from her_desktop.memory.extraction import LMExtractor
from her_desktop.memory.mood import StoreMoodHistory
from her_desktop.memory.service import MemoryService
from her_desktop.memory.store import MemoryStore, Turn
from her_desktop.memory.store_file import MemoryStoreError
from tests.fakes import FakeEngine
from tests.running_app import disk_full, say, started
from tests.waiting import wait_until


def _service(bus: Bus, store: MemoryStore, engine: FakeEngine | None = None) -> MemoryService:
    return MemoryService(bus, store, HashingEmbedder(), engine=engine, enabled=True)


def _rows(store: MemoryStore) -> list[tuple[str, str]]:
    return [(m["role"], m["text"]) for m in store.messages()]


async def test_a_failed_first_save_does_not_break_the_later_turns(
    bus: Bus, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service(bus, store)
    with monkeypatch.context() as patch:
        patch.setattr(Turn, "add_message", disk_full)
        with pytest.raises(MemoryStoreError, match="disk is full"):
            await service.after_reply(1, "My name is Ada.", "Hi Ada!")
    assert service.conversation_id is None  # the rolled-back conversation is not kept
    await service.after_reply(2, "I love chess.", "Nice!")
    await service.after_reply(3, "My dog is Biscuit.", "Lovely.")
    assert _rows(store) == [
        ("user", "I love chess."),
        ("assistant", "Nice!"),
        ("user", "My dog is Biscuit."),
        ("assistant", "Lovely."),
    ]
    assert {m["conversation_id"] for m in store.messages()} == {service.conversation_id}
    await service.close()


async def test_a_failed_first_save_in_the_app_keeps_later_turns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, seen = await started(FakeEngine(["Okay."]))
    with monkeypatch.context() as patch:
        patch.setattr(Turn, "add_message", disk_full)
        await say(app, seen, "My sister is Ann.")
        await wait_until(lambda: any("disk is full" in getattr(e, "message", "") for e in seen))
    await say(app, seen, "My brother is Tom.")
    assert app.store is not None
    store = app.store
    await wait_until(lambda: len(store.messages()) >= 2)
    assert not any("FOREIGN KEY" in getattr(e, "message", "") for e in seen)
    rows = store.messages()
    assert (rows[0]["role"], rows[0]["text"]) == ("user", "My brother is Tom.")
    assert [m["role"] for m in rows] == ["user", "assistant"]  # her reply, as filtered
    await app.stop()


async def test_the_save_does_not_wait_behind_a_slow_lm_extraction(
    bus: Bus, store: MemoryStore
) -> None:
    slow_lm = FakeEngine(["[]"], delay=30.0)  # the LM pass would take 30 s
    service = _service(bus, store, engine=slow_lm)
    task = asyncio.create_task(service.after_reply(1, "My dog is Biscuit.", "What a name!"))
    await wait_until(lambda: len(store.messages()) == 2)
    assert store.get_by_subject("pet.dog.name") is not None  # the rules' memory too
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await service.close()


async def test_closing_right_after_a_reply_keeps_the_turn(tmp_path: Path) -> None:
    """The app closes the moment the reply ends, while the LM extraction would still run:
    the exchange and the rules' memories are on disk all the same."""
    app, seen = await started(FakeEngine(["Nice to meet you, Ada."]))
    assert app.memory is not None
    assert app.store is not None
    app.memory.lm = LMExtractor(FakeEngine(["[]"], delay=30.0))  # a slow LM pass
    path = app.store.path
    event = UserText("My name is Ada.")
    await app.bus.publish(event)
    await wait_until(lambda: any(isinstance(e, ReplyFinished) for e in seen))
    await app.stop()  # no wait at all
    with MemoryStore.open(path) as store:
        assert _rows(store) == [
            ("user", "My name is Ada."),
            ("assistant", "Nice to meet you, Ada."),
        ]
        name = store.get_by_subject("user.name")
        assert name is not None
        assert name.text == "My name is Ada."


async def _voiced(bus: Bus, service: MemoryService) -> DialogueStage:
    stage = DialogueStage(
        bus,
        FakeEngine(["Try the peanut", " stew. It is", " really good."]),
        system_prompt="You are Sam.",
        params=GenerationParams(),
        providers=[service],
    )
    stage.speak_aloud()
    await stage.start()
    return stage


async def test_what_is_stored_as_her_reply_is_what_was_heard(bus: Bus, store: MemoryStore) -> None:
    service = _service(bus, store)
    stage = await _voiced(bus, service)
    finished: list[ReplyFinished] = []

    async def on_finished(event: ReplyFinished) -> None:
        finished.append(event)

    bus.subscribe(ReplyFinished, on_finished, name="test")
    await bus.publish(UserText("What should I cook?", turn_id=7))
    await wait_until(lambda: finished)
    assert finished[0].text == "Try the peanut stew. It is really good."
    await asyncio.sleep(0.05)
    assert store.messages() == []  # her audio is still playing: not final yet
    await bus.publish(SpeakingFinished(7, "Try the peanut stew. It…", interrupted=True))
    await wait_until(lambda: len(store.messages()) == 2)
    assert _rows(store) == [
        ("user", "What should I cook?"),
        ("assistant", "Try the peanut stew. It…"),
    ]
    await stage.stop()
    await service.close()


async def test_a_spoken_reply_cut_before_a_word_keeps_only_the_user_turn(
    bus: Bus, store: MemoryStore
) -> None:
    service = _service(bus, store)
    stage = await _voiced(bus, service)
    await bus.publish(UserText("My dog is Biscuit.", turn_id=8))
    await wait_until(lambda: stage.state == "speaking" and stage._handover.pending is not None)
    await bus.publish(SpeakingFinished(8, "", interrupted=True))
    await wait_until(lambda: len(store.messages()) == 1)
    assert _rows(store) == [("user", "My dog is Biscuit.")]
    assert store.get_by_subject("pet.dog.name") is not None
    await stage.stop()
    await service.close()


async def test_closing_while_she_speaks_keeps_the_turn(bus: Bus, store: MemoryStore) -> None:
    service = _service(bus, store)
    stage = await _voiced(bus, service)
    await bus.publish(UserText("I love chess.", turn_id=9))
    await wait_until(lambda: stage._handover.pending is not None)
    await stage.stop()  # the audio's end never came
    await service.close()
    assert [r[0] for r in _rows(store)] == ["user", "assistant"]


async def test_mood_samples_are_written_off_the_loop_and_seen_at_once(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = StoreMoodHistory(store)
    loop_thread = threading.get_ident()
    writers: list[int] = []
    real = store.add_mood_sample

    def spy(*args: object, **kw: object) -> None:
        writers.append(threading.get_ident())
        real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "add_mood_sample", spy)
    sample = MoodSample(1_800_000_000.0, 0.4, 0.5, "content", 3)
    history.add(sample)
    assert history.samples(0.0) == [sample]  # seen before or after the write, once
    assert await asyncio.to_thread(history.flush)
    assert writers
    assert loop_thread not in writers
    assert history.samples(0.0) == [sample]
    history.close()
