"""Mood over time: decay maths, session and baseline, the evening rule, drops, the timeline."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from her_desktop.affect.history import InMemoryMoodHistory, MoodHistory, MoodSample
from her_desktop.affect.tracker import (
    BASELINE_PRIOR_WEIGHT,
    CURRENT_HALF_LIFE_S,
    SESSION_GAP_S,
    DecayingMean,
    MoodTracker,
    timeline,
)

TZ = timezone(timedelta(hours=2))  # a fixed "local" zone: deterministic everywhere


def at(day: int, hour: int, minute: int = 0) -> float:
    """Epoch seconds of 2026-03-<day> hour:minute in TZ."""
    return datetime(2026, 3, day, hour, minute, tzinfo=TZ).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def tracker_at(now: float, history: MoodHistory | None = None) -> tuple[MoodTracker, Clock]:
    clock = Clock(now)
    return MoodTracker(history, clock=clock, tz=TZ), clock


def sample(ts: float, valence: float, arousal: float = 0.4, label: str = "neutral") -> MoodSample:
    return MoodSample(ts, valence, arousal, label)


def test_decaying_mean_halves_old_weight_each_half_life() -> None:
    mean = DecayingMean(half_life_s=100.0)
    mean.add(0.0, 1.0, 0.0)
    mean.add(100.0, -1.0, 1.0)  # old weight is 0.5 now: (0.5 * 1 - 1) / 1.5
    assert mean.valence == pytest.approx(-1.0 / 3.0)
    assert mean.arousal == pytest.approx(1.0 / 1.5)
    assert mean.weight == pytest.approx(1.5)
    assert mean.decayed_weight(200.0) == pytest.approx(0.75)


def test_same_instant_samples_count_alike() -> None:
    mean = DecayingMean(half_life_s=100.0)
    mean.add(5.0, 1.0, 0.0)
    mean.add(5.0, 0.0, 0.0)
    assert mean.valence == pytest.approx(0.5)


def test_current_mood_relaxes_towards_baseline_in_time_not_turns() -> None:
    start = at(2, 10)
    tracker, _ = tracker_at(start)
    tracker.add(sample(start, -0.9))
    now = tracker.state(start)
    assert now.valence == pytest.approx(-0.9)
    base = now.baseline_valence
    # prior of 3 neutral samples + one at -0.9, weights barely decayed over 14 days' half-life
    assert base == pytest.approx(-0.9 / (BASELINE_PRIOR_WEIGHT + 1), rel=1e-3)
    later = tracker.state(start + CURRENT_HALF_LIFE_S)
    assert later.valence == pytest.approx(base + (-0.9 - base) / 2)
    much_later = tracker.state(start + 20 * CURRENT_HALF_LIFE_S)
    assert much_later.valence == pytest.approx(base, abs=1e-4)


def test_session_mean_and_new_session_after_a_gap() -> None:
    t0 = at(3, 9)
    tracker, _ = tracker_at(t0)
    for i, v in enumerate([0.2, 0.4, 0.6]):
        tracker.add(sample(t0 + 60 * i, v))
    state = tracker.state(t0 + 180)
    assert state.session_samples == 3
    assert state.session_valence == pytest.approx(0.4)
    tracker.add(sample(t0 + 120 + SESSION_GAP_S + 1, -0.5))
    state = tracker.state(t0 + 120 + SESSION_GAP_S + 1)
    assert state.session_samples == 1
    assert state.session_valence == pytest.approx(-0.5)
    tracker.start_session()
    assert tracker.state().session_samples == 0


def test_out_of_range_and_nan_samples_are_clamped() -> None:
    t0 = at(3, 9)
    tracker, _ = tracker_at(t0)
    tracker.add(sample(t0, 7.0, arousal=-3.0))
    tracker.add(sample(t0, math.nan, arousal=math.inf))
    state = tracker.state(t0)
    assert -1.0 <= state.valence <= 1.0
    assert 0.0 <= state.arousal <= 1.0
    assert state.session_valence == pytest.approx(0.5)  # (1 + 0) / 2


def low_evening(tracker: MoodTracker, day: int, valence: float = -0.6) -> list[str]:
    kinds = []
    for minute in (0, 30):
        kinds += [c.kind for c in tracker.add(sample(at(day, 20, minute), valence))]
    return kinds


def test_three_low_evenings_in_a_row_raise_one_change() -> None:
    tracker, _ = tracker_at(at(10, 23))
    assert low_evening(tracker, 10) == []
    assert low_evening(tracker, 11) == []
    assert low_evening(tracker, 12) == ["low_evenings"]
    streak = tracker.low_evenings(at(12, 23))
    assert streak == [date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)]
    assert low_evening(tracker, 13) == []  # the same streak is not announced again


def test_a_gap_day_breaks_the_streak() -> None:
    tracker, _ = tracker_at(at(10, 23))
    low_evening(tracker, 10)
    low_evening(tracker, 11)
    assert low_evening(tracker, 13) == []  # the 12th had no evening at all
    assert low_evening(tracker, 14) == []
    assert low_evening(tracker, 15) == ["low_evenings"]


def test_daytime_lows_and_single_samples_do_not_count_as_evenings() -> None:
    tracker, _ = tracker_at(at(10, 12))
    for day in (10, 11, 12):
        for hour in (9, 13, 17):  # 17:59 at the latest: not evening
            assert tracker.add(sample(at(day, hour, 59), -0.9)) == []
        assert tracker.add(sample(at(day, 21), -0.9)) == []  # only one evening sample
    assert tracker.low_evenings(at(12, 23)) == []


def test_evening_is_local_time() -> None:
    # 17:30 UTC is 19:30 in TZ: an evening there, but not in UTC
    utc = MoodTracker(clock=lambda: 0.0, tz=UTC)
    local = MoodTracker(clock=lambda: 0.0, tz=TZ)
    changes: dict[str, list[str]] = {"utc": [], "local": []}
    for day in (10, 11, 12):
        for minute in (30, 40):
            ts = datetime(2026, 3, day, 17, minute, tzinfo=UTC).timestamp()
            changes["utc"] += [c.kind for c in utc.add(sample(ts, -0.8))]
            changes["local"] += [c.kind for c in local.add(sample(ts, -0.8))]
    assert changes == {"utc": [], "local": ["low_evenings"]}


def test_mild_evenings_are_not_low() -> None:
    tracker, _ = tracker_at(at(10, 23))
    for day in (10, 11, 12):
        assert low_evening(tracker, day, valence=-0.1) == []


def test_sharp_drop_needs_a_baseline_and_fires_once_per_session() -> None:
    tracker, _ = tracker_at(at(1, 9))
    for day in range(1, 8):  # a week of fine mornings: the baseline
        for minute in (0, 10):
            assert tracker.add(sample(at(day, 9, minute), 0.5)) == []
    kinds = [c.kind for m in range(0, 50, 10) for c in tracker.add(sample(at(8, 10, m), -0.7))]
    assert kinds == ["sharp_drop"]
    tracker.start_session()
    kinds = [c.kind for m in range(0, 30, 10) for c in tracker.add(sample(at(8, 15, m), -0.7))]
    assert kinds == ["sharp_drop"]


def test_no_sharp_drop_without_enough_history() -> None:
    tracker, _ = tracker_at(at(1, 9))
    kinds = [c.kind for m in range(5) for c in tracker.add(sample(at(1, 9, m), -0.9))]
    assert kinds == []


def test_restore_rebuilds_state_without_announcing_old_news() -> None:
    history = InMemoryMoodHistory()
    first, _ = tracker_at(at(12, 23), history)
    for day in (10, 11, 12):
        low_evening(first, day)
    restored = MoodTracker.restore(history, clock=Clock(at(12, 23)), tz=TZ)
    assert restored.state(at(12, 23)) == first.state(at(12, 23))
    assert low_evening(restored, 12) == []  # that streak was already said
    assert len(history) == 8


def test_history_protocol_and_ordering() -> None:
    history = InMemoryMoodHistory()
    assert isinstance(history, MoodHistory)
    for ts in (5.0, 1.0, 3.0):
        history.add(sample(ts, 0.0))
    assert [s.ts for s in history.samples(2.0)] == [3.0, 5.0]
    assert [s.ts for s in history.samples(0.0)] == [1.0, 3.0, 5.0]


def test_timeline_groups_by_local_day() -> None:
    samples = [
        MoodSample(at(10, 9), 0.4, 0.5, "joy"),
        MoodSample(at(10, 20), -0.2, 0.3, "sadness"),
        MoodSample(at(10, 21), -0.4, 0.3, "sadness"),
        MoodSample(at(12, 8), 0.0, 0.2, "neutral"),
    ]
    points = timeline(samples, tz=TZ)
    assert [p.day for p in points] == [date(2026, 3, 10), date(2026, 3, 12)]
    assert points[0].samples == 3
    assert points[0].valence == pytest.approx(-0.2 / 3)
    assert points[0].evening_valence == pytest.approx(-0.3)
    assert points[0].label == "sadness"
    assert points[1].evening_valence is None


def test_history_for_timeline_limits_days() -> None:
    tracker, _ = tracker_at(at(20, 12))
    for day in (1, 15, 19, 20):
        tracker.add(sample(at(day, 10), 0.1))
    days = [p.day.day for p in tracker.history_for_timeline(7, now=at(20, 12))]
    assert days == [15, 19, 20]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 30 * 86400),
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
        max_size=40,
    )
)
def test_state_is_always_clamped_and_deterministic(rows: list[tuple[float, float, float]]) -> None:
    base = at(1, 0)
    runs = []
    for _ in range(2):
        tracker, _ = tracker_at(base + 31 * 86400)
        for offset, v, a in sorted(rows):
            tracker.add(sample(base + offset, v, a))
        runs.append(tracker.state())
    assert runs[0] == runs[1]
    s = runs[0]
    for v in (s.valence, s.session_valence, s.baseline_valence):
        assert -1.0 <= v <= 1.0
    for a in (s.arousal, s.session_arousal, s.baseline_arousal):
        assert 0.0 <= a <= 1.0
