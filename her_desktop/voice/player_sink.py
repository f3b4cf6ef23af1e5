"""The real speaker as an ``AudioSink``: ``audio.playback.AudioPlayer`` plus the bookkeeping the
speaking stage needs (when a chunk starts, how much of it was heard), and a tap of everything
played for the echo canceller and the output level meter."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable

from her_desktop.audio.devices import AudioDeviceError
from her_desktop.audio.playback import AudioPlayer, PlayedChunk
from her_desktop.audio.resample import FloatArray
from her_desktop.voice.ports import PlayedCallback, Samples

ReferenceCallback = Callable[[FloatArray, int], None]


class PlayerSink:
    def __init__(
        self,
        device: str = "",
        *,
        on_reference: ReferenceCallback | None = None,
        on_error: Callable[[AudioDeviceError], None] | None = None,
        on_restored: Callable[[str], None] | None = None,
    ) -> None:
        self.on_reference = on_reference
        self.player = AudioPlayer(
            device,
            on_chunk_done=self._chunk_done,
            on_played=self._played,
            on_error=on_error,
            on_restored=on_restored,
        )
        self._lock = threading.Lock()
        self._order: deque[Hashable] = deque()
        self._started: set[Hashable] = set()
        self._fraction: dict[Hashable, float] = {}
        self._on_started: PlayedCallback | None = None
        self._on_finished: PlayedCallback | None = None

    def set_callbacks(
        self, *, on_started: PlayedCallback | None, on_finished: PlayedCallback | None
    ) -> None:
        self._on_started = on_started
        self._on_finished = on_finished

    def play(self, samples: Samples, sample_rate: int, tag: Hashable) -> None:
        with self._lock:
            self._order.append(tag)
            self._fraction[tag] = 0.0
            while len(self._fraction) > 256:  # old turns
                self._fraction.pop(next(iter(self._fraction)))
        try:
            self.player.play(samples, sample_rate, tag)
        except BaseException:
            with self._lock:
                if self._order and self._order[-1] == tag:
                    self._order.pop()
            raise

    def flush(self) -> None:
        self.player.flush()

    def played_fraction(self, tag: Hashable) -> float:
        with self._lock:
            return self._fraction.get(tag, 0.0)

    def close(self) -> None:
        self.player.close()

    # -- audio thread ------------------------------------------------------------------------

    def _played(self, block: FloatArray, sample_rate: int) -> None:
        with self._lock:
            head = self._order[0] if self._order else None
            first = head is not None and head not in self._started
            if first:
                self._started.add(head)
        if first and self._on_started is not None:
            self._on_started(head)
        if self.on_reference is not None:
            self.on_reference(block, sample_rate)

    def _chunk_done(self, report: PlayedChunk) -> None:
        with self._lock:
            if report.tag in self._order:
                self._order.remove(report.tag)
            self._started.discard(report.tag)
            self._fraction[report.tag] = report.fraction
        if not report.interrupted and self._on_finished is not None:
            self._on_finished(report.tag)
