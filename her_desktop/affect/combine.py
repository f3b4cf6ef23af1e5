"""The refined estimate: the LM's label probabilities combined with the fast estimate.

A log-linear pool: ``score(e) = LM_WEIGHT * log p_lm(e) + FAST_WEIGHT * log p_fast(e) +
BIAS[e]``, softmaxed. The weights and biases were calibrated on the dev set only, for each fast
detector (``calibration_for``; ``python -m her_desktop.affect.train calibrate`` reports the
nested cross-validation). The lexicon is reliable on neutral, where the
small LM over-reads feelings; the LM understands situations that name no feeling. With the
MiniLM head the pool is a ``StackedPool`` (a softmax regression on both detectors'
log-probabilities, ``train stack``): on the grown dev set (593) it measured 80.8 % in 5-fold
cross-validation against 78.2 % for the two-weight pool.

Valence and arousal are made consistent with the final label: the valence's sign follows the
label (joy positive; sadness, anger and fear negative; neutral near zero; surprise takes the
sign the LM's label distribution leans to, ``lm_surprise_valence``), its size follows the
probabilities.

With the stacked pool the sign is decided first, by its own estimate (``SignModel``: a
three-way softmax regression, negative / none / positive, on how much of the pooled estimate
and of the LM's distribution lies on joy, on the three negative labels, on neutral and on
surprise; ``train sign``, cross-validated on the dev set), and the label is then the pooled
estimate's most likely label of that sign (surprise goes with any sign, neutral with none): a
turn whose probabilities are split between 'joy' at 0.35 and 'sadness' + 'fear' at 0.5 is
negative, and a surprise's sign is learned, not read from a fixed lean.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Final

from her_desktop.affect.base import BASE_AROUSAL, BASE_VALENCE, EMOTIONS, TextAffect
from her_desktop.affect.packaged import load_weights
from her_desktop.events import EmotionLabel
from her_desktop.numeric import clamp

log = logging.getLogger(__name__)

FLOOR = 1e-4
"""Probabilities below this count as this (one detector's certainty cannot veto the other)."""
AROUSAL_FAST_SHARE = 0.4
"""The fast estimate's arousal (which hears '!', capitals and intensifiers) keeps this share."""
NEUTRAL_VALENCE_LIMIT = 0.09
POLAR_VALENCE_MIN = 0.2


@dataclass(frozen=True, slots=True)
class Calibration:
    """The log-linear pool (see the module docstring)."""

    lm_weight: float = 1.0
    fast_weight: float = 0.5
    bias: Mapping[EmotionLabel, float] = field(default_factory=dict)

    def scores(
        self, lm: Mapping[EmotionLabel, float], fast: TextAffect
    ) -> dict[EmotionLabel, float]:
        return {
            e: self.lm_weight * math.log(max(lm.get(e, 0.0), FLOOR))
            + self.fast_weight * math.log(max(fast.prob(e), FLOOR))
            + self.bias.get(e, 0.0)
            for e in EMOTIONS
        }


STACKED_POOL_FILE: Final = "pool.json"


@dataclass(frozen=True, slots=True)
class StackedPool:
    """A softmax regression on the twelve log-probabilities (the LM's six, then the fast
    estimate's six, in ``EMOTIONS`` order, each at least ``log FLOOR``): ``score = features @
    weights + bias``. Trained by ``python -m her_desktop.affect.train stack`` on the dev set,
    the fast estimate's probabilities out of fold (``data/pool.json``). A general linear pool:
    it can learn that the LM's "fear" often means the fast estimate's "anger" is right, which
    the two-weight pool cannot; when both detectors agree it keeps their label in 95 % of the
    dev turns (and was right in 10 of the 17 it overrode); never when both give the label at
    least ``AGREED_MIN``."""

    weights: tuple[tuple[float, ...], ...]
    bias: tuple[float, ...]
    sign: SignModel | None = None
    """The valence sign's own estimate (``combine`` decides the sign first), where trained."""

    def __post_init__(self) -> None:
        n = len(EMOTIONS)
        if len(self.weights) != 2 * n or any(len(r) != n for r in self.weights):
            raise ValueError("the stacked pool's weights must be 12 rows of 6")
        if len(self.bias) != n:
            raise ValueError("the stacked pool's bias must have 6 values")

    @classmethod
    def from_arrays(cls, weights: Sequence[Sequence[float]], bias: Sequence[float]) -> StackedPool:
        return cls(
            tuple(tuple(float(v) for v in r) for r in weights), tuple(float(v) for v in bias)
        )

    @classmethod
    def load(cls) -> StackedPool:
        """The packaged pool. Raises ``OSError`` / ``ValueError`` / ``KeyError`` when missing or
        malformed."""
        data = load_weights(STACKED_POOL_FILE, "stacked pool")
        return cls.from_arrays(data["weights"], data["bias"])

    def scores(
        self, lm: Mapping[EmotionLabel, float], fast: TextAffect
    ) -> dict[EmotionLabel, float]:
        features = [math.log(max(lm.get(e, 0.0), FLOOR)) for e in EMOTIONS] + [
            math.log(max(fast.prob(e), FLOOR)) for e in EMOTIONS
        ]
        scores = {
            e: self.bias[c] + sum(f * row[c] for f, row in zip(features, self.weights, strict=True))
            for c, e in enumerate(EMOTIONS)
        }
        agreed = max(EMOTIONS, key=lambda e: lm.get(e, 0.0))
        if (
            fast.label == agreed
            and min(lm.get(agreed, 0.0), fast.prob(agreed)) >= AGREED_MIN
            and max(scores.values()) > scores[agreed]
        ):
            scores[agreed] = max(scores.values()) + AGREED_MARGIN
        return scores


Pool = Calibration | StackedPool

SIGN_MODEL_FILE: Final = "sign.json"
SIGNS: Final = (-1, 0, 1)
"""The sign model's classes, in the order of its weights' columns."""
SIGN_FEATURES: Final = 8
SIGNED_SURPRISE: Final = 0.5
"""The valence hint a surprise gets from a decided sign (``consistent_valence``)."""
LABEL_SIGN: Final[Mapping[EmotionLabel, int | None]] = {
    "joy": 1,
    "sadness": -1,
    "anger": -1,
    "fear": -1,
    "surprise": None,
    "neutral": 0,
}
"""The valence sign each label implies (surprise: any)."""


def polarity_masses(probs: Mapping[EmotionLabel, float]) -> tuple[float, float, float, float]:
    """How much of ``probs`` lies on joy, on sadness + anger + fear, on neutral, on surprise."""
    p = {e: max(float(probs.get(e, 0.0)), 0.0) for e in EMOTIONS}
    return p["joy"], p["sadness"] + p["anger"] + p["fear"], p["neutral"], p["surprise"]


def sign_features(
    lm: Mapping[EmotionLabel, float], pooled: Mapping[EmotionLabel, float]
) -> list[float]:
    """The sign model's eight features: the log polarity masses (``polarity_masses``, each at
    least ``FLOOR``) of the pooled estimate, then of the LM."""
    return [math.log(max(m, FLOOR)) for m in (*polarity_masses(pooled), *polarity_masses(lm))]


@dataclass(frozen=True, slots=True)
class SignModel:
    """The valence sign's own estimate: a softmax regression on ``sign_features`` with three
    classes (``SIGNS``: negative, none, positive): ``score = features @ weights + bias``.
    Trained by ``python -m her_desktop.affect.train sign`` on the dev set, its inputs out of
    fold (``data/sign.json``)."""

    weights: tuple[tuple[float, ...], ...]
    bias: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.weights) != SIGN_FEATURES or any(len(r) != len(SIGNS) for r in self.weights):
            raise ValueError("the sign model's weights must be 8 rows of 3")
        if len(self.bias) != len(SIGNS):
            raise ValueError("the sign model's bias must have 3 values")

    @classmethod
    def from_arrays(cls, weights: Sequence[Sequence[float]], bias: Sequence[float]) -> SignModel:
        return cls(
            tuple(tuple(float(v) for v in r) for r in weights), tuple(float(v) for v in bias)
        )

    @classmethod
    def load(cls) -> SignModel:
        """The packaged sign model. Raises ``OSError`` / ``ValueError`` / ``KeyError`` when
        missing or malformed."""
        data = load_weights(SIGN_MODEL_FILE, "sign model")
        return cls.from_arrays(data["weights"], data["bias"])

    def probabilities(
        self, lm: Mapping[EmotionLabel, float], pooled: Mapping[EmotionLabel, float]
    ) -> dict[int, float]:
        features = sign_features(lm, pooled)
        scores = [
            self.bias[c] + sum(f * row[c] for f, row in zip(features, self.weights, strict=True))
            for c in range(len(SIGNS))
        ]
        top = max(scores)
        weights = [math.exp(v - top) for v in scores]
        return {s: w / sum(weights) for s, w in zip(SIGNS, weights, strict=True)}

    def sign(self, lm: Mapping[EmotionLabel, float], pooled: Mapping[EmotionLabel, float]) -> int:
        """The most likely sign (-1, 0 or 1)."""
        probs = self.probabilities(lm, pooled)
        return max(SIGNS, key=lambda s: probs[s])


