"""The real speaker as an ``AudioSink``: ``audio.playback.AudioPlayer``, its device supervised
(a lost speaker is reported and reopened when it is back), and a tap of everything played for
the echo canceller and the output level meter."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

from her_desktop.audio.devices import AudioDeviceError
from her_desktop.audio.playback import AudioPlayer, PlayedChunk
from her_desktop.audio.resample import FloatArray
from her_desktop.voice.ports import MessageCallback, Samples, TagCallback

log = logging.getLogger(__name__)

ReferenceCallback = Callable[[FloatArray, int], None]
WATCH_JOIN_S = 3.0


class PlayerSink:
    def __init__(self, device: str = "", *, on_reference: ReferenceCallback | None = None) -> None:
        self.player = AudioPlayer(
            device,
            on_chunk_started=self._chunk_started,
            on_chunk_done=self._chunk_done,
            on_played=on_reference,
            on_error=self._lost,
            on_restored=self._restored,
        )
        self._on_started: TagCallback | None = None
        self._on_finished: TagCallback | None = None
        self._on_failed: MessageCallback | None = None
        self._on_restored: MessageCallback | None = None
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None

    def set_callbacks(
        self,
        *,
        on_started: TagCallback | None,
        on_finished: TagCallback | None,
        on_failed: MessageCallback | None = None,
        on_restored: MessageCallback | None = None,
    ) -> None:
        self._on_started = on_started
        self._on_finished = on_finished
        self._on_failed = on_failed
        self._on_restored = on_restored

    @property
    def epoch(self) -> int:
        return self.player.epoch

    def start(self) -> None:
        if self._watch is None:
            self._watch = threading.Thread(
                target=self.player.keep_alive, args=(self._stop,), name="speaker-watch", daemon=True
            )
            self._watch.start()

    def play(
        self, samples: Samples, sample_rate: int, tag: Hashable, *, epoch: int | None = None
    ) -> None:
        self.player.play(samples, sample_rate, tag, epoch=epoch)

    def flush(self) -> None:
        self.player.flush()

    def played_fraction(self, tag: Hashable) -> float:
        return self.player.played_fraction(tag)

    def close(self) -> None:
        self._stop.set()
        self.player.close()
        if self._watch is not None:
            self._watch.join(WATCH_JOIN_S)

    # -- audio-side threads ------------------------------------------------------------------

    def _chunk_started(self, tag: Hashable | None) -> None:
        if self._on_started is not None and tag is not None:
            self._on_started(tag)

    def _chunk_done(self, report: PlayedChunk) -> None:
        if not report.interrupted and self._on_finished is not None and report.tag is not None:
            self._on_finished(report.tag)

    def _lost(self, error: AudioDeviceError) -> None:
        if self._on_failed is not None:
            self._on_failed(str(error))

    def _restored(self, name: str) -> None:
        if self._on_restored is not None:
            self._on_restored(name)
