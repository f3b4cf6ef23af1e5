"""Sample-rate conversion and clean-up, in numpy only.

- :func:`clean` makes any block safe: float32, mono (channels averaged), NaN/inf → 0, clipped to
  [-1, 1]; integer PCM is scaled to [-1, 1).
- :class:`StreamResampler` converts block by block with state kept across blocks (capture):
  a polyphase windowed-sinc (Kaiser) filter for the rational ratio ``out/in``; anti-aliased when
  going down (cut-off just under the lower Nyquist), no imaging when going up.
- :func:`resample` converts a whole signal with the same filter, delay compensated:
  ``len(out) == ceil(len(x) * out_rate / in_rate)``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

ZERO_CROSSINGS = 16
"""Sinc lobes on each side of the filter (at the lower of the two rates)."""
ROLLOFF = 0.94
"""Cut-off as a fraction of the lower Nyquist frequency (7.5 kHz of 8 kHz at 16 kHz)."""
KAISER_BETA = 8.6
_PIECE = 16384


def clean(samples: npt.ArrayLike) -> FloatArray:
    """Float32 mono in [-1, 1] with NaN/inf replaced by 0, from any 1-D or (frames, channels)."""
    x = np.asarray(samples)
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        mid = (int(info.max) + int(info.min) + 1) / 2.0
        x = (x.astype(np.float64) - mid) / (float(info.max) - mid + 1.0)
    x = np.nan_to_num(x.astype(np.float32, copy=False), nan=0.0, posinf=0.0, neginf=0.0)
    if x.ndim == 2:
        x = x.mean(axis=1, dtype=np.float32) if x.shape[1] > 1 else x[:, 0]
    elif x.ndim != 1:
        x = x.reshape(-1)
    result: FloatArray = np.clip(x, -1.0, 1.0).astype(np.float32, copy=False)
    return result


@lru_cache(maxsize=32)
def _ratio(in_rate: int, out_rate: int) -> tuple[int, int]:
    g = math.gcd(in_rate, out_rate)
    return out_rate // g, in_rate // g  # up, down


@lru_cache(maxsize=16)
def _polyphase(up: int, down: int) -> tuple[FloatArray, int]:
    """Filter taps as ``(up, taps_per_phase)`` and the centre index in the upsampled domain."""
    factor = max(up, down)
    half = ZERO_CROSSINGS * factor
    n = 2 * half + 1
    cutoff = 0.5 * ROLLOFF / factor  # cycles per upsampled sample
    t = np.arange(n, dtype=np.float64) - half
    h = 2.0 * cutoff * np.sinc(2.0 * cutoff * t) * np.kaiser(n, KAISER_BETA) * up
    taps = -(-n // up)
    padded = np.zeros(taps * up, dtype=np.float64)
    padded[:n] = h
    return padded.reshape(taps, up).T.astype(np.float32), half


class StreamResampler:
    """Convert a stream block by block; output lags input by the filter's half length."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {in_rate} → {out_rate}")
        self.in_rate = int(in_rate)
        self.out_rate = int(out_rate)
        self._up, self._down = _ratio(self.in_rate, self.out_rate)
        self._phases, self._centre = _polyphase(self._up, self._down)
        self._taps = self._phases.shape[1]
        self._buf = np.zeros(self._taps, dtype=np.float32)
        self._buf_start = -self._taps  # absolute input index of _buf[0]
        self._next_out = 0
        self._total_in = 0

    @property
    def passthrough(self) -> bool:
        return self._up == self._down

    def process(self, samples: npt.ArrayLike) -> FloatArray:
        """Feed a block (any shape/dtype, cleaned), get every output sample now computable."""
        x = clean(samples)
        if self.passthrough:
            self._total_in += len(x)
            self._next_out += len(x)
            return x
        out = [self._feed(x[i : i + _PIECE]) for i in range(0, max(len(x), 1), _PIECE)]
        return np.concatenate(out) if len(out) > 1 else out[0]

    def flush(self) -> FloatArray:
        """The last samples (the filter's tail); the stream then stands at the ideal length."""
        if self.passthrough:
            return np.zeros(0, dtype=np.float32)
        wanted = -(-self._total_in * self._up // self._down)
        pad = self._centre // self._up + self._taps + 1
        total_in = self._total_in
        tail = self._feed(np.zeros(pad, dtype=np.float32))
        self._total_in = total_in
        return tail[: max(0, wanted - (self._next_out - len(tail)))]

    def _feed(self, x: FloatArray) -> FloatArray:
        up, down, centre = self._up, self._down, self._centre
        self._buf = np.concatenate([self._buf, x])
        self._total_in += len(x)
        end = self._buf_start + len(self._buf)  # absolute index one past the last input
        last = (end * up - 1 - centre) // down  # last output whose newest input is present
        if last < self._next_out:
            return np.zeros(0, dtype=np.float32)
        n = np.arange(self._next_out, last + 1, dtype=np.int64)
        m = n * down + centre
        newest = m // up - self._buf_start
        phase = m % up
        index = newest[:, None] - np.arange(self._taps)[None, :]
        y = np.einsum("nk,nk->n", self._buf[index], self._phases[phase], optimize=False)
        self._next_out = int(last) + 1
        keep_from = int(((self._next_out * down + centre) // up) - self._taps + 1)
        drop = max(0, keep_from - self._buf_start)
        if drop:
            self._buf = self._buf[drop:]
            self._buf_start += drop
        out: FloatArray = np.clip(y, -1.0, 1.0).astype(np.float32)
        return out


def resample(samples: npt.ArrayLike, in_rate: int, out_rate: int) -> FloatArray:
    """Convert a whole signal; the result is cleaned and exactly ``ceil(n * out / in)`` long."""
    x = clean(samples)
    if int(in_rate) == int(out_rate):
        return x
    converter = StreamResampler(int(in_rate), int(out_rate))
    head = converter.process(x)
    tail = converter.flush()
    out = np.concatenate([head, tail])
    wanted = -(-len(x) * converter.out_rate // converter.in_rate)
    if len(out) < wanted:
        out = np.concatenate([out, np.zeros(wanted - len(out), dtype=np.float32)])
    return out[:wanted]