def agreed_sign(lm: Mapping[EmotionLabel, float], fast: TextAffect) -> int | None:
    """The sign of the label both detectors give at least ``AGREED_MIN`` (the label the
    stacked pool keeps), where that label has one (not surprise); else None."""
    agreed = max(EMOTIONS, key=lambda e: lm.get(e, 0.0))
    if fast.label == agreed and min(lm.get(agreed, 0.0), fast.prob(agreed)) >= AGREED_MIN:
        return LABEL_SIGN[agreed]
    return None


def given_sign(probs: Mapping[EmotionLabel, float], sign: int) -> dict[EmotionLabel, float]:
    """``probs`` restricted to the labels that go with ``sign`` (surprise goes with any),
    renormalised: the label is the most likely one of that sign."""
    kept = {
        e: max(float(probs.get(e, 0.0)), 0.0) if LABEL_SIGN[e] in (None, sign) else 0.0
        for e in EMOTIONS
    }
    total = sum(kept.values())
    if total <= 0.0:
        fallback: EmotionLabel = "joy" if sign > 0 else "sadness" if sign < 0 else "neutral"
        return {e: 1.0 if e == fallback else 0.0 for e in EMOTIONS}
    return {e: v / total for e, v in kept.items()}


AGREED_MIN: Final = 0.5
AGREED_MARGIN: Final = 0.1
"""Both detectors giving one label at least ``AGREED_MIN`` keep it in the stacked pool (its
score is lifted ``AGREED_MARGIN`` over the top one). On the dev set the fitted pool never
overrode such a pair, but on flat inputs it turns a joint 'joy' at 0.7 into 'surprise'."""


