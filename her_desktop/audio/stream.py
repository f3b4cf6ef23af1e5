"""What a microphone and a speaker stream share: health checks, loss, reconnecting, closing.

Subclasses (``capture.AudioCapture``, ``playback.AudioPlayer``) open their own PortAudio
stream in ``_open`` and say what a healthy-but-quiet stream looks like; this base decides
when a stream is lost (it stopped, no audio moved for ``stall_timeout_s``, or PortAudio stopped
answering), tells ``on_error`` once in plain words, and brings the device back when it returns.

Threads — the rules that keep audio from freezing:

* Every PortAudio call on the stream (open, start, stop, abort, close, ``active``) runs on the
  stream's own :class:`~her_desktop.native_calls.NativeCalls` thread, one at a time, and the
  caller waits at most ``open_timeout_s`` / ``close_timeout_s``. A call that hangs abandons the
  stream: ``on_error`` says the device stopped responding and the app keeps running.
* No lock is held across a PortAudio call, and the audio callbacks never wait for a lock that
  another thread holds (``_state`` guards a few flags and is never held across anything slow).
* The stream's ``finished_callback`` only records what happened.
"""

from __future__ import annotations

import contextlib
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
from her_desktop.native_calls import NativeCalls, NativeTimeout

log = logging.getLogger(__name__)

ErrorCallback = Callable[[AudioDeviceError], None]
RestoredCallback = Callable[[str], None]


class DeviceStream:
    kind: DeviceKind = "input"
    what = "microphone"
    stall_words = "no sound data"
    """How a stall is described: "<stall_words> for N s"."""
    open_timeout_s = 5.0
    """The longest a caller waits for the stream to open (or start)."""
    close_timeout_s = 3.0
    """The longest a caller waits for the stream to stop or close; then it is abandoned."""

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
        self._native = NativeCalls(f"{self.what}-portaudio")
        self._state = threading.Lock()
        """Guards ``_lost`` and ``_counted``; never held across a call out of this class."""
        self._stream: Any = None
        self._counted: Any = None
        """The stream holding a count in the open-stream gate (until closed or abandoned)."""
        self._device: AudioDevice | None = None
        self._closing = False
        """The stream is being ended on purpose: its finished callback is not a loss."""
        self._lost = False
        self._closed = False
        self._last_callback = 0.0

    # --- what subclasses provide ---------------------------------------------------------

    def _open(self) -> None:
        """Open and start a new stream (on the native thread; raises AudioDeviceError)."""
        raise NotImplementedError

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

    def _on_lost(self) -> None:
        """Called once when the stream is lost (any thread; must not call PortAudio)."""

    # --- state ---------------------------------------------------------------------------

    @property
    def device(self) -> AudioDevice | None:
        """The device in use (None before the first successful open)."""
        return self._device

    @property
    def lost(self) -> bool:
        return self._lost

    # --- native calls --------------------------------------------------------------------

    def _native_call(self, fn: Callable[[], Any], timeout: float) -> Any:
        """``fn`` on the native thread; a hang abandons the stream and raises plain words."""
        try:
            return self._native.call(fn, timeout=timeout)
        except NativeTimeout as exc:
            self._abandon()
            self._lose(f"it stopped responding for {timeout:g} s")
            raise unavailable(
                self.kind, f"{self._name()} stopped responding ({exc})", "lost"
            ) from exc

    def _abandon(self) -> None:
        """Forget a stream whose native thread hung (never touch it again)."""
        stream, self._stream = self._stream, None
        self._release(stream if stream is not None else self._counted)

    def _opened(self, stream: Any) -> None:
        """On the native thread, right after the stream object was made: it is ours."""
        self._stream = stream
        self._counted = stream

    def _release(self, stream: Any) -> None:
        """Give back ``stream``'s count in the open-stream gate, once (the native thread and an
        abandoning caller may both try)."""
        with self._state:
            if stream is None or self._counted is not stream:
                return
            self._counted = None
        stream_closed()

    def _ensure_open(self) -> None:
        """Open the stream unless it is open and healthy (bounded; raises AudioDeviceError)."""

        def ensure() -> None:
            if self._closed:
                raise RuntimeError(f"this {type(self).__name__} is closed; make a new one")
            if self._stream is not None and not self._lost:
                return
            self._close_stream()
            self._open()

        self._native_call(ensure, self.open_timeout_s)

    # --- health --------------------------------------------------------------------------

    def check(self) -> bool:
        """False (and ``on_error`` once) when the running stream died or went silent."""
        stream = self._stream
        if stream is None or self._lost or self._paused():
            return not self._lost

        def active() -> bool:
            try:
                return bool(stream.active)
            except Exception:  # a broken stream cannot say
                return False

        try:
            running = bool(self._native_call(active, self.close_timeout_s))
        except AudioDeviceError:
            return False
        if stream is not self._stream:
            return not self._lost  # closed or replaced meanwhile
        limit = self._stall_limit()
        if not running:
            self._lose("the stream stopped")
        elif time.monotonic() - self._last_callback > limit:
            self._lose(f"{self.stall_words} for {limit:.0f} s")
        return not self._lost

    def reconnect(self, stop: threading.Event, *, interval_s: float = 2.0) -> bool:
        """Blocking: release the lost device, poll until it is back, open it again.

        Returns True when running again (``on_restored`` called), False when ``stop`` was set.
        """
        with contextlib.suppress(AudioDeviceError):  # abandoned: a fresh thread opens the next
            self._native_call(self._close_stream, self.close_timeout_s)
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

    def _shut(self) -> None:
        """Mark closed and release the stream (bounded); the native thread then ends."""
        self._closed = True
        try:
            self._native_call(self._close_stream, self.close_timeout_s)
        except AudioDeviceError as exc:
            log.error("%s did not close in time; abandoned: %s", self.what, exc)
        self._native.close()

    # --- internals -----------------------------------------------------------------------

    def _name(self) -> str:
        return self._device.name if self._device else self.device_name or "default"

    def _close_stream(self) -> None:
        """On the native thread: end and release the stream (PortAudio waits for the callback,
        which never blocks, so this returns)."""
        stream = self._stream
        if stream is None:
            return
        self._closing = True
        for action in (stream.abort, stream.close):
            try:
                action()
            except Exception as exc:
                log.debug("closing the %s stream: %s", self.what, exc)
        if self._stream is stream:
            self._stream = None
        self._release(stream)

    def _finished(self) -> None:
        """PortAudio's finished callback (on its thread): only a loss when not on purpose."""
        if not self._closing and not self._paused():
            self._lose("the stream ended")

    def _lose(self, why: str) -> None:
        with self._state:
            if self._lost:
                return
            self._lost = True
        log.warning("%s lost: %s: %s", self.what, self._name(), why)
        self._on_lost()
        if self.on_error is not None:
            message = f'"{self._name()}" stopped working ({why})'
            self.on_error(unavailable(self.kind, message, "lost"))
