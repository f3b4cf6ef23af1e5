"""What the voice stages need from the audio side: a place to send her voice (a speaker, or a
WAV file for headless turns). The real speaker is ``audio.playback.AudioPlayer``; the headless
one is ``voice.file_sink.FileSink``. Both call back from their own thread; the stages hop to the
event loop themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Protocol

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]

PlayedCallback = Callable[[Hashable], None]


class AudioSink(Protocol):
    """A queue of audio chunks played in order, each with a tag."""

    def play(self, samples: Samples, sample_rate: int, tag: Hashable) -> None:
        """Queue a chunk; returns at once."""

    def flush(self) -> None:
        """Stop playing now and drop everything queued."""

    def played_fraction(self, tag: Hashable) -> float:
        """How much of the chunk ``tag`` has reached the speaker, 0..1 (0 if unknown)."""

    def set_callbacks(
        self, *, on_started: PlayedCallback | None, on_finished: PlayedCallback | None
    ) -> None:
        """``on_started(tag)`` when a chunk's first sample is played, ``on_finished(tag)`` when
        its last one is (not called for flushed chunks). Called from the audio thread."""

    def close(self) -> None: ...
