"""Window geometry and state, kept in a small owner-only JSON file in the config dir.

``window.json`` holds Qt's own geometry/state blobs (base64). A missing or damaged file means
the default size; it is simply rewritten on the next close (it holds nothing the user made).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from pathlib import Path

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QMainWindow

from her_desktop.paths import atomic_write_text, config_dir

log = logging.getLogger(__name__)

FILENAME = "window.json"
VERSION = 1


def window_state_path() -> Path:
    return config_dir() / FILENAME


def save_window_state(window: QMainWindow, path: Path | None = None) -> None:
    path = path or window_state_path()
    data = {
        "version": VERSION,
        "geometry": base64.b64encode(bytes(window.saveGeometry().data())).decode("ascii"),
        "state": base64.b64encode(bytes(window.saveState(VERSION).data())).decode("ascii"),
    }
    try:
        atomic_write_text(path, json.dumps(data, indent=1) + "\n")
    except OSError as exc:
        log.warning("could not save the window size to %s: %s", path, exc)


def restore_window_state(window: QMainWindow, path: Path | None = None) -> bool:
    """Restore what :func:`save_window_state` kept. False (and nothing changed) if there is
    nothing usable."""
    path = path or window_state_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        geometry = base64.b64decode(data["geometry"], validate=True)
        state = base64.b64decode(data["state"], validate=True)
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        log.info("ignoring %s (%s): the window opens at its default size", path, exc)
        return False
    ok = window.restoreGeometry(QByteArray(geometry))
    window.restoreState(QByteArray(state), VERSION)
    return bool(ok)
