"""What the voice stages need from the audio side: a place to send her voice (a speaker, or a
WAV file for headless turns). The real speaker is ``voice.player_sink.PlayerSink`` (over
``audio.playback.AudioPlayer``); the headless one is ``voice.file_sink.FileSink``. Both call back
from their own thread; the stages hop to the event loop themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Protocol

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]

TagCallback = Callable[[Hashable], None]
"""Told the tag of a chunk (started / finished playing)."""
MessageCallback = Callable[[str], None]
"""Told a plain-words message (the speaker failed / came back)."""


class AudioSink(Protocol):
    """A queue of audio chunks played in order, each with a tag."""

    @property
    def epoch(self) -> int:
        """Bumped by every :meth:`flush`; read it before making audio and pass it to ``play``."""

    def play(
        self, samples: Samples, sample_rate: int, tag: Hashable, *, epoch: int | None = None
    ) -> None:
        """Queue a chunk; a chunk made before a later flush (``epoch`` older than the current
        one) is dropped, never played. May block briefly (opening the device: bounded), so
        call it off the event loop."""

    def flush(self) -> None:
        """Stop playing now and drop everything queued. Never blocks on the device: safe on
        the event loop."""

    def played_fraction(self, tag: Hashable) -> float:
        """How much of the chunk ``tag`` has reached the speaker, 0..1 (0 if unknown)."""

    def set_callbacks(
        self,
        *,
        on_started: TagCallback | None,
        on_finished: TagCallback | None,
        on_failed: MessageCallback | None = None,
        on_restored: MessageCallback | None = None,
    ) -> None:
        """``on_started(tag)`` when a chunk's first sample is played, ``on_finished(tag)`` when
        its last one is (not called for flushed chunks); ``on_failed(message)`` when the speaker
        stops working (queued chunks are dropped), ``on_restored(device)`` when it is back.
        Called from the audio side's threads."""

    def start(self) -> None:
        """Begin supervising the device (a lost speaker is reopened when it returns)."""

    def close(self) -> None:
        """Release the device. Blocking but bounded: call it off the event loop."""
