"""The real-time rules of the audio side, on a fake PortAudio that keeps PortAudio's contract:
a callback thread runs the stream's callback block after block, and ``stop``/``abort``/``close``
wait for the callback in flight to return. A lock that a callback takes and that another thread
holds across one of those calls deadlocks here as it did on a real device (issue: the freeze at
``App.stop`` / barge-in). Each scenario runs in a daemon thread with a bound, so a deadlock is a
failed assertion, not a hung test run.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from her_desktop.audio import devices
from her_desktop.audio.capture import AudioCapture
from her_desktop.audio.echo import HalfDuplexGate, WebRtcEchoCanceller
from her_desktop.audio.playback import AudioPlayer, PlayedChunk
from her_desktop.native_calls import NativeCalls, NativeTimeout
from her_desktop.voice.file_sink import FileSink
from tests.test_audio_devices import FakeSoundDevice, FakeStream, fake_sd  # noqa: F401

BOUND_S = 10.0


class CallbackThreadStream(FakeStream):
    """A fake stream with PortAudio's threading: callbacks on their own thread, back to back;
    ``abort``/``stop``/``close`` join that thread (they wait for the callback in flight)."""

    def __init__(self, sd: FakeSoundDevice, kind: str, **kwargs: Any) -> None:
        super().__init__(sd, kind, **kwargs)
        self._thread: threading.Thread | None = None
        self._running = False
        self.callbacks = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        self.active = True
        self._running = True
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        frames = 160
        while self._running:
            if self.kind == "output":
                out = np.zeros((frames, self.channels), dtype=np.float32)
                self.callback(out, frames, None, SimpleNamespace(output_underflow=False))
            else:
                data = np.zeros((frames, self.channels), dtype=np.float32)
                self.callback(data, frames, None, SimpleNamespace(input_overflow=False))
            self.callbacks += 1
            time.sleep(0.0005)

    def _end(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            time.sleep(0.02)  # let the callback thread reach whatever it waits for
            self._running = False
            thread.join()  # PortAudio: wait for the callback in flight, without a bound
        super()._end()


@pytest.fixture
def threaded_sd(fake_sd: FakeSoundDevice) -> FakeSoundDevice:  # noqa: F811
    fake_sd.OutputStream = lambda **kw: CallbackThreadStream(fake_sd, "output", **kw)  # type: ignore[method-assign]
    fake_sd.InputStream = lambda **kw: CallbackThreadStream(fake_sd, "input", **kw)  # type: ignore[method-assign]
    fake_sd.add("Speakers", outputs=2, rate=48000, rates={48000, 16000}, default=True)
    fake_sd.add("Mic", inputs=1, rate=16000, rates={16000}, default=True)
    return fake_sd


def finishes(work: Any, bound_s: float = BOUND_S) -> bool:
    """Run ``work`` in a daemon thread; True when it returned within ``bound_s``."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(bound_s)
    if errors:
        raise errors[0]
    return not thread.is_alive()


def tone(n: int, value: float = 0.5) -> np.ndarray:
    return np.full(n, value, dtype=np.float32)


def test_flush_and_close_while_the_callback_runs_never_deadlock(
    threaded_sd: FakeSoundDevice,
) -> None:
    player = AudioPlayer()

    def barge_in_then_quit() -> None:
        for i in range(40):
            player.play(tone(4800), 48000, tag=i)
            time.sleep(0.002)
            player.flush(hard=True)  # the barge-in path: abort + start of the stream
        player.play(tone(48000), 48000, tag="last words")
        player.close()  # App.stop: the stream is aborted while a callback runs

    assert finishes(barge_in_then_quit), "flush/close waited for a callback waiting for them"
    assert not player.is_open
    assert devices.open_stream_count() == 0


