"""``bench companion``: the scoring on plain strings, and a run through the App on a fake LM."""

from __future__ import annotations

import json
from typing import Any

import pytest

from her_desktop.bench.companion import (
    Case,
    Task,
    acknowledged_first,
    load_cases,
    measure,
    parse_cases,
    rescore,
    score_turn,
    spread,
    summarize_scores,
    with_ids,
)
from her_desktop.persona import load_persona
from tests.fakes import FakeEngine
from tests.running_app import light_settings


def test_both_parts_load_with_tasks_and_negative_turns() -> None:
    for part in ("dev", "locked"):
        cases = load_cases(part)
        assert len(cases) >= 30
        assert any(c.task is not None for c in cases)
        assert any(c.negative for c in cases)
        assert len({c.id for c in cases}) == len(cases)
    dev = {c.id for c in load_cases("dev")}
    assert not dev & {c.id for c in load_cases("locked")}


def test_the_second_dev_set_loads_apart_from_the_others() -> None:
    dev2 = load_cases("dev2")
    assert len(dev2) >= 25
    others = {c.id for part in ("dev", "tasks", "locked") for c in load_cases(part)}
    assert not others & {c.id for c in dev2}


def test_ids_pick_cases_of_a_part() -> None:
    cases = load_cases("dev")
    assert [c.id for c in with_ids(cases, "cd05, cd01,nope")] == ["cd01", "cd05"]
    assert with_ids(cases, None) == cases


def test_the_tasks_part_is_only_varied_task_turns() -> None:
    cases = load_cases("tasks")
    assert len(cases) >= 40
    assert all(c.task is not None for c in cases)
    kinds = {c.task.kind for c in cases if c.task is not None}
    assert kinds == {"translate", "arithmetic", "fact", "definition", "summary"}
    locked = {c.user for c in load_cases("locked")}
    assert not locked & {c.user for c in cases}


BAD_DAY = Case("b1", "bad_day", "My boss yelled at me today.", negative=True)
SUM = Case("t1", "task", "what's 12 times 12", task=Task("arithmetic", ("144",)))
TRANSLATE = Case(
    "t2", "task", "Say 'I need a break' in French", task=Task("translate", ("pause",), ("envie",))
)


def test_a_help_desk_reply_scores_badly() -> None:
    reply = (
        "Have you considered speaking with your manager? I'm sorry to hear that. "
        "My favourite way to relax is watching films. How can I assist you today?"
    )
    previous = ["I'm sorry to hear that. What happened?"]
    score = score_turn(BAD_DAY, reply, [], previous)
    assert score.cliches == ["referral: considered speaking", "offer: how can i assist"]
    assert score.repeated == ["I'm sorry to hear that."]
    assert score.human_claims == ["My favourite way to relax is watching films."]
    assert score.acknowledged_first is False  # advice came first
    assert score.task_correct is None


def test_a_companion_reply_scores_well() -> None:
    spoken = ["Oh no, that sounds awful.", "Do you want to talk about it?"]
    score = score_turn(BAD_DAY, " ".join(spoken), spoken, [])
    assert (score.cliches, score.repeated, score.human_claims) == ([], [], [])
    assert score.acknowledged_first is True
    assert score.words == 12


def test_spoken_markdown_counts_as_a_cliche() -> None:
    score = score_turn(BAD_DAY, "x", ["**Budget** wisely.", "- Cook at home."], [])
    assert len(score.cliches) == 2


@pytest.mark.parametrize(
    ("reply", "correct"),
    [("That's 144.", True), ("It's 124.", False), ("Twelve twelves make 144!", True)],
)
def test_task_answers_are_checked_against_the_reference(reply: str, correct: bool) -> None:
    assert score_turn(SUM, reply, [], []).task_correct is correct


def test_a_forbidden_answer_is_wrong_even_with_an_expected_one() -> None:
    wrong = "Je n'ai pas envie de prendre une pause."
    assert score_turn(TRANSLATE, wrong, [], []).task_correct is False
    assert score_turn(TRANSLATE, "J'ai besoin d'une pause.", [], []).task_correct is True


def test_every_required_answer_must_be_there_and_a_decline_is_counted_apart() -> None:
    case = Case("t4", "task", "x", task=Task("translate", (), expect_all=("gato", "sofa|sillon")))
    assert score_turn(case, "El gato duerme en el sofá.", [], []).task_correct is True
    wrong = score_turn(case, "El gato duerme en la silla.", [], [])
    assert (wrong.task_correct, wrong.task_declined) == (False, False)
    declined = score_turn(case, "I'm not sure enough of my Spanish to translate that.", [], [])
    assert (declined.task_correct, declined.task_declined) == (False, True)
    summary = summarize_scores([wrong, declined])
    assert (summary["task_declined"], summary["task_wrong"]) == (1, 1)


def test_accents_and_case_do_not_matter_for_reference_answers() -> None:
    case = Case("t3", "task", "x", task=Task("translate", ("hasta mañana",)))
    assert score_turn(case, "¡Hasta Manana!", [], []).task_correct is True


def test_acknowledgement_before_advice() -> None:
    assert acknowledged_first(["That sounds so frustrating.", "You could take a walk."])
    assert not acknowledged_first(["You should take a walk.", "Sorry, that's rough."])
    assert acknowledged_first(["I understand how it feels.", "You could rest a bit."])
    assert not acknowledged_first(["I understand your concern."])
    assert not acknowledged_first(["Okay."])


