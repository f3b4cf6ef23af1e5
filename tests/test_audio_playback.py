"""AudioPlayer on a fake sounddevice, and its twin on real PortAudio (virtual PulseAudio)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from her_desktop.audio.capture import AudioCapture
from her_desktop.audio.devices import AudioDeviceError
from her_desktop.audio.playback import AudioPlayer, PlayedChunk
from tests.test_audio_devices import FakeSoundDevice, fake_sd  # noqa: F401
from tests.virtual_audio import VirtualAudio, virtual_audio, wait_for  # noqa: F401


def _player(fake: FakeSoundDevice, **kwargs: object) -> tuple[AudioPlayer, list[PlayedChunk]]:
    fake.add("Speakers", outputs=2, rate=48000, rates={48000}, default=True)
    done: list[PlayedChunk] = []
    return AudioPlayer(on_chunk_done=done.append, **kwargs), done  # type: ignore[arg-type]


def test_plays_chunks_in_order_resampled_to_the_device(fake_sd: FakeSoundDevice) -> None:  # noqa: F811
    player, done = _player(fake_sd)
    player.play(np.full(24000, 0.5, dtype=np.float32), 24000, tag="one")  # 1 s → 48000
    player.play(np.full(1000, -0.25, dtype=np.float32), 48000, tag="two")
    stream = fake_sd.last("output")
    assert stream.samplerate == 48000
    assert stream.kwargs["blocksize"] == 480
    assert stream.channels == 1
    assert not bool(player.idle)  # (bool(): no mypy narrowing)
    out = np.concatenate([stream.pull(480)[:, 0] for _ in range(103)])
    assert [(c.tag, c.samples, c.played, c.interrupted) for c in done] == [
        ("one", 24000, 24000, False),
        ("two", 1000, 1000, False),
    ]
    assert out[1000:47000] == pytest.approx(0.5, abs=1e-3)
    assert out[48100:48900] == pytest.approx(-0.25, abs=1e-3)
    assert np.all(out[49000:] == 0.0)
    assert player.idle
    assert player.wait_idle(0)
    player.close()


def test_two_channel_device_gets_the_same_signal_twice(fake_sd: FakeSoundDevice) -> None:  # noqa: F811
    fake_sd.add("stereo only", outputs=2, rate=44100, rates={44100}, default=True)
    fake_sd.devices[0]["max_output_channels"] = 2
    fake_sd.check_output_settings = _only_two_channels(fake_sd)  # type: ignore[method-assign]
    player = AudioPlayer()
    player.play(np.full(441, 0.5, dtype=np.float32), 44100)
    out = fake_sd.last("output").pull(441)
    assert out.shape == (441, 2)
    assert np.allclose(out[:, 0], out[:, 1])
    player.close()


def _only_two_channels(fake: FakeSoundDevice):  # type: ignore[no-untyped-def]
    def check(device: int, samplerate: float, channels: int, dtype: str) -> None:
        if channels != 2:
            raise fake.PortAudioError("Invalid number of channels")

    return check


def test_flush_reports_the_played_fraction_and_silences_the_next_block(
    fake_sd: FakeSoundDevice,  # noqa: F811
) -> None:
    player, done = _player(fake_sd)
    player.play(np.full(48000, 0.5, dtype=np.float32), 48000, tag="sentence 1")
    player.play(np.full(16000, 0.5, dtype=np.float32), 16000, tag="sentence 2")
    stream = fake_sd.last("output")
    for _ in range(30):  # 300 ms of the first sentence
        stream.pull(480)
    dropped = player.flush()
    assert [(c.tag, c.played, c.interrupted) for c in dropped] == [
        ("sentence 1", 14400, True),
        ("sentence 2", 0, True),
    ]
    assert dropped[0].fraction == pytest.approx(0.3)
    assert done == dropped  # the callback saw the same reports
    assert player.settle()  # the restart runs on the stream's own thread
    assert stream.active  # a hard flush restarts the stream; its abort is not a lost device
    assert player.check()
    assert np.all(stream.pull(480) == 0.0)
    assert player.idle
    assert player.flush() == []
    player.close()


def test_reference_tap_gets_every_block_including_silence(fake_sd: FakeSoundDevice) -> None:  # noqa: F811
    taps: list[tuple[np.ndarray, int]] = []
    player, _ = _player(fake_sd, on_played=lambda block, rate: taps.append((block, rate)))
    player.play(np.full(480, 0.5, dtype=np.float32), 48000)
    stream = fake_sd.last("output")
    stream.pull(480)
    stream.pull(480)
    assert [rate for _, rate in taps] == [48000, 48000]
    assert taps[0][0] == pytest.approx(0.5)
    assert np.all(taps[1][0] == 0.0)
    player.close()


def test_play_without_a_speaker_raises_plain_words(fake_sd: FakeSoundDevice) -> None:  # noqa: F811
    player = AudioPlayer()
    with pytest.raises(AudioDeviceError, match=r"^speaker unavailable: no output device found"):
        player.play(np.zeros(100, dtype=np.float32), 16000)
    player.close()


def test_lost_speaker_cuts_chunks_reports_once_and_reconnects(
    fake_sd: FakeSoundDevice,  # noqa: F811
) -> None:
    errors: list[AudioDeviceError] = []
    restored: list[str] = []
    player, done = _player(fake_sd, on_error=errors.append, on_restored=restored.append)
    player.play(np.full(4800, 0.5, dtype=np.float32), 48000, tag="cut")
    first = fake_sd.last("output")
    first.pull(480)
    fake_sd.remove_all()
    first.die()
    first.die()
    assert player.check() is False
    assert player.idle
    assert [(c.tag, c.played, c.interrupted) for c in done] == [("cut", 480, True)]
    assert len(errors) == 1
    assert errors[0].reason == "lost"
    assert errors[0].kind == "output"
    stop = threading.Event()
    thread = threading.Thread(target=player.keep_alive, args=(stop,), kwargs={"interval_s": 0.02})
    thread.start()
    try:
        time.sleep(0.1)
        fake_sd.add("Speakers", outputs=2, rate=48000, default=True)
        wait_for(lambda: restored == ["Speakers"], 5)
    finally:
        stop.set()
        thread.join(5)
    assert first.closed
    assert player.is_open
    assert len(errors) == 1
    player.close()


def test_an_idle_stream_is_released_after_the_linger(fake_sd: FakeSoundDevice) -> None:  # noqa: F811
    player, _ = _player(fake_sd, linger_s=0.05)
    player.play(np.zeros(480, dtype=np.float32), 48000)
    fake_sd.last("output").pull(480)
    assert player.close_if_idle() is False  # idle, but not for long enough
    time.sleep(0.1)
    assert player.close_if_idle() is True
    assert not bool(player.is_open)
    player.play(np.zeros(480, dtype=np.float32), 48000)  # reopens on demand
    assert player.is_open
    assert len(fake_sd.streams) == 2
    player.close()
    player.close()


# --- twin: real PortAudio on the virtual PulseAudio devices ----------------------------------


def test_real_flush_silences_the_speaker(virtual_audio: VirtualAudio) -> None:  # noqa: F811
    """Measures flush → silence as heard on the virtual microphone (printed, never asserted).

    The number is an upper bound: the microphone's own latency is included.
    """
    blocks: list[np.ndarray] = []
    capture = AudioCapture(on_audio=blocks.append)
    done: list[PlayedChunk] = []
    player = AudioPlayer(on_chunk_done=done.append)
    tone = (0.5 * np.sin(2 * np.pi * 300 * np.arange(3 * 24000) / 24000)).astype(np.float32)
    try:
        capture.start()
        wait_for(lambda: len(blocks) > 2, 15)
        player.play(tone, 24000, tag="long")
        wait_for(lambda: _loud(blocks[-1]), 10)  # the tone reaches the microphone
        time.sleep(0.3)
        captured_at_flush = sum(len(b) for b in blocks)
        began = time.perf_counter()
        dropped = player.flush()
        flush_ms = (time.perf_counter() - began) * 1000
        assert player.idle
        time.sleep(0.5)
    finally:
        capture.close()
        player.close()
    assert len(dropped) == 1
    assert dropped[0].tag == "long"
    assert 0 < dropped[0].fraction < 1
    audio = np.concatenate(blocks)
    windows = audio[: len(audio) // 80 * 80].reshape(-1, 80)  # 5 ms windows
    loud = np.nonzero(np.sqrt(np.mean(windows**2, axis=1)) > 0.01)[0]
    silence_from = (int(loud[-1]) + 1) * 80
    print(
        f"flush → silence on the microphone: {(silence_from - captured_at_flush) / 16:.0f} ms "
        f"(played {dropped[0].fraction:.2f} of the chunk); flush() took {flush_ms:.1f} ms"
    )
    assert silence_from < len(audio) - 1600  # at least the last 100 ms are silent
    assert np.sqrt(np.mean(audio[-1600:] ** 2)) < 0.01


def _loud(block: np.ndarray) -> bool:
    return float(np.sqrt(np.mean(block**2))) > 0.1
