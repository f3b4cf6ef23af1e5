"""The feedback bench: scoring in Python, the scenario run on a fake LM, and (slow) corrections
obeyed by the real default model in the same and a new session (a name, a length bound, no
questions, a language kept past the first sentence)."""

from __future__ import annotations

from pathlib import Path

import pytest

from her_desktop.bench.feedback import (
    SCENARIOS,
    Scenario,
    language_of,
    load_scenarios,
    obeyed,
    pick,
    run_scenario,
    summarize_entries,
    unasked,
)
from her_desktop.feedback.corrections import KINDS, Correction, parse
from her_desktop.feedback.style import Style, wrong_language
from her_desktop.llm.llamacpp import LlamaCppEngine
from her_desktop.sentences import split_sentences
from tests.fakes import FakeEngine


def test_every_scenario_is_one_correction_and_there_are_enough() -> None:
    assert len(SCENARIOS) >= 40
    for s in SCENARIOS:
        assert len(parse(s.correction)) == 1, s.correction
        assert parse(s.probe) == [], s.probe
        assert s.before == "" or len(parse(s.before)) == 1, s.before
    kinds = {parse(s.correction)[0].kind for s in pick(8)}
    assert kinds == set(KINDS)


def test_language_guess() -> None:
    assert language_of("Je pense que c'est une bonne idée pour vous.") == "French"
    assert language_of("Es una buena idea para el fin de semana.") == "Spanish"
    assert language_of("Das ist eine gute Idee und ich mag es.") == "German"
    assert language_of("That is a good idea for the weekend.") == "English"


def test_scoring() -> None:
    style = Style(name="Sam")
    assert obeyed(Correction("name", "Sam"), "Good morning, Sam!", style)
    assert not obeyed(Correction("banned_word", "buddy"), "Hey Buddy.", style)
    assert obeyed(Correction("max_sentences", 2), "One. Two.", style)
    assert not obeyed(Correction("max_sentences", 1), "One. Two.", style)
    assert not obeyed(Correction("max_sentences", 1), "Rainbows form when light,", style)
    assert obeyed(Correction("no_questions", True), "Painting is lovely. Enjoy it!", style)
    assert not obeyed(Correction("no_questions", True), "Lovely! What do you paint?", style)
    assert unasked(Correction("name", "Sam"), "Good morning.", style) == []
    assert unasked(Correction("banned_word", "x"), "Bonjour, je suis là pour vous.", style) == [
        "rule name=Sam",
        "reply in French",
    ]


async def test_a_correction_taken_back_is_scored_after_the_first_one() -> None:
    engine = FakeEngine(["That sounds lovely, and you should rest."])
    scenario = Scenario("English again please.", "Hi", before="Talk to me in French.")
    entry = await run_scenario(engine, scenario, "You are Ava.")
    assert entry["before"].startswith("Got it — French")
    assert entry["confirmation"] == "Got it — English from now on."
    for session in ("same_session", "new_session"):
        assert entry[session]["obeyed"], entry
        assert entry[session]["unasked"] == [], entry


async def test_a_scenario_on_a_fake_lm_is_scored() -> None:
    engine = FakeEngine(["Hey buddy, great to see you.", " I missed you.", " Tell me more."])
    entry = await run_scenario(
        engine, Scenario("Don't call me buddy.", "Hey buddy!"), "You are Ava."
    )
    assert entry["confirmation"] == 'Got it — no more "buddy".'
    assert entry["same_session"]["obeyed"]
    assert entry["new_session"]["obeyed"]  # read back from the store after a "restart"
    assert entry["same_session"]["unasked"] == []
    summary = summarize_entries([entry])
    assert summary["obeyed"] == 1.0
    assert summary["unasked_changes"] == 0


@pytest.mark.slow
async def test_the_default_model_obeys_two_corrections(default_gguf: Path) -> None:
    """The twin of the fake-LM test: a name and a length bound, same and new session."""
    engine = LlamaCppEngine(default_gguf, n_ctx=2048)
    try:
        for scenario in (
            Scenario("Call me Sam.", "Say good morning to me, using my name."),
            Scenario("Answer in one sentence.", "Explain how rainbows form."),
        ):
            entry = await run_scenario(engine, scenario, "You are Ava, a warm companion.")
            assert entry["confirmation"].startswith("Got it")
            for session in ("same_session", "new_session"):
                assert entry[session]["obeyed"], entry
                assert entry[session]["unasked"] == [], entry
    finally:
        await engine.close()


@pytest.mark.slow
async def test_the_default_model_asks_no_questions(default_gguf: Path) -> None:
    """The twin of the fake-LM "no questions" tests: on the real default model, a reply after
    "no more questions at the end" holds none, in the same and a new session."""
    engine = LlamaCppEngine(default_gguf, n_ctx=2048)
    try:
        entry = await run_scenario(
            engine,
            Scenario("No more questions at the end.", "I started learning to paint."),
            "You are Ava, a warm companion.",
        )
        for session in ("same_session", "new_session"):
            assert entry[session]["reply"].strip(), entry
            assert entry[session]["obeyed"], entry
    finally:
        await engine.close()


@pytest.mark.slow
async def test_the_default_model_keeps_to_the_language_past_the_first_sentence(
    default_gguf: Path,
) -> None:
    """The twin of the fake-LM guard tests: on the real default model, after "talk to me in
    French" no sentence of a reply past the first is plainly English (the guard checks each
    one: a later English sentence ends the reply)."""
    engine = LlamaCppEngine(default_gguf, n_ctx=2048)
    try:
        entry = await run_scenario(
            engine,
            Scenario("Talk to me in French.", "What's a good thing to do this weekend?"),
            "You are Ava, a warm companion.",
        )
        for session in ("same_session", "new_session"):
            sentences = split_sentences(entry[session]["reply"])
            assert sentences, entry
            assert not any(wrong_language(x, "French") for x in sentences[1:]), entry
    finally:
        await engine.close()


def test_the_locked_part_states_its_rules_and_differs_from_dev() -> None:
    locked = load_scenarios("locked")
    assert len(locked) >= 10
    assert {s.rule.kind for s in locked} <= {s.rule.kind for s in SCENARIOS}
    dev = {s.correction.lower() for s in SCENARIOS}
    assert not any(s.correction.lower() in dev for s in locked)
    assert all(parse(s.probe) == [] for s in locked)
    assert len(pick(7, locked)) == 7
