"""Echo handling: the companion must not hear herself.

Without it, her own voice coming out of the speakers reaches the microphone, the VAD takes it for
the user, and she interrupts herself (a false barge-in). Three ways to handle it, chosen by
``AudioSettings.echo``:

* ``"aec"`` — :class:`WebRtcEchoCanceller`: WebRTC's acoustic echo canceller (AEC3, through the
  ``livekit`` package's ``AudioProcessingModule``; runs fully offline, no room or server). It
  subtracts an adaptive estimate of the speaker→microphone path from the microphone signal, so the
  user can still interrupt her by voice while she speaks.
* ``"half_duplex"`` — :class:`HalfDuplexGate`: the microphone signal is passed on unchanged, but
  :meth:`EchoCanceller.suppress_barge_in` is True while she speaks and for a short tail after,
  so what the VAD hears then cannot interrupt her. Robust on any hardware; no barge-in by voice.
* ``"off"`` — :class:`NoEcho`: headphones.

How a stage uses it (no lock anywhere: ``render``, called on the PortAudio thread, only appends
to a deque that the capture side drains; ``capture`` runs on the capture thread alone, which
owns WebRTC; ``reset`` only raises a flag that the capture side honours before its next block):

* playback calls :meth:`EchoCanceller.render` with every block it hands to the speaker, at the
  moment it hands it over (the *reference*, float32 at the playback rate, any length);
* capture calls :meth:`EchoCanceller.capture` with every microphone block (16 kHz mono float32)
  and passes the cleaned block to the VAD;
* the VAD stage ignores speech starts while :meth:`EchoCanceller.suppress_barge_in` is True.

Timing: every microphone block first hands WebRTC all the reference rendered since the previous
block (spread evenly over its 10 ms frames), then the microphone frames. The reference thus
always reaches WebRTC before its echo can: the echo comes out of the speaker only after the
output latency and reaches the microphone block after the input latency, so WebRTC sees a
positive delay (output + acoustic + input latency) that AEC3 estimates by itself (up to about
0.5 s). Pairing the two streams by sample count instead (10 ms of reference per 10 ms of
microphone) fails on a real sound card: the playback tap runs ahead of the speaker by the output
buffer, so the reference came 20–50 ms after its echo (measured on PulseAudio: ERLE 1 dB instead
of 15–70 dB). Reference waiting for a microphone that is not running is bounded
(:data:`MAX_REFERENCE_S`, oldest dropped), so nothing accumulates.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from her_desktop.audio.format import CAPTURE_RATE
from her_desktop.audio.resample import StreamResampler, clean

EchoMode = Literal["aec", "half_duplex", "off"]
Samples = NDArray[np.float32]

FRAME = CAPTURE_RATE // 100
"""WebRTC processes 10 ms frames: 160 samples at 16 kHz."""
MAX_REFERENCE_S = 0.25
"""At most this much reference audio waits for the microphone; older audio is dropped.

Normally the reference waits only until the next microphone block (32 ms). It piles up only while
no microphone runs; when one starts again, at most this much is handed to WebRTC at once, well
inside the delay AEC3 can find (measured: 400 ms cancelled, 600 ms not)."""
DEFAULT_DELAY_MS = 60
"""A hint to WebRTC of the speaker→microphone delay; AEC3 estimates the real one itself."""
DEFAULT_TAIL_S = 0.3
"""Half duplex: barge-in stays suppressed this long after the last audible reference sample."""
APM_DELAY_SAMPLES = 128
"""WebRTC's own delay at 16 kHz (AEC3's 64-sample block framing), measured; see the tests."""
NS_DELAY_SAMPLES = 96
"""The extra delay of WebRTC's noise suppressor at 16 kHz, measured."""
AUDIBLE_PEAK = 1e-4
"""A reference block quieter than this (about -80 dBFS) is silence, not her speaking."""