def test_summary_figures() -> None:
    scores = [
        score_turn(BAD_DAY, "Oh no, I'm sorry.", [], []),
        score_turn(SUM, "It's 144.", [], [], reason="deadline"),
        score_turn(TRANSLATE, "Feel free to ask! J'ai besoin d'une pause.", [], []),
    ]
    summary = summarize_scores(scores)
    assert summary["turns"] == 3
    assert summary["cliche_turns"] == 1
    assert summary["task_accuracy"] == 1.0
    assert summary["negative_acknowledged_first"] == 1.0
    assert summary["human_experience_claims"] == 0
    assert summary["finish_reasons"] == {"stop": 2, "deadline": 1}
    assert summary["words_per_reply_median"] == 4


async def test_the_bench_runs_the_cases_through_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake LM that always says the same help-desk line: the bench must see it."""
    data = [
        {"id": "a", "category": "bad_day", "history": ["ugh", "long day"], "user": "so tired",
         "negative": True, "task": None},
        {"id": "b", "category": "task", "history": [], "user": "what's 2 plus 2",
         "negative": False, "task": {"kind": "arithmetic", "expect_any": ["4"], "forbid": []}},
    ]  # fmt: skip
    text = json.dumps(data)
    monkeypatch.setattr("her_desktop.bench.companion.load_cases", lambda _: parse_cases(text))
    engine = FakeEngine(["I'm sorry you're tired. ", "How can I assist you today?"])
    settings = light_settings()
    for raw, cliche_turns, right in ((True, 2, 0.0), (False, 0, 1.0)):
        partial: list[dict[str, Any]] = []
        report = await measure(
            settings, load_persona("samantha"), ["dev"], raw=raw, engine=engine,
            partial=partial.append,
        )  # fmt: skip
        # after the first case, a report of what is done so far (a run stopped early keeps it)
        assert [p["parts"]["dev"]["done"] for p in partial] == [1]
        assert partial[0]["partial"] is True
        assert partial[0]["parts"]["dev"]["summary"]["turns"] == 1
        assert "partial" not in report
        summary = report["parts"]["dev"]["summary"]
        assert report["reply_filter"] is (not raw)
        assert report["start_settled"] is True  # the first turn did not race the start-up
        # filtered: the scored turn's reply repeats the history replies, then a cliché; the
        # voice waited on both (23 + 27 characters) before the fallback line
        assert summary["held_chars_total"] == (0 if raw else 50)
        assert summary["turns"] == 2
        assert summary["cliche_turns"] == cliche_turns
        assert summary["task_accuracy"] == right  # filtered: the sum is computed, not guessed
        if raw:  # "I'm sorry you're tired." comes before anything else
            assert summary["negative_acknowledged_first"] == 1.0
    # history and scored turns went to the LM: 4 raw, 3 filtered (the sum needs no LM)
    assert len(engine.calls) == 7
    assert engine.calls[3][-1].content == "what's 2 plus 2"


def test_a_subset_is_spread_over_the_whole_set() -> None:
    cases = load_cases("dev")
    subset = spread(cases, 7)
    assert len(subset) == 7
    assert subset[0] == cases[0]
    assert {c.category for c in subset} >= {"task", "bad_day"}
    assert spread(cases, None) == cases
    assert spread(cases, 10_000) == cases


def test_speaking_as_the_user_is_counted_with_the_history() -> None:
    bored = Case("b2", "boredom", "and it's raining", history=("I'm so bored",))
    score = score_turn(bored, "I'm so bored too. What a grey day.", [], [])
    assert score.as_user == ["I'm so bored too."]
    assert summarize_scores([score])["first_person_confusions"] == 1
    fine = score_turn(bored, "You're stuck in with the rain. Want a silly game?", [], [])
    assert fine.as_user == []


def test_definitions_are_checked_on_their_sense_not_one_keyword() -> None:
    for part in ("dev", "tasks"):
        for case in load_cases(part):
            if case.task is not None and case.task.kind == "definition":
                assert case.task.expect_all, case.id
                assert not case.task.expect_any, case.id
    haiku = Task("definition", (), expect_all=("poem|poetry|verse", "japanese"))
    assert not score_turn(
        Case("d1", "task", "What's a haiku?", task=haiku),
        "Haiku means a Japanese word for a greeting.",
        [],
        [],
    ).task_correct


def test_a_saved_report_is_scored_again_with_the_current_scorer() -> None:
    k19 = next(c for c in load_cases("dev2") if c.id == "k19")
    old = score_turn(k19, "I'm so bored too. What a grey day.", [], ["What a grey day."])
    turn = old.as_dict()
    report: dict[str, Any] = {"parts": {"dev2": {"cases": 1, "summary": {}, "turns": [turn]}}}
    summary = rescore(report)["parts"]["dev2"]["summary"]
    assert summary["first_person_confusions"] == 1
    assert summary["repeated_sentences"] == 1  # her earlier replies were saved with the turn
    del turn["history_replies"]
    turn["repeated"] = []
    assert rescore(report)["parts"]["dev2"]["summary"]["repeated_sentences"] == 0


def test_her_too_slow_line_acknowledges_nothing() -> None:
    line = "Sorry, I was too slow to answer that. Could you ask me again?"
    score = score_turn(BAD_DAY, line, [], [], reason="deadline")
    assert score.acknowledged_first is False
