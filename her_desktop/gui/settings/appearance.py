"""The Appearance page: theme and tray icon."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QWidget

from her_desktop.config import Settings
from her_desktop.gui.settings.page import Data, SettingsPage, set_combo, stacked


class AppearancePage(SettingsPage):
    title = "Appearance"

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = QComboBox()
        self.theme.addItem("Same as the system", "system")
        self.theme.addItem("Light", "light")
        self.theme.addItem("Dark", "dark")
        set_combo(self.theme, settings.gui.theme, settings.gui.theme)
        self.tray = QCheckBox(
            "Show an icon in the system tray (she keeps running when the window is closed)"
        )
        self.tray.setChecked(settings.gui.tray_icon)
        form = QFormLayout(self)
        form.addRow("Theme:", stacked(self.theme, self.error_for("gui.theme")))
        form.addRow("", self.tray)

    def apply(self, data: Data) -> None:
        data["gui"]["theme"] = self.theme.currentData()
        data["gui"]["tray_icon"] = self.tray.isChecked()
