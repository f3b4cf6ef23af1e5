"""The mood over time: smoothed now, this session, and the long-term baseline; notable changes.

Everything is a function of the samples' timestamps (wall-clock seconds since the epoch) and an
injected clock and time zone, so it is deterministic in tests and can be rebuilt from the
stored samples (``MoodTracker.restore``).

Policy:

* **Now** is an exponentially time-weighted mean of the samples (half-life
  ``CURRENT_HALF_LIFE_S``, 20 minutes): every sample has weight 1 when it arrives and its weight
  halves every half-life, so two turns a second apart count alike and a turn from yesterday
  hardly counts. Read later without new samples, it relaxes towards the baseline with the same
  half-life.
* **Session** is the plain mean of this session's samples; a new session starts after
  ``SESSION_GAP_S`` (30 minutes) without a turn, or when the app says so.
* **Baseline** is the same time-weighted mean with a half-life of ``BASELINE_HALF_LIFE_S``
  (14 days), starting from a neutral prior worth ``BASELINE_PRIOR_WEIGHT`` samples so the first
  turns do not define what "usual" is.
* **Low evenings** (``MoodChange.kind == "low_evenings"``): an evening is 18:00–24:00 local time;
  it is low when it has at least ``MIN_EVENING_SAMPLES`` samples and their mean valence is below
  ``LOW_EVENING_VALENCE``. Three consecutive low evenings (calendar days) raise the change once
  per streak, on the sample that completes the third.
* **Sharp drop** (``kind == "sharp_drop"``): once the baseline rests on at least
  ``MIN_BASELINE_SAMPLES`` samples and this session has ``MIN_SESSION_SAMPLES``, a session mean
  more than ``DROP_BELOW_BASELINE`` below the baseline valence raises the change once per
  session.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Final

from her_desktop.affect.history import (
    InMemoryMoodHistory,
    MoodHistory,
    MoodSample,
    RevisableMoodHistory,
)
from her_desktop.events import MoodChange, MoodUpdate
from her_desktop.numeric import finite_clamp

CURRENT_HALF_LIFE_S: Final = 20 * 60.0
BASELINE_HALF_LIFE_S: Final = 14 * 86400.0
BASELINE_PRIOR_WEIGHT: Final = 3.0
NEUTRAL_VALENCE: Final = 0.0
NEUTRAL_AROUSAL: Final = 0.35
SESSION_GAP_S: Final = 30 * 60.0
EVENING_START_HOUR: Final = 18
LOW_EVENING_VALENCE: Final = -0.25
MIN_EVENING_SAMPLES: Final = 2
LOW_EVENINGS_IN_A_ROW: Final = 3
MIN_BASELINE_SAMPLES: Final = 10
MIN_SESSION_SAMPLES: Final = 3
DROP_BELOW_BASELINE: Final = 0.5
RESTORE_DAYS: Final = 60
STREAK_LOOKBACK_DAYS: Final = 14

Clock = Callable[[], float]


@dataclass(slots=True)
class DecayingMean:
    """An exponentially time-weighted mean of (valence, arousal) with a given half-life."""

    half_life_s: float
    valence: float = 0.0
    arousal: float = 0.0
    weight: float = 0.0
    ts: float | None = None

    def decayed_weight(self, now: float) -> float:
        if self.ts is None:
            return self.weight
        dt = max(now - self.ts, 0.0)
        return self.weight * math.exp(-math.log(2.0) * dt / self.half_life_s)

    def add(self, ts: float, valence: float, arousal: float, weight: float = 1.0) -> None:
        old = self.decayed_weight(ts)
        total = old + weight
        if total <= 0.0:
            return
        self.valence = (self.valence * old + valence * weight) / total
        self.arousal = (self.arousal * old + arousal * weight) / total
        self.weight = total
        self.ts = ts if self.ts is None else max(self.ts, ts)

    def revise(self, ts: float, d_valence: float, d_arousal: float) -> None:
        """Change a sample added at ``ts`` (weight 1 then) by ``d_valence`` / ``d_arousal``."""
        if self.ts is None or self.weight <= 0.0:
            return
        share = math.exp(-math.log(2.0) * max(self.ts - ts, 0.0) / self.half_life_s) / self.weight
        self.valence += d_valence * share
        self.arousal += d_arousal * share


@dataclass(frozen=True, slots=True)
class MoodState:
    valence: float
    arousal: float
    session_valence: float
    session_arousal: float
    session_samples: int
    baseline_valence: float
    baseline_arousal: float
    baseline_samples: int

    def as_event(self) -> MoodUpdate:
        return MoodUpdate(
            valence=self.valence,
            arousal=self.arousal,
            session_valence=self.session_valence,
            baseline_valence=self.baseline_valence,
            baseline_arousal=self.baseline_arousal,
        )


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """One local calendar day of the mood timeline (for the GUI)."""

    day: date
    valence: float
    arousal: float
    samples: int
    label: str
    """the most frequent label that day"""
    evening_valence: float | None
    """mean valence 18:00–24:00, None when there was no evening sample"""


class MoodTracker:
    """Smoothed mood, session and baseline; notable changes as ``MoodChange`` events."""

    def __init__(
        self,
        history: MoodHistory | None = None,
        *,
        clock: Clock = time.time,
        tz: tzinfo | None = None,
    ) -> None:
        self.history: MoodHistory = history if history is not None else InMemoryMoodHistory()
        self.clock = clock
        self.tz = tz
        self._current = DecayingMean(CURRENT_HALF_LIFE_S)
        self._baseline = DecayingMean(
            BASELINE_HALF_LIFE_S, NEUTRAL_VALENCE, NEUTRAL_AROUSAL, BASELINE_PRIOR_WEIGHT
        )
        self._baseline_samples = 0
        self._session: list[MoodSample] = []
        self._last_ts: float | None = None
        self._drop_announced = False
        self._streaks_announced: set[date] = set()

    # -- feeding --------------------------------------------------------------------------

    @classmethod
    def restore(
        cls, history: MoodHistory, *, clock: Clock = time.time, tz: tzinfo | None = None
    ) -> MoodTracker:
        """A tracker rebuilt from the last ``RESTORE_DAYS`` of ``history`` (no events raised
        for what was already in it; a streak that is already complete is not raised again)."""
        tracker = cls(history, clock=clock, tz=tz)
        for sample in history.samples(clock() - RESTORE_DAYS * 86400.0):
            tracker._absorb(sample)
        # what the store already shows was already said
        streak = tracker.low_evenings()
        if len(streak) >= LOW_EVENINGS_IN_A_ROW:
            tracker._streaks_announced.add(streak[0])
        tracker._drop_announced = True
        return tracker

    def start_session(self) -> None:
        """Start a new session now (the app calls it when a conversation starts)."""
        self._session = []
        self._drop_announced = False

    def add(self, sample: MoodSample) -> list[MoodChange]:
        """Record one turn's affect; return the notable changes it completes."""
        self.history.add(sample)
        self._absorb(sample)
        return self._check_changes(sample)

    def revise(self, old: MoodSample, new: MoodSample) -> list[MoodChange]:
        """Replace the recorded sample ``old`` by ``new`` (same ``ts``; a better estimate of
        that turn arrived): in the history, when it can revise (the mood timeline follows),
        and in the smoothed means, exactly as if ``new`` had been added instead. Returns the
        notable changes the revised sample completes (each is raised once, as ever)."""
        if new.ts != old.ts:
            raise ValueError("a revised sample keeps its time")
        if isinstance(self.history, RevisableMoodHistory):
            self.history.revise(new)
        dv = finite_clamp(new.valence, -1.0, 1.0, 0.0) - finite_clamp(old.valence, -1.0, 1.0, 0.0)
        da = finite_clamp(new.arousal, 0.0, 1.0, NEUTRAL_AROUSAL) - finite_clamp(
            old.arousal, 0.0, 1.0, NEUTRAL_AROUSAL
        )
        for mean in (self._current, self._baseline):
            mean.revise(old.ts, dv, da)
        self._session = [new if s == old else s for s in self._session]
        return self._check_changes(new)

    def _absorb(self, sample: MoodSample) -> None:
        if self._last_ts is not None and sample.ts - self._last_ts > SESSION_GAP_S:
            self.start_session()
        self._last_ts = sample.ts if self._last_ts is None else max(self._last_ts, sample.ts)
        valence = finite_clamp(sample.valence, -1.0, 1.0, 0.0)
        arousal = finite_clamp(sample.arousal, 0.0, 1.0, NEUTRAL_AROUSAL)
        self._current.add(sample.ts, valence, arousal)
        self._baseline.add(sample.ts, valence, arousal)
        self._baseline_samples += 1
        self._session.append(sample)

    # -- reading --------------------------------------------------------------------------

    def state_after(self, sample: MoodSample) -> MoodState:
        """The mood as ``add(sample)`` would leave it, at the sample's time, with nothing
        added, stored or announced (a turn's notes told before the turn ends)."""
        twin = copy.copy(self)  # the means and the session copied; the history only read
        twin._current = dataclasses.replace(self._current)
        twin._baseline = dataclasses.replace(self._baseline)
        twin._session = list(self._session)
        twin._absorb(sample)
        return twin.state(sample.ts)

    def state(self, now: float | None = None) -> MoodState:
        """The mood at ``now`` (default: the clock)."""
        now = self.clock() if now is None else now
        base_v, base_a = self._baseline.valence, self._baseline.arousal
        if self._current.ts is None:
            valence, arousal = base_v, base_a
        else:
            keep = math.exp(-math.log(2.0) * max(now - self._current.ts, 0.0) / CURRENT_HALF_LIFE_S)
            valence = base_v + (self._current.valence - base_v) * keep
            arousal = base_a + (self._current.arousal - base_a) * keep
        session_v = (
            _mean(finite_clamp(s.valence, -1.0, 1.0, 0.0) for s in self._session)
            if self._session
            else valence
        )
        session_a = (
            _mean(finite_clamp(s.arousal, 0.0, 1.0, NEUTRAL_AROUSAL) for s in self._session)
            if self._session
            else arousal
        )
        return MoodState(
            valence=valence,
            arousal=arousal,
            session_valence=session_v,
            session_arousal=session_a,
            session_samples=len(self._session),
            baseline_valence=base_v,
            baseline_arousal=base_a,
            baseline_samples=self._baseline_samples,
        )

    def low_evenings(self, until: float | None = None) -> list[date]:
        """The low evenings of the current streak ending on the day of ``until`` or the day
        before (most recent last; at most ``STREAK_LOOKBACK_DAYS``); empty when there is none."""
        until = self.clock() if until is None else until
        today = self._local(until).date()
        days = self._evening_means(today - timedelta(days=STREAK_LOOKBACK_DAYS - 1), until)
        streak: list[date] = []
        day = today if today in days else today - timedelta(days=1)
        while day in days and days[day] < LOW_EVENING_VALENCE:
            streak.append(day)
            day -= timedelta(days=1)
        return list(reversed(streak))

    def history_for_timeline(self, days: int, now: float | None = None) -> list[TimelinePoint]:
        """One point per local day with samples, over the last ``days`` days (oldest first)."""
        now = self.clock() if now is None else now
        start = self._local(now).date() - timedelta(days=max(days, 1) - 1)
        since = datetime.combine(start, datetime.min.time(), tzinfo=self.tz).timestamp()
        return timeline(self.history.samples(since), tz=self.tz)

    # -- changes --------------------------------------------------------------------------

    def _check_changes(self, sample: MoodSample) -> list[MoodChange]:
        changes: list[MoodChange] = []
        local = self._local(sample.ts)
        if local.hour >= EVENING_START_HOUR:
            streak = self.low_evenings(sample.ts)
            if len(streak) >= LOW_EVENINGS_IN_A_ROW and streak[-1] == local.date():
                first = streak[0]
                if first not in self._streaks_announced:
                    self._streaks_announced.add(first)
                    changes.append(
                        MoodChange(
                            kind="low_evenings",
                            message=f"The user has sounded low {len(streak)} evenings in a row.",
                        )
                    )
        state = self.state(sample.ts)
        if (
            not self._drop_announced
            and state.baseline_samples >= MIN_BASELINE_SAMPLES
            and state.session_samples >= MIN_SESSION_SAMPLES
            and state.session_valence < state.baseline_valence - DROP_BELOW_BASELINE
        ):
            self._drop_announced = True
            changes.append(
                MoodChange(
                    kind="sharp_drop",
                    message="The user sounds much lower this session than they usually do.",
                )
            )
        return changes

    def _evening_means(self, first_day: date, until: float) -> dict[date, float]:
        since = datetime.combine(first_day, datetime.min.time(), tzinfo=self.tz).timestamp()
        buckets: dict[date, list[float]] = {}
        for s in self.history.samples(since):
            if s.ts > until:
                break
            local = self._local(s.ts)
            if local.hour >= EVENING_START_HOUR:
                buckets.setdefault(local.date(), []).append(finite_clamp(s.valence, -1.0, 1.0, 0.0))
        return {d: _mean(v) for d, v in buckets.items() if len(v) >= MIN_EVENING_SAMPLES}

    def _local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, self.tz) if self.tz else datetime.fromtimestamp(ts)


