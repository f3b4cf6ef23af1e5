"""A Settings page (:class:`SettingsPage`) and the small widgets every page builds with."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QLabel, QLayout, QVBoxLayout, QWidget

Data = dict[str, Any]
ERROR_STYLE = "color: #c0392b;"


def error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setVisible(False)
    return label


def stacked(field: QWidget | QLayout, *below: QLabel) -> QWidget:
    """``field`` with labels under it (an error, a note) that take no room while hidden."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    if isinstance(field, QLayout):
        layout.addLayout(field)
    else:
        layout.addWidget(field)
    for label in below:
        layout.addWidget(label)
    return box


def note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setEnabled(False)
    return label


def set_combo(combo: QComboBox, value: object, missing_label: str | None = None) -> None:
    """Select the item whose data is ``value``; add it (as ``missing_label``) when absent."""
    index = combo.findData(value)
    if index < 0 and missing_label is not None:
        combo.addItem(missing_label, value)
        index = combo.count() - 1
    combo.setCurrentIndex(max(index, 0))


def without_fix(message: str) -> str:
    return message.split(" — fix it in Settings")[0].rstrip(".") + "."


class SettingsPage(QWidget):
    """One page: shows a part of the settings and writes the edited values back."""

    title = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.errors: dict[str, QLabel] = {}
        """Dotted setting key -> the label under its field that shows what is wrong."""

    def error_for(self, key: str) -> QLabel:
        label = error_label()
        self.errors[key] = label
        return label

    def apply(self, data: Data) -> None:
        """Write this page's values into ``data`` (a ``Settings.model_dump()``)."""

    def check(self) -> dict[str, str]:
        """Problems the settings model cannot see (a bad file, a bad URL): key -> message."""
        return {}