DEFAULT_CALIBRATION = Calibration(lm_weight=1.0, fast_weight=1.5, bias={"surprise": 0.5})
"""For the lexicon and the lexicon + prototype blend. Calibrated on the first 142 utterances of
the dev set with the blend: accuracy 77.5 % (LM alone 62.7 %, blend alone 31.7 %); a plateau
for fast weights 1.25-1.5 and surprise biases 0.5-1.0 (76-78 %), falling off above 2. On the
grown dev set (312) the same grid gives 77 % in nested 5-fold cross-validation."""

HEAD_CALIBRATION = Calibration(
    lm_weight=1.0, fast_weight=2.0, bias={"surprise": 1.5, "neutral": -0.5}
)
"""For the MiniLM head (``head.HeadDetector``), calibrated on the dev set (312 utterances, the
head's probabilities out of fold): 78.8 % in-sample, 77-78 % in nested 5-fold cross-validation
(LM alone 65 %, head alone 66 %); a plateau for fast weights 2-3 (78.2-78.8 %). A stacked
softmax regression on the twelve log-probabilities measured no better (77 %) and disagreed
with two detectors that agree, so it is not used."""

HEAD_DETECTOR_SUFFIX = "+minilm-head"


@cache
def head_pool() -> Pool:
    """The pool for the MiniLM head: the packaged ``StackedPool`` with the packaged
    ``SignModel`` (without it when that cannot be loaded), or ``HEAD_CALIBRATION`` when the pool
    cannot be loaded."""
    try:
        pool = StackedPool.load()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("affect: the stacked pool could not be loaded (%s); using the plain pool", exc)
        return HEAD_CALIBRATION
    try:
        return replace(pool, sign=SignModel.load())
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("affect: the sign model could not be loaded (%s); the label gives it", exc)
        return pool


