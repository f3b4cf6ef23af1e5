"""Audio levels for the presence element: rms and peak in 0..1, about 30 updates per second."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class Levels:
    rms: float
    """0..1, linear"""
    peak: float
    """0..1, linear"""


def block_levels(samples: npt.ArrayLike) -> Levels:
    """rms and peak of a block (NaN/inf count as silence, values clipped to 0..1)."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if x.size == 0:
        return Levels(0.0, 0.0)
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    peak = float(np.max(np.abs(x)))
    return Levels(min(1.0, rms), min(1.0, peak))


class LevelMeter:
    """Gathers blocks and yields one smoothed :class:`Levels` per ``1/rate_hz`` of audio.

    The rms rises at once and falls with ``release_s`` (so the presence element does not
    flicker); the peak is the window's maximum. Not thread-safe: feed it from one thread.
    """

    def __init__(self, rate_hz: float = 30.0, release_s: float = 0.15) -> None:
        if rate_hz <= 0:
            raise ValueError("rate_hz must be positive")
        self.rate_hz = rate_hz
        self.release_s = release_s
        self._sum_sq = 0.0
        self._count = 0
        self._peak = 0.0
        self._rms = 0.0
        self._clock = 0  # samples since the last update, minus whole windows (no drift)

    def feed(self, samples: npt.ArrayLike, sample_rate: int) -> Levels | None:
        """Add a block; returns the levels when a window is complete (at most one per call)."""
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if x.size:
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
            self._sum_sq += float(np.dot(x.astype(np.float64), x.astype(np.float64)))
            self._count += x.size
            self._peak = max(self._peak, float(np.max(np.abs(x))))
        window = max(1, int(sample_rate / self.rate_hz))
        self._clock += x.size
        if self._clock < window or self._count == 0:
            return None
        self._clock = min(self._clock - window, window)
        rms = math.sqrt(self._sum_sq / self._count)
        seconds = self._count / sample_rate
        decay = math.exp(-seconds / self.release_s) if self.release_s > 0 else 0.0
        self._rms = rms if rms >= self._rms else rms + (self._rms - rms) * decay
        result = Levels(min(1.0, self._rms), min(1.0, self._peak))
        self._sum_sq, self._count, self._peak = 0.0, 0, 0.0
        return result

    def reset(self) -> None:
        self._sum_sq, self._count, self._peak, self._rms = 0.0, 0, 0.0, 0.0
        self._clock = 0
