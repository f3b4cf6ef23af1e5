"""Test speech made on the spot with espeak-ng (no recordings in git), 16 kHz mono float32.

``espeak_wav(text)`` runs ``espeak-ng --stdout`` once per (text, voice, speed) per session and
resamples its 22.05 kHz output with faster-whisper's decoder (PyAV), the same path a WAV file
takes in the app. Helpers build the other signals the tests need (silence, noise, padding).
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess

import numpy as np
import numpy.typing as npt
import pytest

SAMPLE_RATE = 16_000
Audio = npt.NDArray[np.float32]


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


requires_espeak = pytest.mark.skipif(not have_espeak(), reason="espeak-ng is not installed")


@functools.lru_cache(maxsize=128)
def _espeak_bytes(text: str, voice: str, speed: int) -> bytes:
    result = subprocess.run(
        ["espeak-ng", "--stdout", "-v", voice, "-s", str(speed), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return result.stdout


def decode_wav(data: bytes, rate: int = SAMPLE_RATE) -> Audio:
    """A WAV file's bytes as mono float32 at ``rate`` (PyAV resampler, as in faster-whisper)."""
    from faster_whisper.audio import decode_audio

    audio = decode_audio(io.BytesIO(data), sampling_rate=rate)
    return np.asarray(audio, dtype=np.float32)


def espeak_wav(
    text: str, rate: int = SAMPLE_RATE, *, voice: str = "en-us", speed: int = 150
) -> Audio:
    """``text`` spoken by espeak-ng as mono float32 at ``rate`` Hz (cached per session)."""
    audio = decode_wav(_espeak_bytes(text, voice, speed), rate)
    audio.setflags(write=False)
    return audio


def silence(seconds: float, rate: int = SAMPLE_RATE) -> Audio:
    return np.zeros(int(seconds * rate), dtype=np.float32)


def white_noise(
    seconds: float, level: float = 0.1, rate: int = SAMPLE_RATE, seed: int = 7
) -> Audio:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * rate)) * level).astype(np.float32)


def padded(audio: Audio, before_s: float = 1.0, after_s: float = 1.5) -> Audio:
    """``audio`` with silence before and after (what a microphone stream looks like)."""
    return np.concatenate((silence(before_s), audio, silence(after_s))).astype(np.float32)
