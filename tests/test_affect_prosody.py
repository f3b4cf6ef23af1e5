"""Voice prosody on synthetic speech-like signals (and espeak-ng speech where installed)."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from her_desktop.affect.prosody import (
    MAX_ADJUSTMENT,
    ProsodyFeatures,
    VoiceBaseline,
    analyze,
    prosody_features,
)

RATE = 16000


def voiced(
    f0: float = 150.0, syllables_per_s: float = 4.0, amp: float = 0.1, seconds: float = 3.0
) -> np.ndarray:
    """A harmonic 'voice' at ``f0`` whose loudness pulses like syllables."""
    t = np.arange(int(RATE * seconds)) / RATE
    phase = 2 * np.pi * f0 * t
    tone = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = np.clip(np.sin(np.pi * syllables_per_s * t), 0, None) ** 2
    return (amp * tone * envelope).astype(np.float32)


def test_features_of_a_known_signal() -> None:
    f = prosody_features(voiced(f0=180.0, syllables_per_s=4.0, amp=0.1), RATE)
    assert f.pitch_hz == pytest.approx(180.0, rel=0.03)
    assert f.syllable_rate == pytest.approx(4.0 / 0.55, rel=0.5)  # pulses per second of speech
    assert 0.3 < f.voiced_ratio < 0.8
    assert -35.0 < f.energy_db < -15.0
    assert f.has_speech


@pytest.mark.parametrize(
    ("calm", "aroused"),
    [
        ({"amp": 0.05}, {"amp": 0.4}),  # louder
        ({"syllables_per_s": 3.0}, {"syllables_per_s": 7.0}),  # faster
        ({"f0": 130.0}, {"f0": 260.0}),  # higher
    ],
)
def test_louder_faster_higher_means_more_arousal(
    calm: dict[str, float], aroused: dict[str, float]
) -> None:
    low = analyze(voiced(**calm), RATE)
    high = analyze(voiced(**aroused), RATE)
    assert high.arousal_adjustment > low.arousal_adjustment


def test_relative_to_the_speakers_own_baseline() -> None:
    audio = voiced(f0=220.0, amp=0.2)
    features = prosody_features(audio, RATE)
    usual = VoiceBaseline()
    for _ in range(30):
        usual = usual.updated(features)
    assert usual.pitch_hz == pytest.approx(features.pitch_hz, rel=0.05)
    assert abs(analyze(audio, RATE, usual).arousal_adjustment) < 0.05
    assert analyze(audio, RATE).arousal_adjustment > 0.05  # vs the population default


def test_other_rates_and_stereo_agree() -> None:
    mono = voiced(f0=200.0)
    stereo_48k = np.repeat(np.stack([mono, mono], axis=1), 3, axis=0)  # crude 48 kHz
    assert prosody_features(stereo_48k, 48000).pitch_hz == pytest.approx(200.0, rel=0.05)


@pytest.mark.parametrize(
    "audio",
    [
        np.zeros(0, dtype=np.float32),
        np.zeros(RATE, dtype=np.float32),
        np.full(RATE, np.nan, dtype=np.float32),
        np.full(100, 0.5, dtype=np.float32),  # shorter than one frame
    ],
)
def test_silence_and_garbage_give_no_adjustment(audio: np.ndarray) -> None:
    result = analyze(audio, RATE)
    assert result.arousal_adjustment == 0.0
    assert not result.features.has_speech


def test_bad_sample_rate_is_silence() -> None:
    assert analyze(voiced(), 0).arousal_adjustment == 0.0
    assert not prosody_features(voiced(), -5).has_speech


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(np.float32, st.integers(0, 4000), elements=st.floats(width=32)),
    st.sampled_from([8000, 16000, 22050, 44100]),
)
def test_any_audio_never_raises_and_stays_bounded(audio: np.ndarray, rate: int) -> None:
    result = analyze(audio, rate)
    assert abs(result.arousal_adjustment) <= MAX_ADJUSTMENT
    assert isinstance(result.features, ProsodyFeatures)
    assert np.isfinite(result.features.energy_db)


def _espeak(text: str, words_per_minute: int, pitch: int, amplitude: int) -> tuple[np.ndarray, int]:
    wav = subprocess.run(
        ["espeak-ng", "-s", str(words_per_minute), "-p", str(pitch), "-a", str(amplitude),
         "--stdout", text],
        check=True, capture_output=True, timeout=30,
    ).stdout  # fmt: skip
    with wave.open(io.BytesIO(wav)) as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return data.astype(np.float32) / 32768.0, rate


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_espeak_faster_higher_louder_speech_is_more_aroused() -> None:
    text = "I was walking home along the river when the rain started to fall on the town."
    calm_audio, rate = _espeak(text, 120, 30, 60)
    hot_audio, _ = _espeak(text, 260, 80, 180)
    calm = analyze(calm_audio, rate)
    hot = analyze(hot_audio, rate)
    print("espeak calm", calm.features, calm.arousal_adjustment)
    print("espeak hot ", hot.features, hot.arousal_adjustment)
    assert hot.features.pitch_hz > calm.features.pitch_hz
    assert hot.features.syllable_rate > calm.features.syllable_rate
    assert hot.features.energy_db > calm.features.energy_db
    assert hot.arousal_adjustment > calm.arousal_adjustment + 0.1
