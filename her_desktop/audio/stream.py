"""What a microphone and a speaker stream share: health checks, loss, reconnecting, closing.

Subclasses (``capture.AudioCapture``, ``playback.AudioPlayer``) open their own PortAudio
stream in ``_reopen`` and say what a healthy-but-quiet stream looks like; this base decides
when a stream is lost (it stopped, or no audio moved for ``stall_timeout_s``), tells
``on_error`` once in plain words, and brings the device back when it returns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from her_desktop.audio.devices import (
    AudioDevice,
    AudioDeviceError,
    reopen_when_back,
    stream_closed,
    unavailable,
)
from her_desktop.events import DeviceKind

log = logging.getLogger(__name__)

ErrorCallback = Callable[[AudioDeviceError], None]
RestoredCallback = Callable[[str], None]


class DeviceStream:
    kind: DeviceKind = "input"
    what = "microphone"
    stall_words = "no sound data"
    """How a stall is described: "<stall_words> for N s"."""

    def __init__(
        self,
        device: str,
        *,
        on_error: ErrorCallback | None,
        on_restored: RestoredCallback | None,
        stall_timeout_s: float,
    ) -> None:
        self.device_name = device
        self.on_error = on_error
        self.on_restored = on_restored
        self.stall_timeout_s = stall_timeout_s
        self._lock = threading.RLock()
        self._stream: Any = None
        self._device: AudioDevice | None = None
        self._closing = False
        """The stream is being ended on purpose: its finished callback is not a loss."""
        self._lost = False
        self._closed = False
        self._last_callback = 0.0

    # --- what subclasses provide ---------------------------------------------------------

    def _reopen(self) -> None:
        """Open the stream again (raises :class:`AudioDeviceError` while it cannot)."""
        raise NotImplementedError

    def _paused(self) -> bool:
        """A stream stopped on purpose is healthy even though no audio moves."""
        return False

    def _stall_limit(self) -> float:
        return self.stall_timeout_s

    def _while_healthy(self) -> None:
        """Housekeeping between health checks (the speaker releases a long-idle stream)."""

    def _on_lost(self) -> list[Any]:
        """Called under the lock when the stream is lost; returns what it cut short."""
        return []

    def _after_lost(self, cut: list[Any]) -> None:
        """Called outside the lock with what ``_on_lost`` returned."""

    # --- state ---------------------------------------------------------------------------

    @property
    def device(self) -> AudioDevice | None:
        """The device in use (None before the first successful open)."""
        return self._device

    @property
    def lost(self) -> bool:
        return self._lost

    # --- health --------------------------------------------------------------------------

    def check(self) -> bool:
        """False (and ``on_error`` once) when the running stream died or went silent."""
        with self._lock:
            stream = self._stream
            if stream is None or self._lost or self._paused():
                return not self._lost
            try:
                active = bool(stream.active)
            except Exception:  # a broken stream cannot say
                active = False
            limit = self._stall_limit()
            stalled = time.monotonic() - self._last_callback > limit
        if not active:
            self._lose("the stream stopped")
        elif stalled:
            self._lose(f"{self.stall_words} for {limit:.0f} s")
        return not self._lost

    def reconnect(self, stop: threading.Event, *, interval_s: float = 2.0) -> bool:
        """Blocking: release the lost device, poll until it is back, open it again.

        Returns True when running again (``on_restored`` called), False when ``stop`` was set.
        """
        with self._lock:
            self._close_stream()
        if not reopen_when_back(
            self.kind, self.device_name, self._reopen, stop, interval_s=interval_s
        ):
            return False
        if self.on_restored is not None and self._device is not None:
            self.on_restored(self._device.name)
        return True

    def keep_alive(self, stop: threading.Event, *, interval_s: float = 2.0) -> None:
        """Blocking supervisor until ``stop`` is set: check health, reconnect when lost.

        Run it in a thread: ``await asyncio.to_thread(stream.keep_alive, stop_event)``.
        """
        while not stop.wait(min(0.25, interval_s)):
            if self._closed:
                return
            if not self.check():
                self.reconnect(stop, interval_s=interval_s)
            else:
                self._while_healthy()

    # --- internals -----------------------------------------------------------------------

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        self._closing = True
        for action in (stream.abort, stream.close):
            try:
                action()
            except Exception as exc:
                log.debug("closing the %s stream: %s", self.what, exc)
        stream_closed()

    def _finished(self) -> None:
        if not self._closing and not self._paused():
            self._lose("the stream ended")

    def _lose(self, why: str) -> None:
        with self._lock:
            if self._lost:
                return
            self._lost = True
            name = self._device.name if self._device else self.device_name or "default"
            cut = self._on_lost()
        log.warning("%s lost: %s: %s", self.what, name, why)
        self._after_lost(cut)
        if self.on_error is not None:
            self.on_error(unavailable(self.kind, f'"{name}" stopped working ({why})', "lost"))