class EchoCanceller(ABC):
    """Removes (or gates) the companion's own voice from the microphone signal."""

    name: str = ""
    notice: str | None = None
    """A plain-words message for the user when this is a fallback (publish it as a Notice)."""

    @abstractmethod
    def render(self, samples: Samples, sample_rate: int) -> None:
        """Note audio that was just handed to the speaker (mono float32, any rate and length)."""

    @abstractmethod
    def capture(self, block: Samples) -> Samples:
        """Return the microphone ``block`` (16 kHz mono float32) with the echo removed.

        The result has the same length as ``block``; NaN and infinite samples become 0.
        """

    @abstractmethod
    def reset(self) -> None:
        """Forget all state (queued reference, adaptive filters): after a device change."""

    def suppress_barge_in(self, now: float | None = None) -> bool:
        """True while speech heard now must not interrupt her (half duplex only)."""
        return False


class NoEcho(EchoCanceller):
    """Headphones: nothing to remove; the microphone block passes unchanged (NaN cleaned)."""

    name = "off"

    def render(self, samples: Samples, sample_rate: int) -> None:
        return None

    def capture(self, block: Samples) -> Samples:
        return clean(block)

    def reset(self) -> None:
        return None


class HalfDuplexGate(EchoCanceller):
    """Passes the microphone through; suppresses barge-in while she speaks plus a short tail.

    "While she speaks" is derived from the reference itself: each audible block handed to the
    speaker extends the speaking time to the moment its last sample has played (block duration
    after the call), and barge-in stays suppressed ``tail_s`` longer (room reverberation and
    device latency). Silent blocks (the speaker idling) do not count.
    """

    name = "half_duplex"

    def __init__(
        self,
        *,
        tail_s: float = DEFAULT_TAIL_S,
        clock: Callable[[], float] = time.monotonic,
        notice: str | None = None,
    ) -> None:
        if tail_s < 0:
            raise ValueError("tail_s must be >= 0")
        self.tail_s = tail_s
        self.notice = notice
        self._clock = clock
        self._speaking_until = float("-inf")
        """Written by ``render`` (the speaker's thread) only; a float read is atomic."""

    def render(self, samples: Samples, sample_rate: int) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        block = clean(samples)
        if block.size == 0 or float(np.max(np.abs(block))) < AUDIBLE_PEAK:
            return
        end = self._clock() + block.size / sample_rate
        if end > self._speaking_until:
            self._speaking_until = end

    def capture(self, block: Samples) -> Samples:
        return clean(block)

    def reset(self) -> None:
        self._speaking_until = float("-inf")

    def speaking_until(self) -> float:
        """When the last audible reference sample finishes playing (clock time; -inf: never)."""
        return self._speaking_until

    def suppress_barge_in(self, now: float | None = None) -> bool:
        t = self._clock() if now is None else now
        return t < self._speaking_until + self.tail_s


