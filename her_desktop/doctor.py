"""Health checks: what is installed, what is missing, and the one-line fix for each problem.

Used by ``her-desktop doctor`` and (later) by the GUI's first-run screen. Every check is cheap
and never raises: a check that fails to run reports itself as a problem.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from her_desktop import __version__, paths

Status = Literal["ok", "warn", "fail", "info"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def _pkg_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_python() -> list[Check]:
    ok = sys.version_info >= (3, 11)
    return [
        Check(
            "python",
            "ok" if ok else "fail",
            f"Python {platform.python_version()} ({sys.executable})",
            "" if ok else "Install Python 3.11 or newer.",
        ),
        Check("her_desktop", "info", f"version {__version__}"),
    ]


def _owner_only(path: Path) -> bool:
    if os.name != "posix":
        return True
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def check_dirs() -> list[Check]:
    out = []
    for label, get in (
        ("config dir", paths.config_dir),
        ("data dir", paths.data_dir),
        ("models dir", paths.models_dir),
    ):
        try:
            path = get()
            path.mkdir(parents=True, exist_ok=True)
            writable = os.access(path, os.W_OK)
            private = _owner_only(path)
        except OSError as exc:
            out.append(
                Check(
                    label,
                    "fail",
                    f"cannot create it: {exc}",
                    "Check the disk and "
                    "its permissions, or set HER_DESKTOP_DATA_DIR to a writable folder.",
                )
            )
            continue
        if not writable:
            out.append(
                Check(
                    label,
                    "fail",
                    f"{path} is not writable",
                    f"Make it writable: chmod u+rwx '{path}'",
                )
            )
        elif not private:
            out.append(
                Check(
                    label,
                    "warn",
                    f"{path} can be read by other users",
                    f"Make it private: chmod 700 '{path}'",
                )
            )
        else:
            out.append(Check(label, "ok", str(path)))
    return out


def check_settings() -> list[Check]:
    from her_desktop.config import load_settings

    loaded = load_settings()
    if loaded.problem:
        return [Check("settings", "warn", loaded.problem, f"Edit or delete {loaded.path}")]
    return [
        Check(
            "settings",
            "ok",
            f"{loaded.path}" + ("" if loaded.path.exists() else " (not created yet: defaults)"),
        )
    ]


def check_persona() -> list[Check]:
    from her_desktop.cli.common import active_persona

    loaded = active_persona()
    if loaded.problem:
        return [Check("persona", "warn", loaded.problem, "Fix the persona file or choose another.")]
    return [Check("persona", "ok", f"{loaded.persona.name} ({loaded.source})")]


def cpu_features(sysinfo: str) -> str:
    """The enabled features from llama.cpp's system info ("CPU : SSE3 = 1 | AVX = 1 | ...")."""
    names = []
    for part in sysinfo.replace("CPU :", "|").split("|"):
        name, _, value = part.partition("=")
        if value.strip() == "1" and name.strip():
            names.append(name.strip())
    return " ".join(names)[:300] or "unknown"


def check_llama() -> list[Check]:
    version = _pkg_version("llama-cpp-python")
    if version is None:
        return [
            Check(
                "llama.cpp",
                "fail",
                "llama-cpp-python is not installed",
                "Run ./her-desktop (it builds it), or see README: Install by hand.",
            )
        ]
    try:
        llama_cpp = importlib.import_module("llama_cpp")
        gpu = bool(llama_cpp.llama_supports_gpu_offload())
        info = llama_cpp.llama_print_system_info()
        sysinfo = info.decode() if isinstance(info, bytes) else str(info)
    except Exception as exc:  # a broken native build shows up here
        return [
            Check(
                "llama.cpp",
                "fail",
                f"llama-cpp-python {version} does not load: {exc}",
                "Rebuild it: CMAKE_ARGS='-DGGML_NATIVE=OFF' pip install --force-reinstall "
                "--no-cache-dir llama-cpp-python",
            )
        ]
    checks = [Check("llama.cpp", "ok", f"llama-cpp-python {version}")]
    if gpu:
        checks.append(
            Check(
                "GPU offload",
                "ok",
                'supported: all layers go to the GPU (llm.n_gpu_layers = "auto")',
            )
        )
    else:
        checks.append(
            Check(
                "GPU offload",
                "info",
                "not in this build: the LM runs on the CPU",
                "With an NVIDIA GPU: CMAKE_ARGS='-DGGML_CUDA=on' pip install "
                "--force-reinstall --no-cache-dir llama-cpp-python",
            )
        )
    checks.append(
        Check(
            "CPU features",
            "info",
            cpu_features(sysinfo),
        )
    )
    return checks


