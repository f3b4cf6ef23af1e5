"""Speaker playback: a queue of chunks, flushed within one small audio block.

- :meth:`AudioPlayer.play` queues float32 audio at any rate (resampled to the device rate, in
  the caller's thread) with a ``tag`` (e.g. the sentence it speaks).
- :meth:`AudioPlayer.flush` drops everything queued; the next audio block (``block_ms``, 10 ms by
  default) is silence, and by default (``hard``) what the device had buffered is dropped too.
  It returns what each dropped chunk had played: "what was actually said".
- ``on_chunk_done(PlayedChunk)`` reports every chunk when it ends (fully played, flushed or cut
  by a lost device); ``on_played(block, rate)`` gets every block sent to the speaker, silence
  included (the echo canceller's reference and the level meter). Both run on the PortAudio
  thread (flush reports on the caller's): keep them quick.
- "Played" counts samples handed to the device; the device adds its output latency on top.

Errors: ``play`` raises :class:`AudioDeviceError` when the speaker cannot be opened; a speaker
lost while playing calls ``on_error`` once; :meth:`AudioPlayer.keep_alive` (blocking, run it in
a thread) reopens it when it is back and closes an idle stream after ``linger_s``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from her_desktop.audio.devices import (
    AudioDevice,
    choose_device,
    sounddevice_module,
    stream_opened,
    unavailable,
)
from her_desktop.audio.resample import FloatArray, clean, resample
from her_desktop.audio.stream import DeviceStream, ErrorCallback, RestoredCallback

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PlayedChunk:
    """How much of one queued chunk reached the speaker."""

    tag: Hashable | None
    samples: int
    """Length of the chunk as given to ``play`` (its own sample rate)."""
    played: int
    """Samples of it played, in the same units."""
    interrupted: bool
    """True when flushed or cut by a lost device before its end."""

    @property
    def fraction(self) -> float:
        return 1.0 if self.samples == 0 else self.played / self.samples


class _Chunk:
    __slots__ = ("data", "pos", "source_len", "tag")

    def __init__(self, tag: Hashable | None, data: FloatArray, source_len: int) -> None:
        self.tag = tag
        self.data = data
        self.pos = 0
        self.source_len = source_len

    def report(self, interrupted: bool) -> PlayedChunk:
        total = len(self.data)
        played = self.source_len if total == 0 else round(self.source_len * self.pos / total)
        return PlayedChunk(self.tag, self.source_len, min(self.source_len, played), interrupted)


ChunkCallback = Callable[[PlayedChunk], None]
PlayedCallback = Callable[[FloatArray, int], None]


class AudioPlayer(DeviceStream):
    """One speaker stream. Thread-safe; ``close`` is idempotent."""

    kind = "output"
    what = "speaker"
    stall_words = "it stopped taking sound"

    def __init__(
        self,
        device: str = "",
        *,
        on_chunk_done: ChunkCallback | None = None,
        on_played: PlayedCallback | None = None,
        on_error: ErrorCallback | None = None,
        on_restored: RestoredCallback | None = None,
        block_ms: float = 10.0,
        linger_s: float = 2.0,
        stall_timeout_s: float = 2.0,
    ) -> None:
        super().__init__(
            device, on_error=on_error, on_restored=on_restored, stall_timeout_s=stall_timeout_s
        )
        self.on_chunk_done = on_chunk_done
        self.on_played = on_played
        self.block_ms = block_ms
        self.linger_s = linger_s
        self.underflows = 0
        self._queue: deque[_Chunk] = deque()
        self._idle = threading.Event()
        self._idle.set()
        self._idle_since = time.monotonic()
        self._rate = 0
        self._channels = 1

    # --- state ---------------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        """The device rate (0 before the stream first opens)."""
        return self._rate

    @property
    def idle(self) -> bool:
        """Nothing queued or playing."""
        return self._idle.is_set()

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until everything queued has been played (or flushed). False on timeout."""
        return self._idle.wait(timeout)

    # --- control -------------------------------------------------------------------------

    def open(self) -> None:
        """Open the speaker now (``play`` does it when needed). Raises AudioDeviceError."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this AudioPlayer is closed; make a new one")
            if self._stream is not None and not self._lost:
                return
            self._close_stream()
            self._open()

    def play(self, samples: npt.ArrayLike, sample_rate: int, tag: Hashable | None = None) -> None:
        """Queue a chunk (any rate, mono or (frames, channels); cleaned and resampled)."""
        self.open()
        source = clean(samples)
        data = resample(source, int(sample_rate), self._rate)
        with self._lock:
            self._queue.append(_Chunk(tag, data, len(source)))
            self._idle.clear()

    def flush(self, *, hard: bool = True) -> list[PlayedChunk]:
        """Drop everything queued; silence from the next block on. Reports each dropped chunk.

        ``hard`` also discards what the device has buffered (PortAudio abort + start: measured
        ~20 ms to silence instead of ~45 ms on PulseAudio); it blocks for a few milliseconds.
        """
        with self._lock:
            dropped = [c.report(interrupted=True) for c in self._queue]
            had_audio = bool(dropped)
            self._queue.clear()
            self._mark_idle()
            if hard and had_audio and self._stream is not None and not self._lost:
                self._restart_stream()
        self._report(dropped)
        return dropped

    def close(self) -> None:
        """Flush and release the speaker. Idempotent; the object cannot play again."""
        self.flush()
        with self._lock:
            self._closed = True
            self._close_stream()

    def close_if_idle(self) -> bool:
        """Release the speaker when idle for ``linger_s`` (lets PortAudio be refreshed)."""
        with self._lock:
            if (
                self._stream is None
                or not self._idle.is_set()
                or time.monotonic() - self._idle_since < self.linger_s
            ):
                return False
            self._close_stream()
            return True

    # --- internals -----------------------------------------------------------------------

    def _reopen(self) -> None:
        self.open()

    def _while_healthy(self) -> None:
        if self.linger_s >= 0:
            self.close_if_idle()

    def _on_lost(self) -> list[PlayedChunk]:
        cut = [c.report(interrupted=True) for c in self._queue]
        self._queue.clear()
        self._mark_idle()
        return cut

    def _after_lost(self, cut: list[PlayedChunk]) -> None:
        self._report(cut)

    def _open(self) -> None:
        sd = sounddevice_module("output")
        device = choose_device("output", self.device_name)
        rate = int(device.default_samplerate) or 48000
        channels = self._channels_for(sd, device, rate)
        self._lost = False
        self._closing = False
        try:
            stream = sd.OutputStream(
                device=device.index,
                samplerate=rate,
                channels=channels,
                dtype="float32",
                blocksize=round(rate * self.block_ms / 1000.0),
                latency="low",
                callback=self._callback,
                finished_callback=self._finished,
            )
        except Exception as exc:
            raise unavailable(
                "output", f'could not open "{device.name}" ({exc})', "open_failed"
            ) from exc
        stream_opened()
        self._stream, self._device, self._rate, self._channels = stream, device, rate, channels
        self._last_callback = time.monotonic()
        try:
            stream.start()
        except Exception as exc:
            self._close_stream()
            raise unavailable(
                "output", f'could not start "{device.name}" ({exc})', "open_failed"
            ) from exc
        log.info("speaker open: %s at %d Hz, %d channel(s)", device.name, rate, channels)

    def _channels_for(self, sd: Any, device: AudioDevice, rate: int) -> int:
        for channels in (1, min(2, device.output_channels)):
            try:
                sd.check_output_settings(
                    device=device.index, samplerate=rate, channels=channels, dtype="float32"
                )
            except Exception:
                continue
            return channels
        return max(1, min(2, device.output_channels))

    def _restart_stream(self) -> None:
        stream = self._stream
        self._closing = True  # the abort's finished callback is not a lost device
        try:
            stream.abort()
            stream.start()
        except Exception as exc:  # PortAudioError: treat it as a lost device
            self._closing = False
            self._lose(f"it could not restart ({exc})")
            return
        self._closing = False
        self._last_callback = time.monotonic()

    def _mark_idle(self) -> None:
        if not self._idle.is_set():
            self._idle_since = time.monotonic()
            self._idle.set()

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        self._last_callback = time.monotonic()
        if status and getattr(status, "output_underflow", False):
            self.underflows += 1
        block = np.zeros(frames, dtype=np.float32)
        done: list[PlayedChunk] = []
        with self._lock:
            filled = 0
            while filled < frames and self._queue:
                chunk = self._queue[0]
                n = min(frames - filled, len(chunk.data) - chunk.pos)
                block[filled : filled + n] = chunk.data[chunk.pos : chunk.pos + n]
                chunk.pos += n
                filled += n
                if chunk.pos >= len(chunk.data):
                    done.append(chunk.report(interrupted=False))
                    self._queue.popleft()
            if not self._queue:
                self._mark_idle()
        outdata[:] = (
            block[:, None]
            if self._channels == 1
            else np.repeat(block[:, None], self._channels, axis=1)
        )
        if self.on_played is not None:
            try:
                self.on_played(block, self._rate)
            except Exception:
                log.exception("the played-audio consumer failed")
        self._report(done)

    def _report(self, reports: list[PlayedChunk]) -> None:
        if self.on_chunk_done is None:
            return
        for report in reports:
            try:
                self.on_chunk_done(report)
            except Exception:
                log.exception("the chunk-done consumer failed")
