"""Where her_desktop keeps its files, and how it writes them.

Policy:

- Platform directories come from ``platformdirs`` (app name ``her_desktop``, no app author).
  Each one can be overridden by an environment variable, for tests and power users:
  ``HER_DESKTOP_CONFIG_DIR``, ``HER_DESKTOP_DATA_DIR``, ``HER_DESKTOP_CACHE_DIR`` and
  ``HER_DESKTOP_MODELS_DIR`` (the models dir defaults to ``data_dir() / "models"``).
- Directories are created on demand, owner-only (``0o700``): conversations, memories and
  settings are private.
- User files are written owner-only (``0o600``) and atomically (:func:`atomic_write_text`):
  a crash mid-write leaves either the old file or the new one, never half of each.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import platformdirs

APP_NAME = "her_desktop"
DIR_MODE = 0o700
FILE_MODE = 0o600

ENV_CONFIG_DIR = "HER_DESKTOP_CONFIG_DIR"
ENV_DATA_DIR = "HER_DESKTOP_DATA_DIR"
ENV_CACHE_DIR = "HER_DESKTOP_CACHE_DIR"
ENV_MODELS_DIR = "HER_DESKTOP_MODELS_DIR"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if missing; a directory we create is owner-only.

    An existing directory's permissions are left alone: the user may have chosen them (e.g. a
    shared models cache).
    """
    if not path.is_dir():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # not supported on every filesystem / platform
            path.chmod(DIR_MODE)
    return path


def _dir_from_env(env: str, default: str | Path) -> Path:
    value = os.environ.get(env, "").strip()
    path = Path(value).expanduser() if value else Path(default)
    return ensure_private_dir(path)


def config_dir() -> Path:
    """Settings, persona and the registry of user models (``settings.toml``, ``models.toml``)."""
    return _dir_from_env(ENV_CONFIG_DIR, platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """Memory database, conversation history and (by default) the joined models."""
    return _dir_from_env(ENV_DATA_DIR, platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Things that can be rebuilt: safe to delete at any time."""
    return _dir_from_env(ENV_CACHE_DIR, platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def models_dir() -> Path:
    """Where the embedded default models are assembled (``data_dir() / "models"`` unless set)."""
    value = os.environ.get(ENV_MODELS_DIR, "").strip()
    if value:
        return ensure_private_dir(Path(value).expanduser())
    return ensure_private_dir(data_dir() / "models")


def atomic_write_text(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically and owner-only (``0o600``).

    The text goes to a temporary file in the same directory, is flushed and fsynced, and then
    replaces ``path`` with ``os.replace`` (atomic on POSIX and Windows). On any failure the
    temporary file is removed and the old ``path`` is untouched.
    """
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Bytes version of :func:`atomic_write_text` (same guarantees)."""
    ensure_private_dir(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        # mkstemp already creates the file 0o600; the chmod below is for odd umasks/filesystems.
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            tmp.chmod(FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


WIPE_CHUNK = 1 << 20


def overwrite_with_zeros(path: Path) -> None:
    """Best effort: zero a file's bytes (then fsync) before it is deleted, so what the user
    asked to forget does not linger in freed disk blocks."""
    with contextlib.suppress(OSError):
        size = path.stat().st_size
        with path.open("r+b", buffering=0) as handle:
            done = 0
            while done < size:
                n = min(WIPE_CHUNK, size - done)
                handle.write(b"\0" * n)
                done += n
            os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    """Best-effort fsync of a directory so a rename survives a power cut (POSIX only)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
