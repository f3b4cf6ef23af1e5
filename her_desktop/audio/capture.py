"""Microphone capture: 16 kHz mono float32 blocks of exactly ``block`` samples.

The stream opens at 16 kHz when the device supports it, else at the device's own rate and is
resampled (:class:`~her_desktop.audio.resample.StreamResampler`). Blocks are handed to
``on_audio`` from the PortAudio thread: the callback must be quick (hand over with
``loop.call_soon_threadsafe``).

Errors: :meth:`AudioCapture.start` raises :class:`AudioDeviceError`. A device lost while
running (stream ended on its own, or no audio for ``stall_timeout_s``) calls ``on_error`` once;
:meth:`AudioCapture.keep_alive` (blocking, run it in a thread) watches for that and reopens the
device when it is back, calling ``on_restored``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from her_desktop.audio.devices import (
    AudioDevice,
    AudioDeviceError,
    choose_device,
    portaudio_query,
    sounddevice_module,
    stream_closed,
    stream_opened,
    unavailable,
)
from her_desktop.audio.format import CAPTURE_RATE, VAD_BLOCK
from her_desktop.audio.resample import FloatArray, StreamResampler, clean
from her_desktop.audio.stream import DeviceStream, ErrorCallback, RestoredCallback

log = logging.getLogger(__name__)

AudioCallback = Callable[[FloatArray], None]


class AudioCapture(DeviceStream):
    """One microphone stream. ``start``/``stop``/``close`` are idempotent and thread-safe."""

    kind = "input"
    what = "microphone"
    stall_words = "no sound data"

    def __init__(
        self,
        device: str = "",
        sample_rate: int = CAPTURE_RATE,
        block: int = VAD_BLOCK,
        on_audio: AudioCallback | None = None,
        on_error: ErrorCallback | None = None,
        on_restored: RestoredCallback | None = None,
        *,
        stall_timeout_s: float = 2.0,
        startup_grace_s: float = 5.0,
    ) -> None:
        super().__init__(
            device, on_error=on_error, on_restored=on_restored, stall_timeout_s=stall_timeout_s
        )
        self.sample_rate = int(sample_rate)
        self.block = int(block)
        self.on_audio = on_audio
        self.startup_grace_s = startup_grace_s
        """ALSA's pulse plugin sometimes takes seconds to deliver the first block."""
        self.overflows = 0
        """Blocks PortAudio reported as overflowed (audio dropped because we were late)."""
        self._native_rate = self.sample_rate
        self._resampler: StreamResampler | None = None
        self._pending = np.zeros(0, dtype=np.float32)
        self._reset_pending = False
        self._stopping = False
        self._got_audio = False

    # --- state ---------------------------------------------------------------------------

    @property
    def native_rate(self) -> int:
        """The rate the stream runs at (``sample_rate`` unless the device cannot do it)."""
        return self._native_rate

    @property
    def running(self) -> bool:
        return self._stream is not None and not self._stopping and not self._lost

    # --- control -------------------------------------------------------------------------

    def start(self) -> None:
        """Open and start the stream (no-op while running). Raises :class:`AudioDeviceError`.

        Bounded: the PortAudio calls run on the stream's native thread."""

        def start() -> None:
            if self._closed:
                raise RuntimeError("this AudioCapture is closed; make a new one")
            if self._stream is not None and not self._lost:
                if self._stopping:
                    self._reset_pending = True
                    self._last_callback = time.monotonic()
                    self._stream.start()
                    self._stopping = False
                return
            self._close_stream()
            self._open()

        self._native_call(start, self.open_timeout_s)

    def stop(self) -> None:
        """Stop delivering audio (the device stays open; ``start`` resumes). Idempotent."""

        def stop() -> None:
            if self._stream is None or self._stopping:
                return
            self._stopping = True  # the callback hands nothing over from now on
            try:
                self._stream.stop()
            except Exception as exc:
                log.debug("stopping the input stream failed: %s", exc)

        try:
            self._native_call(stop, self.close_timeout_s)
        except AudioDeviceError as exc:
            log.error("the microphone did not stop in time; abandoned: %s", exc)

    def close(self) -> None:
        """Stop and release the device (bounded). Idempotent; the object cannot start again."""
        self._shut()

    # --- internals -----------------------------------------------------------------------

    def _reopen(self) -> None:
        self.start()

    def _paused(self) -> bool:
        return self._stopping

    def _stall_limit(self) -> float:
        if self._got_audio:
            return self.stall_timeout_s
        return max(self.stall_timeout_s, self.startup_grace_s)

    def _open(self) -> None:
        sd = sounddevice_module("input")
        device = choose_device("input", self.device_name)
        rate, channels = self._settings(sd, device)
        self._native_rate = rate
        self._resampler = (
            StreamResampler(rate, self.sample_rate) if rate != self.sample_rate else None
        )
        self._pending = np.zeros(0, dtype=np.float32)
        self._reset_pending = False
        with self._state:
            self._lost = False
        self._stopping = False
        self._closing = False
        stream_opened("input")
        try:
            stream = sd.InputStream(
                device=device.index,
                samplerate=rate,
                channels=channels,
                dtype="float32",
                blocksize=0,  # PortAudio's choice: a fixed size stalls ALSA's pulse plugin
                latency="low",
                callback=self._callback,
                finished_callback=self._finished,
            )
        except Exception as exc:
            stream_closed()
            raise unavailable(
                "input", f'could not open "{device.name}" ({exc})', "open_failed"
            ) from exc
        self._opened(stream)
        self._device = device
        self._got_audio = False
        self._last_callback = time.monotonic()
        try:
            stream.start()
        except Exception as exc:
            self._close_stream()
            raise unavailable(
                "input", f'could not start "{device.name}" ({exc})', "open_failed"
            ) from exc
        log.info("microphone open: %s at %d Hz, %d channel(s)", device.name, rate, channels)

    def _settings(self, sd: Any, device: AudioDevice) -> tuple[int, int]:
        native = int(device.default_samplerate) or self.sample_rate
        channel_options = [1] + ([device.input_channels] if device.input_channels > 1 else [])
        with portaudio_query("input"):
            for rate in (self.sample_rate, native):
                for channels in channel_options:
                    try:
                        sd.check_input_settings(
                            device=device.index, samplerate=rate, channels=channels, dtype="float32"
                        )
                    except Exception:
                        continue
                    return rate, channels
        return native, channel_options[-1]

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        """The PortAudio thread: never waits for a lock, never does I/O (``on_audio`` must
        hand the block over without blocking)."""
        self._last_callback = time.monotonic()
        self._got_audio = True
        if status and getattr(status, "input_overflow", False):
            self.overflows += 1
        if self._stopping:
            return
        if self._reset_pending:  # resumed after a stop: the old remainder is stale
            self._reset_pending = False
            self._pending = np.zeros(0, dtype=np.float32)
        samples = self._resampler.process(indata) if self._resampler else clean(indata)
        pending = np.concatenate([self._pending, samples]) if self._pending.size else samples
        count = len(pending) // self.block
        for i in range(count):
            block = pending[i * self.block : (i + 1) * self.block].copy()
            if self.on_audio is not None:
                try:
                    self.on_audio(block)
                except Exception:
                    log.exception("the audio consumer failed")
        self._pending = pending[count * self.block :].copy()
