"""How fast she speaks: the user's setting, the persona's pace, and the user's mood.

A pure function. The mood (``MoodUpdate.valence`` -1..1 and ``arousal`` 0..1) nudges the pace:
she matches a happy, excited user's energy a little (up to about 8% faster) and slows down
for a low or upset user (up to about 10% slower: sad, angry or anxious users get a calmer
voice, not a faster one). The result always stays within ``[0.8, 1.2] × settings speed`` and
the engines' 0.5..2.0 range; NaN or missing mood means no adjustment.
"""

from __future__ import annotations

from her_desktop.affect.base import BASE_AROUSAL
from her_desktop.events import MoodUpdate
from her_desktop.numeric import finite_clamp
from her_desktop.tts.base import MAX_SPEED, MIN_SPEED

__all__ = ["MAX_FACTOR", "MIN_FACTOR", "NEUTRAL_AROUSAL", "mood_factor", "speaking_speed"]

NEUTRAL_AROUSAL = BASE_AROUSAL["neutral"]
"""Arousal of a calm, neutral turn."""
MIN_FACTOR = 0.8
MAX_FACTOR = 1.2
_MATCH_ENERGY = 0.15
_SLOW_FOR_LOW_MOOD = 0.08
_SLOW_FOR_AGITATION = 0.04


def mood_factor(valence: float, arousal: float) -> float:
    """The pace multiplier for a mood: >1 faster, <1 slower (about 0.90..1.08)."""
    v = finite_clamp(valence, -1.0, 1.0, 0.0)
    energy = finite_clamp(arousal, 0.0, 1.0, NEUTRAL_AROUSAL) - NEUTRAL_AROUSAL
    if v >= 0.0:
        return 1.0 + _MATCH_ENERGY * energy * (0.5 + 0.5 * v)
    return 1.0 - _SLOW_FOR_LOW_MOOD * -v - _SLOW_FOR_AGITATION * max(energy, 0.0)


def speaking_speed(
    settings_speed: float, persona_rate: float = 1.0, mood: MoodUpdate | None = None
) -> float:
    """The ``speed`` to pass to ``TTSEngine.synthesize`` for the next reply."""
    base = finite_clamp(settings_speed, MIN_SPEED, MAX_SPEED, 1.0)
    rate = finite_clamp(persona_rate, MIN_SPEED, MAX_SPEED, 1.0)
    factor = mood_factor(mood.valence, mood.arousal) if mood is not None else 1.0
    speed = base * rate * factor
    speed = min(max(speed, MIN_FACTOR * base), MAX_FACTOR * base)
    return min(max(speed, MIN_SPEED), MAX_SPEED)
