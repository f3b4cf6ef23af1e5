"""Sample-rate conversion: properties (hypothesis), frequency kept, aliasing removed, clean-up."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from her_desktop.audio.resample import StreamResampler, clean, resample

RATES = [8000, 11025, 16000, 22050, 24000, 44100, 48000]


def _tone(freq: float, rate: int, seconds: float = 0.5) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate)).astype(
        np.float32
    )


def _dominant_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


@settings(max_examples=40, deadline=None)
@given(
    samples=st.lists(
        st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=0, max_size=700
    ),
    in_rate=st.sampled_from(RATES),
    out_rate=st.sampled_from(RATES),
)
def test_length_finite_and_bounded(samples: list[float], in_rate: int, out_rate: int) -> None:
    out = resample(np.array(samples, dtype=np.float32), in_rate, out_rate)
    assert out.dtype == np.float32
    assert len(out) == -(-len(samples) * out_rate // in_rate)
    assert np.isfinite(out).all()
    assert np.abs(out).max(initial=0.0) <= 1.0


@pytest.mark.parametrize("in_rate", RATES)
@pytest.mark.parametrize("out_rate", [16000, 48000])
def test_a_1khz_tone_keeps_its_frequency_and_shape(in_rate: int, out_rate: int) -> None:
    out = resample(_tone(1000, in_rate), in_rate, out_rate)
    assert _dominant_hz(out, out_rate) == pytest.approx(1000, abs=2)
    ideal = _tone(1000, out_rate)[: len(out)]
    middle = slice(len(out) // 10, -len(out) // 10)  # away from the edges
    assert np.max(np.abs(out[middle] - ideal[middle])) < 1e-3  # delay compensated


@pytest.mark.parametrize(
    ("freq", "in_rate"), [(12000, 48000), (9000, 44100), (9000, 48000), (20000, 44100)]
)
def test_frequencies_above_the_new_nyquist_are_removed(freq: int, in_rate: int) -> None:
    out = resample(_tone(freq, in_rate), in_rate, 16000)
    rms = float(np.sqrt(np.mean(out[400:-400] ** 2)))
    assert rms < 0.01  # an alias would be ~0.35


@settings(max_examples=25, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=8),
    in_rate=st.sampled_from([8000, 44100, 48000]),
)
def test_streaming_in_any_blocks_equals_one_shot(cuts: list[int], in_rate: int) -> None:
    x = np.random.default_rng(1).uniform(-0.5, 0.5, 2000).astype(np.float32)
    edges = [0, *sorted(cuts), len(x)]
    stream = StreamResampler(in_rate, 16000)
    parts = [stream.process(x[a:b]) for a, b in itertools.pairwise(edges)]
    parts.append(stream.flush())
    assert np.allclose(np.concatenate(parts), resample(x, in_rate, 16000), atol=1e-6)


def test_clean_replaces_nan_inf_and_clips() -> None:
    x = np.array([np.nan, np.inf, -np.inf, 2.0, -3.0, 0.5], dtype=np.float64)
    assert clean(x).tolist() == [0.0, 0.0, 0.0, 1.0, -1.0, 0.5]
    assert resample(x, 16000, 16000).tolist() == [0.0, 0.0, 0.0, 1.0, -1.0, 0.5]


def test_clean_mixes_channels_and_scales_integers() -> None:
    stereo = np.array([[1.0, 0.0], [0.5, 0.5]], dtype=np.float32)
    assert clean(stereo).tolist() == [0.5, 0.5]
    pcm16 = np.array([-32768, 0, 16384], dtype=np.int16)
    assert clean(pcm16).tolist() == [-1.0, 0.0, 0.5]
    assert clean(np.array([0, 128, 255], dtype=np.uint8)).tolist() == [-1.0, 0.0, 127 / 128]


def test_rejects_impossible_rates() -> None:
    with pytest.raises(ValueError, match="positive"):
        StreamResampler(0, 16000)
