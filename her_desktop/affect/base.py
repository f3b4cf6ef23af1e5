"""The one small interface every emotion detector implements, and the result it returns.

A detector turns one user turn's text into a ``TextAffect``: a probability for each of the six
emotions (they sum to 1), the most likely label, a continuous valence (-1 very negative .. 1
very positive) and arousal (0 calm .. 1 agitated), and a confidence (0..1). Detectors never
raise on odd input (empty text, any unicode, megabytes): they clamp what they return and look at
no more than ``MAX_CHARS`` characters of a turn, so the cost of a turn is bounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from her_desktop.events import EmotionLabel
from her_desktop.numeric import clamp

EMOTIONS: tuple[EmotionLabel, ...] = ("joy", "sadness", "anger", "fear", "surprise", "neutral")

MAX_CHARS = 2000
"""A turn is judged by its first ``MAX_CHARS`` characters (a long paste says no more about how
the user feels right now, and the text path must stay well under 50 ms)."""

BASE_AROUSAL: Mapping[EmotionLabel, float] = {
    "joy": 0.6,
    "sadness": 0.25,
    "anger": 0.85,
    "fear": 0.8,
    "surprise": 0.75,
    "neutral": 0.3,
}
"""Typical arousal of each emotion (circumplex model): the expected arousal of a turn is the
probability-weighted mean of these, before cues such as '!' or intensifiers."""

BASE_VALENCE: Mapping[EmotionLabel, float] = {
    "joy": 0.8,
    "sadness": -0.75,
    "anger": -0.75,
    "fear": -0.65,
    "surprise": 0.05,
    "neutral": 0.0,
}
"""Typical valence of each emotion."""


@dataclass(frozen=True, slots=True)
class TextAffect:
    """How one turn seems to feel. Build it with ``TextAffect.from_scores`` to get it clamped."""

    label: EmotionLabel
    valence: float
    arousal: float
    confidence: float
    probs: tuple[tuple[EmotionLabel, float], ...]

    @staticmethod
    def from_scores(
        scores: Mapping[EmotionLabel, float], valence: float, arousal: float
    ) -> TextAffect:
        """Normalize non-negative ``scores`` to probabilities (all neutral when there is no
        evidence), pick the label, clamp valence/arousal, and take the top probability as the
        confidence."""
        raw = {e: clamp(float(scores.get(e, 0.0)), 0.0, 1e9) for e in EMOTIONS}
        total = sum(raw.values())
        if total <= 0.0:
            raw = {e: 1.0 if e == "neutral" else 0.0 for e in EMOTIONS}
            total = 1.0
        probs = tuple((e, raw[e] / total) for e in EMOTIONS)
        label, top = max(probs, key=lambda item: item[1])
        return TextAffect(
            label=label,
            valence=clamp(valence, -1.0, 1.0),
            arousal=clamp(arousal, 0.0, 1.0),
            confidence=clamp(top, 0.0, 1.0),
            probs=probs,
        )

    def prob(self, emotion: EmotionLabel) -> float:
        return dict(self.probs)[emotion]


@runtime_checkable
class EmotionDetector(Protocol):
    """Estimates the emotion of one turn's text. Must be fast (the text path runs before every
    reply) and must never raise."""

    name: str

    def detect(self, text: str) -> TextAffect: ...


def as_label(value: str) -> EmotionLabel:
    """``value`` as an emotion label (``neutral`` for anything unknown)."""
    for emotion in EMOTIONS:
        if emotion == value:
            return emotion
    return "neutral"
