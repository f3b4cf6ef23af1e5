"""One validated settings model, saved as TOML under the user config dir.

Policy:

- There is exactly one settings model (:class:`Settings`), validated by pydantic with
  ``extra="forbid"`` (a typo in a key is reported, not silently ignored) and ``strict=True``
  (``n_ctx = "4096"`` is reported as text where a number belongs).
- The file is ``config_dir() / "settings.toml"``. A missing file means defaults.
- Loading NEVER raises. An unreadable file, a file that is not TOML, an invalid value or an
  unknown key gives defaults plus :attr:`LoadedSettings.problem`, a plain-words message naming the
  file, the key and its line, and the fix. Such a file is marked not writable: the app never
  overwrites a user's invalid file (:func:`save_settings` refuses with :class:`ConfigError`).
- Environment overrides for tests and power users are applied after the file:
  ``HER_DESKTOP__LLM__N_CTX=2048`` (double underscore = one level of nesting; the value is parsed
  as a TOML value, falling back to a plain string). A bad override is skipped and reported.
- Saving is atomic and owner-only (see :mod:`her_desktop.paths`).

Adding a section later (audio, stt, tts, gui): write a ``_Section`` subclass with defaults for
every field, add it to :class:`Settings` as ``name: NewSection = Field(default_factory=...)``.
Old files keep loading because every field has a default.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from her_desktop.paths import atomic_write_text, config_dir
from her_desktop.toml_problems import explain_error, find_toml_line

SETTINGS_FILENAME = "settings.toml"
ENV_PREFIX = "HER_DESKTOP__"
DEFAULT_MODEL_ID = "qwen2.5-coder-1.5b-instruct-q4_k_m"


class ConfigError(Exception):
    """A settings file could not be saved; the message says why and what to do."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True)


