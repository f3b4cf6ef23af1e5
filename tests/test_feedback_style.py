"""Style preferences: folding, the prompt block, the Python reply check, the confirmation, and
the service end to end through the dialogue stage (fake LM, real SQLite store)."""

from __future__ import annotations

import asyncio

import pytest

from her_desktop.bus import Bus
from her_desktop.dialogue import DialogueStage
from her_desktop.events import Event, ReplyFinished, ReplySentence, ReplyToken, UserText
from her_desktop.feedback.corrections import Correction
from her_desktop.feedback.service import StyleService, read_style, style_records
from her_desktop.feedback.style import Style, confirmation
from her_desktop.llm.base import GenerationParams
from her_desktop.memory.store import MemoryStore
from her_desktop.turn_context import ReplyShaper, TurnContextProvider
from tests.fakes import FakeEngine


def test_later_corrections_win_and_name_unbans_itself() -> None:
    style = Style.from_corrections(
        [
            Correction("banned_word", "sam"),
            Correction("name", "Alex"),
            Correction("name", "Sam"),
            Correction("max_sentences", 2),
            Correction("max_sentences", 0),
            Correction("tts_rate", 0.9),
            Correction("tts_rate", 0.9, relative=True),
            Correction("language", "French"),
        ]
    )
    assert style.name == "Sam"
    assert style.banned == ()
    assert style.max_sentences == 0
    assert style.tts_rate == pytest.approx(0.81)
    assert style.language == "French"


def test_block_quotes_each_rule_as_the_users_data() -> None:
    style = Style(name="Sam", banned=("buddy",), max_sentences=1, no_checkins=True)
    block = style.block()
    assert '"Sam"' in block
    assert '"buddy"' in block
    assert "at most 1 sentence" in block
    assert Style().block() == ""


def test_check_replaces_banned_word_with_the_name() -> None:
    check = Style(name="Sam", banned=("buddy",)).check()
    assert check.sentence("Hey buddy, how was work?") == "Hey Sam, how was work?"
    assert check.sentence("Buddyguard is a word.") == "Buddyguard is a word."


def test_check_removes_banned_word_and_its_comma_without_a_name() -> None:
    check = Style(banned=("buddy",)).check()
    assert check.sentence("That sounds hard, buddy.") == "That sounds hard."
    assert check.sentence("Buddy, you did it!") == "You did it!"


def test_check_cuts_at_a_sentence_boundary() -> None:
    check = Style(max_sentences=2).check()
    assert check.sentence("One.") == "One."
    assert check.sentence("Two.") == "Two."
    assert check.sentence("Three.") is None
    assert Style(max_sentences=2).max_tokens(256) < 256
    assert Style().max_tokens(256) == 256


def test_check_drops_check_in_questions_when_asked() -> None:
    check = Style(no_checkins=True).check()
    assert check.sentence("Are you okay?") == ""
    assert check.sentence("That was a long day. How are you feeling now?") == (
        "That was a long day."
    )
    assert Style().check().sentence("Are you okay?") == "Are you okay?"


def test_check_drops_every_question_when_asked_for_none() -> None:
    check = Style(no_questions=True).check()
    assert check.sentence("Painting is a lovely thing to start.") == (
        "Painting is a lovely thing to start."
    )
    assert check.sentence("What do you like to paint?") == ""
    assert check.sentence("Oils? Or watercolours?") == ""
    assert check.sentence("Have fun. What will you paint first?") == "Have fun."
    assert Style().check().sentence("What do you paint?") == "What do you paint?"
    block = Style(no_questions=True).block()
    assert "no questions" in block


async def test_no_questions_is_stored_read_back_and_undone(store: MemoryStore) -> None:
    service = StyleService(store)
    await service.before_reply(1, "No more questions at the end, please.")
    asked = service.style
    assert [r.text for r in style_records(store)] == ["Don't end with a question."]
    stored = read_style(store)  # the stored text reads back as the rule
    await service.before_reply(2, "You can ask me questions.")
    undone = service.style
    assert asked.no_questions
    assert stored.no_questions
    assert not undone.no_questions
    assert not read_style(store).no_questions