def test_a_hard_flush_restarts_the_stream_on_its_own_thread(threaded_sd: FakeSoundDevice) -> None:
    player = AudioPlayer()
    player.play(tone(48000), 48000, tag="long")
    stream = threaded_sd.last("output")
    assert finishes(lambda: time.sleep(0.05))
    began = time.monotonic()
    dropped = player.flush(hard=True)
    returned_after = time.monotonic() - began
    assert [c.tag for c in dropped] == ["long"]
    assert player.idle
    assert player.settle(5.0)
    assert stream.active  # restarted, not lost
    assert not player.lost
    assert returned_after < 1.0  # the caller never waited for the abort (it takes 20 ms here)
    player.close()


def test_audio_made_before_a_flush_is_never_played(fake_sd: FakeSoundDevice) -> None:  # noqa: F811
    """A cancelled ``play`` (its worker thread runs on) must not queue sound after the flush."""
    fake_sd.add("Speakers", outputs=2, rate=48000, rates={48000}, default=True)
    done: list[PlayedChunk] = []
    player = AudioPlayer(on_chunk_done=done.append)
    player.open()
    epoch = player.epoch  # the reply asked for this sentence…
    player.flush()  # …then the user barged in…
    player.play(tone(4800), 48000, tag="stale", epoch=epoch)  # …and synthesis finished late
    out = fake_sd.last("output").pull(480)
    assert np.all(out == 0.0)
    assert player.idle
    assert [(c.tag, c.played, c.interrupted) for c in done] == [("stale", 0, True)]
    player.play(tone(480), 48000, tag="fresh", epoch=player.epoch)
    assert fake_sd.last("output").pull(480)[:, 0] == pytest.approx(0.5)
    player.close()


def test_file_sink_drops_audio_made_before_a_flush() -> None:
    sink = FileSink()
    epoch = sink.epoch
    sink.flush()
    sink.play(tone(100), 16000, "stale", epoch=epoch)
    assert sink.audio().size == 0
    sink.play(tone(100), 16000, "fresh", epoch=sink.epoch)
    assert sink.audio().size == 100


@pytest.mark.parametrize("realtime", [False, True])
def test_file_sink_calls_back_with_no_lock_held(realtime: bool) -> None:
    """A started/finished callback may ask the sink about progress (it takes the sink's lock):
    it is called after the lock is released, and resampling runs outside it too."""
    sink = FileSink(realtime=realtime)
    seen: list[tuple[str, float]] = []
    finished = threading.Event()

    def on_started(tag: object) -> None:
        seen.append(("started", sink.played_fraction(tag)))

    def on_finished(tag: object) -> None:
        seen.append(("finished", sink.played_fraction(tag)))
        finished.set()

    sink.set_callbacks(on_started=on_started, on_finished=on_finished)
    assert finishes(lambda: sink.play(tone(160), 16000, "a"), bound_s=5.0)
    assert finished.wait(5.0)
    finished.clear()
    assert finishes(lambda: sink.play(tone(320), 32000, "b"), bound_s=5.0)
    assert finished.wait(5.0)
    assert seen[-1] == ("finished", 1.0)
    assert [kind for kind, _ in seen] == ["started", "finished"] * 2
    assert sink.audio().size == 320  # the second chunk resampled to 16 kHz
    sink.close()


def test_capture_stop_start_close_while_the_callback_runs(threaded_sd: FakeSoundDevice) -> None:
    blocks: list[np.ndarray] = []
    capture = AudioCapture(block=512, on_audio=blocks.append)

    def cycle() -> None:
        for _ in range(20):
            capture.start()
            time.sleep(0.002)
            capture.stop()
        capture.start()
        capture.close()

    assert finishes(cycle)
    assert blocks  # audio did flow
    assert devices.open_stream_count() == 0


