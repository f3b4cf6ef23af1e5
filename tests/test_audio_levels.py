"""rms/peak of a block, and the ~30 Hz smoothed meter."""

from __future__ import annotations

import numpy as np
import pytest

from her_desktop.audio.levels import LevelMeter, block_levels


def test_block_levels_of_a_sine_and_of_garbage() -> None:
    sine = np.sin(2 * np.pi * 100 * np.arange(16000) / 16000).astype(np.float32)
    levels = block_levels(sine)
    assert levels.rms == pytest.approx(1 / np.sqrt(2), abs=1e-3)
    assert levels.peak == pytest.approx(1.0, abs=1e-3)
    assert block_levels(np.array([])).rms == 0.0
    assert block_levels(np.array([np.nan, np.inf, 5.0])).peak == 1.0


def test_meter_yields_about_30_per_second_from_any_block_size() -> None:
    meter = LevelMeter(rate_hz=30)
    out = []
    block = np.full(512, 0.5, dtype=np.float32)
    for _ in range(int(48000 / 512)):  # ~1 s at 48 kHz in 512-sample blocks
        levels = meter.feed(block, 48000)
        if levels is not None:
            out.append(levels)
    assert 28 <= len(out) <= 31
    assert out[-1].rms == pytest.approx(0.5)
    assert out[-1].peak == pytest.approx(0.5)


def test_meter_rises_at_once_and_falls_smoothly() -> None:
    meter = LevelMeter(rate_hz=30, release_s=0.1)
    loud = meter.feed(np.full(1600, 0.8, dtype=np.float32), 48000)
    assert loud is not None
    assert loud.rms == pytest.approx(0.8)
    quiet = meter.feed(np.zeros(1600, dtype=np.float32), 48000)
    assert quiet is not None
    assert 0.0 < quiet.rms < 0.8
    assert quiet.peak == 0.0
    meter.reset()
    again = meter.feed(np.zeros(1600, dtype=np.float32), 48000)
    assert again is not None
    assert again.rms == 0.0
