"""Mood samples and where they are kept.

The tracker's whole state can be rebuilt from its samples, so persistence is just a list of
``MoodSample`` records behind the tiny ``MoodHistory`` protocol. ``InMemoryMoodHistory`` is for
tests and for running without a store; the app wires the memory store's ``mood_samples`` table
(columns ``ts REAL, valence REAL, arousal REAL, label TEXT, turn_id INTEGER``) behind the same
protocol. A history that also implements ``RevisableMoodHistory.revise`` lets a turn's sample be
replaced when a better estimate of it arrives (the LM's, after the reply).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class MoodSample:
    """One turn's affect at wall-clock time ``ts`` (seconds since the epoch)."""

    ts: float
    valence: float
    arousal: float
    label: str
    turn_id: int | None = None


@runtime_checkable
class MoodHistory(Protocol):
    def add(self, sample: MoodSample) -> None:
        """Keep ``sample`` (durably, for a store)."""

    def samples(self, since: float) -> list[MoodSample]:
        """Samples with ``ts >= since``, oldest first."""


@runtime_checkable
class RevisableMoodHistory(MoodHistory, Protocol):
    def revise(self, sample: MoodSample) -> bool:
        """Replace the kept sample with the same ``ts`` and ``turn_id`` by ``sample`` (a better
        estimate of that turn arrived). False when there is none."""


class InMemoryMoodHistory:
    """A ``MoodHistory`` in a sorted list (lost when the process ends)."""

    def __init__(self, samples: list[MoodSample] | None = None) -> None:
        self._samples = sorted(samples or [], key=lambda s: s.ts)

    def add(self, sample: MoodSample) -> None:
        bisect.insort_right(self._samples, sample, key=_ts)

    def samples(self, since: float) -> list[MoodSample]:
        return self._samples[bisect.bisect_left(self._samples, since, key=_ts) :]

    def revise(self, sample: MoodSample) -> bool:
        start = bisect.bisect_left(self._samples, sample.ts, key=_ts)
        for i in range(start, len(self._samples)):
            kept = self._samples[i]
            if kept.ts != sample.ts:
                break
            if kept.turn_id == sample.turn_id:
                self._samples[i] = sample
                return True
        return False

    def __len__(self) -> int:
        return len(self._samples)


def _ts(sample: MoodSample) -> float:
    return sample.ts