def calibration_for(fast_name: str) -> Pool:
    """The combination calibrated for the fast detector named ``fast_name``."""
    return head_pool() if fast_name.endswith(HEAD_DETECTOR_SUFFIX) else DEFAULT_CALIBRATION


def combine(
    fast: TextAffect,
    lm: Mapping[EmotionLabel, float],
    calibration: Pool = DEFAULT_CALIBRATION,
    surprise_valence: float | None = None,
) -> TextAffect:
    """The refined estimate of one turn from the fast one and the LM's probabilities.
    ``surprise_valence``: how good (+) or bad (-) a surprise is, when known; otherwise a pool
    with a ``SignModel`` decides the sign first (see the module docstring), and without one the
    LM's own label distribution gives a surprise its sign (``lm_surprise_valence``)."""
    scores = calibration.scores(lm, fast)
    top = max(scores.values())
    weights = {e: math.exp(s - top) for e, s in scores.items()}
    total = sum(weights.values())
    probs = {e: w / total for e, w in weights.items()}
    sign_model = calibration.sign if isinstance(calibration, StackedPool) else None
    if surprise_valence is None and sign_model is not None:
        sign = agreed_sign(lm, fast)
        if sign is None:
            sign = sign_model.sign(lm, probs)
        probs = given_sign(probs, sign)
        surprise_valence = sign * SIGNED_SURPRISE
    label = max(EMOTIONS, key=lambda e: probs[e])
    hint = lm_surprise_valence(lm) if surprise_valence is None else surprise_valence
    valence = consistent_valence(label, probs, hint)
    arousal = sum(probs[e] * BASE_AROUSAL[e] for e in EMOTIONS)
    arousal = (1.0 - AROUSAL_FAST_SHARE) * arousal + AROUSAL_FAST_SHARE * fast.arousal
    return TextAffect.from_scores(probs, valence, arousal)


def lm_surprise_valence(lm: Mapping[EmotionLabel, float]) -> float:
    """How good (+) or bad (-) news a surprise is, read from the LM's probabilities for the four
    polar labels (joy against sadness, anger and fear, weighted by ``BASE_VALENCE``, over their
    mass): the LM that says "surprise" still leans to "joy" for good news and to "fear" or
    "sadness" for bad. On the dev set's surprises (gold sign + or -) the sign was right for 83 %
    (85 % on the 46 where both were measured, against 72 % for asking the LM "good or bad
    news?" and 36 % for the fast estimate's valence), and it costs no second LM pass."""
    polar = [e for e in EMOTIONS if e not in ("surprise", "neutral")]
    mass = sum(max(lm.get(e, 0.0), 0.0) for e in polar)
    if mass <= 0.0:
        return 0.0
    return sum(max(lm.get(e, 0.0), 0.0) * BASE_VALENCE[e] for e in polar) / mass


def consistent_valence(
    label: EmotionLabel, probs: Mapping[EmotionLabel, float], surprise_hint: float
) -> float:
    """A valence whose sign agrees with ``label`` (see the module docstring);
    ``surprise_hint`` gives a surprise its sign (|hint| < 0.1: no sign)."""
    fast_valence = surprise_hint
    surprise_valence = fast_valence if abs(fast_valence) >= 0.1 else BASE_VALENCE["surprise"]
    expected = sum(
        probs.get(e, 0.0) * (surprise_valence if e == "surprise" else BASE_VALENCE[e])
        for e in EMOTIONS
    )
    if label == "neutral":
        return clamp(expected, -NEUTRAL_VALENCE_LIMIT, NEUTRAL_VALENCE_LIMIT)
    if label == "joy":
        return clamp(expected, POLAR_VALENCE_MIN, 1.0)
    if label == "surprise":
        if abs(fast_valence) < 0.1:
            return clamp(expected, -NEUTRAL_VALENCE_LIMIT, NEUTRAL_VALENCE_LIMIT)
        sign = 1.0 if fast_valence > 0 else -1.0
        return sign * max(abs(expected), POLAR_VALENCE_MIN)
    return clamp(expected, -1.0, -POLAR_VALENCE_MIN)
