"""The Persona page: the persona editor (it writes the override ``persona.toml`` on OK)."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from her_desktop.config import Settings
from her_desktop.gui.persona_editor import PersonaEditor
from her_desktop.gui.settings.page import SettingsPage


class PersonaPage(SettingsPage):
    title = "Persona"

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = PersonaEditor(settings.persona)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.editor)

    def check(self) -> dict[str, str]:
        persona = self.editor.edited_persona()
        return {"persona": persona} if isinstance(persona, str) else {}


# ---------------------------------------------------------------------------------------------
