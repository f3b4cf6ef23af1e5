"""Mood samples and where they are kept.

The tracker's whole state can be rebuilt from its samples, so persistence is just a list of
``MoodSample`` records behind the tiny ``MoodHistory`` protocol. ``InMemoryMoodHistory`` is for
tests and for running without a store; the app wires the memory store's ``mood_samples`` table
(columns ``ts REAL, valence REAL, arousal REAL, label TEXT, turn_id INTEGER``) behind the same
protocol.
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


class InMemoryMoodHistory:
    """A ``MoodHistory`` in a sorted list (lost when the process ends)."""

    def __init__(self, samples: list[MoodSample] | None = None) -> None:
        self._samples = sorted(samples or [], key=lambda s: s.ts)

    def add(self, sample: MoodSample) -> None:
        bisect.insort_right(self._samples, sample, key=_ts)

    def samples(self, since: float) -> list[MoodSample]:
        return self._samples[bisect.bisect_left(self._samples, since, key=_ts) :]

    def __len__(self) -> int:
        return len(self._samples)


def _ts(sample: MoodSample) -> float:
    return sample.ts