def check_models() -> list[Check]:
    from her_desktop.config import load_settings
    from her_desktop.model_report import model_status_rows
    from her_desktop.models import ModelNotFound, resolve_model

    out = []
    settings = load_settings().settings
    for row in model_status_rows():
        if row.kind != "llm":
            continue
        if row.status == "installed":
            out.append(Check(f"model {row.id}", "ok", f"{row.name}: installed ({row.path})"))
        else:
            level: Status = "fail" if row.role == "default" else "info"
            fix = (
                f"her-desktop models install {row.id}"
                if row.role != "user"
                else f"her-desktop models remove {row.id}"
            )
            out.append(Check(f"model {row.id}", level, f"{row.name}: {row.status}", fix))
    if settings.llm.engine == "llamacpp":
        try:
            resolved = resolve_model(settings.llm.model)
            out.append(Check("configured LM", "ok", f"{settings.llm.model} → {resolved.path}"))
        except ModelNotFound as exc:
            out.append(
                Check(
                    "configured LM",
                    "fail",
                    str(exc),
                    "her-desktop models install, or set llm.model in settings.toml",
                )
            )
    return out


def check_remote() -> list[Check]:
    from her_desktop.config import load_settings

    settings = load_settings().settings
    if settings.llm.engine != "remote":
        return [Check("remote LM", "info", "not configured (the LM runs on this machine)")]
    import httpx

    url = settings.llm.remote.url.rstrip("/") + "/models"
    try:
        with httpx.Client(timeout=3.0, trust_env=False) as client:
            reply = client.get(url)
        if reply.status_code >= 400:
            return [
                Check(
                    "remote LM",
                    "fail",
                    f"{url} answered HTTP {reply.status_code}",
                    "Check the server URL and its API key in settings.toml",
                )
            ]
    except httpx.HTTPError as exc:
        return [
            Check(
                "remote LM",
                "fail",
                f"nothing answers at {url}: {exc}",
                "Start your LM server, or fix llm.remote.url in settings.toml",
            )
        ]
    return [Check("remote LM", "ok", f"{url} answers")]


def check_audio() -> list[Check]:
    from her_desktop.audio.devices import AudioDeviceError, list_devices

    try:
        devices = list_devices()
    except AudioDeviceError as exc:  # no PortAudio library, or no sounddevice package
        return [
            Check(
                "audio",
                "warn",
                f"voice is off, text works: {exc.message}",
                "Install PortAudio (apt install libportaudio2 on Linux) and sounddevice",
            )
        ]
    except Exception as exc:
        return [
            Check(
                "audio",
                "warn",
                f"cannot list audio devices: {exc}",
                "Connect a microphone/speaker; text chat works meanwhile.",
            )
        ]
    inputs = [d.name for d in devices if d.input_channels > 0]
    outputs = [d.name for d in devices if d.output_channels > 0]
    checks = []
    checks.append(
        Check(
            "microphone",
            "ok" if inputs else "warn",
            ", ".join(inputs[:4]) or "no input device found",
            "" if inputs else "Connect a microphone; text chat works meanwhile.",
        )
    )
    checks.append(
        Check(
            "speaker",
            "ok" if outputs else "warn",
            ", ".join(outputs[:4]) or "no output device found",
            "" if outputs else "Connect a speaker; replies still show as text.",
        )
    )
    return checks


