"""The persona page of Settings: edit her name, description, traits, style and greeting.

Saving writes the user's override, ``config_dir() / "persona.toml"`` (atomic, owner-only), and
the settings then point ``persona`` at that file. "Reset to Samantha" goes back to the bundled
persona (the override file is left on disk, unused, so nothing the user wrote is lost).
"""

from __future__ import annotations

import tomli_w
from pydantic import ValidationError
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from her_desktop.paths import atomic_write_text
from her_desktop.persona import (
    DEFAULT_PERSONA,
    Persona,
    load_persona,
    resolve_persona,
    user_persona_path,
)
from her_desktop.toml_problems import explain_error

_HEADER = (
    "# Your her_desktop persona, written by the Settings window. You can edit it by hand too\n"
    "# (see the bundled samantha.toml for what each field means); keep it short.\n\n"
)
_FIELD_NAMES = {
    "name": "Name",
    "description": "Who she is",
    "traits": "Traits",
    "style": "How she speaks",
    "greeting": "Greeting",
    "boundaries": "Boundaries",
}


def _lines(edit: QPlainTextEdit) -> list[str]:
    return [line.strip() for line in edit.toPlainText().splitlines() if line.strip()]


def persona_to_toml(persona: Persona) -> str:
    return _HEADER + tomli_w.dumps(persona.model_dump(mode="json"))


class PersonaEditor(QWidget):
    """Edits the persona that ``persona_ref`` (a ``settings.persona`` value) points at."""

    def __init__(self, persona_ref: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ref = persona_ref
        loaded = resolve_persona(persona_ref)
        self._original = loaded.persona
        self._base = loaded.persona
        self._reset = False

        self.name = QLineEdit()
        self.description = QLineEdit()
        self.description.setPlaceholderText("a warm, curious companion who ...")
        self.traits = QPlainTextEdit()
        self.traits.setPlaceholderText("One trait per line, e.g. warm")
        self.style_edit = QPlainTextEdit()
        self.style_edit.setPlaceholderText("One rule per line, e.g. Speak in short sentences.")
        self.greeting = QLineEdit()
        for edit in (self.traits, self.style_edit):
            edit.setTabChangesFocus(True)
            edit.setMinimumHeight(80)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b;")
        self.error.setVisible(bool(loaded.problem))
        self.error.setText(loaded.problem or "")
        self.reset_button = QPushButton("Reset to Samantha")
        self.reset_button.clicked.connect(self.reset_to_default)

        form = QFormLayout()
        form.addRow("Name:", self.name)
        form.addRow("Who she is:", self.description)
        form.addRow("Traits:", self.traits)
        form.addRow("How she speaks:", self.style_edit)
        form.addRow("Greeting:", self.greeting)
        note = QLabel(
            "Everything here becomes a short instruction she reads at every start, so keep it "
            "brief. Changes apply the next time the conversation starts."
        )
        note.setWordWrap(True)
        note.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.reset_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self._show(loaded.persona)

    def _show(self, persona: Persona) -> None:
        self.name.setText(persona.name)
        self.description.setText(persona.description)
        self.traits.setPlainText("\n".join(persona.traits))
        self.style_edit.setPlainText("\n".join(persona.style))
        self.greeting.setText(persona.greeting)
        for line in (self.name, self.description, self.greeting):
            line.setCursorPosition(0)  # show the start of a long line, not its end

    def reset_to_default(self) -> None:
        """Show the bundled Samantha; saving then points settings back at her."""
        self._base = load_persona(DEFAULT_PERSONA)
        self._reset = True
        self._show(self._base)
        self.error.setVisible(False)

    def edited_persona(self) -> Persona | str:
        """The persona as edited, or a plain-words problem (also shown under the fields)."""
        data = self._base.model_dump()
        data.update(
            name=self.name.text(),
            description=self.description.text(),
            traits=_lines(self.traits),
            style=_lines(self.style_edit),
            greeting=self.greeting.text(),
        )
        try:
            persona = Persona.model_validate(data)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                keys = [str(p) for p in error["loc"] if isinstance(p, str)]
                label = _FIELD_NAMES.get(keys[0], keys[0]) if keys else "The persona"
                if error["type"] == "too_short" and keys and keys[0] == "traits":
                    problems.append("Traits: write at least one")
                else:
                    problems.append(f"{label} {explain_error(error)}")
            message = "; ".join(dict.fromkeys(problems)) + "."
            self.error.setText(message)
            self.error.setVisible(True)
            return message
        self.error.setVisible(False)
        return persona

    def is_modified(self) -> bool:
        persona = self.edited_persona()
        return self._reset or not isinstance(persona, Persona) or persona != self._original

    def planned_ref(self) -> str:
        """The ``settings.persona`` value :meth:`save` will return (nothing is written)."""
        persona = self.edited_persona()
        if isinstance(persona, str):
            return self._ref
        if self._reset and persona == load_persona(DEFAULT_PERSONA):
            return DEFAULT_PERSONA
        if not self._reset and persona == self._original:
            return self._ref
        return str(user_persona_path())

    def save(self) -> str:
        """Write the override if anything changed; return the new ``settings.persona`` value.

        Raises ``ValueError`` with a plain message when the fields are not valid, ``OSError``
        when the file cannot be written.
        """
        persona = self.edited_persona()
        if isinstance(persona, str):
            raise ValueError(persona)
        ref = self.planned_ref()
        path = user_persona_path()
        if ref == str(path) and (self._reset or persona != self._original):
            atomic_write_text(path, persona_to_toml(persona))
        return ref
