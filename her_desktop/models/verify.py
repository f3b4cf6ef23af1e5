"""Checking model files: size + sha256 with a cached stamp.

Policy:

- A model is trusted only when its size and sha256 match the manifest. Hashing a 1 GB file takes
  seconds, so a successful check leaves a stamp (``<file>.verified.json``: file name, size,
  ``mtime_ns``, sha256). The stamp is trusted only while the file's size and ``mtime_ns`` are
  unchanged and it records the expected sha256; any change to the file means a full re-hash.
- A missing or unwritable stamp only costs time, never correctness.
- Whether a file is a sound GGUF at all (for user files, which have no manifest checksum) is
  :mod:`her_desktop.models.gguf_file`'s job.
- Statuses: ``installed`` (verified), ``missing`` (no file), ``partial`` (an interrupted
  assembly left ``<file>.partial`` and no final file), ``corrupt`` (wrong size, hash or header).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from her_desktop.paths import atomic_write_text

ModelState = Literal["installed", "missing", "corrupt", "partial"]
Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes total) while a long operation runs."""

CHUNK_SIZE = 4 * 1024 * 1024
STAMP_SUFFIX = ".verified.json"
PARTIAL_SUFFIX = ".partial"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of checking one file."""

    status: ModelState
    path: Path
    detail: str = ""
    """Plain words for anything but ``installed``."""
    hashed: bool = False
    """True when the sha256 was computed now (the stamp was missing or stale)."""

    @property
    def ok(self) -> bool:
        return self.status == "installed"


def stamp_path_for(path: Path) -> Path:
    """The sidecar stamp of ``path``: ``<file>.verified.json`` next to it."""
    return path.with_name(path.name + STAMP_SUFFIX)


def partial_path_for(path: Path) -> Path:
    """Where ``path`` is assembled before it is renamed into place: ``<file>.partial``."""
    return path.with_name(path.name + PARTIAL_SUFFIX)


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    """The lowercase hex sha256 of a file, read in chunks (progress: bytes done/total)."""
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as handle:
        while True:
            count = handle.readinto(view)
            if not count:
                break
            digest.update(view[:count])
            done += count
            if progress is not None:
                progress(done, total)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Stamps
# ---------------------------------------------------------------------------------------------


def write_stamp(path: Path, sha256: str, stamp_path: Path | None = None) -> None:
    """Record that ``path`` (as it is now) has ``sha256``. Failure to write is ignored."""
    stat = path.stat()
    stamp = {
        "file": path.name,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": sha256,
    }
    with contextlib.suppress(OSError):
        atomic_write_text(stamp_path or stamp_path_for(path), json.dumps(stamp, indent=2) + "\n")


def stamp_is_valid(path: Path, sha256: str, stamp_path: Path | None = None) -> bool:
    """True when a stamp says ``path`` has ``sha256`` and the file has not changed since."""
    try:
        stamp = json.loads((stamp_path or stamp_path_for(path)).read_text(encoding="utf-8"))
        stat = path.stat()
    except (OSError, ValueError):
        return False
    return (
        isinstance(stamp, dict)
        and stamp.get("file") == path.name
        and stamp.get("sha256") == sha256
        and stamp.get("size") == stat.st_size
        and stamp.get("mtime_ns") == stat.st_mtime_ns
    )


def remove_stamp(path: Path, stamp_path: Path | None = None) -> None:
    """Forget a stamp (e.g. before moving a corrupt file aside)."""
    with contextlib.suppress(OSError):
        (stamp_path or stamp_path_for(path)).unlink()


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


def verify_file(
    path: Path,
    size: int,
    sha256: str,
    *,
    stamp_path: Path | None = None,
    progress: Progress | None = None,
) -> VerifyResult:
    """Check ``path`` against the expected size and sha256, trusting a valid stamp.

    A successful full check writes a fresh stamp, so the next start is instant.
    """
    try:
        stat = path.stat()
    except FileNotFoundError:
        if partial_path_for(path).exists():
            return VerifyResult(
                "partial", path, f"{path.name} was not fully assembled (it was interrupted)"
            )
        return VerifyResult("missing", path, f"{path.name} is not there")
    except OSError as exc:
        return VerifyResult("corrupt", path, f"cannot read {path} ({exc.strerror or exc})")
    if not path.is_file():
        return VerifyResult("corrupt", path, f"{path} is not a file")
    if stat.st_size != size:
        return VerifyResult(
            "corrupt", path, f"{path.name} is {stat.st_size:,} bytes, expected {size:,}"
        )
    if stamp_is_valid(path, sha256, stamp_path):
        return VerifyResult("installed", path)
    try:
        digest = sha256_file(path, progress)
    except OSError as exc:
        return VerifyResult("corrupt", path, f"cannot read {path} ({exc.strerror or exc})", True)
    if digest != sha256:
        return VerifyResult(
            "corrupt", path, f"{path.name} has the wrong checksum (it is damaged)", hashed=True
        )
    write_stamp(path, sha256, stamp_path)
    return VerifyResult("installed", path, hashed=True)
