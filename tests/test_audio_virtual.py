"""The virtual-audio fixture itself: what is played on her_speaker comes back on her_mic."""

from __future__ import annotations

import numpy as np

from tests.virtual_audio import VirtualAudio, best_correlation, virtual_audio  # noqa: F401


def test_round_trip_through_the_virtual_devices(virtual_audio: VirtualAudio) -> None:  # noqa: F811
    assert "her_speaker" in virtual_audio.pactl("list", "short", "sinks")
    assert "her_mic" in virtual_audio.pactl("list", "short", "sources")
    rate = 48000
    t = np.arange(rate) / rate
    chirp = 0.4 * np.sin(2 * np.pi * (200 * t + 1900 * t**2))  # 200 Hz → 4 kHz, speech band
    tries = []
    for _ in range(3):  # real-time audio on a starved CPU can drop a block
        correlation, lag = best_correlation(chirp, virtual_audio.play_and_record(chirp, rate))
        tries.append((round(correlation, 4), round(lag / rate * 1000)))
        if correlation > 0.95:
            break
    print(f"round trip (correlation, lag ms) per try: {tries}")
    assert correlation > 0.95


def test_best_correlation_finds_a_delay() -> None:
    x = np.random.default_rng(0).standard_normal(1000)
    delayed = np.concatenate([np.zeros(123), x, np.zeros(50)])
    correlation, lag = best_correlation(x, delayed)
    assert lag == 123
    assert correlation > 0.999


def test_settings_device_tests_use_the_bounded_audio_path(virtual_audio: VirtualAudio) -> None:  # noqa: F811
    """Settings → Audio "Test" buttons on a real (virtual) card: a tone is played and the
    microphone is recorded through the product's own bounded streams, none left open."""
    from her_desktop.audio import devices
    from her_desktop.gui.device_test import check_microphone, check_speaker

    assert check_speaker("").startswith('Played a short tone on "')
    report = check_microphone("", seconds=0.5)
    assert report.seconds >= 0.5
    assert devices.open_stream_count() == 0
