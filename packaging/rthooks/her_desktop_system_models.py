"""PyInstaller runtime hook: make models installed next to the app visible to the app.

An installer may put ready, verified models in a ``models`` folder beside the executable
(``/opt/her-desktop/models`` from the ``her-desktop-models`` .deb; ``{app}\\models`` on Windows;
``Contents/Resources/models`` in the macOS bundle). That folder is read-only for the user, so
it cannot be the app's models dir. Instead, before the app starts, each model file found there
is linked into the user's own models dir (``her_desktop.paths.models_dir()``, which stays
writable), together with its ``.verified.json`` stamp when the user has none: the app then finds
the model exactly where ``her-desktop models install`` would have put it, and the first start
is instant.

- A file the user already has under that name is never touched.
- A link left dangling (the models package was removed) is removed; nothing else is deleted.
- Symbolic link first, hard link as the fallback (Windows without developer mode); when
  neither works the model simply stays missing and ``her-desktop doctor`` says so.
- This hook never stops the app: any problem is logged and ignored.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

STAMP_SUFFIX = ".verified.json"


def _candidate_dirs() -> list[Path]:
    exe_dir = Path(sys.executable).resolve().parent
    return [exe_dir / "models", exe_dir.parent / "Resources" / "models"]


def _link(source: Path, target: Path) -> None:
    try:
        target.symlink_to(source)
    except OSError:
        os.link(source, target)


def _link_models(system_dir: Path, user_dir: Path) -> None:
    for source in sorted(system_dir.iterdir()):
        if not source.is_file() or source.name.endswith((STAMP_SUFFIX, ".partial")):
            continue
        target = user_dir / source.name
        if target.exists() or target.is_symlink():  # the user's own (even a dangling link)
            continue
        _link(source, target)
        stamp = system_dir / (source.name + STAMP_SUFFIX)
        user_stamp = user_dir / (source.name + STAMP_SUFFIX)
        if stamp.is_file() and not user_stamp.exists():
            shutil.copyfile(stamp, user_stamp)
            user_stamp.chmod(0o600)


def _remove_dangling(user_dir: Path, candidates: list[Path]) -> None:
    """Remove links into the app's models folder whose model is gone (package removed)."""
    for path in user_dir.iterdir():
        if path.is_symlink() and not path.exists():
            pointee = Path(os.readlink(path))
            if pointee.parent in candidates:
                path.unlink()
                (user_dir / (path.name + STAMP_SUFFIX)).unlink(missing_ok=True)


def link_system_models() -> None:
    try:
        from her_desktop.paths import models_dir

        candidates = _candidate_dirs()
        system_dirs = [path for path in candidates if path.is_dir()]
        if not system_dirs:
            return  # an app installed without models: nothing to do (and no folder created)
        user_dir = models_dir()
        _remove_dangling(user_dir, candidates)
        for system_dir in system_dirs:
            _link_models(system_dir, user_dir)
    except Exception as exc:  # never stop the app for this; the doctor reports missing models
        logging.getLogger("her_desktop.packaging").warning(
            "could not link the models installed with the app: %s", exc
        )


link_system_models()
