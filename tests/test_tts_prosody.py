"""Her pace: settings speed × persona rate × the user's mood, always within bounds."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from her_desktop.events import MoodUpdate
from her_desktop.persona import load_persona
from her_desktop.tts.prosody import mood_factor, speaking_speed


def mood(valence: float, arousal: float) -> MoodUpdate:
    return MoodUpdate(
        valence=valence,
        arousal=arousal,
        session_valence=valence,
        baseline_valence=0.0,
        baseline_arousal=0.3,
    )


def test_neutral_mood_keeps_the_pace() -> None:
    assert speaking_speed(1.0, 1.0, mood(0.0, 0.3)) == 1.0
    assert speaking_speed(1.3, 1.0, None) == 1.3


def test_default_persona_rate_is_neutral() -> None:
    assert speaking_speed(1.0, load_persona("samantha").speaking_rate) == 1.0


def test_sad_or_upset_users_get_a_slower_calmer_voice() -> None:
    sad = speaking_speed(1.0, 1.0, mood(-0.75, 0.25))
    angry = speaking_speed(1.0, 1.0, mood(-0.75, 0.85))
    assert 0.9 <= sad < 0.97
    assert 0.9 <= angry < 0.97  # agitation is met with calm, not speed


def test_excited_happy_users_get_a_slightly_faster_voice() -> None:
    excited = speaking_speed(1.0, 1.0, mood(0.8, 0.9))
    calm_happy = speaking_speed(1.0, 1.0, mood(0.8, 0.3))
    assert 1.05 < excited <= 1.1
    assert calm_happy == 1.0


def test_the_persona_rate_is_kept_within_the_band_around_the_setting() -> None:
    assert speaking_speed(1.0, 0.5) == pytest.approx(0.8)
    assert speaking_speed(1.0, 2.0) == pytest.approx(1.2)
    assert speaking_speed(2.0, 1.5, mood(1.0, 1.0)) == 2.0  # the engines' limit


@given(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
)
def test_always_finite_and_within_bounds(s: float, rate: float, v: float, a: float) -> None:
    speed = speaking_speed(s, rate, mood(v, a))
    base = min(max(s, 0.5), 2.0) if math.isfinite(s) else 1.0
    assert math.isfinite(speed)
    assert max(0.5, 0.8 * base) - 1e-9 <= speed <= min(2.0, 1.2 * base) + 1e-9
    assert 0.85 <= mood_factor(v, a) <= 1.15