def test_a_hung_portaudio_call_is_abandoned_in_plain_words(fake_sd: FakeSoundDevice) -> None:  # noqa: F811
    fake_sd.add("Speakers", outputs=2, rate=48000, rates={48000}, default=True)
    errors: list[Exception] = []
    player = AudioPlayer(on_error=errors.append)
    player.close_timeout_s = 0.2
    player.play(tone(480), 48000)
    stream = fake_sd.last("output")
    release = threading.Event()
    stream.abort = lambda: release.wait(30)  # type: ignore[method-assign,assignment]  # a wedged backend
    try:
        assert finishes(player.close, bound_s=5.0)  # shutdown completes
    finally:
        release.set()
    assert len(errors) == 1
    assert "stopped responding" in str(errors[0])
    assert str(errors[0]).startswith("speaker unavailable: ")
    assert devices.open_stream_count() == 0


def test_native_calls_time_out_and_cancel_what_queued_behind() -> None:
    native = NativeCalls("test")
    release = threading.Event()
    ran: list[str] = []
    native.submit(lambda: release.wait(30))
    native.submit(lambda: ran.append("late"))
    with pytest.raises(NativeTimeout):
        native.call(lambda: ran.append("waited"), timeout=0.1)
    assert native.call(lambda: "fresh thread", timeout=5.0) == "fresh thread"
    release.set()
    time.sleep(0.05)
    assert ran == []  # nothing queued behind the hung call ran late
    assert native.abandoned == 1
    native.close()


def test_refresh_never_reinitialises_while_a_stream_is_being_opened(
    fake_sd: FakeSoundDevice,  # noqa: F811
) -> None:
    fake_sd.add("Speakers", outputs=2, rate=48000, rates={48000}, default=True)
    refreshed_during_open: list[bool] = []
    make = fake_sd.OutputStream

    def open_stream(**kwargs: Any) -> FakeStream:
        refreshed_during_open.append(devices.refresh())  # another thread's device poll
        return make(**kwargs)

    fake_sd.OutputStream = open_stream  # type: ignore[method-assign]
    player = AudioPlayer()
    player.open()
    assert refreshed_during_open == [False]
    assert fake_sd.terminates == 0
    player.close()
    assert devices.refresh() is True


class _SlowApm:
    """WebRTC that stays inside ``process_stream`` until released (a capture mid-call)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.inside = threading.Event()
        self.release = threading.Event()

    def process_stream(self, frame: Any) -> None:
        self.inside.set()
        self.release.wait(10.0)
        self.real.process_stream(frame)

    def process_reverse_stream(self, frame: Any) -> None:
        self.real.process_reverse_stream(frame)

    def set_stream_delay_ms(self, ms: int) -> None:
        self.real.set_stream_delay_ms(ms)


def test_echo_reference_never_waits_for_the_capture_side() -> None:
    """While the capture thread is inside WebRTC, the speaker callback hands its block over
    and a device change asks for a reset: neither waits (no lock is held across WebRTC)."""
    pytest.importorskip("livekit")
    echo = WebRtcEchoCanceller()
    assert finishes(lambda: echo.render(tone(480), 48000), bound_s=2.0)
    assert 0 < echo.queued_reference() <= 160  # 480 samples at 48 kHz → 160 at 16 kHz
    slow = _SlowApm(echo._apm)
    echo._apm = slow
    capture = threading.Thread(target=lambda: echo.capture(tone(320, 0.1)), daemon=True)
    capture.start()
    try:
        assert slow.inside.wait(5.0)
        assert finishes(lambda: echo.render(tone(480), 48000), bound_s=2.0)
        assert finishes(echo.reset, bound_s=2.0)
        assert capture.is_alive()  # both came back while WebRTC was still busy
    finally:
        slow.release.set()
        capture.join(5.0)
    assert echo.capture(tone(320, 0.1)).shape == (320,)  # the reset is honoured here
    assert echo._apm is not slow
    assert echo.queued_reference() == 0
    gate = HalfDuplexGate(clock=lambda: 100.0)
    gate.render(tone(1600), 16000)
    assert gate.speaking_until() == pytest.approx(100.1)
