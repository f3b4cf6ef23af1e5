"""Device listing and choice, on a fake sounddevice module and (twin) on real PortAudio.

``FakeSoundDevice`` and the ``fake_sd`` fixture are shared by the capture and playback tests.
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from her_desktop.audio import devices
from her_desktop.audio.devices import AudioDeviceError, choose_device, list_devices
from tests.virtual_audio import VirtualAudio, virtual_audio  # noqa: F401


class FakePortAudioError(Exception):
    pass


class FakeStream:
    """Records how it was opened; tests drive its callback by hand."""

    def __init__(self, sd: FakeSoundDevice, kind: str, **kwargs: Any) -> None:
        self.sd = sd
        self.kind = kind
        self.kwargs = kwargs
        self.callback: Callable[..., None] = kwargs["callback"]
        self.finished_callback: Callable[[], None] | None = kwargs.get("finished_callback")
        self.samplerate = kwargs["samplerate"]
        self.channels = kwargs["channels"]
        self.active = False
        self.closed = False
        sd.streams.append(self)

    def start(self) -> None:
        self.active = True

    def _end(self) -> None:
        if self.active:
            self.active = False
            if self.finished_callback is not None:
                self.finished_callback()

    def stop(self) -> None:
        self._end()

    def abort(self) -> None:
        self._end()

    def close(self) -> None:
        self._end()
        self.closed = True

    def die(self) -> None:
        """The device went away: PortAudio ends the stream on its own."""
        self._end()

    def feed(self, indata: np.ndarray, **flags: bool) -> None:
        status = SimpleNamespace(input_overflow=False, **flags)
        data = indata.reshape(len(indata), -1).astype(np.float32)
        self.callback(data, len(data), None, status)

    def pull(self, frames: int) -> np.ndarray:
        out = np.full((frames, self.channels), np.nan, dtype=np.float32)
        self.callback(out, frames, None, SimpleNamespace(output_underflow=False))
        return out


class FakeSoundDevice:
    """Enough of sounddevice's API for the audio classes: devices, defaults, streams."""

    PortAudioError = FakePortAudioError

    def __init__(self) -> None:
        self.devices: list[dict[str, Any]] = []
        self.default = SimpleNamespace(device=[-1, -1])
        self.rates: dict[int, set[int]] = {}
        self.streams: list[FakeStream] = []
        self.inits = 0
        self.terminates = 0

    def add(
        self,
        name: str,
        inputs: int = 0,
        outputs: int = 0,
        rate: float = 48000.0,
        rates: set[int] | None = None,
        default: bool = False,
    ) -> int:
        index = len(self.devices)
        self.devices.append(
            {
                "name": name,
                "index": index,
                "hostapi": 0,
                "max_input_channels": inputs,
                "max_output_channels": outputs,
                "default_samplerate": rate,
            }
        )
        self.rates[index] = rates if rates is not None else {int(rate)}
        if default:
            if inputs:
                self.default.device[0] = index
            if outputs:
                self.default.device[1] = index
        return index

    def remove_all(self) -> None:
        self.devices = []
        self.default.device = [-1, -1]

    def query_hostapis(self) -> list[dict[str, Any]]:
        return [{"name": "ALSA"}]

    def query_devices(self, device: int | None = None, kind: str | None = None) -> Any:
        if kind is not None:
            index = self.default.device[0 if kind == "input" else 1]
            if index < 0 or index >= len(self.devices):
                raise FakePortAudioError("Error querying device -1")
            return dict(self.devices[index])
        return [dict(d) for d in self.devices]

    def _check(self, device: int, samplerate: float, channels: int, key: str) -> None:
        if device >= len(self.devices) or int(samplerate) not in self.rates[device]:
            raise FakePortAudioError("Invalid sample rate [PaErrorCode -9997]")
        if channels > self.devices[device][key]:
            raise FakePortAudioError("Invalid number of channels [PaErrorCode -9998]")

    def check_input_settings(
        self, device: int, samplerate: float, channels: int, dtype: str
    ) -> None:
        self._check(device, samplerate, channels, "max_input_channels")

    def check_output_settings(
        self, device: int, samplerate: float, channels: int, dtype: str
    ) -> None:
        self._check(device, samplerate, channels, "max_output_channels")

    def InputStream(self, **kwargs: Any) -> FakeStream:
        return FakeStream(self, "input", **kwargs)

    def OutputStream(self, **kwargs: Any) -> FakeStream:
        return FakeStream(self, "output", **kwargs)

    def _terminate(self) -> None:
        self.terminates += 1

    def _initialize(self) -> None:
        self.inits += 1

    def last(self, kind: str) -> FakeStream:
        return [s for s in self.streams if s.kind == kind][-1]


@pytest.fixture
def fake_sd(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSoundDevice]:
    fake = FakeSoundDevice()
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    yield fake
    assert devices.open_stream_count() == 0, "a test left a stream open"


# --- fake --------------------------------------------------------------------------------------