def test_confirmation_is_short() -> None:
    assert confirmation([Correction("name", "Sam")]) == "Got it — Sam."
    both = confirmation([Correction("name", "Sam"), Correction("max_sentences", 2)])
    assert both == "Got it — Sam, shorter answers."
    assert confirmation([]) == ""


# -- the service through the dialogue ---------------------------------------------------------


async def _dialogue(
    engine: FakeEngine, service: StyleService
) -> tuple[Bus, DialogueStage, asyncio.Queue[ReplyFinished], list[Event]]:
    bus = Bus()
    finished: asyncio.Queue[ReplyFinished] = asyncio.Queue()
    events: list[Event] = []

    async def on_event(event: Event) -> None:
        events.append(event)
        if isinstance(event, ReplyFinished):
            finished.put_nowait(event)

    bus.subscribe(Event, on_event, name="collector")
    stage = DialogueStage(
        bus, engine, system_prompt="You are Ava.", params=GenerationParams(max_tokens=200)
    )
    stage.shape_with(service)
    await stage.start()
    return bus, stage, finished, events


async def _turn(bus: Bus, finished: asyncio.Queue[ReplyFinished], text: str) -> ReplyFinished:
    await bus.publish(UserText(text))
    return await asyncio.wait_for(finished.get(), 5)


def test_service_fits_both_protocols(store: MemoryStore) -> None:
    service = StyleService(store)
    assert isinstance(service, TurnContextProvider)
    assert isinstance(service, ReplyShaper)


async def test_a_correction_is_confirmed_once_stored_and_applied_later(
    store: MemoryStore,
) -> None:
    engine = FakeEngine(["Sure thing, buddy.", " Here is one.", " And two.", " And three."])
    service = StyleService(store)
    bus, stage, finished, events = await _dialogue(engine, service)
    try:
        first = await _turn(bus, finished, "Call me Sam. Don't call me buddy.")
        assert first.text == 'Got it — Sam, no more "buddy".'
        assert engine.calls == []  # only a correction: no LM call needed
        await asyncio.sleep(0.2)  # after_reply stores the rules
        subjects = {r.subject for r in style_records(store)}
        assert subjects == {"style:name", "style:banned_word:buddy"}

        second = await _turn(bus, finished, "Shorter answers please. Tell me something.")
        assert second.text.startswith("Got it — shorter answers. ")
        assert "Sure thing" not in second.text  # a formula and a name say nothing (filter)
        assert "buddy" not in second.text
        assert second.text.count(".") <= 3  # confirmation + at most two sentences
        prompt = engine.calls[-1][-1].content
        assert '"Sam"' in prompt
        assert "[Context for this turn" in prompt

        engine.pieces = ["Nice one, buddy.", " Day was calm.", " And long.", " Very long."]
        third = await _turn(bus, finished, "How was your day?")
        assert not third.text.startswith("Got it")  # confirmed once
        assert third.text == "Nice one, Sam. Day was calm."
        tokens = "".join(
            e.text for e in events if isinstance(e, ReplyToken) and e.turn_id == third.turn_id
        )
        sentences = [
            e.text for e in events if isinstance(e, ReplySentence) and e.turn_id == third.turn_id
        ]
        assert tokens == third.text  # what is shown is what is said
        assert " ".join(sentences) == third.text
        assert stage.history[-1].content == third.text
    finally:
        await stage.stop()
        await bus.close()


async def test_a_new_session_reads_the_rules_and_the_users_edits(store: MemoryStore) -> None:
    engine = FakeEngine(["Hello buddy."])
    bus, stage, finished, _ = await _dialogue(engine, StyleService(store))
    try:
        await _turn(bus, finished, "stop calling me buddy")
        await asyncio.sleep(0.2)
    finally:
        await stage.stop()
        await bus.close()
    assert read_style(store).banned == ("buddy",)
    record = style_records(store)[0]
    store.update_text(record.id, 'Don\'t call me "pal".', embedding=None, embedder=None)
    engine = FakeEngine(["Hello buddy, hello pal."])
    bus, stage, finished, _ = await _dialogue(engine, StyleService(store))
    try:
        reply = await _turn(bus, finished, "hi")
        assert reply.text == "Hello buddy, hello."
        store.forget(record.id)
        reply = await _turn(bus, finished, "hi")
        assert reply.text == "Hello buddy, hello pal."
    finally:
        await stage.stop()
        await bus.close()


