"""Microphone and speaker lists and quick tests for the Settings window (no Qt here).

Policy:

- ``sounddevice`` is imported lazily, inside each call: opening Settings never loads PortAudio
  unless the Audio page asks for devices, and a machine without PortAudio gets a plain message
  (:class:`DeviceTestError`) instead of a crash.
- Everything here blocks (a 2-second recording, a short tone): the caller runs it on a worker
  thread (see :mod:`her_desktop.gui.background`).
- Device names match the way settings do: the setting is a substring of the device name, empty
  means the system default.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

DeviceKind = Literal["input", "output"]

RECORD_SECONDS = 2.0
TONE_HZ = 440.0
TONE_SECONDS = 0.6
TONE_LEVEL = 0.2
SILENT_DBFS = -60.0
"""A recording whose peak is below this counts as silence (a muted or wrong microphone)."""


class DeviceTestError(Exception):
    """A device could not be listed or tested; the message says what happened and what to do."""


@dataclass(frozen=True, slots=True)
class AudioDevice:
    index: int
    name: str
    channels: int
    default_samplerate: float
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class LevelReport:
    """What a test recording heard."""

    peak_dbfs: float
    rms_dbfs: float
    seconds: float

    @property
    def silent(self) -> bool:
        return self.peak_dbfs < SILENT_DBFS

    def describe(self) -> str:
        """One line for people."""
        if self.silent:
            return (
                f"Heard almost nothing (peak {self.peak_dbfs:.0f} dBFS). Check that the "
                "microphone is not muted and is the one you speak into."
            )
        return (
            f"Heard you: peak {self.peak_dbfs:.0f} dBFS, average {self.rms_dbfs:.0f} dBFS over "
            f"{self.seconds:.0f} s."
        )


CAPTURE_GRACE_S = 5.0
"""How much longer than the test itself a device may take to start before it is reported."""


def _to_dbfs(value: float) -> float:
    return 20.0 * math.log10(value) if value > 1e-10 else -200.0


def list_devices(kind: DeviceKind) -> list[AudioDevice]:
    """The microphones (``"input"``) or speakers (``"output"``) PortAudio sees, default first.

    An empty list means there are none. Raises :class:`DeviceTestError` when the audio library
    cannot be used at all. The listing is the app's own (``audio.devices``), so it never runs
    while another thread re-initialises PortAudio to see a re-plugged device.
    """
    from her_desktop.audio import devices as audio_devices

    try:
        listed = audio_devices.list_devices(kind)
        default_index = audio_devices.default_device_index(kind) if listed else None
    except audio_devices.AudioDeviceError as exc:
        if exc.reason == "no_portaudio":
            raise DeviceTestError(
                f"Sound devices cannot be used: the audio library did not load ({exc}). "
                "Install PortAudio (libportaudio2 on Linux) and restart her_desktop."
            ) from exc
        raise DeviceTestError(f"Could not list sound devices ({exc}).") from exc
    except Exception as exc:  # PortAudioError and friends
        raise DeviceTestError(f"Could not list sound devices ({exc}).") from exc
    found = [
        AudioDevice(
            index=device.index,
            name=device.name,
            channels=device.channels(kind),
            default_samplerate=device.default_samplerate or 48_000.0,
            is_default=device.index == default_index,
        )
        for device in listed
    ]
    found.sort(key=lambda d: not d.is_default)
    return found


def find_device(setting: str, devices: list[AudioDevice]) -> AudioDevice | None:
    """The device a setting value names (a name substring; empty = the default)."""
    wanted = setting.strip().lower()
    if not wanted:
        return next((d for d in devices if d.is_default), devices[0] if devices else None)
    exact = [d for d in devices if d.name.lower() == wanted]
    if exact:
        return exact[0]
    return next((d for d in devices if wanted in d.name.lower()), None)


def _pick(setting: str, kind: DeviceKind) -> AudioDevice:
    devices = list_devices(kind)
    what = "microphone" if kind == "input" else "speaker"
    if not devices:
        raise DeviceTestError(f"No {what} was found. Plug one in, then try again.")
    device = find_device(setting, devices)
    if device is None:
        raise DeviceTestError(
            f'The {what} "{setting}" is not connected. Plug it in, or pick another one.'
        )
    return device


def measure_level(samples: np.ndarray[Any, Any], samplerate: float) -> LevelReport:
    """Peak and RMS level of a recording (float samples in -1..1)."""
    data = np.asarray(samples, dtype=np.float64).reshape(-1)
    if data.size == 0:
        return LevelReport(-200.0, -200.0, 0.0)
    peak = float(np.max(np.abs(data)))
    rms = float(np.sqrt(np.mean(np.square(data))))
    return LevelReport(_to_dbfs(peak), _to_dbfs(rms), data.size / samplerate)


def tone(
    samplerate: float, hz: float = TONE_HZ, seconds: float = TONE_SECONDS
) -> np.ndarray[Any, Any]:
    """A soft sine tone with 20 ms fades (no clicks), float32 mono."""
    count = int(samplerate * seconds)
    t = np.arange(count, dtype=np.float64) / samplerate
    wave = TONE_LEVEL * np.sin(2.0 * np.pi * hz * t)
    fade = min(count // 2, int(samplerate * 0.02))
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade)
        wave[:fade] *= ramp
        wave[-fade:] *= ramp[::-1]
    return wave.astype(np.float32)


def check_microphone(setting: str, seconds: float = RECORD_SECONDS) -> LevelReport:
    """Record ``seconds`` from the configured microphone and report its level (blocks, bounded:
    the real capture path, whose PortAudio calls each have a time limit)."""
    from her_desktop.audio.capture import AudioCapture
    from her_desktop.audio.devices import AudioDeviceError

    blocks: list[np.ndarray[Any, Any]] = []
    capture = AudioCapture(setting, on_audio=blocks.append)
    try:
        capture.start()
        deadline = time.monotonic() + seconds + CAPTURE_GRACE_S
        while sum(len(b) for b in blocks) < seconds * capture.sample_rate:
            if time.monotonic() > deadline:
                raise DeviceTestError(
                    f"The microphone sent no sound for {seconds + CAPTURE_GRACE_S:.0f} s. "
                    "It may be busy in another program."
                )
            time.sleep(0.02)
    except AudioDeviceError as exc:
        raise DeviceTestError(
            f"Could not record ({exc}). It may be busy in another program."
        ) from exc
    finally:
        capture.close()
    data = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
    return measure_level(data, capture.sample_rate)


def check_speaker(setting: str) -> str:
    """Play a short tone on the configured speaker (blocks, bounded); returns what was done."""
    from her_desktop.audio.devices import AudioDeviceError
    from her_desktop.audio.playback import AudioPlayer

    player = AudioPlayer(setting)
    try:
        rate = 48_000
        player.play(tone(rate), rate)
        name = player.device.name if player.device is not None else setting or "default"
        if not player.wait_idle(TONE_SECONDS + CAPTURE_GRACE_S):
            raise DeviceTestError(
                f'"{name}" stopped taking sound. It may be busy in another program.'
            )
    except AudioDeviceError as exc:
        raise DeviceTestError(
            f"Could not play ({exc}). It may be busy in another program."
        ) from exc
    finally:
        player.close()
    return f'Played a short tone on "{name}". Did you hear it?'
