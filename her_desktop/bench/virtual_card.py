"""A private virtual sound card: a PulseAudio daemon with a null sink ``her_speaker`` and a
microphone ``her_mic`` that records that sink's monitor (what is played comes back on the
microphone), both the defaults, and PortAudio pointed at them through ALSA's ``pulse`` plugin
(``PULSE_SERVER``; package libasound2-plugins, a dependency of pulseaudio).

Used by the benches that need a real device path (``bench voice``'s barge-in → silence) and by
the tests (``tests/virtual_audio.py``). The daemon runs with its own runtime folder: the user's
own sound server, if any, is never touched. Needs the ``pulseaudio`` and ``pactl`` programs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SINK = "her_speaker"
SOURCE = "her_mic"


class VirtualCardError(RuntimeError):
    """The virtual card cannot run here; the message says why in plain words."""


@dataclass
class VirtualCard:
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


def _wait_ready(env: dict[str, str], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise VirtualCardError(f"pulseaudio exited: {log.read_text(errors='replace')[-2000:]}")
        probe = subprocess.run(["pactl", "info"], env=env, capture_output=True, timeout=10)
        if probe.returncode == 0:
            return
        time.sleep(0.1)
    raise VirtualCardError(f"pulseaudio did not start: {log.read_text(errors='replace')[-2000:]}")


def start_card() -> VirtualCard:
    """Start the card and make it this process's default. Raises :class:`VirtualCardError`."""
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
        raise VirtualCardError("pulseaudio is not installed (apt install pulseaudio)")
    try:
        import sounddevice  # noqa: F401
    except OSError as exc:
        raise VirtualCardError(f"PortAudio is missing ({exc}): apt install libportaudio2") from exc
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
    card = VirtualCard(runtime, env["PULSE_SERVER"], process, os.environ.get("PULSE_SERVER"))
    try:
        _wait_ready(env, process, log)
        card.pactl("set-default-sink", SINK)
        card.pactl("set-default-source", SOURCE)
    except (VirtualCardError, subprocess.SubprocessError) as exc:
        stop_card(card)
        raise VirtualCardError(f"pulseaudio could not start here: {exc}") from exc
    os.environ["PULSE_SERVER"] = card.server
    from her_desktop.audio import devices

    devices.refresh(force=True)  # PortAudio may have started before pulseaudio
    return card


def stop_card(card: VirtualCard) -> None:
    """Stop the daemon and point this process back at the sound server it had. Use one card per
    process: PortAudio keeps the server it connected to until it is re-initialised."""
    if card.previous_server is None:
        os.environ.pop("PULSE_SERVER", None)
    else:
        os.environ["PULSE_SERVER"] = card.previous_server
    card.process.terminate()
    try:
        card.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        card.process.kill()
        card.process.wait(timeout=10)
    shutil.rmtree(card.runtime_dir, ignore_errors=True)
