"""The Linux installer end to end: build the .deb, install it with apt, use it, upgrade, remove.

Runs only where it can and should (it installs a system package): ``HER_DESKTOP_PACKAGING=1``
or ``CI`` set, PyInstaller installed, root, ``apt-get``/``dpkg-deb`` present, and no
``her-desktop`` package installed already. Takes about 2-3 minutes (PyInstaller ~35 s on a
2-core machine, building the .debs ~30 s, each apt install ~10 s).

What it checks, on the installed copy (``/usr/bin/her-desktop``, never the checkout):
``--version``; ``doctor`` (every check runs); a text chat with a tiny GGUF; the window,
offscreen, stays up; the default LM from the models package is found (when that package could
be built here); an upgrade to a newer version keeps the user's data; ``apt-get remove`` and
``purge`` leave nothing under /opt/her-desktop and keep the user's data.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from her_desktop import __version__
from tests.conftest import REAL_MODELS_DIR

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parent.parent
BUILD_DEB = ROOT / "packaging" / "build-deb"
INSTALLED = Path("/usr/bin/her-desktop")
APP_DIR = Path("/opt/her-desktop")


def _why_skip() -> str | None:
    if not (os.environ.get("HER_DESKTOP_PACKAGING") == "1" or os.environ.get("CI")):
        return "set HER_DESKTOP_PACKAGING=1 to build and install the .deb (it changes the system)"
    if importlib.util.find_spec("PyInstaller") is None:
        return "PyInstaller is not installed (pip install pyinstaller)"
    if not all(shutil.which(tool) for tool in ("apt-get", "dpkg-deb", "dpkg-query")):
        return "needs apt-get and dpkg-deb (Debian/Ubuntu)"
    if os.geteuid() != 0:
        return "needs root to install the package"
    if _installed_version("her-desktop") is not None:
        return "a her-desktop package is already installed here; not touching it"
    return None


def _installed_version(package: str) -> str | None:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Version}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.startswith("ii"):
        return None
    return result.stdout.split()[-1]


def _run(
    *cmd: str | Path,
    timeout: float = 600,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> str:
    result = subprocess.run(
        [str(c) for c in cmd],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        env=env,
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return str(result.stdout + result.stderr)


def _build(out: Path, **env: str) -> dict[str, Path]:
    # The default LM for the models package comes from the slow tests' shared models folder
    # (joined there once from its installed PyPI packages), never from this test's user dirs.
    build_env = {**os.environ, "HER_DESKTOP_MODELS_DIR": str(REAL_MODELS_DIR), "OUT": str(out)}
    _run(BUILD_DEB, env={**build_env, **env}, cwd=ROOT, timeout=1200)
    debs = {path.name.split("_")[0]: path for path in out.glob("*.deb")}
    assert "her-desktop" in debs, f"no app package in {out}: {sorted(out.iterdir())}"
    return debs


def _apt_install(*debs: Path) -> float:
    start = time.monotonic()
    _run(
        "apt-get",
        "install",
        "-y",
        "--no-install-recommends",
        *(f"./{deb.name}" for deb in debs),
        cwd=debs[0].parent,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return time.monotonic() - start


def _purge() -> None:
    subprocess.run(
        ["apt-get", "purge", "-y", "her-desktop", "her-desktop-models"],
        capture_output=True,
        check=False,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


@pytest.fixture
def clean_system() -> Iterator[None]:
    """Whatever happens, the packages are gone afterwards."""
    yield
    if _installed_version("her-desktop") or _installed_version("her-desktop-models"):
        _purge()


def test_deb_installs_runs_upgrades_and_removes(
    tmp_path: Path, isolated_user_dirs: Path, tiny_gguf: Path, clean_system: None
) -> None:
    why = _why_skip()
    if why:
        pytest.skip(why)
    report: list[str] = []

    # Build: a fresh PyInstaller run, then the same app as a newer version (reused: fast).
    start = time.monotonic()
    first = _build(tmp_path / "v1", REBUILD="1")
    report.append(f"build {__version__}: {time.monotonic() - start:.0f} s")
    start = time.monotonic()
    second = _build(tmp_path / "v2", VERSION=f"{__version__}+1", MODELS="no")
    report.append(f"build {__version__}+1 (reused app): {time.monotonic() - start:.0f} s")
    with_models = "her-desktop-models" in first
    for deb in first.values():
        report.append(f"{deb.name}: {deb.stat().st_size / 1e6:.0f} MB")

    # Install, and use the installed copy only.
    seconds = _apt_install(*first.values())
    report.append(f"apt-get install: {seconds:.0f} s")
    assert INSTALLED.exists()
    assert (APP_DIR / "her-desktop").is_file()
    assert Path("/usr/share/applications/her-desktop.desktop").is_file()
    start = time.monotonic()
    assert "her-desktop" in _run(INSTALLED, "--version")
    report.append(f"installed --version: {time.monotonic() - start:.2f} s")

    doctor = subprocess.run(
        [INSTALLED, "doctor"], capture_output=True, text=True, timeout=120, check=False
    ).stdout
    assert "the check itself failed" not in doctor, doctor
    assert "✓ llama.cpp" in doctor, doctor
    assert "✓ persona" in doctor, doctor

    if with_models:
        # The default LM from her-desktop-models, linked into this user's models dir with its
        # stamp: found at once, without hashing 1.1 GB or joining anything.
        assert "✓ configured LM" in doctor, doctor
        models = isolated_user_dirs / "data" / "models"
        linked = [p for p in models.iterdir() if p.is_symlink()]
        assert linked, f"no model linked into {models}: {sorted(models.iterdir())}\n{doctor}"
        for path in linked:
            model = path.resolve()
            assert model.parent == APP_DIR / "models", f"{path} -> {model}"
            assert model.stat().st_size > 1_000_000, f"{model} is not a model"

    chat = subprocess.run(
        [INSTALLED, "chat", "--model", str(tiny_gguf)],
        input="hello\n",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert chat.returncode == 0, chat.stdout + chat.stderr

    window = subprocess.Popen(
        [INSTALLED, "gui"],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        time.sleep(6)
        alive = window.poll() is None
    finally:
        window.terminate()
        try:
            output, _ = window.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            window.kill()
            output, _ = window.communicate()
    assert alive, f"the window exited early ({window.returncode}):\n{output[-3000:]}"

    # User data before the upgrade.
    data_dir = isolated_user_dirs / "data"
    marker = data_dir / "keep-me.txt"
    marker.write_text("mine\n", encoding="utf-8")
    before = sorted(p.relative_to(data_dir) for p in data_dir.rglob("*"))

    _apt_install(second["her-desktop"])
    assert _installed_version("her-desktop") == f"{__version__}+1"
    assert "her-desktop" in _run(INSTALLED, "--version")
    assert marker.read_text(encoding="utf-8") == "mine\n"
    assert sorted(p.relative_to(data_dir) for p in data_dir.rglob("*")) == before

    _run(
        "apt-get",
        "remove",
        "-y",
        "her-desktop",
        "her-desktop-models",
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    assert _installed_version("her-desktop") is None
    assert not INSTALLED.exists()
    assert marker.read_text(encoding="utf-8") == "mine\n"
    _purge()
    assert not APP_DIR.exists(), sorted(APP_DIR.rglob("*"))[:20]
    assert marker.read_text(encoding="utf-8") == "mine\n"
    print("\n".join(["", "packaging measurements:", *report]))