def test_lists_devices_by_kind(fake_sd: FakeSoundDevice) -> None:
    fake_sd.add("USB Headset", inputs=1, outputs=2, rate=44100)
    fake_sd.add("HDMI Out", outputs=8)
    assert [d.name for d in list_devices()] == ["USB Headset", "HDMI Out"]
    assert [d.name for d in list_devices("input")] == ["USB Headset"]
    hdmi = list_devices("output")[1]
    assert (hdmi.index, hdmi.hostapi, hdmi.output_channels) == (1, "ALSA", 8)


def test_chooses_by_case_insensitive_substring_preferring_exact(fake_sd: FakeSoundDevice) -> None:
    fake_sd.add("Built-in Microphone Array", inputs=2)
    fake_sd.add("USB Mic", inputs=1)
    fake_sd.add("usb mic (2)", inputs=1)
    assert choose_device("input", "ARRAY").name == "Built-in Microphone Array"
    assert choose_device("input", "usb mic").name == "USB Mic"
    assert choose_device("input", "(2)").name == "usb mic (2)"


def test_empty_name_means_default_or_first(fake_sd: FakeSoundDevice) -> None:
    fake_sd.add("first", inputs=1)
    fake_sd.add("the default", inputs=1, default=True)
    assert choose_device("input").name == "the default"
    fake_sd.default.device = [-1, -1]  # PortAudio knows devices but no default
    assert choose_device("input").name == "first"


def test_no_device_is_plain_words(fake_sd: FakeSoundDevice) -> None:
    fake_sd.add("speaker only", outputs=2, default=True)
    with pytest.raises(AudioDeviceError) as info:
        choose_device("input")
    assert str(info.value) == ("microphone unavailable: no input device found — typing still works")
    assert (info.value.kind, info.value.reason) == ("input", "no_device")
    fake_sd.remove_all()
    with pytest.raises(AudioDeviceError, match=r"^speaker unavailable: no output device"):
        choose_device("output")


def test_named_device_missing_lists_the_others(fake_sd: FakeSoundDevice) -> None:
    fake_sd.add("Built-in", inputs=1)
    with pytest.raises(AudioDeviceError) as info:
        choose_device("input", "Blue Yeti")
    assert info.value.reason == "not_found"
    assert 'microphone "Blue Yeti" not found' in str(info.value)
    assert '"Built-in"' in str(info.value)


class _RaiseOnImport(importlib.abc.MetaPathFinder):
    def __init__(self, error: Exception) -> None:
        self.error = error

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name == "sounddevice":
            raise self.error
        return


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (OSError("PortAudio library not found"), "install it (Debian/Ubuntu: sudo apt install"),
        (ImportError("No module named 'sounddevice'"), "sounddevice package is not installed"),
    ],
)
def test_missing_portaudio_is_plain_words(
    monkeypatch: pytest.MonkeyPatch, error: Exception, words: str
) -> None:
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_RaiseOnImport(error), *sys.meta_path])
    with pytest.raises(AudioDeviceError) as info:
        list_devices("input")
    assert info.value.reason == "no_portaudio"
    assert str(info.value).startswith("microphone unavailable: ")
    assert words in str(info.value)
    assert str(info.value).endswith("— typing still works")


def test_refresh_reinitialises_only_without_open_streams(fake_sd: FakeSoundDevice) -> None:
    assert devices.refresh() is True
    assert (fake_sd.terminates, fake_sd.inits) == (1, 1)
    devices.stream_opened()
    try:
        assert devices.refresh() is False
        assert devices.refresh(force=True) is True
    finally:
        devices.stream_closed()
    assert fake_sd.inits == 2


def test_wait_for_device_sees_a_replugged_device(fake_sd: FakeSoundDevice) -> None:
    stop = threading.Event()
    attempts: list[AudioDeviceError] = []

    def plug_in_after_two_polls(error: AudioDeviceError) -> None:
        attempts.append(error)
        if len(attempts) == 2:
            fake_sd.add("USB Mic", inputs=1)

    found = devices.wait_for_device(
        "input", "usb", stop, interval_s=0.01, on_attempt=plug_in_after_two_polls
    )
    assert found is not None
    assert found.name == "USB Mic"
    assert fake_sd.inits >= 3  # PortAudio re-initialised on every poll
    stop.set()
    assert devices.wait_for_device("input", "usb", stop) is None


# --- twin: real PortAudio on the virtual PulseAudio devices ----------------------------------


def test_real_portaudio_lists_and_chooses_virtual_devices(virtual_audio: VirtualAudio) -> None:  # noqa: F811
    names = [d.name for d in list_devices()]
    assert "pulse" in names
    mic = choose_device("input")
    speaker = choose_device("output", "PULSE")
    assert mic.input_channels > 0
    assert mic.default_samplerate > 0
    assert speaker.name == "pulse"
    assert speaker.output_channels > 0
    assert devices.refresh() is True
    assert "pulse" in [d.name for d in list_devices("input")]
