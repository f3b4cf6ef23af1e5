"""The affect bench: its labelled set and its report."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from her_desktop.affect.base import EMOTIONS
from her_desktop.affect.embedding import load_prototypes
from her_desktop.affect.text import LexiconDetector
from her_desktop.bench import affect as bench
from tests.speech import requires_espeak


def test_eval_set_is_large_balanced_and_separate_from_the_prototypes() -> None:
    items = bench.load_eval_set()
    assert len(items) >= 200
    counts = {e: sum(i.label == e for i in items) for e in EMOTIONS}
    assert min(counts.values()) >= 30
    texts = {i.text.lower() for i in items}
    assert len(texts) == len(items)  # no duplicates
    prototypes = {s.lower() for group in load_prototypes().values() for s in group}
    assert not texts & prototypes
    tests_dir = Path(__file__).parent
    test_sources = " ".join(p.read_text().lower() for p in tests_dir.glob("test_affect_*.py"))
    assert not [t for t in texts if len(t) > 12 and t in test_sources]


def test_macro_f1_and_sign() -> None:
    f1, per = bench.macro_f1(["joy", "joy", "anger"], ["joy", "anger", "anger"])
    assert per["joy"] == pytest.approx(2 / 3)
    assert per["anger"] == pytest.approx(2 / 3)
    assert per["fear"] == 0.0
    assert f1 == pytest.approx((4 / 3) / 6)
    assert [bench.sign_of(v) for v in (0.5, 0.05, -0.2)] == [1, 0, -1]


def test_bench_writes_a_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the lexicon only: the optional embedding detectors take seconds per pass
    monkeypatch.setattr(bench, "candidates", lambda chosen: [("lexicon", LexiconDetector)])
    monkeypatch.setattr(bench, "create_detector", lambda: LexiconDetector())
    out = tmp_path / "affect.json"
    assert bench.run_affect_bench(out, set_name="eval", use_lm=False) == 0
    report = json.loads(out.read_text())
    result = report["detectors"]["lexicon"]
    assert report["eval_set"]["utterances"] >= 200
    assert report["chosen"] == "lexicon"
    for key in ("accuracy", "macro_f1", "valence_sign_accuracy"):
        assert 0.0 <= result[key] <= 1.0
    print("lexicon on the eval set:", {k: result[k] for k in ("accuracy", "macro_f1")})
    assert result["accuracy"] > 0.6  # far above chance (1/6); the bench reports the real figure
    assert result["latency"]["median"] > 0.0  # measured and reported, never asserted as a speed
    assert sum(sum(row.values()) for row in result["confusion"].values()) == len(
        bench.load_eval_set()
    )


def test_fresh_sets_are_separate_and_balanced() -> None:
    locked, dev = bench.load_eval_set(name="locked"), bench.load_eval_set(name="dev")
    assert len(locked) + len(dev) >= 300
    assert not {i.text.lower() for i in locked} & {i.text.lower() for i in dev}
    for items in (locked, dev):
        assert {i.label for i in items} == set(EMOTIONS)
        assert all(i.sign in (-1, 0, 1) for i in items)


def test_bench_reports_the_lm_and_the_combination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_affect_lm_label import LabelEngine

    items = bench.load_eval_set(name="dev")[:12]
    monkeypatch.setattr(bench, "load_eval_set", lambda name="eval": items)
    monkeypatch.setattr(bench, "candidates", lambda chosen: [("lexicon", LexiconDetector)])
    monkeypatch.setattr(bench, "create_detector", lambda: LexiconDetector())
    engine = LabelEngine({i.text: i.label for i in items})  # an LM that is always right
    out = tmp_path / "affect.json"
    assert bench.run_affect_bench(out, set_name="dev", engine=engine) == 0
    report = json.loads(out.read_text())
    assert report["set"] == "dev"
    assert report["detectors"]["lm-label"]["accuracy"] == 1.0
    combined = report["detectors"]["combined"]
    assert combined["fast"] == "lexicon"
    assert set(combined["confusion"]) == set(EMOTIONS)
    assert combined["valence_sign_accuracy"] >= 0.0


async def test_refine_on_off_times_the_refinement(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wrappers of the on/off voice bench, around a stand-in for ``bench voice``'s measure
    (the real one loads every model: ``her-desktop bench affect --voice 3``)."""
    from her_desktop.bench import voice
    from her_desktop.config import Settings
    from tests.test_affect_lm_label import LabelEngine, make_service

    text = "they want to run more tests on my dad's scan"
    calls: list[str] = []

    async def fresh(app: object) -> None:
        calls.append("fresh")

    async def fake_measure(settings: Settings, persona: object, *, runs: int) -> dict[str, object]:
        calls.append(settings.affect.lm_refine)
        bus, service, _ = await make_service(LabelEngine({text: "fear"}))
        await service.before_reply(1, text)
        if settings.affect.lm_refine == "on":
            await service.after_reply(1, text, "Oh no.")
        await voice._fresh_conversation(None)  # type: ignore[arg-type]
        await bus.close()
        return {"metrics": {"first_played": {"median": 1.0}}, "problems": []}

    monkeypatch.setattr(voice, "_fresh_conversation", fresh)
    monkeypatch.setattr(voice, "measure", fake_measure)
    report = await bench.refine_on_off(Settings(), object(), runs=1, settle_s=1.0)  # type: ignore[arg-type]
    assert calls == ["off", "fresh", "on", "fresh"]
    assert report["off"]["first_played"] == {"median": 1.0}
    assert report["on"]["refined_turns"] == 1
    assert report["on"]["refine_after_turn_end_ms"]["median"] > 0.0
    assert voice._fresh_conversation is fresh  # restored


