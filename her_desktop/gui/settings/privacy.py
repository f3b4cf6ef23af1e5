"""The Privacy page: memory and check-ins on or off, and "Delete everything" (after the user
types the confirmation word)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QInputDialog,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from her_desktop.config import Settings
from her_desktop.gui.settings.page import Data, SettingsPage, note

DELETE_WORD = "DELETE"


class PrivacyPage(SettingsPage):
    title = "Privacy"
    delete_everything_requested = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        privacy = settings.privacy
        self.memory = QCheckBox("Remember things about me between conversations")
        self.memory.setChecked(privacy.memory_enabled)
        self.checkins = QCheckBox("Let her gently check in when my mood seems low")
        self.checkins.setChecked(privacy.checkins_enabled)
        self.delete_button = QPushButton("Delete everything…")
        self.delete_button.clicked.connect(self.confirm_delete)
        layout = QVBoxLayout(self)
        layout.addWidget(self.memory)
        layout.addWidget(self.checkins)
        layout.addWidget(
            note(
                "Everything stays on this computer. Nothing is sent anywhere unless you choose "
                "a language model server."
            )
        )
        layout.addSpacing(12)
        row = QHBoxLayout()
        row.addWidget(self.delete_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(
            note(
                "Deletes every memory, every conversation and your mood history. "
                "It cannot be undone."
            )
        )
        layout.addStretch(1)

    def confirm_delete(self) -> None:
        """Ask for the word DELETE; emit ``delete_everything_requested`` when typed."""
        text, ok = QInputDialog.getText(
            self,
            "Delete everything",
            "This deletes every memory, every conversation and your mood history.\n"
            f"It cannot be undone. Type {DELETE_WORD} to confirm:",
        )
        if not ok:
            return
        if text.strip().upper() != DELETE_WORD:
            QMessageBox.information(
                self, "Nothing deleted", f"Nothing was deleted (you did not type {DELETE_WORD})."
            )
            return
        self.delete_everything_requested.emit()

    def apply(self, data: Data) -> None:
        data["privacy"]["memory_enabled"] = self.memory.isChecked()
        data["privacy"]["checkins_enabled"] = self.checkins.isChecked()
