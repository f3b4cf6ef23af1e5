"""The end-to-end memory bench: scoring, and a run through the real App on a scripted LM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from her_desktop.bench import memory_e2e as e2e
from her_desktop.memory.embeddings import HashingEmbedder
from tests.fakes import FakeEngine
from tests.running_app import light_settings


def _q(kind: str, expect: list[str], forbid: list[str]) -> e2e.Question:
    return e2e.Question("?", kind, tuple(expect), tuple(forbid))


@pytest.mark.parametrize(
    ("question", "reply", "verdict"),
    [
        (_q("update", ["Ziggy"], ["Whiskers"]), "Your kitten is Ziggy.", {"ok": True}),
        (_q("update", ["Ziggy"], ["Whiskers"]), "Ziggy, not Whiskers.", {"ok": False}),
        (_q("unknown", ["don't know"], []), "I don't know yet, tell me?",
         {"ok": True, "invented": False}),
        (_q("unknown", ["don't know"], []), "Her name is Maria.", {"ok": False, "invented": True}),
        (_q("person", ["Nairobi"], ["my mum"]), "My mum lives in Nairobi.",
         {"ok": False, "first_person": True}),
        (_q("constraint", [], ["kiwi"]), "Mango, melon and kiwi!",
         {"ok": False, "violation": True}),
        (_q("constraint", [], ["kiwi"]), "Mango and melon, no kiwi since you're allergic.",
         {"ok": True, "violation": False}),
    ],
)  # fmt: skip
def test_scoring(question: e2e.Question, reply: str, verdict: dict[str, bool]) -> None:
    assert e2e.score(question, reply) == verdict


def test_both_scenario_sets_load_and_the_locked_one_is_larger() -> None:
    dev, locked = e2e.load_scenarios("dev"), e2e.load_scenarios("locked")
    assert dev
    assert locked
    assert {s.id for s in dev}.isdisjoint({s.id for s in locked})
    assert {q.kind for s in locked for q in s.questions} <= set(e2e.KINDS)


def test_a_run_drives_the_real_app_over_sessions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    scenario = {
        "id": "t1",
        "sessions": [["My puppy is called Biscuit."], ["We call the puppy Pepper now."]],
        "questions": [
            {"ask": "What's my puppy called?", "kind": "update", "expect_any": ["Pepper"],
             "forbid": ["Biscuit"]},
            {"ask": "What's my sister's name?", "kind": "unknown", "expect_any": ["don't know"],
             "forbid": []},
        ],
    }  # fmt: skip
    (data / "memory_scenarios_t.json").write_text(json.dumps([scenario]))
    monkeypatch.setattr(e2e, "DATA", data)
    engine = FakeEngine(["Pepper", ", I think."])
    out = tmp_path / "report.json"
    assert e2e.run_memory_e2e(out, part="t", settings=light_settings(), engine=engine) == 0
    report = json.loads(out.read_text())
    assert report["scenarios"] == ["t1"]
    assert report["summary"]["update_accuracy"] == 1.0
    # "Pepper, I think." to an unknown question is a guess: caught, asked again, then the
    # plain don't-know is said (memory's reply guard)
    assert report["summary"]["invented_fact_rate"] == 0.0
    assert "don't know" in report["results"][1]["reply"]
    assert len(engine.calls) == 4  # two session turns, two questions (a guess is fixed in Python)
    last_prompt = engine.calls[2][-1].content  # the puppy question, with its notes
    assert '"Your puppy is called Pepper."' in last_prompt


def test_notes_only_scores_what_memory_hands_her(tmp_path: Path) -> None:
    sessions = (
        ("My puppy is called Biscuit.", "I'm allergic to kiwi."),
        ("We call the puppy Pepper now.",),
    )
    scenario = e2e.Scenario(
        "n1",
        sessions,
        (
            e2e.Question("What's my puppy called?", "update", ("Pepper",), ("Biscuit",)),
            e2e.Question("What's my sister's name?", "unknown", ("don't know",), ()),
            e2e.Question("Suggest a fruit salad?", "constraint", (), ("kiwi",)),
        ),
    )
    got = e2e.notes_only([scenario], HashingEmbedder())
    assert [(r["kind"], r["ok"]) for r in got] == [
        ("update", True),
        ("unknown", True),
        ("constraint", True),
    ]
    assert not any("why" in r for r in got)
    stale = e2e.Scenario(
        "n2",
        (("My puppy is called Biscuit.",),),
        (e2e.Question("What's my puppy called?", "update", ("Pepper",), ("Biscuit",)),),
    )
    assert e2e.notes_only([stale], HashingEmbedder())[0]["why"] == "missing"
