"""Who the companion is: a small validated TOML file turned into a compact system prompt.

Policy:

- Personas are TOML files with a fixed schema (:class:`Persona`, ``extra="forbid"``). Bundled
  ones live in ``her_desktop.assets/personas`` (the repo's top-level ``assets/`` dir, mapped to
  that package by pyproject; a source checkout falls back to ``assets/`` next to the package).
- ``settings.persona`` is a bundled name (``"samantha"``) or a path to a user TOML file.
  :func:`ensure_user_persona` copies the bundled default to ``config_dir() / "persona.toml"`` for
  the user to edit; it never overwrites an existing copy.
- :func:`load_persona` is strict and raises :class:`PersonaError` with a plain-words message.
  :func:`resolve_persona` never raises: an invalid or missing user persona gives the bundled
  default plus a problem message (same rule as settings: the app never dies of a bad file).
- The system prompt is prefilled on every start, on machines as small as 2 CPU cores: it stays
  compact (about 450 tokens for the default persona; hard limit :data:`MAX_PROMPT_CHARS`).
  It is read once per launch and kept in the model's prompt cache (and saved across launches
  by the llama.cpp engine), so its size costs the first turn only.
- ``examples``: a few short made-up exchanges that show her tone (a small LM copies tone from
  examples far better than from rules); the prompt fences them as made up.
"""

from __future__ import annotations

import importlib.resources
import os
import re
import tomllib
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from her_desktop.paths import atomic_write_text, config_dir
from her_desktop.toml_problems import explain_error, find_toml_line

DEFAULT_PERSONA = "samantha"
USER_PERSONA_FILENAME = "persona.toml"
MAX_PROMPT_CHARS = 3000
"""A persona whose system prompt is longer than this is rejected: it would slow every start."""

_Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
_Trait = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class PersonaError(Exception):
    """A persona could not be loaded; the message names the file, the problem and the fix."""


class Example(BaseModel):
    """One short made-up exchange that shows her tone (never a fact of the conversation)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    user: _Line
    reply: _Line


class Persona(BaseModel):
    """One persona file. Every field is short: it all ends up in the system prompt."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    description: _Line
    """Who she is, one sentence that completes "You are <name>, ..."."""
    voice: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    ] = "heart"
    """Engine-neutral voice name; each speech engine maps it to its closest voice."""
    speaking_rate: float = Field(default=1.0, ge=0.5, le=2.0)
    traits: list[_Trait] = Field(min_length=1, max_length=12)
    style: list[_Line] = Field(default_factory=list, max_length=12)
    """How she speaks. Replies are spoken aloud: short sentences, no markdown."""
    boundaries: list[_Line] = Field(default_factory=list, max_length=12)
    examples: list[Example] = Field(default_factory=list, max_length=4)
    """Two to four short exchanges for tone. The prompt marks them as made up, so the LM
    does not take them for things the user said."""
    greeting: _Line

    @model_validator(mode="after")
    def _prompt_is_compact(self) -> Persona:
        size = len(self.system_prompt())
        if size > MAX_PROMPT_CHARS:
            raise ValueError(
                f"the system prompt would be {size} characters (limit {MAX_PROMPT_CHARS}); "
                "shorten the style or boundaries"
            )
        return self

    def system_prompt(self) -> str:
        """The compact system prompt: identity, traits, speaking style and boundaries."""
        traits = (
            self.traits[0]
            if len(self.traits) == 1
            else (", ".join(self.traits[:-1]) + " and " + self.traits[-1])
        )
        lines = [f"You are {self.name}, {self.description}", f"You are {traits}."]
        if self.style:
            lines.append("How you speak: " + " ".join(self.style))
        if self.boundaries:
            lines.append("Boundaries: " + " ".join(self.boundaries))
        if self.examples:
            lines.append(
                "Made-up examples, only to show your tone (they did not happen; never mention "
                "them or take facts from them):"
            )
            for example in self.examples:
                lines.append(f"User: {example.user}\n{self.name}: {example.reply}")
            lines.append("(End of examples. The real conversation follows.)")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class LoadedPersona:
    """The result of :func:`resolve_persona`: always a usable persona, plus what went wrong."""

    persona: Persona
    source: str
    """The bundled name or the file path the persona came from."""
    problem: str | None = None


# ---------------------------------------------------------------------------------------------
# Where personas live
# ---------------------------------------------------------------------------------------------


