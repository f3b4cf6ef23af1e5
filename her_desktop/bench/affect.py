"""``her-desktop bench affect``: how well and how fast the detectors read emotion.

Labelled sets (``her_desktop/affect/data/*.tsv``: ``label<TAB>valence<TAB>text``, valence a sign
``+ - 0`` or a number; ``#`` starts a comment; a ``label`` header line is skipped):

* ``locked`` — the held-out test part of the fresh set (report on it; never tune on it);
* ``dev`` — the part the LM combination was calibrated on;
* ``eval`` — the project's older set (220 utterances; a regression check).

Candidates, where available here:

* ``lexicon`` — the default fast path (no model);
* ``minilm-prototypes`` and the blend ``lexicon+minilm-prototypes`` — the optional MiniLM;
* ``lexicon+minilm-prototypes+minilm-head`` — the trained head on MiniLM (``affect.head``),
  what ``create_detector`` picks where MiniLM is installed (trained on the dev and eval sets:
  its figures on those two sets are not a test);
* ``lexicon+valence(vader)`` — the lexicon with VADER's valence, where installed;
* ``lm-label`` — the default LM as a one-label classifier (``affect.lm_label``);
* ``combined`` — ``affect.combine`` of the fast detector and the LM (the refined estimate:
  the log-linear pool calibrated for the fast detector, ``combine.calibration_for``).

Per candidate: accuracy, macro-F1 (and F1 per label), the confusion matrix, valence-sign accuracy
(gold sign + / - / 0 against the predicted valence with a dead zone of ``SIGN_DEAD_ZONE``;
also over the non-neutral gold signs only) and latency per utterance (fast detectors: median /
p90 over ``PASSES`` passes after a warm-up; the LM: one pass after reading the fixed prompt).
``chosen`` names what ``create_detector()`` picks on this machine. Writes JSON (and a short
table to stderr).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from her_desktop.affect.base import EMOTIONS, EmotionDetector, TextAffect, as_label
from her_desktop.affect.blend import BlendDetector
from her_desktop.affect.combine import (
    HEAD_DETECTOR_SUFFIX,
    Calibration,
    Pool,
    calibration_for,
    combine,
)
from her_desktop.affect.detectors import create_detector
from her_desktop.affect.lexicon import default_lexicon
from her_desktop.affect.lm_label import LMLabeler
from her_desktop.affect.text import LexiconDetector, vader_valence
from her_desktop.bench.common import machine_info, summarize, write_report
from her_desktop.events import EmotionLabel

if TYPE_CHECKING:
    from her_desktop.config import Settings
    from her_desktop.llm.base import LLMEngine
    from her_desktop.persona import Persona

SIGN_DEAD_ZONE = 0.1
PASSES = 3
SETS = {"locked": "locked_set.tsv", "dev": "dev_set.tsv", "eval": "eval_set.tsv"}


@dataclass(frozen=True, slots=True)
class Item:
    label: EmotionLabel
    sign: int
    text: str


def load_eval_set(path: Path | None = None, name: str = "eval") -> list[Item]:
    """A labelled set: ``path``, or the packaged set ``name`` (see ``SETS``)."""
    if path is None:
        source = resources.files("her_desktop.affect").joinpath(f"data/{SETS[name]}")
        text = source.read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    items = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(("#", "label\t")):
            continue
        label, valence, utterance = line.split("\t", 2)
        items.append(Item(as_label(label.strip()), _sign(valence.strip()), utterance.strip()))
    return items


def _sign(value: str) -> int:
    if value in ("+", "-", "0", ""):
        return {"+": 1, "-": -1}.get(value, 0)
    return sign_of(float(value))


def sign_of(valence: float) -> int:
    if valence >= SIGN_DEAD_ZONE:
        return 1
    if valence <= -SIGN_DEAD_ZONE:
        return -1
    return 0


def macro_f1(gold: list[str], pred: list[str]) -> tuple[float, dict[str, float]]:
    per: dict[str, float] = {}
    for label in EMOTIONS:
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        per[label] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return sum(per.values()) / len(per), per


def evaluate(detector: EmotionDetector, items: list[Item]) -> dict[str, Any]:
    """Quality and latency of ``detector`` on ``items``."""
    for item in items:  # warm-up pass: caches, lazy imports
        detector.detect(item.text)
    latencies: list[float] = []
    results: list[TextAffect] = []
    for run in range(PASSES):
        for item in items:
            start = time.perf_counter()
            result = detector.detect(item.text)
            latencies.append((time.perf_counter() - start) * 1000.0)
            if run == 0:
                results.append(result)
    return score(items, results, latencies)


def score(
    items: list[Item], results: list[TextAffect], latencies_ms: list[float]
) -> dict[str, Any]:
    """Quality figures of ``results`` (one per item) and the latency summary."""
    preds = [r.label for r in results]
    signs = [sign_of(r.valence) for r in results]
    gold = [i.label for i in items]
    f1, per_label = macro_f1(list(gold), list(preds))
    polar = [(i.sign, s) for i, s in zip(items, signs, strict=True) if i.sign != 0]
    confusion = {
        g: {p: sum(a == g and b == p for a, b in zip(gold, preds, strict=True)) for p in EMOTIONS}
        for g in EMOTIONS
    }
    return {
        "accuracy": sum(g == p for g, p in zip(gold, preds, strict=True)) / len(items),
        "macro_f1": f1,
        "f1_per_label": per_label,
        "valence_sign_accuracy": sum(i.sign == s for i, s in zip(items, signs, strict=True))
        / len(items),
        "valence_sign_accuracy_polar": sum(g == s for g, s in polar) / len(polar) if polar else 0,
        "latency": summarize([{"latency_ms": v} for v in latencies_ms])["latency_ms"],
        "confusion": confusion,
    }


async def lm_probabilities(
    engine: LLMEngine, items: list[Item]
) -> tuple[list[dict[EmotionLabel, float]], list[float]]:
    """The LM labeler's probabilities for each item and its latency (ms) for each, measured
    after one untimed call that reads the fixed prompt into the scoring cache."""
    labeler = LMLabeler(engine, deadline_s=120.0)
    await labeler.probabilities("hello")
    probs: list[dict[EmotionLabel, float]] = []
    latencies: list[float] = []
    for item in items:
        start = time.perf_counter()
        probs.append(await labeler.probabilities(item.text))
        latencies.append((time.perf_counter() - start) * 1000.0)
    return probs, latencies


def lm_only(probs: dict[EmotionLabel, float]) -> TextAffect:
    """The LM's label alone, with a valence consistent with it (no fast estimate)."""
    neutral = TextAffect.from_scores({"neutral": 1.0}, 0.0, 0.3)
    return combine(neutral, probs, Calibration(lm_weight=1.0, fast_weight=0.0))