def test_voicing_is_random_but_never_sees_the_label() -> None:
    texts = [i.text for i in bench.load_eval_set(name="dev")[:60]]
    voicings = [bench.voicing_for(t) for t in texts]
    assert voicings == [bench.voicing_for(t) for t in texts]  # the same sentence, the same voice
    assert {v.voice for v in voicings} == set(bench.SPOKEN_VOICES)
    assert all(130 <= v.rate <= 200 and 30 <= v.pitch <= 70 for v in voicings)
    assert len({v.rate for v in voicings}) > 20
    assert len({v.pitch for v in voicings}) > 20
    params = inspect.signature(bench.voicing_for).parameters
    assert list(params) == ["text"]  # drawn from the sentence alone


@requires_espeak
def test_bench_spoken_on_three_sentences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``bench affect --spoken`` on three dev sentences, spoken for real by espeak-ng and heard
    by the real prosody analysis; the LM is a stand-in that is always right."""
    from tests.test_affect_lm_label import LabelEngine

    items = bench.load_eval_set(name="dev")[:3]
    monkeypatch.setattr(bench, "load_eval_set", lambda name="eval": items)
    monkeypatch.setattr(bench, "candidates", lambda chosen: [("lexicon", LexiconDetector)])
    monkeypatch.setattr(bench, "create_detector", lambda: LexiconDetector())
    engine = LabelEngine({i.text: i.label for i in items})
    out = tmp_path / "affect.json"
    cache = tmp_path / "spoken"
    assert (
        bench.run_affect_bench(out, set_name="dev", engine=engine, spoken=True, spoken_cache=cache)
        == 0
    )
    wavs = sorted(cache.glob("*.wav"))
    assert len(wavs) == 3  # one cached WAV per sentence, named by its voicing
    report = json.loads(out.read_text())
    assert report["spoken"]["transcript"] == "the sentence itself"
    for name in ("lexicon+prosody", "combined", "combined+prosody"):
        result = report["detectors"][name]
        assert 0.0 <= result["valence_sign_accuracy"] <= 1.0
        assert 0.0 <= result["arousal_mae"] <= 1.0
    # prosody moves arousal only: the labels and signs are the text's
    for key in ("accuracy", "valence_sign_accuracy"):
        assert report["detectors"]["combined+prosody"][key] == report["detectors"]["combined"][key]
    assert report["spoken"]["prosody_latency"]["median"] > 0.0
    if report["spoken"]["alsa_clips"]:  # alsa-utils' human clips, where installed
        assert report["alsa"]["combined"]["accuracy"] == 1.0  # the stand-in says neutral
    stamps = [w.stat().st_mtime_ns for w in wavs]
    assert (
        bench.run_affect_bench(out, set_name="dev", use_lm=False, spoken=True, spoken_cache=cache)
        == 0
    )
    assert [w.stat().st_mtime_ns for w in sorted(cache.glob("*.wav"))] == stamps  # reused
