"""A speaker that writes to memory (then a WAV file): headless voice turns and benchmarks.

With ``realtime=False`` a chunk counts as played the moment it is queued. With
``realtime=True`` a clock thread "plays" the queue at the speed of real audio, so that a
barge-in part-way through a reply cuts it where a speaker would have.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Hashable

import numpy as np

from her_desktop.voice.ports import MessageCallback, Samples, TagCallback

TICK_S = 0.01


class FileSink:
    def __init__(self, *, realtime: bool = False) -> None:
        self.realtime = realtime
        self.sample_rate: int | None = None
        self._played: list[Samples] = []
        self._queue: deque[tuple[Hashable, Samples, int]] = deque()
        self._progress: dict[Hashable, float] = {}
        self._lock = threading.Lock()
        """Guards the queue, progress and played list for a few statements; never held across
        resampling, joining the audio or a callback."""
        self._wake = threading.Event()
        self._closed = False
        self._on_started: TagCallback | None = None
        self._on_finished: TagCallback | None = None
        self._epoch = 0
        self.first_sample_ts: float | None = None
        self._thread: threading.Thread | None = None
        if realtime:
            self._thread = threading.Thread(target=self._clock, name="file-sink", daemon=True)
            self._thread.start()

    def set_callbacks(
        self,
        *,
        on_started: TagCallback | None,
        on_finished: TagCallback | None,
        on_failed: MessageCallback | None = None,
        on_restored: MessageCallback | None = None,
    ) -> None:
        self._on_started = on_started
        self._on_finished = on_finished  # a file never fails: on_failed/on_restored unused

    @property
    def epoch(self) -> int:
        return self._epoch

    def start(self) -> None:
        """Nothing to supervise."""

    def play(
        self, samples: Samples, sample_rate: int, tag: Hashable, *, epoch: int | None = None
    ) -> None:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        with self._lock:
            if epoch is not None and epoch < self._epoch:
                return  # made before a flush: never played
            if self.sample_rate is None:
                self.sample_rate = sample_rate
            rate = self.sample_rate
        if sample_rate != rate:  # resampled with no lock held
            from her_desktop.audio.resample import resample

            samples = resample(samples, sample_rate, rate)
        with self._lock:
            if epoch is not None and epoch < self._epoch:
                return  # flushed while it was resampled
            self._progress[tag] = 0.0
            if self.realtime:
                self._queue.append((tag, samples, 0))
                events = []
            else:
                events = self._emit(tag, samples, len(samples))
        self._fire(events)
        self._wake.set()

    def _emit(
        self, tag: Hashable, samples: Samples, upto: int
    ) -> list[tuple[TagCallback, Hashable]]:
        """Record ``samples[:upto]`` of chunk ``tag`` as played (lock held); returns the
        callbacks to call once it is released."""
        events: list[tuple[TagCallback, Hashable]] = []
        if self.first_sample_ts is None and upto > 0:
            self.first_sample_ts = time.monotonic()
        self._played.append(samples[:upto])
        total = max(1, len(samples))
        if self._on_started is not None:
            events.append((self._on_started, tag))
        self._progress[tag] = min(1.0, upto / total)
        if upto >= len(samples) and self._on_finished is not None:
            events.append((self._on_finished, tag))
        return events

    @staticmethod
    def _fire(events: list[tuple[TagCallback, Hashable]]) -> None:
        """Call the started/finished callbacks (no lock held: they may publish, or wait)."""
        for callback, tag in events:
            callback(tag)

    def _clock(self) -> None:
        while not self._closed:
            with self._lock:
                head = self._queue[0] if self._queue else None
            if head is None:
                self._wake.wait(0.05)
                self._wake.clear()
                continue
            tag, samples, done = head
            rate = self.sample_rate or 16000
            step = max(1, int(rate * TICK_S))
            started = time.monotonic()
            events: list[tuple[TagCallback, Hashable]] = []
            with self._lock:
                if not self._queue or self._queue[0][0] != tag:
                    continue  # flushed meanwhile
                if done == 0:
                    if self.first_sample_ts is None:
                        self.first_sample_ts = started
                    if self._on_started is not None:
                        events.append((self._on_started, tag))
                upto = min(len(samples), done + step)
                self._played.append(samples[done:upto])
                self._progress[tag] = upto / max(1, len(samples))
                if upto >= len(samples):
                    self._queue.popleft()
                    if self._on_finished is not None:
                        events.append((self._on_finished, tag))
                else:
                    self._queue[0] = (tag, samples, upto)
            self._fire(events)
            time.sleep(max(0.0, TICK_S - (time.monotonic() - started)))

    def flush(self) -> None:
        with self._lock:
            self._epoch += 1
            self._queue.clear()

    def played_fraction(self, tag: Hashable) -> float:
        with self._lock:
            return self._progress.get(tag, 0.0)

    @property
    def idle(self) -> bool:
        with self._lock:
            return not self._queue

    def audio(self) -> Samples:
        """Everything played so far, in order."""
        with self._lock:
            played = list(self._played)  # joined with no lock held
        if not played:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(played).astype(np.float32, copy=False)

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
