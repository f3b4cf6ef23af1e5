"""PyInstaller entry point: the ``her-desktop`` command (same as ``her_desktop.__main__:main``)."""

from __future__ import annotations

import multiprocessing
import sys

from her_desktop.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen app must do this before anything else
    sys.exit(main())
