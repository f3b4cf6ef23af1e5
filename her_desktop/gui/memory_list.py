"""The Memories tab: a searchable, editable table of what she remembers, with forget, forget
everything and export. Every call to the memories runs on a worker thread."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from her_desktop.gui.background import run_in_background
from her_desktop.gui.memory_actions import MemoryActions, write_export
from her_desktop.memory.extraction import clean_text
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.retrieval import relative_time

T = TypeVar("T")

LIST_LIMIT = 500
"""Rows shown at once (newest first); searching reaches the others."""
SEARCH_DELAY_MS = 250
_KIND_NAMES = {"fact": "Fact", "episode": "Moment", "preference": "Preference"}
_COL_KIND, _COL_TEXT, _COL_WHEN, _COL_IMPORTANCE = range(4)


def _importance(salience: float) -> str:
    word = "High" if salience >= 0.7 else "Medium" if salience >= 0.4 else "Low"
    return f"{word} ({salience:.1f})"


class MemoryListPage(QWidget):
    """The searchable, editable table of memories with forget / forget all / export."""

    loaded = Signal(int)
    """Rows shown after a (re)load or search finished."""
    memory_forgotten = Signal(int)
    memory_edited = Signal(int)
    everything_forgotten = Signal()
    busy_changed = Signal(bool)

    def __init__(self, actions: MemoryActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.memory_actions = actions
        self._records: dict[int, MemoryRecord] = {}
        self._filling = False
        self._pending = 0

        self.search = QLineEdit(placeholderText="Search memories (words in the text)")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.reload)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Kind", "What she remembers", "When", "Importance"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(_COL_KIND, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(_COL_TEXT, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(_COL_WHEN, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(_COL_IMPORTANCE, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemChanged.connect(self._item_changed)
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.forget_button = QPushButton("Forget selected…")
        self.forget_button.clicked.connect(self.forget_selected)
        self.forget_all_button = QPushButton("Forget everything…")
        self.forget_all_button.clicked.connect(self.forget_everything)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self.export)
        hint = QLabel("Double-click a memory to correct it.")
        hint.setEnabled(False)

        buttons = QHBoxLayout()
        buttons.addWidget(hint)
        buttons.addStretch(1)
        for button in (self.export_button, self.forget_button, self.forget_all_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self._update_buttons()

    # -- background helper -------------------------------------------------------------------

    def _run(
        self,
        fn: Callable[[], T],
        on_done: Callable[[T], None],
        what: str,
    ) -> None:
        self._set_busy(+1)

        def done(value: T) -> None:
            self._set_busy(-1)
            on_done(value)

        def failed(exc: BaseException) -> None:
            self._set_busy(-1)
            self._show_status(f"Could not {what}: {exc}", error=True)

        run_in_background(fn, done, failed, owner=self)

    def _set_busy(self, delta: int) -> None:
        before = self._pending > 0
        self._pending += delta
        if (self._pending > 0) != before:
            self.busy_changed.emit(self._pending > 0)
            self._update_buttons()

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def _show_status(self, text: str, *, error: bool = False) -> None:
        self.status.setStyleSheet("color: #c0392b;" if error else "")
        self.status.setText(text)

    # -- loading -----------------------------------------------------------------------------

    def reload(self) -> None:
        """(Re)load the list, filtered by the search box."""
        query = self.search.text()

        def work() -> tuple[list[MemoryRecord], int]:
            return self.memory_actions.list(query, LIST_LIMIT), self.memory_actions.count()

        self._run(work, lambda result: self._fill(query, *result), "load the memories")

    def _fill(self, query: str, records: list[MemoryRecord], total: int) -> None:
        if query != self.search.text():
            return  # an older search answered late: a newer one is on its way
        now = time.time()
        self._filling = True
        try:
            self.table.setRowCount(0)
            self._records = {r.id: r for r in records}
            self.table.setRowCount(len(records))
            for row, record in enumerate(records):
                self._set_row(row, record, now)
        finally:
            self._filling = False
        self.table.resizeRowsToContents()
        if total == 0:
            self._show_status(
                "No memories yet. What she learns about you while you talk shows up here."
            )
        elif not records:
            self._show_status("No memory contains those words.")
        elif query:
            self._show_status(f"{len(records)} found.")
        else:
            more = (
                f" (the newest {len(records)} are shown; search to find others)"
                if total > len(records)
                else ""
            )
            self._show_status(f"{total} memories{more}.")
        self._update_buttons()
        self.loaded.emit(len(records))

    def _set_row(self, row: int, record: MemoryRecord, now: float) -> None:
        fixed = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
        kind = QTableWidgetItem(_KIND_NAMES.get(record.kind, record.kind))
        kind.setFlags(fixed)
        kind.setData(Qt.ItemDataRole.UserRole, record.id)
        text = QTableWidgetItem(record.text)
        text.setFlags(fixed | Qt.ItemFlag.ItemIsEditable)
        text.setData(Qt.ItemDataRole.UserRole, record.id)
        if record.subject:
            text.setToolTip(f"About: {record.subject}")
        when = QTableWidgetItem(relative_time(record.updated, now))
        when.setFlags(fixed)
        when.setToolTip(datetime.fromtimestamp(record.updated).strftime("%d %b %Y, %H:%M"))
        importance = QTableWidgetItem(_importance(record.salience))
        importance.setFlags(fixed)
        importance.setToolTip("How much this seemed to matter to you (0 to 1)")
        for column, item in enumerate((kind, text, when, importance)):
            self.table.setItem(row, column, item)

    def row_ids(self) -> list[int]:
        """The memory ids shown, top to bottom."""
        ids = []
        for row in range(self.table.rowCount()):
            item = self.table.item(row, _COL_KIND)
            if item is not None:
                ids.append(int(item.data(Qt.ItemDataRole.UserRole)))
        return ids

    # -- editing -----------------------------------------------------------------------------

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != _COL_TEXT:
            return
        memory_id = int(item.data(Qt.ItemDataRole.UserRole))
        record = self._records.get(memory_id)
        cleaned = clean_text(item.text())
        if record is None or cleaned == record.text:
            return
        if cleaned is None:
            self._show_status(
                'A memory cannot be empty. Write a sentence, e.g. "My dog is called Max", or '
                "forget it instead.",
                error=True,
            )
            self._restore_text(item, record.text)
            return
        self.edit_memory(memory_id, cleaned)

    def _restore_text(self, item: QTableWidgetItem, text: str) -> None:
        self._filling = True
        try:
            item.setText(text)
        finally:
            self._filling = False

    def edit_memory(self, memory_id: int, text: str) -> None:
        """Save a new text for one memory (on a worker thread), then refresh the list."""

        def done(ok: bool) -> None:
            if ok:
                self._show_status("Saved. She will remember it this way from now on.")
                self.memory_edited.emit(memory_id)
            else:
                self._show_status("That memory was already forgotten.", error=True)
            self.reload()

        self._run(lambda: self.memory_actions.edit(memory_id, text), done, "save the change")

    # -- forgetting --------------------------------------------------------------------------

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        ids = []
        for row in rows:
            item = self.table.item(row, _COL_KIND)
            if item is not None:
                ids.append(int(item.data(Qt.ItemDataRole.UserRole)))
        return ids

    def _update_buttons(self) -> None:
        has_rows = self.table.rowCount() > 0
        self.forget_button.setEnabled(bool(self.selected_ids()) and not self.busy)
        self.forget_all_button.setEnabled(has_rows and not self.busy)
        self.export_button.setEnabled(not self.busy)

    def _confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(
            self,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def forget_selected(self) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        what = "this memory" if len(ids) == 1 else f"these {len(ids)} memories"
        if not self._confirm(
            "Forget",
            f"Forget {what}? The conversation turns she learned it from are deleted too. "
            "This cannot be undone.",
        ):
            return

        def work() -> list[int]:
            return [memory_id for memory_id in ids if self.memory_actions.forget(memory_id)]

        def done(forgotten: list[int]) -> None:
            for memory_id in forgotten:
                self.memory_forgotten.emit(memory_id)
            self.reload()

        self._run(work, done, "forget")

    def forget_everything(self) -> None:
        if not self._confirm(
            "Forget everything",
            "Forget every memory, every conversation and your mood history? This cannot be undone.",
        ):
            return

        def done(_: None) -> None:
            self.everything_forgotten.emit()
            self.reload()

        self._run(self.memory_actions.forget_all, done, "forget everything")

    # -- export ------------------------------------------------------------------------------

    def export(self) -> None:
        default = str(Path.home() / f"her_desktop-memories-{datetime.now():%Y-%m-%d}.json")
        name, _ = QFileDialog.getSaveFileName(
            self, "Export memories", default, "JSON files (*.json)"
        )
        if not name:
            return
        path = Path(name)

        def done(count: int) -> None:
            self._show_status(f"Exported {count} memories to {path} (readable only by you).")

        self._run(lambda: write_export(self.memory_actions.export(), path), done, "export")
