"""Stress on the real PortAudio → PulseAudio path (virtual sound card): hundreds of play → close,
play → flush(hard), open → close cycles at random moments while audio plays and the microphone
captures. The run must complete (every call is bounded: a deadlock fails the test with the
threads' stacks, see pytest's thread timeout) and playback must still reach the microphone
intact afterwards.
"""

from __future__ import annotations

import random
import threading
import time

import numpy as np
import pytest

from her_desktop.audio import devices
from her_desktop.audio.capture import AudioCapture
from her_desktop.audio.playback import AudioPlayer
from tests.virtual_audio import VirtualAudio, best_correlation, virtual_audio, wait_for  # noqa: F401

CYCLES = 300


def _noise(seconds: float, rate: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal(int(seconds * rate))).clip(-0.9, 0.9).astype(np.float32)


def _chirp(rate: int) -> np.ndarray:
    """One second sweeping 200 Hz → 4 kHz: well inside every resampler's pass band (white noise
    up to 8 kHz measures the resamplers' filters, not the stream)."""
    t = np.arange(rate) / rate
    return (0.4 * np.sin(2 * np.pi * (200 * t + 1900 * t**2))).astype(np.float32)


@pytest.mark.timeout(300)
def test_random_play_flush_close_cycles_on_a_real_device(virtual_audio: VirtualAudio) -> None:  # noqa: F811
    rng = random.Random(13)
    recorded: list[np.ndarray] = []
    capture = AudioCapture(on_audio=recorded.append)
    capture.start()
    wait_for(lambda: len(recorded) > 2, 15)
    counts = {"play_close": 0, "play_flush": 0, "open_close": 0, "mic_cycle": 0}
    background = AudioPlayer(linger_s=-1)  # a second stream playing throughout
    stop = threading.Event()

    def keep_playing() -> None:
        while not stop.is_set():
            background.play(_noise(0.2, 24000, rng.randrange(1 << 30)), 24000)
            background.wait_idle(1.0)

    player_thread = threading.Thread(target=keep_playing, daemon=True)
    player_thread.start()
    try:
        player = AudioPlayer(linger_s=-1)
        for i in range(CYCLES):
            action = rng.choice(["play_close", "play_flush", "play_flush", "open_close"])
            if i % 25 == 24:
                action = "mic_cycle"
            counts[action] += 1
            if action == "play_flush":
                player.play(_noise(0.3, 24000, i), 24000, tag=i)
                time.sleep(rng.uniform(0, 0.03))
                player.flush(hard=True)
            elif action == "play_close":
                player.play(_noise(0.3, 48000, i), 48000, tag=i)
                time.sleep(rng.uniform(0, 0.03))
                player.close()
                player = AudioPlayer(linger_s=-1)
            elif action == "open_close":
                player.open()
                time.sleep(rng.uniform(0, 0.01))
                player.close()
                player = AudioPlayer(linger_s=-1)
            else:
                capture.stop()
                time.sleep(rng.uniform(0, 0.02))
                capture.start()
        player.close()
    finally:
        stop.set()
        player_thread.join(10)
        background.close()
    assert not player_thread.is_alive()
    assert min(counts.values()) > 0, counts
    assert not capture.lost

    # afterwards the device still works: a known signal comes back on the microphone. Up to
    # three probes (a machine busy with other work can drop a block of one): a broken stream,
    # device or PortAudio state fails all three.
    correlations: list[float] = []
    try:
        for _attempt in range(3):
            signal = _chirp(16000)  # speech band, at the microphone's rate: sample for sample
            probe = AudioPlayer()
            try:
                time.sleep(0.3)
                start = len(recorded)
                probe.play(signal, 16000)
                assert probe.wait_idle(10)
                time.sleep(0.6)
                heard = np.concatenate(recorded[start:])
            finally:
                probe.close()
            correlations.append(best_correlation(signal, heard)[0])
            if correlations[-1] > 0.9:
                break
    finally:
        capture.close()
    correlation = max(correlations)
    print(f"stress: {counts}; playback → recording correlation afterwards {correlation:.3f}")
    assert correlation > 0.9
    assert devices.open_stream_count() == 0
