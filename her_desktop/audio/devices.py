"""Audio devices through sounddevice/PortAudio: list them, choose one, see re-plugged ones.

- sounddevice is imported lazily (:func:`sounddevice_module`), so the app starts without
  PortAudio; a missing library or package becomes an :class:`AudioDeviceError` in plain words.
- A device is chosen by a case-insensitive substring of its name (``AudioSettings``); an empty
  name means the system default.
- PortAudio keeps the device list it saw at start-up. :func:`refresh` re-initialises it so that a
  re-plugged device is seen; it refuses while one of our streams is open (re-initialising closes
  every stream), see :func:`stream_opened` / :func:`stream_closed`; it never runs while a
  stream is being opened or devices are listed (every such call runs inside
  :func:`portaudio_query`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from her_desktop.events import DeviceKind

log = logging.getLogger(__name__)

ErrorReason = Literal["no_portaudio", "no_device", "not_found", "open_failed", "lost"]

_WHAT = {"input": "microphone", "output": "speaker"}
_FALLBACK = {"input": "typing still works", "output": "replies are still shown as text"}


class AudioDeviceError(Exception):
    """A microphone or speaker cannot be used; ``str(error)`` is for people.

    ``kind`` is ``"input"`` or ``"output"``; ``reason`` says why, for code that reacts to it.
    """

    def __init__(self, kind: DeviceKind, message: str, reason: ErrorReason = "no_device") -> None:
        super().__init__(message)
        self.kind: DeviceKind = kind
        self.reason: ErrorReason = reason
        self.message = message


def unavailable(kind: DeviceKind, why: str, reason: ErrorReason) -> AudioDeviceError:
    """``"microphone unavailable: <why> — typing still works"``."""
    return AudioDeviceError(kind, f"{_WHAT[kind]} unavailable: {why} — {_FALLBACK[kind]}", reason)


@dataclass(frozen=True, slots=True)
class AudioDevice:
    """One PortAudio device as the app sees it."""

    index: int
    name: str
    hostapi: str
    input_channels: int
    output_channels: int
    default_samplerate: float

    def channels(self, kind: DeviceKind) -> int:
        return self.input_channels if kind == "input" else self.output_channels


def sounddevice_module(kind: DeviceKind = "input") -> ModuleType:
    """Import sounddevice, turning a missing PortAudio into an :class:`AudioDeviceError`."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when libportaudio is not found
        raise unavailable(
            kind,
            f"the PortAudio library is missing ({exc}); install it "
            "(Debian/Ubuntu: sudo apt install libportaudio2) and restart",
            "no_portaudio",
        ) from exc
    except ImportError as exc:
        raise unavailable(
            kind,
            "the sounddevice package is not installed; run scripts/setup again",
            "no_portaudio",
        ) from exc
    module: ModuleType = sounddevice
    return module


def _hostapi_names(sd: ModuleType) -> list[str]:
    try:
        return [str(api["name"]) for api in sd.query_hostapis()]
    except Exception:
        return []


def _to_device(info: Any, hostapis: list[str]) -> AudioDevice:
    api = int(info.get("hostapi", 0))
    return AudioDevice(
        index=int(info["index"]),
        name=str(info["name"]),
        hostapi=hostapis[api] if 0 <= api < len(hostapis) else "",
        input_channels=int(info.get("max_input_channels", 0)),
        output_channels=int(info.get("max_output_channels", 0)),
        default_samplerate=float(info.get("default_samplerate", 0.0) or 0.0),
    )


def list_devices(kind: DeviceKind | None = None) -> list[AudioDevice]:
    """All devices, or those with channels of ``kind``. Raises only when PortAudio is missing."""
    sd = sounddevice_module(kind or "input")
    with portaudio_query(kind or "input"):
        hostapis = _hostapi_names(sd)
        infos = list(sd.query_devices())
    devices: list[AudioDevice] = []
    for position, info in enumerate(infos):
        record = dict(info)
        record.setdefault("index", position)
        devices.append(_to_device(record, hostapis))
    if kind is None:
        return devices
    return [d for d in devices if d.channels(kind) > 0]


def default_device_index(kind: DeviceKind) -> int | None:
    """The index of the system's default ``kind`` device, or None when there is none."""
    sd = sounddevice_module(kind)
    with portaudio_query(kind):
        default = _default_device(sd, kind, _hostapi_names(sd))
    return default.index if default is not None else None


def _default_device(sd: ModuleType, kind: DeviceKind, hostapis: list[str]) -> AudioDevice | None:
    try:
        info = dict(sd.query_devices(kind=kind))
    except Exception:
        return None
    if "index" not in info:
        return None
    device = _to_device(info, hostapis)
    return device if device.channels(kind) > 0 else None