def _assets_root() -> Traversable:
    """``her_desktop.assets`` when installed; the repo's ``assets/`` in a source checkout."""
    try:
        return importlib.resources.files("her_desktop.assets")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "assets"


def _bundled_dir() -> Traversable:
    return _assets_root() / "personas"


def bundled_personas() -> tuple[str, ...]:
    """Names of the personas shipped with the app, sorted."""
    folder = _bundled_dir()
    if not folder.is_dir():
        return ()
    names = (entry.name[: -len(".toml")] for entry in folder.iterdir())
    return tuple(sorted(n for n in names if _NAME_RE.fullmatch(n)))


def user_persona_path() -> Path:
    """Where the user's editable persona copy lives: ``config_dir() / "persona.toml"``."""
    return config_dir() / USER_PERSONA_FILENAME


def ensure_user_persona() -> Path:
    """Copy the bundled default persona to :func:`user_persona_path` unless a copy exists.

    Never overwrites: the user's edits are theirs. Returns the path either way.
    """
    path = user_persona_path()
    if not path.exists():
        text = (_bundled_dir() / f"{DEFAULT_PERSONA}.toml").read_text(encoding="utf-8")
        atomic_write_text(path, text)
    return path


def _is_path_ref(ref: str | Path) -> bool:
    if isinstance(ref, Path):
        return True
    return "/" in ref or os.sep in ref or ref.endswith(".toml") or ref.startswith("~")


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def parse_persona(text: str, source: str) -> Persona:
    """Validate persona TOML ``text``; ``source`` names it in error messages."""
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
        raise PersonaError(f"{source} is not valid TOML ({exc}) — fix that line") from exc
    try:
        return Persona.model_validate(document)
    except ValidationError as exc:
        raise PersonaError(_describe(source, text, exc)) from exc


def _describe(source: str, text: str, exc: ValidationError) -> str:
    parts: list[str] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        keys = tuple(str(p) for p in loc if isinstance(p, str))
        items = [p for p in loc if isinstance(p, int)]
        key = ".".join(keys) or "the persona"
        if items:
            key += f" item {items[0] + 1}"
        line = find_toml_line(text, keys) if keys else None
        where = f"line {line}: " if line is not None else ""
        if error["type"] == "missing":
            parts.append(f"{key} is missing")
        elif error["type"] == "extra_forbidden":
            parts.append(f"{where}{key} is not a persona field (a typo?)")
        else:
            parts.append(f"{where}{key} {explain_error(error)}")
    return f"{source}: {'; '.join(parts)} — fix the file (see the bundled samantha.toml)"


def load_persona(name_or_path: str | Path) -> Persona:
    """Load a bundled persona by name, or a user persona TOML by path.

    Raises :class:`PersonaError` with a plain-words message naming the file and the fix.
    """
    if _is_path_ref(name_or_path):
        path = Path(name_or_path).expanduser()
        try:
            text = path.read_bytes().decode("utf-8")
        except FileNotFoundError as exc:
            raise PersonaError(
                f"persona file {path} does not exist — check the path in settings.toml"
            ) from exc
        except UnicodeDecodeError as exc:
            raise PersonaError(f"persona file {path} is not UTF-8 text — save it as UTF-8") from exc
        except OSError as exc:
            raise PersonaError(
                f"could not read persona file {path} ({exc.strerror or exc}) — check it is a "
                "readable file"
            ) from exc
        return parse_persona(text, str(path))

    name = str(name_or_path).strip().lower()
    available = bundled_personas()
    if not _NAME_RE.fullmatch(name) or name not in available:
        raise PersonaError(
            f'there is no bundled persona called "{name_or_path}" (available: '
            f"{', '.join(available) or 'none'}) — use one of those or a path to a .toml file"
        )
    text = (_bundled_dir() / f"{name}.toml").read_text(encoding="utf-8")
    return parse_persona(text, f"bundled persona {name}.toml")


def resolve_persona(name_or_path: str | Path) -> LoadedPersona:
    """Like :func:`load_persona` but never raises: falls back to the bundled default.

    The problem message says what was wrong and that the default is used for now.
    """
    try:
        return LoadedPersona(load_persona(name_or_path), source=str(name_or_path))
    except PersonaError as exc:
        problem = f"{exc}; using the default persona ({DEFAULT_PERSONA}) for now"
    return LoadedPersona(load_persona(DEFAULT_PERSONA), source=DEFAULT_PERSONA, problem=problem)
