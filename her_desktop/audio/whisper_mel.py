"""Whisper-style log-mel features in numpy (80 mels, 25 ms window, 10 ms hop, 8 s window), the
input of the Smart Turn end-of-turn model (``audio.smart_turn``).

Derived from pipecat's ``pipecat/audio/turn/smart_turn/_whisper_features.py`` (BSD-2-Clause,
Copyright (c) 2024-2026 Daily), itself derived from Hugging Face Transformers'
``WhisperFeatureExtractor`` (Apache-2.0, Copyright 2022-2023 The HuggingFace Inc. team and the
librosa & torchaudio authors). See THIRD_PARTY.md.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from her_desktop.audio.format import CAPTURE_RATE

RATE: Final = CAPTURE_RATE
WINDOW_S: Final = 8
N_FFT: Final = 400
HOP: Final = 160
N_MELS: Final = 80
_MEL_FLOOR: Final = 1e-10
_NORM_EPS: Final = 1e-7


def _hz_to_mel(freq: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Slaney mel scale."""
    mels = 3.0 * freq / 200.0
    log_region = freq >= 1000.0
    mels[log_region] = 15.0 + np.log(freq[log_region] / 1000.0) * (27.0 / np.log(6.4))
    return mels


def _mel_to_hz(mels: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    freq = 200.0 * mels / 3.0
    log_region = mels >= 15.0
    freq[log_region] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mels[log_region] - 15.0))
    return freq


def _filterbank() -> npt.NDArray[np.float64]:
    """Slaney-normalised triangular filters, shape (N_FFT // 2 + 1, N_MELS)."""
    bins = N_FFT // 2 + 1
    edges = _hz_to_mel(np.array([0.0, RATE / 2.0]))
    filter_hz = _mel_to_hz(np.linspace(edges[0], edges[1], N_MELS + 2))
    fft_hz = np.linspace(0, RATE // 2, bins)
    diff = np.diff(filter_hz)
    slopes = filter_hz[None, :] - fft_hz[:, None]
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    filters *= (2.0 / (filter_hz[2 : N_MELS + 2] - filter_hz[:N_MELS]))[None, :]
    return filters


_HANN: Final = np.hanning(N_FFT + 1)[:-1]
_FILTERS: Final = _filterbank()


def last_window(audio: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The last ``WINDOW_S`` seconds of 16 kHz audio, zero-padded at the start when shorter."""
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    n = RATE * WINDOW_S
    if x.size >= n:
        return x[-n:]
    return np.pad(x, (n - x.size, 0))


def log_mel(window: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Normalised log-mel features (N_MELS, 800) of exactly ``WINDOW_S`` s of 16 kHz audio."""
    x = window.astype(np.float32)
    x = (x - x.mean()) / np.sqrt(x.var() + _NORM_EPS)
    pad = N_FFT // 2
    padded = np.pad(x.astype(np.float64), (pad, pad), mode="reflect")
    frames = sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _HANN, axis=-1)) ** 2
    mel = np.maximum(_MEL_FLOOR, _FILTERS.T @ power.T)
    spec = np.log10(mel)[:, :-1]
    spec = np.maximum(spec, spec.max() - 8.0)
    features: npt.NDArray[np.float32] = ((spec + 4.0) / 4.0).astype(np.float32)
    return features