def timeline(samples: Iterable[MoodSample], *, tz: tzinfo | None = None) -> list[TimelinePoint]:
    """Daily points (local days) from ``samples``: the mood history as data for the GUI."""
    days: dict[date, list[tuple[datetime, MoodSample]]] = {}
    for s in samples:
        local = datetime.fromtimestamp(s.ts, tz) if tz else datetime.fromtimestamp(s.ts)
        days.setdefault(local.date(), []).append((local, s))
    points = []
    for day in sorted(days):
        group = [s for _, s in days[day]]
        valences = [finite_clamp(s.valence, -1.0, 1.0, 0.0) for s in group]
        evening = [
            finite_clamp(s.valence, -1.0, 1.0, 0.0)
            for local, s in days[day]
            if local.hour >= EVENING_START_HOUR
        ]
        labels = [s.label for s in group]
        points.append(
            TimelinePoint(
                day=day,
                valence=_mean(valences),
                arousal=_mean(finite_clamp(s.arousal, 0.0, 1.0, NEUTRAL_AROUSAL) for s in group),
                samples=len(group),
                label=max(sorted(set(labels)), key=labels.count),
                evening_valence=_mean(evening) if evening else None,
            )
        )
    return points


def _mean(values: Iterable[float]) -> float:
    data = list(values)
    return sum(data) / len(data) if data else 0.0
