"""A real PulseAudio daemon with a virtual speaker and microphone, for audio tests.

Fixture ``virtual_audio`` (session-scoped): starts ``pulseaudio`` (root is fine) with a private
runtime dir, loads a null sink ``her_speaker`` and a source ``her_mic`` that records that sink's
monitor (what is played comes back on the microphone), makes them the defaults and points
PortAudio at them through ALSA's ``pulse`` plugin (``PULSE_SERVER``; package
libasound2-plugins, a dependency of pulseaudio). PortAudio then lists ``pulse`` and ``default``.
Skips with the reason when pulseaudio is not installed or cannot start.

Use it in a test module with ``pytest_plugins`` or by importing the fixture:
``from tests.virtual_audio import virtual_audio  # noqa: F401``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt
import pytest

from her_desktop.bench.virtual_card import VirtualCard, VirtualCardError, start_card, stop_card


class VirtualAudio(VirtualCard):
    """The card as the tests use it (plus a plain-sounddevice round trip)."""

    def play_and_record(
        self, signal: npt.ArrayLike, sample_rate: int, *, tail_s: float = 0.5
    ) -> npt.NDArray[np.float32]:
        """Play ``signal`` on the default speaker while recording the default microphone.

        Uses sounddevice directly (no product code). The recording starts first and playback
        waits until it delivers sound data (ALSA's pulse plugin can take seconds to start a
        capture); it ends ``tail_s`` after the signal (the round trip's latency).
        """
        import sounddevice as sd

        x = np.asarray(signal, dtype=np.float32).reshape(-1)
        recorded: list[npt.NDArray[np.float32]] = []

        def collect(
            indata: npt.NDArray[np.float32], frames: int, when: object, status: object
        ) -> None:
            recorded.append(indata[:, 0].copy())

        with sd.InputStream(
            samplerate=sample_rate, channels=1, dtype="float32", latency="low", callback=collect
        ):
            wait_for(lambda: len(recorded) > 2, 15)
            start = len(recorded)
            sd.play(x, samplerate=sample_rate, blocksize=sample_rate // 100, blocking=True)
            time.sleep(tail_s)
        return np.concatenate(recorded[start:]).astype(np.float32)


def best_correlation(reference: npt.ArrayLike, recorded: npt.ArrayLike) -> tuple[float, int]:
    """Normalised correlation of ``reference`` with ``recorded`` at the best lag, and the lag."""
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    rec = np.asarray(recorded, dtype=np.float64).reshape(-1)
    if len(rec) < len(ref):
        rec = np.concatenate([rec, np.zeros(len(ref) - len(rec))])
    n = 1 << int(np.ceil(np.log2(len(ref) + len(rec))))
    xc = np.fft.irfft(np.fft.rfft(rec, n) * np.conj(np.fft.rfft(ref, n)), n)
    lag = int(np.argmax(xc[: len(rec) - len(ref) + 1]))
    segment = rec[lag : lag + len(ref)]
    denominator = float(np.linalg.norm(segment) * np.linalg.norm(ref))
    return (float(np.dot(segment, ref)) / denominator if denominator else 0.0), lag


def wait_for(condition: Callable[[], object], timeout_s: float = 10.0) -> None:
    """Poll ``condition`` (from a plain thread) until true; AssertionError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(0.005)


_shared: list[VirtualAudio] = []
_users = 0


@pytest.fixture(scope="session")
def virtual_audio() -> Iterator[VirtualAudio]:
    """A running PulseAudio with ``her_speaker`` → ``her_mic`` wired as the defaults.

    One daemon per test session even when several modules import this fixture.
    """
    global _users
    if not _shared:
        _shared.append(_start())
    _users += 1
    try:
        yield _shared[0]
    finally:
        _users -= 1
        if _users == 0:
            _stop(_shared.pop())


def _start() -> VirtualAudio:
    try:
        card = start_card()
    except VirtualCardError as exc:
        pytest.skip(f"no virtual audio: {exc}")
    return VirtualAudio(
        card.runtime_dir, card.server, card.process, card.previous_server, card.sink, card.source
    )


def _stop(audio: VirtualAudio) -> None:
    stop_card(audio)
