"""Speaker playback: a queue of chunks, flushed within one small audio block.

- :meth:`AudioPlayer.play` queues float32 audio at any rate (resampled to the device rate, in
  the caller's thread) with a ``tag`` (e.g. the sentence it speaks).
- :meth:`AudioPlayer.flush` drops everything queued; the next audio block (``block_ms``, 10 ms by
  default) is silence, and by default (``hard``) what the device had buffered is dropped too.
  It returns what each dropped chunk had played: "what was actually said".
- ``on_chunk_started(tag)`` when a chunk's first sample goes to the device;
  ``on_chunk_done(PlayedChunk)`` reports every chunk when it ends (fully played, flushed or cut
  by a lost device); ``on_played(block, rate)`` gets every block sent to the speaker, silence
  included (the echo canceller's reference and the level meter). They run on the PortAudio
  thread (flush reports on the caller's): keep them quick, and never wait for a lock there.
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
    AudioDeviceError,
    choose_device,
    portaudio_query,
    sounddevice_module,
    stream_closed,
    stream_opened,
    unavailable,
)
from her_desktop.audio.resample import FloatArray, clean, resample
from her_desktop.audio.stream import DeviceStream, ErrorCallback, RestoredCallback
from her_desktop.native_calls import NativeTimeout

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
    __slots__ = ("data", "epoch", "pos", "source_len", "started", "tag")

    def __init__(self, tag: Hashable | None, data: FloatArray, source_len: int, epoch: int) -> None:
        self.tag = tag
        self.data = data
        self.pos = 0
        self.source_len = source_len
        self.epoch = epoch
        self.started = False

    @property
    def fraction(self) -> float:
        return 1.0 if len(self.data) == 0 else min(1.0, self.pos / len(self.data))

    def report(self, interrupted: bool) -> PlayedChunk:
        total = len(self.data)
        played = self.source_len if total == 0 else round(self.source_len * self.pos / total)
        return PlayedChunk(self.tag, self.source_len, min(self.source_len, played), interrupted)


ChunkCallback = Callable[[PlayedChunk], None]
StartedCallback = Callable[[Hashable | None], None]
BlockCallback = Callable[[FloatArray, int], None]

PROGRESS_TAGS = 256
"""How many recent chunks :meth:`AudioPlayer.played_fraction` remembers."""
DRAIN_WAIT_S = 0.05
"""How long ``flush`` waits to drop the queue itself before leaving it to the callback."""


class AudioPlayer(DeviceStream):
    """One speaker stream. Thread-safe; ``close`` is idempotent.

    The queue is handed over without a lock that the callback could wait for: ``play`` appends
    to a deque; the PortAudio callback consumes it under ``_consumer``, which it only *tries* to
    take (when ``flush`` or a loss holds it for a moment, that block is silence — what a flush
    wants anyway). ``flush`` bumps an epoch: chunks queued before it are never played, whoever
    drops them. The device's own buffer is discarded (``hard``) by an abort + start on the
    stream's native thread, never on the caller's.
    """

    kind = "output"
    what = "speaker"
    stall_words = "it stopped taking sound"

    def __init__(
        self,
        device: str = "",
        *,
        on_chunk_done: ChunkCallback | None = None,
        on_chunk_started: StartedCallback | None = None,
        on_played: BlockCallback | None = None,
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
        self.on_chunk_started = on_chunk_started
        self.on_played = on_played
        self.block_ms = block_ms
        self.linger_s = linger_s
        self.underflows = 0
        self._queue: deque[_Chunk] = deque()
        self._consumer = threading.Lock()
        """Held by whoever takes chunks off the queue (deque work and one block's copy; never
        across a PortAudio call or a callback out of this class); the callback only tries it."""
        self._epoch = 0
        self._epoch_lock = threading.Lock()  # flush's increment only; never held across a call
        self._progress: dict[Hashable, _Chunk] = {}
        self._progress_lock = threading.Lock()  # play's bookkeeping only; never the callback
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

    @property
    def epoch(self) -> int:
        """Bumped by every flush: pass it to :meth:`play` to drop audio made before a flush."""
        return self._epoch

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until everything queued has been played (or flushed). False on timeout."""
        return self._idle.wait(timeout)

    def played_fraction(self, tag: Hashable) -> float:
        """How much of the chunk ``tag`` has been handed to the device, 0..1 (0 if unknown)."""
        chunk = self._progress.get(tag)
        return 0.0 if chunk is None else chunk.fraction

    def settle(self, timeout: float = 2.0) -> bool:
        """Wait until the native calls queued so far (a hard flush's restart) are done."""
        try:
            self._native.call(lambda: None, timeout=timeout)
        except NativeTimeout:
            return False
        return True

    # --- control -------------------------------------------------------------------------

    def open(self) -> None:
        """Open the speaker now (``play`` does it when needed). Raises AudioDeviceError."""
        self._ensure_open()

    def play(
        self,
        samples: npt.ArrayLike,
        sample_rate: int,
        tag: Hashable | None = None,
        *,
        epoch: int | None = None,
    ) -> None:
        """Queue a chunk (any rate, mono or (frames, channels); cleaned and resampled).

        With ``epoch`` (read from :attr:`epoch` when the audio was asked for), a chunk whose
        flush came meanwhile is dropped, never played. Blocks for the open (bounded)."""
        self.open()
        source = clean(samples)
        data = resample(source, int(sample_rate), self._rate)
        chunk = _Chunk(tag, data, len(source), self._epoch if epoch is None else epoch)
        with self._progress_lock:
            if tag is not None:
                self._progress[tag] = chunk
                while len(self._progress) > PROGRESS_TAGS:
                    del self._progress[next(iter(self._progress))]
        self._queue.append(chunk)
        self._idle.clear()
        if chunk.epoch < self._epoch:  # flushed while it was being made
            self._drain(wait=DRAIN_WAIT_S)

    def flush(self, *, hard: bool = True) -> list[PlayedChunk]:
        """Drop everything queued; silence from the next block on. Never blocks on PortAudio.

        Returns the dropped chunks when it could drop them at once (the usual case), else the
        callback drops them on its next block and reports them through ``on_chunk_done``.
        ``hard`` also discards what the device has buffered (abort + start on the native thread:
        measured ~20 ms to silence instead of ~45 ms on PulseAudio).
        """
        with self._epoch_lock:
            self._epoch += 1
        had_audio = bool(self._queue)
        dropped = self._drain(wait=DRAIN_WAIT_S)
        if hard and had_audio and self._stream is not None and not self._lost:
            self._native.submit(self._restart_stream)
        return dropped

    def close(self) -> None:
        """Flush and release the speaker (bounded). Idempotent; the object cannot play again."""
        self.flush(hard=False)
        self._shut()
        self._drain(wait=DRAIN_WAIT_S)

    def close_if_idle(self) -> bool:
        """Release the speaker when idle for ``linger_s`` (lets PortAudio be refreshed)."""

        def release() -> bool:
            if (
                self._stream is None
                or not self._idle.is_set()
                or time.monotonic() - self._idle_since < self.linger_s
            ):
                return False
            self._close_stream()
            return True

        try:
            return bool(self._native_call(release, self.close_timeout_s))
        except AudioDeviceError:
            return False

    # --- internals -----------------------------------------------------------------------

    def _reopen(self) -> None:
        self.open()

    def _while_healthy(self) -> None:
        if self.linger_s >= 0:
            self.close_if_idle()

    def _on_lost(self) -> None:
        with self._epoch_lock:
            self._epoch += 1
        self._drain(wait=1.0)

    def _drain(self, *, wait: float) -> list[PlayedChunk]:
        """Drop the chunks queued before the current epoch, if the consumer lock comes within
        ``wait`` (the callback holds it for microseconds); report them."""
        if not self._consumer.acquire(timeout=wait):
            return []
        try:
            dropped = self._drop_stale()
            self._update_idle()
        finally:
            self._consumer.release()
        self._report(dropped)
        return dropped

    def _drop_stale(self) -> list[PlayedChunk]:
        """With ``_consumer`` held: remove chunks from before the current epoch."""
        epoch = self._epoch
        if not any(c.epoch < epoch for c in self._queue):
            return []
        dropped: list[PlayedChunk] = []
        keep: list[_Chunk] = []
        while self._queue:  # play() may append meanwhile: those are newer, kept in order
            chunk = self._queue.popleft()
            if chunk.epoch < epoch:
                dropped.append(chunk.report(interrupted=True))
            else:
                keep.append(chunk)
        self._queue.extendleft(reversed(keep))
        return dropped

    def _update_idle(self) -> None:
        """With ``_consumer`` held: set idle when the queue is empty (race-free with play)."""
        if self._queue:
            return
        if not self._idle.is_set():
            self._idle_since = time.monotonic()
            self._idle.set()
        if self._queue:  # play() appended between the check and the set
            self._idle.clear()

    def _open(self) -> None:
        sd = sounddevice_module("output")
        device = choose_device("output", self.device_name)
        rate = int(device.default_samplerate) or 48000
        channels = self._channels_for(sd, device, rate)
        with self._state:
            self._lost = False
        self._closing = False
        stream_opened("output")
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
            stream_closed()
            raise unavailable(
                "output", f'could not open "{device.name}" ({exc})', "open_failed"
            ) from exc
        self._opened(stream)
        self._device, self._rate, self._channels = device, rate, channels
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
        with portaudio_query("output"):
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
        """On the native thread: drop what the device buffered (abort + start)."""
        stream = self._stream
        if stream is None or self._lost or self._closed:
            return
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

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        """The PortAudio thread: never waits for a lock, never does I/O."""
        self._last_callback = time.monotonic()
        if status and getattr(status, "output_underflow", False):
            self.underflows += 1
        block = np.zeros(frames, dtype=np.float32)
        done: list[PlayedChunk] = []
        started: list[Hashable | None] = []
        if self._consumer.acquire(blocking=False):  # else a flush is dropping: silence
            try:
                done = self._drop_stale()
                filled = 0
                while filled < frames and self._queue:
                    chunk = self._queue[0]
                    if not chunk.started:
                        chunk.started = True
                        started.append(chunk.tag)
                    n = min(frames - filled, len(chunk.data) - chunk.pos)
                    block[filled : filled + n] = chunk.data[chunk.pos : chunk.pos + n]
                    chunk.pos += n
                    filled += n
                    if chunk.pos >= len(chunk.data):
                        done.append(chunk.report(interrupted=False))
                        self._queue.popleft()
                self._update_idle()
            finally:
                self._consumer.release()
        outdata[:] = (
            block[:, None]
            if self._channels == 1
            else np.repeat(block[:, None], self._channels, axis=1)
        )
        if self.on_chunk_started is not None:
            for tag in started:
                try:
                    self.on_chunk_started(tag)
                except Exception:
                    log.exception("the chunk-started consumer failed")
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
