"""The memory bench: its script and its report (small sizes here; the real run is the CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from her_desktop.bench import memory as bench
from her_desktop.memory.embeddings import HashingEmbedder


def test_script_has_enough_facts_sessions_and_corrections() -> None:
    facts = [f for f in bench.SCRIPT if isinstance(f, bench.Fact)]
    assert len(facts) >= 30
    assert {f.session for f in facts} == {1, 2, 3}
    assert sum(f.stale is not None for f in facts) >= 3
    for fact in facts:
        if fact.question is not None:
            assert fact.answer.lower() not in fact.question.lower()  # no answer in the question
    tests_dir = Path(__file__).parent
    others = [p for p in tests_dir.glob("test_memory_*.py") if p.name != Path(__file__).name]
    sources = " ".join(p.read_text().lower() for p in others)
    assert not [f.said for f in facts if f.said.lower() in sources]


def test_distractors_avoid_every_answer() -> None:
    answers = [f.answer for f in bench.SCRIPT if isinstance(f, bench.Fact)]
    extra = bench.distractors(300, answers)
    assert len(set(extra)) == 300
    assert not [t for t in extra for a in answers if a.lower() in t.lower()]


def test_bench_writes_a_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "_embedders", lambda: [(HashingEmbedder(), 0.0)])
    out = tmp_path / "memory.json"
    assert bench.run_memory_bench(out, sizes=(300, 600), queries=4, distractor_count=50) == 0
    report = json.loads(out.read_text())
    assert report["bench"] == "memory"
    assert "cpu" in report["machine"]
    entry = report["embedders"]["hashing-v1-512"]
    (recall,) = entry["recall"]
    assert recall["facts"] >= 30
    assert recall["extractor"] == "rules"
    assert 0.5 <= recall["extracted"] <= 1.0
    for part in (recall["clean"], recall["with_distractors"]):
        assert 0.0 <= part["recall@1"] <= part["recall@3"] <= part["recall@5"] <= 1.0
    assert recall["clean"]["recall@5"] > 0.3
    assert recall["clean"]["stale"] == 0
    assert recall["greeting_context"]
    assert set(entry["latency"]) == {"300", "600"}
    assert entry["latency"]["600"]["before_reply_ms"]["median"] > 0