class RemoteLLMSettings(_Section):
    """An OpenAI-compatible server (llama-server, vLLM, Ollama) used when ``engine = "remote"``."""

    url: str = "http://127.0.0.1:8080/v1"
    model: str = ""
    api_key_env: str = ""
    """The NAME of an environment variable holding the API key; never the key itself."""
    timeout_s: float = Field(default=30.0, gt=0, le=3600)

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(
                'must start with "http://" or "https://", e.g. "http://127.0.0.1:8080/v1"'
            )
        return value

    @field_validator("api_key_env")
    @classmethod
    def _is_env_name(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(
                "must be the NAME of an environment variable that holds the key "
                '(e.g. "OPENAI_API_KEY"), never the key itself'
            )
        return value


class LLMSettings(_Section):
    """The language model: which engine, which model, and how it generates."""

    engine: Literal["llamacpp", "remote"] = "llamacpp"
    model: str = Field(default=DEFAULT_MODEL_ID, min_length=1)
    """A model id from the manifest, a registered user model name, or a path to a .gguf file."""
    model_folders: list[str] = Field(default_factory=list)
    """More folders (or .gguf files) to look in for models, besides Ollama, LM Studio, GPT4All
    and Jan's folders (``her-desktop models found``)."""
    prefer_installed: bool = True
    """With a GPU and ``model`` left at the default: use the largest chat model found on this
    computer that fits the GPU's memory instead."""
    n_ctx: int = Field(default=4096, ge=512, le=131072)
    n_gpu_layers: int | Literal["auto"] = "auto"
    """Layers offloaded to the GPU: "auto", 0 (CPU only), or a count (-1 = all)."""
    n_threads: int | None = Field(default=None, ge=1, le=1024)
    """CPU threads; unset = chosen by the engine from the machine."""
    max_tokens: int = Field(default=320, ge=1, le=8192)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    min_p: float = Field(default=0.1, ge=0.0, lt=1.0)
    """Companion sampling: drop tokens under min_p × the likeliest (keeps her on topic)."""
    repeat_penalty: float = Field(default=1.1, ge=1.0, le=2.0)
    presence_penalty: float = Field(default=0.3, ge=0.0, le=2.0)
    """Nudges her off words she just used (fewer looping phrases)."""
    deadline_s: float = Field(default=60.0, gt=0, le=3600)
    remote: RemoteLLMSettings = Field(default_factory=RemoteLLMSettings)

    @field_validator("n_gpu_layers", mode="before")
    @classmethod
    def _gpu_layers(cls, value: object) -> object:
        if value == "auto" or (
            isinstance(value, int) and not isinstance(value, bool) and value >= -1
        ):
            return value
        raise ValueError('must be "auto", 0 (CPU only), a number of layers, or -1 (all layers)')


class PrivacySettings(_Section):
    """What the companion may keep and log. Everything stays on this machine."""

    memory_enabled: bool = True
    checkins_enabled: bool = False
    debug_log_messages: bool = False
    """Write message text to the debug log (off: logs never contain what was said)."""


class MemorySettings(_Section):
    """How memories and moods are extracted (whether to keep them is under ``privacy``)."""

    lm_extraction: Literal["auto", "on", "off"] = "auto"
    """Extract memories with the LM (grammar-constrained JSON, grounded in the user's words) in
    addition to the fast rules. "auto" and "on": in the background while she is idle, giving
    way when the user speaks or types, where the engine can (the in-process llama.cpp engine,
    CPU or GPU); other engines: right after the reply, with "on" or on a GPU."""
    embeddings: Literal["auto", "hashing"] = "auto"
    """"auto": match memories by meaning with all-MiniLM-L6-v2 when installed."""


class AffectSettings(_Section):
    """How the user's feelings are estimated each turn."""

    use_embeddings: bool = True
    """Where all-MiniLM-L6-v2 is installed, read emotion with its embedding (a trained head,
    mixed with the lexicon and prototypes: ``affect.head``)."""
    voice_arousal: bool = False
    """Let the voice's prosody (pitch, energy, pace of a spoken turn: ``affect.prosody``) move
    the estimated arousal. Off: on the locked set spoken by espeak-ng at varied rate and pitch it
    made the arousal worse (correlation with the labels' arousal 0.55 from the text alone, 0.20
    joined; the offset was uncorrelated with the label, -0.02), and the eight calm human
    readings in /usr/share/sounds/alsa got +0.16 arousal on average."""
    lm_refine: Literal["auto", "on", "off"] = "auto"
    """Refine the estimate with the LM after each reply (a one-label classification, a few
    hundred ms on a CPU, never delaying a reply); "auto" and "on": wherever the engine can score
    labels (the in-process llama.cpp engine)."""


class AudioSettings(_Section):
    """Microphone and speaker. Device names match by substring; empty means the system default."""

    input_device: str = ""
    output_device: str = ""
    listen_mode: Literal["off", "push_to_talk", "hands_free"] = "hands_free"
    echo: Literal["aec", "half_duplex", "off"] = "aec"
    """aec: cancel her own voice in the microphone signal (WebRTC); half_duplex: ignore the
    microphone while she speaks (no barge-in by voice); off: headphones."""


class VADSettings(_Section):
    """When the user starts and stops speaking (Silero VAD)."""

    threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    min_speech_ms: int = Field(default=250, ge=32, le=5000)
    end_silence_ms: int = Field(default=600, ge=100, le=5000)
    """silence that ends an utterance"""
    pre_roll_ms: int = Field(default=300, ge=0, le=2000)
    max_utterance_s: float = Field(default=60.0, ge=1.0, le=900.0)
    barge_in_ms: int = Field(default=200, ge=32, le=2000)
    """speech needed while she talks before it counts as an interruption"""
    predictive_end: bool = True
    """end the turn sooner when what was said so far reads as a finished sentence"""
    predictive_end_ms: int = Field(default=250, ge=100, le=5000)
    """the shortest pause that can end a turn that sounds or reads as finished"""
    smart_turn: bool = True
    """hear whether the user sounds finished at a short pause (the Smart Turn model)"""
    turn_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    """the end-of-turn model's P(finished) that ends a turn at a short pause"""


class STTSettings(_Section):
    """Speech recognition (faster-whisper)."""

    model: str = Field(default="whisper-tiny.en", min_length=1)
    language: str = ""
    """empty: English for *.en models, detected otherwise"""
    beam_size: int = Field(default=1, ge=1, le=10)
    partials: bool = True
    n_threads: int | None = Field(default=None, ge=1, le=1024)


class TTSSettings(_Section):
    """Her voice."""

    engine: Literal["hibari", "piper", "coqui"] = "hibari"
    voice: str = ""
    """empty: the engine's bundled default voice"""
    speed: float = Field(default=1.0, ge=0.5, le=2.0)
    coqui_model_dir: str = ""
    """Coqui: a folder with model.pth (or best_model.pth) and config.json"""


class GUISettings(_Section):
    """The window."""

    theme: Literal["system", "light", "dark"] = "system"
    tray_icon: bool = True
    push_to_talk_key: str = Field(default="Ctrl+Space", min_length=1)


class Settings(_Section):
    """All settings. Sections are added by later features (audio, stt, tts, gui)."""

    llm: LLMSettings = Field(default_factory=LLMSettings)
    persona: str = Field(default="samantha", min_length=1)
    """A bundled persona name or a path to a user persona TOML file."""
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    affect: AffectSettings = Field(default_factory=AffectSettings)
    audio: AudioSettings = Field(default_factory=AudioSettings)
    vad: VADSettings = Field(default_factory=VADSettings)
    stt: STTSettings = Field(default_factory=STTSettings)
    tts: TTSSettings = Field(default_factory=TTSSettings)
    gui: GUISettings = Field(default_factory=GUISettings)
    log_level: Literal["debug", "info", "warning", "error"] = "info"


@dataclass(frozen=True, slots=True)
class LoadedSettings:
    """The result of :func:`load_settings`: always usable settings, plus what went wrong."""

    settings: Settings
    path: Path
    problem: str | None = None
    writable: bool = True
    """False when the file exists but is invalid: the app must never overwrite it."""
    overridden: tuple[str, ...] = field(default=())
    """Dotted keys set by ``HER_DESKTOP__...`` environment variables (not from the file)."""


def settings_path() -> Path:
    """The default settings file: ``config_dir() / "settings.toml"``."""
    return config_dir() / SETTINGS_FILENAME


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

_DEFAULTS_NOTE = "running on defaults for now"


def _read_document(path: Path) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """Return (document, text, problem). A missing file is an empty document, no problem."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, None, None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        problem = f"could not read {path} ({reason}) — check that it is a readable file"
        return None, None, f"{problem}; {_DEFAULTS_NOTE}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        problem = f"{path} is not UTF-8 text — save it as UTF-8 or delete it"
        return None, None, f"{problem}; {_DEFAULTS_NOTE}"
    try:
        return tomllib.loads(text), text, None
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
        problem = f"{path} is not valid TOML ({exc}) — fix that line or delete the file"
        return None, text, f"{problem}; {_DEFAULTS_NOTE}"


def load_settings(path: Path | None = None) -> LoadedSettings:
    """Load settings from ``path`` (default :func:`settings_path`), then environment overrides.

    Never raises: any problem gives defaults (for the file) and a message in ``.problem``.
    """
    path = path if path is not None else settings_path()
    document, text, problem = _read_document(path)
    writable = problem is None
    base: dict[str, Any] = {}
    if document is not None:
        try:
            Settings.model_validate(document)
            base = document
        except ValidationError as exc:
            problem = _describe_file_errors(path, text or "", exc)
            writable = False

    problems = [problem] if problem else []
    overridden: list[str] = []
    merged = base
    for env_name, dotted, value in _env_overrides(os.environ):
        candidate = _with_value(merged, dotted, value)
        try:
            Settings.model_validate(candidate)
        except ValidationError as exc:
            problems.append(_describe_env_error(env_name, exc))
            continue
        merged = candidate
        overridden.append(".".join(dotted))

    settings = Settings.model_validate(merged)
    return LoadedSettings(
        settings=settings,
        path=path,
        problem="\n".join(problems) if problems else None,
        writable=writable,
        overridden=tuple(overridden),
    )


def _env_overrides(environ: Mapping[str, str]) -> Iterable[tuple[str, tuple[str, ...], object]]:
    """Yield (variable, dotted key, parsed value) for each ``HER_DESKTOP__A__B=value``, sorted."""
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        dotted = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        yield name, dotted, _parse_env_value(environ[name])


def _parse_env_value(raw: str) -> object:
    """Parse like a TOML value (``2048``, ``true``, ``"x"``, ``[1, 2]``), else keep the text."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        return raw


def _with_value(
    document: Mapping[str, Any], dotted: tuple[str, ...], value: object
) -> dict[str, Any]:
    """A deep copy of ``document`` with ``dotted`` set to ``value`` (tables created as needed)."""
    result: dict[str, Any] = dict(document)
    node = result
    for key in dotted[:-1]:
        child = node.get(key)
        child = dict(child) if isinstance(child, Mapping) else {}
        node[key] = child
        node = child
    node[dotted[-1]] = value
    return result


# ---------------------------------------------------------------------------------------------
# Plain-words problem messages
# ---------------------------------------------------------------------------------------------


def _field_path(loc: tuple[int | str, ...]) -> tuple[str, ...]:
    """The part of a pydantic error location that names settings (drops union-member tags)."""
    model: type[BaseModel] | None = Settings
    path: list[str] = []
    for part in loc:
        key = str(part)
        if model is None:
            break
        path.append(key)
        info = model.model_fields.get(key)
        if info is None:
            break
        annotation = info.annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return tuple(path)


def unique_errors(exc: ValidationError) -> list[tuple[tuple[str, ...], str]]:
    """One (dotted key, explanation) per key: union members report the same key twice."""
    seen: dict[tuple[str, ...], str] = {}
    for error in exc.errors():
        key = _field_path(tuple(error["loc"]))
        if key not in seen:
            seen[key] = explain_error(error)
    return list(seen.items())


def _describe_file_errors(path: Path, text: str, exc: ValidationError) -> str:
    issues = unique_errors(exc)
    parts = []
    for key, why in issues:
        line = find_toml_line(text, key)
        where = f"line {line}: " if line is not None else ""
        parts.append(f"{where}{'.'.join(key) or 'the file'} {why}")
    that = "that line" if len(parts) == 1 else "those lines"
    return f"{path} {'; '.join(parts)} — fix or delete {that}; {_DEFAULTS_NOTE}"


def _describe_env_error(env_name: str, exc: ValidationError) -> str:
    parts = [f"{'.'.join(key)} {why}" for key, why in unique_errors(exc)]
    return (
        f"environment variable {env_name}: {'; '.join(parts)} — fix or unset it; "
        "ignoring it for now"
    )


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------

_HEADER = (
    "# her_desktop settings. Edit while the app is closed, or use the Settings window.\n"
    "# A mistake here is reported at start-up and the app runs on defaults until it is fixed.\n\n"
)


def settings_to_toml(settings: Settings) -> str:
    """The TOML text for ``settings`` (unset optional values are left out: TOML has no null)."""
    data = settings.model_dump(mode="json", exclude_none=True)
    return _HEADER + tomli_w.dumps(data)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write ``settings`` atomically (0o600) and return the path.

    Refuses with :class:`ConfigError` when the existing file is unreadable or invalid: the user
    may have unsaved work in it, so it is never overwritten.
    """
    path = path if path is not None else settings_path()
    document, text, problem = _read_document(path)
    if problem is None and document:
        try:
            Settings.model_validate(document)
        except ValidationError as exc:
            problem = _describe_file_errors(path, text or "", exc)
    if problem is not None:
        raise ConfigError(
            f"not saving settings, so your file is kept as it is: {problem.split(' — ')[0]} "
            f"— fix or delete {path} first, then save again"
        )
    try:
        atomic_write_text(path, settings_to_toml(settings))
    except OSError as exc:
        raise ConfigError(
            f"could not save settings to {path} ({exc.strerror or exc}) — "
            "check that the folder exists and is writable"
        ) from exc
    return path
