"""AudioCapture on a fake sounddevice, and its twin on real PortAudio (virtual PulseAudio)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from her_desktop.audio.capture import AudioCapture
from her_desktop.audio.devices import AudioDeviceError
from her_desktop.audio.playback import AudioPlayer
from her_desktop.audio.resample import resample
from tests.test_audio_devices import FakeSoundDevice, fake_sd  # noqa: F401
from tests.virtual_audio import (  # noqa: F401
    VirtualAudio,
    best_correlation,
    virtual_audio,
    wait_for,
)


def _tone(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _dominant_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


def test_opens_16k_mono_when_supported(fake_sd: FakeSoundDevice) -> None:  # noqa: F811
    fake_sd.add("mic", inputs=2, rate=44100, rates={16000, 44100}, default=True)
    blocks: list[np.ndarray] = []
    capture = AudioCapture(on_audio=blocks.append)
    capture.start()
    stream = fake_sd.last("input")
    assert (stream.samplerate, stream.channels) == (16000, 1)
    assert capture.native_rate == 16000
    stream.feed(np.full(1000, 0.25, dtype=np.float32))
    assert [len(b) for b in blocks] == [512]  # 488 wait for the next feed
    stream.feed(np.full(100, 0.25, dtype=np.float32))
    assert [len(b) for b in blocks] == [512, 512]
    assert all(b.dtype == np.float32 for b in blocks)
    capture.close()


@pytest.mark.parametrize("rate", [8000, 44100, 48000])
def test_resamples_a_device_that_cannot_do_16k(fake_sd: FakeSoundDevice, rate: int) -> None:  # noqa: F811
    fake_sd.add("mic", inputs=2, rate=rate, rates={rate}, default=True)
    blocks: list[np.ndarray] = []
    capture = AudioCapture(on_audio=blocks.append)
    capture.start()
    stream = fake_sd.last("input")
    assert stream.samplerate == rate
    tone = _tone(1000, rate, 1.0)
    for i in range(0, len(tone), 441):  # odd block sizes, like a real device
        stream.feed(tone[i : i + 441])
    capture.close()
    assert {len(b) for b in blocks} == {512}
    audio = np.concatenate(blocks)
    assert abs(len(audio) - 16000) <= 512 + 64  # the filter delay and the unfinished block
    assert _dominant_hz(audio, 16000) == pytest.approx(1000, abs=4)
    assert np.isfinite(audio).all()
    assert np.abs(audio).max() <= 1.0


def test_stereo_is_mixed_down_and_garbage_cleaned(fake_sd: FakeSoundDevice) -> None:  # noqa: F811
    fake_sd.add("mic", inputs=2, rate=16000, rates={16000}, default=True)
    fake_sd.rates[0] = {16000}
    blocks: list[np.ndarray] = []
    capture = AudioCapture(on_audio=blocks.append)
    capture.start()
    stereo = np.zeros((512, 2), dtype=np.float32)
    stereo[:, 0] = 0.5
    stereo[:3, 1] = [np.nan, np.inf, 3.0]
    stream = fake_sd.last("input")
    stream.channels = 2
    stream.feed(stereo)
    capture.close()
    block = blocks[0]
    assert block[:3].tolist() == [0.25, 0.25, 1.0]  # NaN/inf → 0 per channel mean; clipped
    assert block[3] == 0.25


def test_start_stop_close_are_idempotent(fake_sd: FakeSoundDevice) -> None:  # noqa: F811
    fake_sd.add("mic", inputs=1, rate=16000, default=True)
    errors: list[AudioDeviceError] = []
    capture = AudioCapture(on_error=errors.append)
    capture.start()
    capture.start()
    assert len(fake_sd.streams) == 1
    assert capture.running
    capture.stop()
    capture.stop()
    assert not bool(capture.running)  # (bool(): no mypy narrowing)
    capture.start()
    assert capture.running
    assert fake_sd.last("input").active
    capture.close()
    capture.close()
    assert fake_sd.last("input").closed
    assert errors == []
    with pytest.raises(RuntimeError, match="closed"):
        capture.start()


def test_no_microphone_raises_plain_words(fake_sd: FakeSoundDevice) -> None:  # noqa: F811
    capture = AudioCapture()
    with pytest.raises(AudioDeviceError, match="no input device found — typing still works"):
        capture.start()


def test_device_lost_reports_once_and_reconnects(fake_sd: FakeSoundDevice) -> None:  # noqa: F811
    fake_sd.add("USB Mic", inputs=1, rate=16000, default=True)
    errors: list[AudioDeviceError] = []
    restored: list[str] = []
    capture = AudioCapture("usb", on_error=errors.append, on_restored=restored.append)
    capture.start()
    first = fake_sd.last("input")
    fake_sd.remove_all()
    first.die()
    first.die()
    assert capture.check() is False
    assert len(errors) == 1
    assert errors[0].reason == "lost"
    assert errors[0].kind == "input"
    assert str(errors[0]).startswith('microphone unavailable: "USB Mic" stopped working')
    stop = threading.Event()
    thread = threading.Thread(target=capture.keep_alive, args=(stop,), kwargs={"interval_s": 0.02})
    thread.start()
    try:
        time.sleep(0.1)
        fake_sd.add("USB Mic", inputs=1, rate=16000, default=True)
        wait_for(lambda: restored == ["USB Mic"], 5)
    finally:
        stop.set()
        thread.join(5)
    assert first.closed
    assert capture.running
    assert fake_sd.last("input") is not first
    assert len(errors) == 1
    capture.close()


def test_a_silent_stream_counts_as_lost(fake_sd: FakeSoundDevice) -> None:  # noqa: F811
    fake_sd.add("mic", inputs=1, rate=16000, default=True)
    errors: list[AudioDeviceError] = []
    capture = AudioCapture(on_error=errors.append, stall_timeout_s=0.05, startup_grace_s=0.05)
    capture.start()
    fake_sd.last("input").feed(np.zeros(10, dtype=np.float32))
    assert capture.check() is True
    time.sleep(0.1)
    assert capture.check() is False
    assert "no sound data" in str(errors[0])
    capture.close()


def test_reconnect_gives_up_when_stopped(fake_sd: FakeSoundDevice) -> None:  # noqa: F811
    capture = AudioCapture()
    stop = threading.Event()
    stop.set()
    assert capture.reconnect(stop) is False


# --- twin: real PortAudio on the virtual PulseAudio devices ----------------------------------


def test_real_capture_hears_a_played_tone(virtual_audio: VirtualAudio) -> None:  # noqa: F811
    """Played tone → virtual speaker → virtual microphone → 16 kHz blocks, same tone.

    Real-time audio on a starved CPU can drop a block; up to three tries.
    """
    tone = _tone(440, 22050, 1.5)
    reference = resample(tone, 22050, 16000)
    results = []
    for _ in range(3):
        audio, overflows = _capture_while_playing(tone, 22050, len(reference))
        correlation, lag = best_correlation(reference, audio)
        results.append((round(correlation, 4), lag // 16, overflows))
        if correlation > 0.95:
            break
    print(f"capture round trip (correlation, lag ms, overflows) per try: {results}")
    assert _dominant_hz(audio[lag : lag + len(reference)], 16000) == pytest.approx(440, abs=3)
    assert correlation > 0.95


def _capture_while_playing(signal: np.ndarray, rate: int, expected: int) -> tuple[np.ndarray, int]:
    blocks: list[np.ndarray] = []
    capture = AudioCapture(on_audio=blocks.append)
    player = AudioPlayer()
    try:
        capture.start()
        wait_for(lambda: len(blocks) > 2, 15)  # the pulse plugin can be slow to start
        start = len(blocks)
        player.play(signal, rate, tag="tone")
        assert player.wait_idle(15)
        # keep recording until the tone plus a second of round-trip latency has arrived
        wait_for(lambda: (len(blocks) - start) * 512 > expected + 16000, 15)
    finally:
        capture.close()
        player.close()
    assert {len(b) for b in blocks} == {512}
    return np.concatenate(blocks[start:]), capture.overflows