def candidates(
    chosen: EmotionDetector | None = None,
) -> list[tuple[str, Callable[[], EmotionDetector | None]]]:
    """The detectors to compare; ``chosen`` (what ``create_detector`` gave) is reused."""

    def lexicon() -> EmotionDetector:
        default_lexicon.cache_clear()  # measure the real load time
        return LexiconDetector()

    def prototypes() -> EmotionDetector | None:
        from her_desktop.affect.embedding import PrototypeDetector

        return PrototypeDetector.create()

    def blend() -> EmotionDetector | None:
        from her_desktop.affect.embedding import PrototypeDetector

        embedding = PrototypeDetector.create()
        return BlendDetector(LexiconDetector(), embedding) if embedding is not None else None

    def head() -> EmotionDetector | None:
        detector = chosen if chosen is not None else create_detector()
        return detector if detector.name.endswith(HEAD_DETECTOR_SUFFIX) else None

    def with_vader() -> EmotionDetector | None:
        fn = vader_valence()
        return LexiconDetector(valence_fn=fn) if fn is not None else None

    return [
        ("lexicon", lexicon),
        ("minilm-prototypes", prototypes),
        ("lexicon+minilm-prototypes", blend),
        ("lexicon+minilm-prototypes+minilm-head", head),
        ("lexicon+valence(vader)", with_vader),
    ]


def run_affect_bench(
    out: Path | None,
    *,
    set_name: str = "locked",
    engine: LLMEngine | None = None,
    use_lm: bool = True,
    calibration: Pool | None = None,
) -> int:
    """Run the bench on the set ``set_name``; write JSON to ``out`` (stdout when None).
    ``use_lm``: also the LM candidates, with ``engine`` (default: the configured LM)."""
    items = load_eval_set(name=set_name)
    start = time.perf_counter()
    chosen = create_detector()
    chosen_load_s = time.perf_counter() - start
    report: dict[str, Any] = {
        "bench": "affect",
        "machine": machine_info(),
        "set": set_name,
        "eval_set": {
            "utterances": len(items),
            "per_label": {e: sum(i.label == e for i in items) for e in EMOTIONS},
        },
        "sign_dead_zone": SIGN_DEAD_ZONE,
        "passes": PASSES,
        "chosen": chosen.name,
        "chosen_load_s": chosen_load_s,
        "detectors": {},
    }
    for name, factory in candidates(chosen):
        start = time.perf_counter()
        try:
            detector = factory()
        except Exception as exc:
            report["detectors"][name] = {"unavailable": f"{type(exc).__name__}: {exc}"}
            continue
        load_s = time.perf_counter() - start
        if detector is None:
            report["detectors"][name] = {"unavailable": "optional package not installed"}
            continue
        result = evaluate(detector, items)
        result["load_s"] = load_s
        _add(report, name, result)
    if use_lm:
        calibration = calibration or calibration_for(chosen.name)
        report["combination"] = type(calibration).__name__.lower()
        _lm_candidates(report, items, chosen, engine, calibration)
    write_report(report, out)
    return 0


def _default_engine() -> LLMEngine:
    from her_desktop.app import make_llm
    from her_desktop.config import load_settings

    return make_llm(load_settings().settings)


