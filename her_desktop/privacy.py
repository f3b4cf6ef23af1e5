"""Privacy controls: "delete everything", and keeping what was said out of the logs.

Policy:

- :func:`delete_everything` removes every file that holds something the user said or felt: the
  memory database with its ``-wal``/``-shm`` files (memories, conversations, messages and the
  mood history all live there), damaged copies set aside earlier (``memory.sqlite3.corrupt-*``),
  and everything else in the data dir and the cache dir (logs, transcripts, caches). It keeps the
  models (large, rebuildable, contain nothing of the user) unless ``include_models``, the
  settings/persona/model registry in the config dir unless ``include_settings``, and the
  single-instance lock file (empty; deleting it under a running app would break the lock).
- Before a database file is unlinked its tables are emptied with ``secure_delete`` and
  ``VACUUM``ed, and every deleted file is overwritten with zeros first (best effort: SSDs and
  copy-on-write filesystems may keep old blocks; full-disk encryption covers that, see
  ``docs/privacy.md``).
- Call it with the memory store CLOSED (the app stops first, or runs it before opening the
  store). A database another program holds is not deleted: the report says so and what to do.
- Logs never contain what the user or she said unless ``privacy.debug_log_messages`` is on:
  pass message text through :func:`loggable` before logging it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from her_desktop.config import PrivacySettings, Settings
from her_desktop.instance import LOCK_NAME
from her_desktop.memory.store_file import DB_NAME, SIDE_FILES
from her_desktop.paths import cache_dir, config_dir, data_dir, models_dir, overwrite_with_zeros

WIPE_CHUNK: Final = 1 << 20
USER_CONFIG_FILES: Final = ("settings.toml", "persona.toml", "models.toml")


@dataclass
class DeletionReport:
    """What :func:`delete_everything` did."""

    deleted: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    """Kept on purpose (models, settings, the lock file)."""
    failed: list[tuple[Path, str]] = field(default_factory=list)
    """Could not be deleted, with the reason in plain words."""

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        if self.failed:
            lines = [f"{len(self.failed)} file(s) could not be deleted:"]
            lines += [f"  {path}: {why}" for path, why in self.failed]
            return "\n".join(lines)
        kept = " Models and settings were kept." if self.kept else ""
        return f"Everything she knew about you is deleted ({len(self.deleted)} file(s)).{kept}"


def loggable(text: str, privacy: PrivacySettings | Settings) -> str:
    """``text`` for a log line: itself only when ``privacy.debug_log_messages`` is on, else a
    placeholder that says how long it was (``<message: 42 chars>``)."""
    settings = privacy.privacy if isinstance(privacy, Settings) else privacy
    if settings.debug_log_messages:
        return text
    return f"<message: {len(text)} chars>"


def _wipe_database(path: Path) -> str | None:
    """Empty every table of a SQLite file in place (``secure_delete`` overwrites the pages) and
    truncate its WAL. None when done or not a usable database; a reason when it is locked."""
    try:
        conn = sqlite3.connect(path, timeout=0.5, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        conn.execute("PRAGMA secure_delete = ON")
        conn.execute("BEGIN IMMEDIATE")
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        conn.execute("PRAGMA foreign_keys = OFF")
        for table in tables:
            conn.execute(f'DELETE FROM "{table}"')
        conn.execute("COMMIT")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return (
                "it is in use by another program (is her_desktop running?); close it and try again"
            )
        return None  # damaged: it is deleted below anyway
    finally:
        conn.close()
    return None


def _delete_file(path: Path, report: DeletionReport) -> None:
    overwrite_with_zeros(path)
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        report.failed.append((path, exc.strerror or type(exc).__name__))
        return
    report.deleted.append(path)


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _delete_tree(root: Path, report: DeletionReport, keep: set[Path]) -> None:
    """Delete every file under ``root`` except ``keep`` (and anything inside a kept folder)."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root, topdown=True, followlinks=False):
        here = Path(dirpath)
        kept_dirs = [d for d in dirnames if (here / d).resolve() in keep]
        for d in kept_dirs:
            report.kept.append(here / d)
            dirnames.remove(d)
        for name in filenames:
            path = here / name
            if path.resolve() in keep:
                report.kept.append(path)
            elif path.is_symlink():
                with contextlib.suppress(OSError):
                    path.unlink()
                    report.deleted.append(path)
            else:
                _delete_file(path, report)
    for dirpath, _dirnames, _ in sorted(os.walk(root), key=lambda w: -len(w[0])):
        folder = Path(dirpath)
        if folder != root and folder.resolve() not in keep:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only empty folders go


def delete_everything(
    settings: Settings,
    *,
    include_models: bool = False,
    include_settings: bool = False,
) -> DeletionReport:
    """Delete everything the app keeps about the user (see the module docstring). Never
    raises for a file it cannot delete: that is listed in ``report.failed``.

    ``settings`` is the loaded configuration: a model that is a user's own file (a path in
    ``settings.llm.model``) is never deleted, even with ``include_models``.
    """
    report = DeletionReport()
    data, cache = data_dir(), cache_dir()
    keep: set[Path] = {(data / LOCK_NAME).resolve()}
    models = models_dir()
    if not include_models:
        keep.add(models.resolve())
    user_model = Path(settings.llm.model).expanduser()
    if user_model.suffix == ".gguf":
        keep.add(user_model.resolve())

    db = data / DB_NAME
    if db.exists():
        problem = _wipe_database(db)
        if problem is not None:
            report.failed.append((db, problem))
            keep.update((db.resolve(), *(Path(f"{db}{s}").resolve() for s in SIDE_FILES)))
    _delete_tree(data, report, keep)
    _delete_tree(cache, report, keep)
    if include_models and not _is_within(models, data):
        _delete_tree(models, report, keep)
    if include_settings:
        conf = config_dir()
        for name in USER_CONFIG_FILES:
            path = conf / name
            if path.exists():
                _delete_file(path, report)
    report.kept = sorted(set(report.kept))
    return report