def choose_device(kind: DeviceKind, name: str = "") -> AudioDevice:
    """The device whose name contains ``name`` (case-insensitive), or the default one.

    Raises :class:`AudioDeviceError` with a plain-words message when there is none.
    """
    sd = sounddevice_module(kind)
    candidates = list_devices(kind)
    if not candidates:
        raise unavailable(kind, f"no {kind} device found", "no_device")
    wanted = name.strip().casefold()
    if wanted:
        exact = [d for d in candidates if d.name.casefold() == wanted]
        matches = exact or [d for d in candidates if wanted in d.name.casefold()]
        if matches:
            return matches[0]
        names = ", ".join(f'"{d.name}"' for d in candidates[:8])
        raise AudioDeviceError(
            kind,
            f'{_WHAT[kind]} "{name}" not found (is it plugged in?); available: {names}. '
            f"Choose another in Settings, or leave it empty for the system default — "
            f"{_FALLBACK[kind]}",
            "not_found",
        )
    with portaudio_query(kind):
        default = _default_device(sd, kind, _hostapi_names(sd))
    return default or candidates[0]


# --- PortAudio re-initialisation ------------------------------------------------------------
#
# Re-initialising PortAudio (terminate + initialize) while another thread opens a stream or
# lists devices is undefined behaviour. A condition guards the counts below; it is never held
# across a PortAudio call: ``refresh`` marks itself, releases it, then re-initialises, and
# anyone about to use PortAudio waits (bounded) for the mark to go.

_gate = threading.Condition()
_open_streams = 0
_users = 0
_refreshing = False
GATE_WAIT_S = 5.0
"""How long an open or a device query waits for a re-initialisation to finish."""


def _wait_refreshed(kind: DeviceKind) -> None:
    """With ``_gate`` held: wait (bounded) until no re-initialisation is running."""
    if not _gate.wait_for(lambda: not _refreshing, GATE_WAIT_S):
        raise unavailable(kind, "the sound system did not answer (re-initialising)", "open_failed")


def stream_opened(kind: DeviceKind = "output") -> None:
    """Called by capture/playback *before* opening a stream; it counts as open (blocks
    :func:`refresh`) until :func:`stream_closed`, which must follow even when the open fails."""
    global _open_streams
    with _gate:
        _wait_refreshed(kind)
        _open_streams += 1


def stream_closed() -> None:
    """Called by capture/playback after closing a stream (or failing to open one)."""
    global _open_streams
    with _gate:
        _open_streams = max(0, _open_streams - 1)
        _gate.notify_all()


def open_stream_count() -> int:
    with _gate:
        return _open_streams


@contextmanager
def portaudio_query(kind: DeviceKind) -> Iterator[None]:
    """Around any PortAudio call that is not on an open stream (listing devices, checking
    settings): it waits (bounded) for a re-initialisation to end, and none starts during it."""
    global _users
    with _gate:
        _wait_refreshed(kind)
        _users += 1
    try:
        yield
    finally:
        with _gate:
            _users -= 1
            _gate.notify_all()


def refresh(*, force: bool = False) -> bool:
    """Re-initialise PortAudio so that devices plugged in since start-up are listed.

    Re-initialising closes every open stream, so while one of ours is open (or being opened, or
    a device query runs) this does nothing and returns False (``force`` ignores open streams).
    Returns True when PortAudio was re-initialised.
    """
    global _refreshing
    sd = sounddevice_module("input")
    with _gate:
        if _refreshing or _users or (_open_streams and not force):
            return False
        _refreshing = True
    try:
        sd._terminate()
    finally:
        try:
            sd._initialize()
        finally:
            with _gate:
                _refreshing = False
                _gate.notify_all()
    log.debug("PortAudio re-initialised")
    return True


def wait_for_device(
    kind: DeviceKind,
    name: str,
    stop: threading.Event,
    *,
    interval_s: float = 2.0,
    on_attempt: Callable[[AudioDeviceError], None] | None = None,
) -> AudioDevice | None:
    """Poll every ``interval_s`` (refreshing PortAudio) until the device is there.

    Blocking: run it in a thread (``asyncio.to_thread``). Returns None when ``stop`` is set.
    """
    while not stop.is_set():
        try:
            refresh()
            return choose_device(kind, name)
        except AudioDeviceError as error:
            if on_attempt is not None:
                on_attempt(error)
        except Exception as exc:
            log.debug("device poll failed: %s", exc)
        stop.wait(interval_s)
    return None


def reopen_when_back(
    kind: DeviceKind,
    name: str,
    reopen: Callable[[], None],
    stop: threading.Event,
    *,
    interval_s: float = 2.0,
) -> bool:
    """Blocking: poll until a ``kind`` device matching ``name`` is back, then ``reopen()`` it
    (which raises :class:`AudioDeviceError` while it still cannot be used).

    True once reopened; False when ``stop`` was set first."""
    what = "microphone" if kind == "input" else "speaker"
    while not stop.is_set():
        if wait_for_device(kind, name, stop, interval_s=interval_s) is None:
            return False
        try:
            reopen()
        except AudioDeviceError as error:
            log.debug("%s still unavailable: %s", what, error)
            stop.wait(interval_s)
            continue
        return True
    return False
