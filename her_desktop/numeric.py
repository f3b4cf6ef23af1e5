"""Small numeric guards shared by stages that must never pass NaN or infinity on (mood, pace)."""

from __future__ import annotations

import math

__all__ = ["clamp", "finite_clamp"]


def finite_clamp(value: float, low: float, high: float, default: float) -> float:
    """``value`` limited to ``low..high``; NaN or ±inf becomes ``default``."""
    if not math.isfinite(value):
        return default
    return min(max(value, low), high)


def clamp(value: float, low: float, high: float) -> float:
    """``value`` limited to ``low..high``; NaN becomes the midpoint (never propagate NaN)."""
    if math.isnan(value):
        return (low + high) / 2.0
    return min(max(value, low), high)