async def test_without_memory_rules_last_the_session(store: MemoryStore) -> None:
    service = StyleService(store, remember=False)
    engine = FakeEngine(["Hi mate."])
    bus, stage, finished, _ = await _dialogue(engine, service)
    try:
        await _turn(bus, finished, "Don't call me mate.")
        await asyncio.sleep(0.1)
        assert (await _turn(bus, finished, "hello")).text == "Hi."
        assert style_records(store) == []
    finally:
        await stage.stop()
        await bus.close()


async def test_speaking_rate_follows_the_corrections(store: MemoryStore) -> None:
    service = StyleService(store)
    await service.before_reply(1, "Speak slower please.")
    assert service.tts_rate == pytest.approx(0.85)
    await service.before_reply(2, "A bit slower.")  # not a request on its own: no change
    await service.before_reply(3, "Speak a bit slower.")
    assert service.tts_rate == pytest.approx(0.77, abs=0.01)


async def test_rules_are_read_at_start_so_a_greeting_obeys_them(store: MemoryStore) -> None:
    await StyleService(store).before_reply(1, "Don't call me buddy.")
    engine = FakeEngine(["Welcome back, buddy."])
    service = StyleService(store)
    await service.refresh()
    bus, stage, finished, _ = await _dialogue(engine, service)
    try:
        await stage.greet("The user's name is unknown.")
        greeting = await asyncio.wait_for(finished.get(), 5)
        assert greeting.text == "Welcome back."
    finally:
        await stage.stop()
        await bus.close()


async def test_checked_replies_keep_their_list_lines(store: MemoryStore) -> None:
    engine = FakeEngine(["Some ideas:\n\n- a warm bath\n- tea, buddy\n\nSleep well!"])
    service = StyleService(store)
    bus, stage, finished, _ = await _dialogue(engine, service)
    try:
        await _turn(bus, finished, "Don't call me buddy.")
        reply = await _turn(bus, finished, "ideas?")
        assert reply.text == "Some ideas:\n\n- a warm bath\n- tea\n\nSleep well!"
    finally:
        await stage.stop()
        await bus.close()


@pytest.mark.parametrize(
    ("user", "first", "expected"),
    [
        ("hi", "Good morning! Ready for the day?", "Good morning, Sam! Ready for the day?"),
        ("hi", "Hello there, how was work?", "Hello there, Sam, how was work?"),
        ("hi", "Goodnight.", "Goodnight, Sam!"),
        ("hi", "Morning already? Time flies.", "Morning already? Time flies."),
        ("Wish me luck, by name.", "You've got this!", "You've got this, Sam!"),
        ("hi", "Good morning, Sam!", "Good morning, Sam!"),
    ],
)
def test_her_first_sentence_uses_the_name_when_she_greets(
    user: str, first: str, expected: str
) -> None:
    check = Style(name="Sam").check(user)
    assert check.sentence(first) == expected
    assert check.sentence("Hello again.") == "Hello again."  # only the first sentence


def test_a_clause_chunk_is_not_a_sentence_and_the_name_waits_for_the_sentence_end() -> None:
    check = Style(name="Priya", max_sentences=1).check("Wish me luck, by name.")
    assert check.sentence("I hope you do well in your exam,") == "I hope you do well in your exam,"
    assert check.sentence("and that it goes smoothly.") == "and that it goes smoothly, Priya."
    assert check.sentence("Good luck!") is None
    named = Style(name="Priya").check("Wish me luck, by name.")
    named.sentence("I hope you do well in your exam,")
    assert named.sentence("Priya.") == "Priya."  # already there: not twice


def test_confirmation_says_the_number_asked() -> None:
    assert confirmation([Correction("max_sentences", 1)]) == "Got it — one sentence."
    assert confirmation([Correction("max_sentences", 3)]) == "Got it — 3 sentences at most."
