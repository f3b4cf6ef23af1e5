"""The tray icon (only where the desktop has a system tray, and only when settings allow it)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu, QSystemTrayIcon

from her_desktop.gui.icons import icon
from her_desktop.gui.theme import Theme


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class Tray(QObject):
    """Show/hide the window and quit, from the tray."""

    def __init__(self, window: QMainWindow, theme: Theme, quit_action: QAction) -> None:
        super().__init__(window)
        self.window = window
        self.icon = QSystemTrayIcon(icon("orb", theme.accent), self)
        self.icon.setToolTip(window.windowTitle())
        menu = QMenu(window)
        self.toggle_action = menu.addAction("Hide window")
        self.toggle_action.triggered.connect(self.toggle_window)
        menu.addSeparator()
        menu.addAction(quit_action)
        self.menu = menu
        self.icon.setContextMenu(menu)
        self.icon.activated.connect(self._on_activated)
        self.icon.show()

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.toggle_window()

    def toggle_window(self) -> None:
        if self.window.isVisible() and not self.window.isMinimized():
            self.window.hide()
            self.toggle_action.setText("Show window")
        else:
            self.window.showNormal()
            self.window.raise_()
            self.window.activateWindow()
            self.toggle_action.setText("Hide window")

    def set_theme(self, theme: Theme) -> None:
        self.icon.setIcon(icon("orb", theme.accent))

    def remove(self) -> None:
        self.icon.hide()