def _check_speech_model(model: str) -> Check:
    """Reads only: an embedded model's installed state (the check never assembles one), or
    the completeness of a folder the user named."""
    from pathlib import Path

    from her_desktop.models import model_state
    from her_desktop.stt.base import STTModelError
    from her_desktop.stt.models import check_model_dir, get_stt_spec, model_root

    spec = get_stt_spec(model)
    if spec is None:
        try:
            return Check("speech model", "ok", f"{check_model_dir(Path(model).expanduser())}")
        except STTModelError as exc:
            return Check("speech model", "fail", str(exc))
    state = model_state(spec, model_root(spec))
    if state.status == "installed":
        return Check("speech model", "ok", f"{spec.id}: {state.path}")
    return Check(
        "speech model",
        "warn" if state.status == "missing" else "fail",
        f"{spec.id}: {state.status} ({state.detail})",
        f"her-desktop models install {spec.id}",
    )


def check_voice() -> list[Check]:
    """The speech model, her voice, voice activity detection and echo cancellation: each
    found and loadable (nothing is loaded into memory for long, nothing is installed or
    downloaded)."""
    from her_desktop.config import load_settings

    settings = load_settings().settings
    checks: list[Check] = []
    checks.append(_check_speech_model(settings.stt.model))
    try:
        from her_desktop.tts.registry import create_tts

        tts = create_tts(settings.tts)
        info = tts.info()
        checks.append(Check("voice", "ok", f"{info.engine} · {info.voice} · {info.sample_rate} Hz"))
    except Exception as exc:  # TTSError or VoiceNotFound: the message carries the fix
        checks.append(
            Check("voice", "warn", str(exc), "Replies are shown as text until this is fixed.")
        )
    try:
        from her_desktop.audio.vad import default_model_path

        checks.append(Check("voice activity", "ok", f"Silero VAD: {default_model_path()}"))
    except Exception as exc:
        checks.append(
            Check("voice activity", "fail", str(exc), "Reinstall: pip install faster-whisper")
        )
    from her_desktop.audio.echo import create_echo

    echo = create_echo(settings.audio.echo)
    if echo.notice:
        checks.append(Check("echo", "warn", echo.notice))
    else:
        checks.append(Check("echo", "ok", f"{settings.audio.echo}: {echo.name}"))
    return checks


ALL_CHECKS: tuple[Callable[[], list[Check]], ...] = (
    check_python,
    check_dirs,
    check_settings,
    check_persona,
    check_llama,
    check_models,
    check_remote,
    check_audio,
    check_voice,
)


def run_checks() -> list[Check]:
    results: list[Check] = []
    for check in ALL_CHECKS:
        try:
            results.extend(check())
        except Exception as exc:  # a broken check is itself a finding, never a crash
            results.append(
                Check(
                    check.__name__.removeprefix("check_"),
                    "fail",
                    f"the check itself failed: {type(exc).__name__}: {exc}",
                )
            )
    return results


_MARK = {"ok": "✓", "warn": "!", "fail": "✗", "info": "·"}


def format_checks(checks: list[Check]) -> str:
    width = max((len(c.name) for c in checks), default=10)
    lines = []
    for c in checks:
        lines.append(f"{_MARK[c.status]} {c.name.ljust(width)}  {c.detail}")
        if c.fix and c.status in ("warn", "fail"):
            lines.append(f"  {' ' * width}  fix: {c.fix}")
    problems = sum(c.status == "fail" for c in checks)
    warnings = sum(c.status == "warn" for c in checks)
    lines.append("")
    lines.append(
        "All good."
        if not problems and not warnings
        else f"{problems} problem(s), {warnings} warning(s)."
    )
    return "\n".join(lines)