def _add(report: dict[str, Any], name: str, result: dict[str, Any]) -> None:
    report["detectors"][name] = result
    print(
        f"{name:28} acc {result['accuracy']:.3f}  macro-F1 {result['macro_f1']:.3f}  "
        f"sign {result['valence_sign_accuracy']:.3f}  "
        f"latency median {result['latency']['median']:.2f} ms "
        f"p90 {result['latency']['p90']:.2f} ms",
        file=sys.stderr,
    )


def _lm_candidates(
    report: dict[str, Any],
    items: list[Item],
    fast: EmotionDetector,
    engine: LLMEngine | None,
    calibration: Pool,
) -> None:
    from her_desktop.llm.base import LLMError

    fast_results = [fast.detect(i.text) for i in items]

    async def measure() -> tuple[list[TextAffect], list[float], list[TextAffect], list[float]]:
        lm = engine if engine is not None else _default_engine()
        try:
            probs, latencies = await lm_probabilities(lm, items)
            report["lm_model"] = lm.info().model
            combined = [
                combine(f, p, calibration) for f, p in zip(fast_results, probs, strict=True)
            ]
        finally:
            if engine is None:
                await lm.close()
        return [lm_only(p) for p in probs], latencies, combined, list(latencies)

    try:
        lm_results, lm_latencies, combined, latencies = asyncio.run(measure())
    except LLMError as exc:
        for name in ("lm-label", "combined"):
            report["detectors"][name] = {"unavailable": str(exc)}
        return
    _add(report, "lm-label", score(items, lm_results, lm_latencies))
    result = score(items, combined, latencies)
    result["fast"] = fast.name
    _add(report, "combined", result)


async def refine_on_off(
    settings: Settings, persona: Persona, *, runs: int = 3, settle_s: float = 20.0
) -> dict[str, Any]:
    """``bench voice`` with the refined estimate off, then on, in one process: the voice
    figures of both (first sound must not move) and, when on, how long the refinement took
    after the turn's end (``after_reply`` called → the refined estimate published; a turn
    whose refinement gave way or found the model busy counts as not refined). Before each
    voice run the bench waits up to ``settle_s`` for the last turn's refinement to end (a user
    rarely speaks again within a second), then resets the conversation as ``bench voice``
    does."""
    from her_desktop.affect.service import AffectService
    from her_desktop.bench import voice

    original_after = AffectService.after_reply
    original_publish = AffectService._publish_estimate
    original_fresh = voice._fresh_conversation
    timings: list[float] = []
    refined: list[int] = []
    lm_published: list[float] = []
    idle = asyncio.Event()
    idle.set()

    async def timed(self: AffectService, turn_id: int, user_text: str, reply_text: str) -> None:
        idle.clear()
        start = time.perf_counter()
        try:
            await original_after(self, turn_id, user_text, reply_text)
        finally:
            idle.set()
            done = [t for t in lm_published if t >= start]
            if done:
                timings.append((done[0] - start) * 1000.0)
            refined.append(int(bool(done)))

    def publish(
        self: AffectService, turn_id: int, affect: TextAffect, arousal: float, source: Any
    ) -> None:
        if source == "lm":
            lm_published.append(time.perf_counter())
        original_publish(self, turn_id, affect, arousal, source)

    async def fresh(app: Any) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(settle_s):
                await asyncio.sleep(0.5)  # the turn's after_reply starts once her audio ends
                await idle.wait()
        await original_fresh(app)

    report: dict[str, Any] = {"bench": "affect-refine-voice", "machine": machine_info()}
    for mode in ("off", "on"):
        settings.affect.lm_refine = mode
        timings.clear()
        refined.clear()
        AffectService.after_reply = timed  # type: ignore[method-assign]
        AffectService._publish_estimate = publish  # type: ignore[method-assign]
        voice._fresh_conversation = fresh
        try:
            result = await voice.measure(settings, persona, runs=runs)
        finally:
            AffectService.after_reply = original_after  # type: ignore[method-assign]
            AffectService._publish_estimate = original_publish  # type: ignore[method-assign]
            voice._fresh_conversation = original_fresh
        entry: dict[str, Any] = {
            "first_played": result["metrics"].get("first_played"),
            "lm_first_token": result["metrics"].get("lm_first_token"),
            "problems": result["problems"],
        }
        if mode == "on":
            entry["refined_turns"] = sum(refined)
            entry["turns"] = len(refined)
            entry["refine_after_turn_end_ms"] = (
                summarize([{"ms": v} for v in timings])["ms"] if timings else None
            )
        report[mode] = entry
        print(f"refine {mode}: {entry}", file=sys.stderr)
    report["machine_load_after"] = list(os.getloadavg())
    return report


def run_refine_voice_bench(out: Path | None, *, runs: int = 3) -> int:
    from her_desktop.cli.common import load_config_and_persona, prepare_default_model

    settings, persona = load_config_and_persona()
    if settings.llm.engine == "llamacpp":
        prepare_default_model(settings.llm.model)
    load_before = list(os.getloadavg())
    report = asyncio.run(refine_on_off(settings, persona, runs=runs))
    report["machine_load_before"] = load_before
    write_report(report, out)
    return 0
