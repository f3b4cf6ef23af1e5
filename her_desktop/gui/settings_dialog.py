"""The Settings window: language model, voice, audio, listening, persona, privacy, appearance.

The pages are one file each under :mod:`her_desktop.gui.settings`; this module is the window
that holds them, validates their values together and hands the result back.

Wiring (for the main window)::

    dialog = SettingsDialog(loaded.settings, parent=window)
    dialog.settings_changed.connect(on_settings)            # Settings, after OK; caller saves
    dialog.delete_everything_requested.connect(on_delete)   # typed confirmation already done
    dialog.open()   # or: if dialog.exec(): save_settings(dialog.result_settings())

Policy:

- The dialog never saves settings itself: it hands back a validated :class:`Settings`
  (``result_settings()``, or the ``settings_changed`` signal on OK). The caller saves it with
  ``save_settings`` (which refuses to overwrite a broken file, with a message to show).
  Only the persona page writes a file: the persona override ``persona.toml``, on OK.
- Values the settings model rejects are shown in plain words under the field (never a crash),
  and OK stays on the page with the problem.
- Anything slow (listing and testing sound devices, testing the server) runs on a worker
  thread; the window never blocks.
"""

from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from her_desktop.config import Settings, unique_errors
from her_desktop.gui.settings.appearance import AppearancePage
from her_desktop.gui.settings.audio import AudioPage
from her_desktop.gui.settings.language_model import LanguageModelPage
from her_desktop.gui.settings.listening import ListeningPage
from her_desktop.gui.settings.page import Data, SettingsPage, error_label
from her_desktop.gui.settings.persona import PersonaPage
from her_desktop.gui.settings.privacy import PrivacyPage
from her_desktop.gui.settings.voice import VoicePage


class SettingsDialog(QDialog):
    """Edit a copy of ``settings``; on OK emit ``settings_changed(Settings)`` (caller saves).

    ``result_settings()`` validates the pages and returns the edited settings, or None when a
    value is wrong (the problem is then shown under its field).
    ``delete_everything_requested`` is emitted after the user typed DELETE on the Privacy page.
    """

    settings_changed = Signal(object)
    delete_everything_requested = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        self.settings: Settings | None = None
        """The accepted settings once OK was pressed (None until then, or after Cancel)."""
        self.language_model = LanguageModelPage(settings)
        self.voice = VoicePage(settings)
        self.audio = AudioPage(settings)
        self.listening = ListeningPage(settings)
        self.persona = PersonaPage(settings)
        self.privacy = PrivacyPage(settings)
        self.appearance = AppearancePage(settings)
        self.pages: list[SettingsPage] = [
            self.language_model,
            self.voice,
            self.audio,
            self.listening,
            self.persona,
            self.privacy,
            self.appearance,
        ]
        self.privacy.delete_everything_requested.connect(self.delete_everything_requested)

        self.nav = QListWidget()
        self.stack = QStackedWidget()
        for page in self.pages:
            self.nav.addItem(page.title)
            self.stack.addWidget(page)
        self.nav.setFixedWidth(self.nav.sizeHintForColumn(0) + 32)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.setCurrentRow(0)
        self.problem = error_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        body = QHBoxLayout()
        body.addWidget(self.nav)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.resize(760, 520)

    def show_page(self, page: SettingsPage) -> None:
        self.nav.setCurrentRow(self.pages.index(page))

    def _edited_data(self) -> Data:
        data = self._settings.model_dump()
        for page in self.pages:
            page.apply(data)
        return data

    def _page_of(self, key: str) -> tuple[SettingsPage, QLabel] | None:
        """The page and label for a dotted key (or its closest parent that has a label)."""
        parts = key.split(".")
        while parts:
            candidate = ".".join(parts)
            for page in self.pages:
                if candidate in page.errors:
                    return page, page.errors[candidate]
            parts.pop()
        return None

    def _validate(self) -> tuple[Settings | None, dict[str, str]]:
        problems: dict[str, str] = {}
        for page in self.pages:
            problems.update(page.check())
        data = self._edited_data()
        settings: Settings | None = None
        try:
            settings = Settings.model_validate(data)
        except ValidationError as exc:
            for key, why in unique_errors(exc):
                problems.setdefault(".".join(key), why.capitalize() + ".")
        if problems:
            return None, problems
        return settings, {}

    def _show_problems(self, problems: dict[str, str]) -> None:
        for page in self.pages:
            for label in page.errors.values():
                label.setVisible(False)
        first: SettingsPage | None = None
        unplaced: list[str] = []
        for key, message in problems.items():
            found = self._page_of(key)
            if key == "persona":
                first = first or self.persona
                continue  # the persona editor shows its own problems
            if found is None:
                unplaced.append(f"{key}: {message}")
                continue
            page, label = found
            label.setText(message)
            label.setVisible(True)
            first = first or page
        self.problem.setText("\n".join(unplaced))
        self.problem.setVisible(bool(unplaced))
        if first is not None and first is not self.stack.currentWidget():
            self.show_page(first)

    def result_settings(self) -> Settings | None:
        """The edited settings, validated; None when something is wrong (shown inline).

        ``persona`` is the value it will have once the persona page is saved: the override
        file's path when the persona was edited.
        """
        settings, problems = self._validate()
        self._show_problems(problems)
        if settings is None:
            return None
        if self.persona.editor.is_modified():
            value = self.persona.editor.planned_ref()
            settings = settings.model_copy(update={"persona": value})
        return settings

    def accept(self) -> None:
        settings = self.result_settings()
        if settings is None:
            return
        if self.persona.editor.is_modified():
            try:
                value = self.persona.editor.save()
            except (ValueError, OSError) as exc:
                self.show_page(self.persona)
                self.persona.editor.error.setText(f"Could not save the persona: {exc}")
                self.persona.editor.error.setVisible(True)
                return
            settings = settings.model_copy(update={"persona": value})
        self.settings = settings
        self.settings_changed.emit(settings)
        super().accept()
