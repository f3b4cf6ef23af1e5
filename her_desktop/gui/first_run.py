"""The health panel (first run and Help → Health check): the doctor's checks with one-click fixes.

The checks run in a worker thread; assembling an embedded model (joining its package parts and
verifying the sha256, a minute or two) runs in a worker thread too, with a progress bar. The
window stays responsive throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from her_desktop.config import Settings
from her_desktop.doctor import Check, run_checks
from her_desktop.models import InstallError, ModelError, ModelSpec, get_spec, install
from her_desktop.models.installer import model_status, packages_installed

log = logging.getLogger(__name__)

INSTALL_FIX = "her-desktop models install"
_MARK = {"ok": "✓", "warn": "!", "fail": "✗", "info": "·"}
_MARK_COLOR = {"ok": "#2e9d6a", "warn": "#d08a1f", "fail": "#c8432d", "info": "#8a847b"}


def missing_model(settings: Settings) -> ModelSpec | None:
    """The embedded model the settings use, when it still has to be assembled (else None)."""
    if settings.llm.engine != "llamacpp":
        return None
    spec = get_spec(settings.llm.model)
    if spec is None:
        return None
    try:
        return None if model_status(spec) == "installed" else spec
    except OSError:
        return spec


def installable_spec(check: Check) -> ModelSpec | None:
    """The model a failing check can fix with one click (its packages are installed)."""
    if check.status not in ("fail", "warn", "info") or not check.fix.startswith(INSTALL_FIX):
        return None
    words = check.fix.split()
    spec = get_spec(words[-1]) if len(words) > 3 else None
    if spec is None or not packages_installed(spec):
        return None
    return spec


def _human_mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


class HealthPanel(QDialog):
    """Checks and fixes. ``changed`` is True after a fix was applied (the app may retry)."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        first_run_model: ModelSpec | None = None,
        checks: Callable[[], list[Check]] = run_checks,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Getting ready" if first_run_model else "Health check")
        self.setMinimumSize(620, 440)
        self._run_checks = checks
        self._tasks: set[asyncio.Task[None]] = set()
        self.changed = False
        self.installing = False
        self.finished_checks: list[Check] = []

        title = QLabel(
            "Welcome! One step before the first conversation."
            if first_run_model
            else "How the installation looks"
        )
        title.setStyleSheet("font-size: 14pt; font-weight: 600;")
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        if first_run_model is not None:
            self.intro.setText(
                f"The language model ({first_run_model.name}, "
                f"{_human_mb(first_run_model.size)}) comes in parts inside the installed "
                "packages. It is put together once, on this computer — nothing is downloaded."
            )
        else:
            self.intro.setText("Every check, and a fix for each problem where there is one.")

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.progress_label = QLabel(self)
        self.progress_label.setWordWrap(True)
        self.progress_label.hide()

        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setColumnStretch(2, 1)
        self._grid.setVerticalSpacing(8)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._grid_host)

        self.assemble_button = QPushButton("Assemble the model", self)
        self.assemble_button.setDefault(True)
        self.assemble_button.setVisible(first_run_model is not None)
        self._first_spec = first_run_model
        self.assemble_button.clicked.connect(self._assemble_first)
        self.recheck_button = QPushButton("Check again", self)
        self.recheck_button.clicked.connect(self.refresh)
        self.close_button = QPushButton("Continue" if first_run_model else "Close", self)
        self.close_button.clicked.connect(self.accept)

        buttons = QHBoxLayout()
        buttons.addWidget(self.recheck_button)
        buttons.addStretch(1)
        buttons.addWidget(self.assemble_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(self.intro)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)

    # -- tasks -------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self) -> None:
        """Wait for running checks/installs (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def refresh(self) -> None:
        self._spawn(self._refresh())

    async def _refresh(self) -> None:
        self.recheck_button.setEnabled(False)
        self._show_checks([Check("checking", "info", "running the checks…")])
        try:
            checks = await asyncio.to_thread(self._run_checks)
        except Exception as exc:  # the doctor never raises, but a panel must not die of it
            checks = [Check("health check", "fail", f"the checks could not run: {exc}")]
        self.finished_checks = checks
        self._show_checks(checks)
        self.recheck_button.setEnabled(True)

    def _show_checks(self, checks: list[Check]) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for row, check in enumerate(checks):
            mark = QLabel(_MARK[check.status])
            mark.setStyleSheet(f"color: {_MARK_COLOR[check.status]}; font-weight: 700;")
            mark.setAlignment(Qt.AlignmentFlag.AlignTop)
            name = QLabel(check.name)
            name.setAlignment(Qt.AlignmentFlag.AlignTop)
            text = check.detail
            if check.fix and check.status in ("warn", "fail"):
                text += f"\nFix: {check.fix}"
            detail = QLabel(text)
            detail.setWordWrap(True)
            detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._grid.addWidget(mark, row, 0)
            self._grid.addWidget(name, row, 1)
            self._grid.addWidget(detail, row, 2)
            spec = installable_spec(check)
            if spec is not None:
                button = QPushButton("Assemble")
                button.setToolTip(f"Put {spec.name} together from its installed packages")
                button.clicked.connect(lambda _=False, s=spec: self.assemble(s))
                self._grid.addWidget(button, row, 3, Qt.AlignmentFlag.AlignTop)

    # -- assembling a model ------------------------------------------------------------------

    def _assemble_first(self) -> None:
        if self._first_spec is not None:
            self.assemble(self._first_spec)

    def assemble(self, spec: ModelSpec) -> None:
        if not self.installing:
            self._spawn(self._assemble(spec))

    async def _assemble(self, spec: ModelSpec) -> None:
        loop = asyncio.get_running_loop()
        self.installing = True
        self.assemble_button.setEnabled(False)
        self.close_button.setEnabled(False)
        self.progress.setValue(0)
        self.progress.show()
        self.progress_label.setText(f"Assembling {spec.name}…")
        self.progress_label.show()
        last = [-1]

        def progress(done: int, total: int) -> None:  # worker thread: hand over to the loop
            step = int(1000 * done / total) if total else 1000
            if step != last[0]:
                last[0] = step
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._on_progress, step, done, total)

        try:
            path = await asyncio.to_thread(install, spec, progress)
        except (InstallError, ModelError, OSError) as exc:
            self.progress_label.setText(f"Could not assemble {spec.name}: {exc}")
        else:
            self.changed = True
            self.progress.setValue(1000)
            self.progress_label.setText(f"{spec.name} is ready ({path}).")
            self.assemble_button.hide()
            if self._first_spec is spec:
                self.intro.setText("All set. You can start talking.")
        finally:
            self.installing = False
            self.assemble_button.setEnabled(True)
            self.close_button.setEnabled(True)
        await self._refresh()

    def _on_progress(self, step: int, done: int, total: int) -> None:
        self.progress.setValue(step)
        self.progress.setFormat(f"%p%  ({_human_mb(done)} of {_human_mb(total)})")

    # -- closing -----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.installing:
            event.ignore()  # the join finishes (or fails) on its own; never leave half a file
            return
        super().closeEvent(event)

    def reject(self) -> None:
        if not self.installing:
            super().reject()

    def done(self, result: int) -> None:
        """Closing stops waiting for the checks (a running join never gets here)."""
        for task in list(self._tasks):
            task.cancel()
        super().done(result)