class _FifoBuffer:
    """A bounded float32 FIFO (drops the oldest samples beyond ``capacity``)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data = np.zeros(0, dtype=np.float32)
        self.dropped = 0

    def __len__(self) -> int:
        return int(self._data.size)

    def push(self, samples: Samples) -> None:
        data = np.concatenate([self._data, samples]) if self._data.size else samples.copy()
        if data.size > self.capacity:
            self.dropped += data.size - self.capacity
            data = data[data.size - self.capacity :]
        self._data = data

    def pop(self, count: int) -> Samples:
        """The next ``count`` samples, zero-padded at the end when fewer are queued."""
        out = self._data[:count]
        self._data = self._data[count:]
        if out.size < count:
            out = np.concatenate([out, np.zeros(count - out.size, dtype=np.float32)])
        return out

    def clear(self) -> None:
        self._data = np.zeros(0, dtype=np.float32)


def _to_int16_bytes(frame: Samples) -> bytearray:
    clipped = np.clip(frame, -1.0, 1.0) * 32767.0
    return bytearray(np.round(clipped).astype("<i2").tobytes())


def _from_int16(data: Any) -> Samples:
    return np.frombuffer(bytes(data), dtype="<i2").astype(np.float32) / np.float32(32768.0)


_MAX_RENDERED_BLOCKS = 1024
"""Reference blocks waiting for the capture side (10 ms each: far beyond MAX_REFERENCE_S)."""
_MAX_PIECE = 4096
"""Longer microphone blocks are processed in pieces of this many samples."""


class AecUnavailableError(RuntimeError):
    """The WebRTC echo canceller could not be loaded; the message says why and what to do."""


class WebRtcEchoCanceller(EchoCanceller):
    """WebRTC AEC3 (livekit's ``AudioProcessingModule``) on 10 ms frames at 16 kHz.

    Microphone blocks of any length are cut into 10 ms frames; the cleaned frames are returned in
    blocks of the same length, ``latency_samples`` (18 ms) behind the input. The reference
    rendered since the previous microphone block is given to WebRTC first (see the module's
    "Timing"); with no reference at all (speaker closed) the microphone passes through.

    The high-pass filter is on (it removes rumble the canceller would otherwise chase); noise
    suppression and automatic gain control are off by default (they change the user's voice, and
    the VAD and Whisper do better on the plain signal).
    """

    name = "aec"

    def __init__(
        self,
        *,
        delay_ms: int = DEFAULT_DELAY_MS,
        noise_suppression: bool = False,
        auto_gain_control: bool = False,
        high_pass_filter: bool = True,
    ) -> None:
        try:
            from livekit import rtc
        except Exception as exc:  # ImportError, or the native library failing to load
            raise AecUnavailableError(
                f"the echo canceller could not be loaded ({type(exc).__name__}: {exc}); "
                "reinstall her-desktop (it needs the 'livekit' package), or use headphones"
            ) from exc
        if not 0 <= delay_ms <= 1000:
            raise ValueError(f"delay_ms must be between 0 and 1000, got {delay_ms}")
        self._rtc = rtc
        self.delay_ms = delay_ms
        self._options = {
            "echo_cancellation": True,
            "noise_suppression": noise_suppression,
            "high_pass_filter": high_pass_filter,
            "auto_gain_control": auto_gain_control,
        }
        self._base_latency = (
            FRAME + APM_DELAY_SAMPLES + (NS_DELAY_SAMPLES if noise_suppression else 0)
        )
        self.latency_samples = self._base_latency
        """How far the cleaned signal lags the microphone signal (samples at 16 kHz): 10 ms of
        framing plus WebRTC's own delay (18 ms in all; 24 ms with noise suppression)."""
        self._reset_asked = False
        """Set by ``reset`` (any thread); the capture side honours it before its next block.
        No lock: the buffers and WebRTC belong to the capture thread (``capture`` and
        ``queued_reference`` are called there only); ``render`` hands blocks over through a
        deque and ``reset`` through this flag, so nobody ever waits for a WebRTC call."""
        self._rendered: deque[tuple[Samples, int]] = deque(maxlen=_MAX_RENDERED_BLOCKS)
        """Reference blocks handed over by ``render`` (the speaker's thread), not yet resampled."""
        self._reference = _FifoBuffer(int(MAX_REFERENCE_S * CAPTURE_RATE))
        self._resamplers: dict[int, StreamResampler] = {}
        self._input = _FifoBuffer(CAPTURE_RATE)  # < FRAME samples between calls in practice
        self._output = _FifoBuffer(CAPTURE_RATE)
        try:
            self._apm = self._new_apm()
        except Exception as exc:
            raise AecUnavailableError(
                f"the echo canceller could not start ({type(exc).__name__}: {exc}); "
                "reinstall her-desktop, or use headphones"
            ) from exc
        self._output.push(np.zeros(FRAME, dtype=np.float32))

    def _new_apm(self) -> Any:
        apm = self._rtc.AudioProcessingModule(**self._options)
        apm.set_stream_delay_ms(self.delay_ms)
        # One silent reference frame switches the canceller on from the start, so the output
        # delay is the same before and after she first speaks (else it grows by 4 ms then).
        silence = bytearray(FRAME * 2)
        apm.process_reverse_stream(self._rtc.AudioFrame(silence, CAPTURE_RATE, 1, FRAME))
        return apm

    @property
    def reference_dropped(self) -> int:
        """Reference samples (16 kHz) dropped because no microphone consumed them in time."""
        return self._reference.dropped

    def queued_reference(self) -> int:
        """Reference samples (16 kHz) waiting for the microphone (on the capture thread)."""
        self._honour_reset()
        self._take_rendered()
        return len(self._reference)

    def render(self, samples: Samples, sample_rate: int) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        block = clean(samples)
        if block.size:
            self._rendered.append((block, sample_rate))  # atomic: no lock on this thread

    def _take_rendered(self) -> None:
        """On the capture thread: move the rendered blocks into the 16 kHz reference FIFO."""
        while True:
            try:
                block, sample_rate = self._rendered.popleft()
            except IndexError:
                return
            resampler = self._resamplers.get(sample_rate)
            if resampler is None:
                resampler = StreamResampler(sample_rate, CAPTURE_RATE)
                self._resamplers[sample_rate] = resampler
            self._reference.push(resampler.process(block))

    def capture(self, block: Samples) -> Samples:
        samples = clean(block)
        if samples.size > _MAX_PIECE:  # keep the internal buffers small
            pieces = [samples[i : i + _MAX_PIECE] for i in range(0, samples.size, _MAX_PIECE)]
            return np.concatenate([self._capture(piece) for piece in pieces])
        return self._capture(samples)

    def _capture(self, samples: Samples) -> Samples:
        if samples.size == 0:
            return samples
        self._honour_reset()
        self._take_rendered()
        self._input.push(samples)
        frames = len(self._input) // FRAME
        queued = len(self._reference) // FRAME
        fed = 0
        for i in range(frames):  # the queued reference, spread evenly over the frames
            due = -(-queued * (i + 1) // frames)
            while fed < due:
                self._render_frame(self._reference.pop(FRAME))
                fed += 1
            self._output.push(self._capture_frame(self._input.pop(FRAME)))
        if len(self._output) < samples.size:  # a block size change: pad, keep the length
            missing = samples.size - len(self._output)
            pad = np.zeros(missing, dtype=np.float32)
            self._output.push(pad)
            self.latency_samples += missing
        return self._output.pop(samples.size)

    def _render_frame(self, reference: Samples) -> None:
        render = self._rtc.AudioFrame(_to_int16_bytes(reference), CAPTURE_RATE, 1, FRAME)
        self._apm.process_reverse_stream(render)

    def _capture_frame(self, mic: Samples) -> Samples:
        rtc = self._rtc
        self._apm.set_stream_delay_ms(self.delay_ms)
        frame = rtc.AudioFrame(_to_int16_bytes(mic), CAPTURE_RATE, 1, FRAME)
        self._apm.process_stream(frame)
        return _from_int16(frame.data)

    def reset(self) -> None:
        """Ask for a fresh start (any thread, never waits): done before the next block."""
        self._reset_asked = True

    def _honour_reset(self) -> None:
        """On the capture thread: forget everything if ``reset`` asked for it."""
        if not self._reset_asked:
            return
        self._reset_asked = False
        self._rendered.clear()
        self._reference.clear()
        self._input.clear()
        self._output.clear()
        self._resamplers.clear()
        self.latency_samples = self._base_latency
        self._output.push(np.zeros(FRAME, dtype=np.float32))
        self._apm = self._new_apm()


def create_echo(
    mode: EchoMode,
    *,
    delay_ms: int = DEFAULT_DELAY_MS,
    tail_s: float = DEFAULT_TAIL_S,
) -> EchoCanceller:
    """The echo handling for ``AudioSettings.echo``.

    ``"aec"`` falls back to :class:`HalfDuplexGate` when WebRTC cannot load; the fallback's
    :attr:`EchoCanceller.notice` then says so in plain words (publish it as a Notice).
    """
    if mode == "off":
        return NoEcho()
    if mode == "half_duplex":
        return HalfDuplexGate(tail_s=tail_s)
    if mode != "aec":
        raise ValueError(f'echo mode must be "aec", "half_duplex" or "off", got {mode!r}')
    try:
        return WebRtcEchoCanceller(delay_ms=delay_ms)
    except AecUnavailableError as exc:
        return HalfDuplexGate(
            tail_s=tail_s,
            notice=(
                f"Echo cancellation is unavailable: {exc}. She will not listen for "
                "interruptions while she speaks (half duplex); with headphones, set "
                'audio echo to "off" to talk over her.'
            ),
        )
