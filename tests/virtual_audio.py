"""A real PulseAudio daemon with a virtual speaker and microphone, for audio tests.

Fixture ``virtual_audio`` (session-scoped): starts ``pulseaudio`` (root is fine) with a private
runtime dir, loads a null sink ``her_speaker`` and a source ``her_mic`` that records that sink's
monitor (what is played comes back on the microphone), makes them the defaults and points
PortAudio at them through ALSA's ``pulse`` plugin (``PULSE_SERVER``; package
libasound2-plugins, a dependency of pulseaudio). PortAudio then lists ``pulse`` and ``default``.
Skips with the reason when pulseaudio is not installed or cannot start.

Use it in a test module with ``pytest_plugins`` or by importing the fixture:
``from tests.virtual_audio import virtual_audio  # noqa: F401``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

SINK = "her_speaker"
SOURCE = "her_mic"


@dataclass
class VirtualAudio:
    runtime_dir: Path
    server: str
    """``unix:<runtime_dir>/pulse/native``, also in ``os.environ["PULSE_SERVER"]``."""
    process: subprocess.Popen[bytes]
    previous_server: str | None = None
    sink: str = SINK
    source: str = SOURCE

    def pactl(self, *args: str) -> str:
        result = subprocess.run(
            ["pactl", *args],
            env={**os.environ, "PULSE_SERVER": self.server},
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return result.stdout

    def play_and_record(
        self, signal: npt.ArrayLike, sample_rate: int, *, tail_s: float = 0.5
    ) -> npt.NDArray[np.float32]:
        """Play ``signal`` on the default speaker while recording the default microphone.

        Uses sounddevice directly (no product code). The recording starts first and playback
        waits until it delivers sound data (ALSA's pulse plugin can take seconds to start a
        capture); it ends ``tail_s`` after the signal (the round trip's latency).
        """
        import sounddevice as sd

        x = np.asarray(signal, dtype=np.float32).reshape(-1)
        recorded: list[npt.NDArray[np.float32]] = []

        def collect(
            indata: npt.NDArray[np.float32], frames: int, when: object, status: object
        ) -> None:
            recorded.append(indata[:, 0].copy())

        with sd.InputStream(
            samplerate=sample_rate, channels=1, dtype="float32", latency="low", callback=collect
        ):
            wait_for(lambda: len(recorded) > 2, 15)
            start = len(recorded)
            sd.play(x, samplerate=sample_rate, blocksize=sample_rate // 100, blocking=True)
            time.sleep(tail_s)
        return np.concatenate(recorded[start:]).astype(np.float32)


def best_correlation(reference: npt.ArrayLike, recorded: npt.ArrayLike) -> tuple[float, int]:
    """Normalised correlation of ``reference`` with ``recorded`` at the best lag, and the lag."""
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    rec = np.asarray(recorded, dtype=np.float64).reshape(-1)
    if len(rec) < len(ref):
        rec = np.concatenate([rec, np.zeros(len(ref) - len(rec))])
    n = 1 << int(np.ceil(np.log2(len(ref) + len(rec))))
    xc = np.fft.irfft(np.fft.rfft(rec, n) * np.conj(np.fft.rfft(ref, n)), n)
    lag = int(np.argmax(xc[: len(rec) - len(ref) + 1]))
    segment = rec[lag : lag + len(ref)]
    denominator = float(np.linalg.norm(segment) * np.linalg.norm(ref))
    return (float(np.dot(segment, ref)) / denominator if denominator else 0.0), lag


def wait_for(condition: Callable[[], object], timeout_s: float = 10.0) -> None:
    """Poll ``condition`` (from a plain thread) until true; AssertionError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(0.005)


def _wait_ready(env: dict[str, str], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pulseaudio exited: {log.read_text(errors='replace')[-2000:]}")
        probe = subprocess.run(["pactl", "info"], env=env, capture_output=True, timeout=10)
        if probe.returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"pulseaudio did not start: {log.read_text(errors='replace')[-2000:]}")


_shared: list[VirtualAudio] = []
_users = 0


@pytest.fixture(scope="session")
def virtual_audio() -> Iterator[VirtualAudio]:
    """A running PulseAudio with ``her_speaker`` → ``her_mic`` wired as the defaults.

    One daemon per test session even when several modules import this fixture.
    """
    global _users
    if not _shared:
        _shared.append(_start())
    _users += 1
    try:
        yield _shared[0]
    finally:
        _users -= 1
        if _users == 0:
            _stop(_shared.pop())


def _start() -> VirtualAudio:
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
        pytest.skip("pulseaudio is not installed (apt install pulseaudio): no virtual audio")
    try:
        import sounddevice  # noqa: F401
    except OSError as exc:
        pytest.skip(f"PortAudio is missing ({exc}): apt install libportaudio2")
    runtime = Path(tempfile.mkdtemp(prefix="her-pulse-"))
    runtime.chmod(0o700)
    socket_path = runtime / "pulse" / "native"
    env = {
        **os.environ,
        "XDG_RUNTIME_DIR": str(runtime),
        "HOME": str(runtime),
        "PULSE_SERVER": f"unix:{socket_path}",
    }
    log = runtime / "pulseaudio.log"
    command = [
        "pulseaudio",
        "-n",  # no default.pa: only the modules below
        "--daemonize=no",
        "--exit-idle-time=-1",
        "--realtime=no",
        "--high-priority=no",
        f"--log-target=file:{log}",
        "-L",
        f"module-native-protocol-unix auth-anonymous=1 socket={socket_path}",
        "-L",
        f"module-null-sink sink_name={SINK} rate=48000 channels=1 "
        f"sink_properties=device.description={SINK}",
        "-L",
        f"module-remap-source source_name={SOURCE} master={SINK}.monitor channels=1 "
        f"source_properties=device.description={SOURCE}",
    ]
    process = subprocess.Popen(command, env=env, cwd=runtime, stdin=subprocess.DEVNULL)
    audio = VirtualAudio(runtime, env["PULSE_SERVER"], process, os.environ.get("PULSE_SERVER"))
    try:
        _wait_ready(env, process, log)
        audio.pactl("set-default-sink", SINK)
        audio.pactl("set-default-source", SOURCE)
    except (RuntimeError, subprocess.SubprocessError) as exc:
        _stop(audio)
        pytest.skip(f"pulseaudio could not start here: {exc}")
    os.environ["PULSE_SERVER"] = audio.server
    from her_desktop.audio import devices

    devices.refresh(force=True)  # PortAudio may have started before pulseaudio
    return audio


def _stop(audio: VirtualAudio) -> None:
    if audio.previous_server is None:
        os.environ.pop("PULSE_SERVER", None)
    else:
        os.environ["PULSE_SERVER"] = audio.previous_server
    audio.process.terminate()
    try:
        audio.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        audio.process.kill()
        audio.process.wait(timeout=10)
    shutil.rmtree(audio.runtime_dir, ignore_errors=True)
