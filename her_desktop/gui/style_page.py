"""The memory window's "How she talks to you" tab: the rules the user gave (from their own
words: "call me Sam", "shorter answers") and what she learned from 👍/👎, with a way to forget a
rule and to undo what the ratings taught. Rules are memories: their text is edited on the
Memories tab; the next reply follows the edit.

Every database call runs on a worker thread (``gui.background``)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from her_desktop.feedback import ratings
from her_desktop.feedback.service import read_style, style_records
from her_desktop.feedback.style import Style
from her_desktop.gui.background import run_in_background
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.store import MemoryStore

EMPTY_TEXT = (
    'Nothing yet. Tell her, e.g. "call me Sam" or "shorter answers please", or rate a reply.'
)


class StylePage(QWidget):
    loaded = Signal()
    changed = Signal()

    def __init__(self, store: MemoryStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        title = QLabel("What she has learned about how to talk to you")
        title.setObjectName("pageTitle")
        intro = QLabel(
            "Your own words first, then what your 👍 / 👎 taught her. Her next reply follows "
            "this list; forget anything here."
        )
        intro.setObjectName("meta")
        intro.setWordWrap(True)
        self.rules = QListWidget()
        self.rules.setObjectName("styleRules")
        self.rules.currentItemChanged.connect(lambda *_: self._enable())
        self.learned = QListWidget()
        self.learned.setObjectName("styleLearned")
        self.learned.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        for box in (self.rules, self.learned):
            box.setAlternatingRowColors(True)
            box.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.nothing_learned = QLabel("")
        self.nothing_learned.setObjectName("meta")
        self.ratings_note = QLabel("")
        self.ratings_note.setObjectName("meta")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.forget_button = QPushButton("Forget this rule")
        self.forget_button.clicked.connect(self.forget_selected)
        self.unlearn_button = QPushButton("Undo what she learned from ratings")
        self.unlearn_button.clicked.connect(self.unlearn)
        self._has_rules = False
        self._has_ratings = False
        self._enable()
        buttons = QHBoxLayout()
        buttons.addWidget(self.forget_button)
        buttons.addStretch(1)
        buttons.addWidget(self.unlearn_button)
        rules_hint = QLabel("edit their words on the Memories tab")
        rules_hint.setObjectName("meta")
        layout = QVBoxLayout(self)
        layout.setSpacing(6)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addSpacing(6)
        layout.addLayout(_heading("Your rules", rules_hint))
        layout.addWidget(self.rules)
        layout.addSpacing(6)
        layout.addLayout(_heading("Learned from your 👍 / 👎", self.ratings_note))
        layout.addWidget(self.learned)
        layout.addWidget(self.nothing_learned)
        layout.addStretch(1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    def reload(self) -> None:
        store = self.store

        def work() -> tuple[list[MemoryRecord], Style, int, int]:
            rated = ratings.load(store)
            good = sum(r.good for r in rated)
            return style_records(store), read_style(store), good, len(rated) - good

        run_in_background(work, self._fill, self._failed, owner=self)

    def _fill(self, result: tuple[list[MemoryRecord], Style, int, int]) -> None:
        records, style, good, bad = result
        self.rules.clear()
        for record in records:
            item = QListWidgetItem(record.text)
            item.setData(256, record.id)  # Qt.UserRole
            self.rules.addItem(item)
        if not records:
            self.rules.addItem(QListWidgetItem(EMPTY_TEXT))
        self.learned.clear()
        for note in style.learned:
            self.learned.addItem(QListWidgetItem(note))
        self.learned.setVisible(bool(style.learned))
        self.nothing_learned.setVisible(not style.learned)
        self.nothing_learned.setText(
            "Nothing learned from them yet."
            if good + bad
            else "No ratings yet: use 👍 / 👎 under her replies."
        )
        self.ratings_note.setText(f"{good} 👍 and {bad} 👎 so far" if good + bad else "")
        self._has_rules = bool(records)
        self._has_ratings = good + bad > 0
        for box in (self.rules, self.learned):
            _fit(box)
        self._enable()
        self.loaded.emit()

    def _enable(self) -> None:
        self.forget_button.setEnabled(self._has_rules and self.selected_rule() is not None)
        self.unlearn_button.setEnabled(self._has_ratings)

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(f"Could not read what she learned: {exc}")

    def selected_rule(self) -> int | None:
        item = self.rules.currentItem()
        value = item.data(256) if item is not None else None
        return int(value) if value is not None else None

    def forget_selected(self) -> None:
        memory_id = self.selected_rule()
        if memory_id is None:
            self.status.setText("Choose a rule first.")
            return
        store = self.store
        run_in_background(lambda: store.forget(memory_id), self._done, self._failed, owner=self)

    def unlearn(self) -> None:
        store = self.store
        run_in_background(
            lambda: ratings.forget_ratings(store), self._done, self._failed, owner=self
        )

    def _done(self, _result: object) -> None:
        self.status.setText("Done. Her next reply follows this.")
        self.changed.emit()
        self.reload()


def _heading(text: str, note: QLabel) -> QHBoxLayout:
    """A section heading with a muted note on its right."""
    label = QLabel(text)
    label.setObjectName("sectionTitle")
    row = QHBoxLayout()
    row.addWidget(label)
    row.addSpacing(8)
    row.addWidget(note)
    row.addStretch(1)
    return row


MAX_ROWS = 8


def _fit(box: QListWidget) -> None:
    """As tall as its rows (up to ``MAX_ROWS``, then it scrolls): no empty box under 2 rules."""
    rows = min(max(box.count(), 1), MAX_ROWS)
    row_height = box.sizeHintForRow(0) if box.count() else box.fontMetrics().height() + 6
    box.setFixedHeight(rows * max(row_height, 1) + 2 * box.frameWidth() + 4)
