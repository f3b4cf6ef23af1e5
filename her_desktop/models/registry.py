"""The user's own models, registered by path, and resolving a settings ``llm.model`` value.

Policy:

- Users bring their own GGUF by path (``her-desktop models add PATH [--name N]``). The file stays
  where it is; the registry records name, absolute path, kind, size, sha256 (optional: hashing a
  large file is done only when asked) and when it was added, in ``config_dir() / "models.toml"``,
  written atomically (0o600).
- Registering checks the GGUF file first (:mod:`.gguf_file`) and rejects anything else with a
  message naming the file. Names are short slugs and cannot shadow a manifest id.
- A broken ``models.toml`` is reported, treated as empty, and never overwritten (same rule as
  settings.toml): changing the registry refuses until the user fixes or deletes it.
- :func:`resolve_model` turns a ``llm.model`` value (a manifest id, a registered name, or a path
  to a file) into a path, or raises :class:`ModelNotFound` listing what IS available and the fix.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from her_desktop.models.errors import INSTALL_HINT, ModelNotFound, RegistryError
from her_desktop.models.gguf_file import gguf_problem
from her_desktop.models.installer import installed_path, packages_installed
from her_desktop.models.manifest import MANIFEST, ModelKind, ModelSpec, get_spec
from her_desktop.models.verify import Progress, VerifyResult, sha256_file
from her_desktop.paths import atomic_write_text, config_dir

REGISTRY_FILENAME = "models.toml"
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)


class _Entry(BaseModel):
    """One registered model as stored in models.toml."""

    model_config = ConfigDict(extra="forbid", strict=True)

    path: Annotated[str, StringConstraints(min_length=1)]
    kind: ModelKind = "llm"
    size: int = Field(ge=0)
    sha256: Annotated[str, StringConstraints(pattern=r"^([0-9a-f]{64})?$")] = ""
    added_at: datetime


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    models: dict[Annotated[str, StringConstraints(pattern=NAME_PATTERN)], _Entry] = Field(
        default_factory=dict
    )


@dataclass(frozen=True, slots=True)
class UserModel:
    """A model the user registered by path."""

    name: str
    path: Path
    kind: ModelKind
    size: int
    sha256: str | None
    added_at: datetime


@dataclass(frozen=True, slots=True)
class Registry:
    """The registered models, plus a problem message when models.toml could not be used."""

    models: dict[str, UserModel]
    path: Path
    problem: str | None = None
    writable: bool = True


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """What a settings ``llm.model`` value points at."""

    path: Path
    spec: ModelSpec | None
    """The manifest entry (then the file may still need :func:`installer.install`)."""
    display_name: str


def registry_path() -> Path:
    """``config_dir() / "models.toml"``."""
    return config_dir() / REGISTRY_FILENAME


def load_registry(path: Path | None = None) -> Registry:
    """Read models.toml; never raises. A broken file gives an empty, read-only registry."""
    path = path if path is not None else registry_path()
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return Registry({}, path)
    except (OSError, UnicodeDecodeError) as exc:
        return Registry({}, path, _broken(path, f"it cannot be read: {exc}"), writable=False)
    try:
        document: dict[str, Any] = tomllib.loads(text)
        parsed = _RegistryFile.model_validate(document)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
        detail = _first_error(exc) if isinstance(exc, ValidationError) else str(exc)
        return Registry({}, path, _broken(path, detail), writable=False)
    models = {
        name: UserModel(
            name=name,
            path=Path(entry.path),
            kind=entry.kind,
            size=entry.size,
            sha256=entry.sha256 or None,
            added_at=entry.added_at,
        )
        for name, entry in parsed.models.items()
    }
    return Registry(models, path)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}"


def _broken(path: Path, detail: str) -> str:
    return (
        f"{path} is not a valid model registry ({detail}) — fix or delete it; your own models "
        "are not available until then"
    )


def _save(registry: Registry) -> None:
    if not registry.writable:
        raise RegistryError(
            f"not changing the model registry, so your file is kept as it is: {registry.problem}"
        )
    document = {
        "models": {
            model.name: {
                "path": str(model.path),
                "kind": model.kind,
                "size": model.size,
                **({"sha256": model.sha256} if model.sha256 else {}),
                "added_at": model.added_at,
            }
            for model in registry.models.values()
        }
    }
    header = (
        "# her_desktop: your own models, added with `her-desktop models add PATH`.\n"
        "# The files stay where they are; this only remembers where.\n\n"
    )
    atomic_write_text(registry.path, header + tomli_w.dumps(document))


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")
    return slug[:64] or "model"


def register(
    path: str | Path,
    name: str | None = None,
    *,
    kind: ModelKind = "llm",
    hash_now: bool = False,
    replace: bool = False,
    progress: Progress | None = None,
) -> UserModel:
    """Register a model file by path (the file is not copied). Returns the new entry.

    LM files must be complete GGUF files: that is checked first. ``hash_now`` records the sha256
    now (slow for big files). Raises :class:`RegistryError` with a plain-words message.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise RegistryError(f"{file} does not exist or is not a file — check the path")
    file = file.resolve()
    if kind == "llm":
        problem = gguf_problem(file)
        if problem is not None:
            raise RegistryError(f"{problem} — pick a .gguf model file (llama.cpp format)")
    chosen = name.strip() if name is not None else _slug(file.stem)
    if not _NAME_RE.fullmatch(chosen):
        raise RegistryError(
            f'"{chosen}" is not a usable name — use lowercase letters, digits, ".", "_" or "-" '
            "(up to 64), e.g. --name my-model"
        )
    if get_spec(chosen) is not None:
        raise RegistryError(
            f'"{chosen}" is the id of a built-in model — choose another name with --name'
        )
    registry = load_registry()
    existing = registry.models.get(chosen)
    if existing is not None and not replace:
        raise RegistryError(
            f'a model called "{chosen}" is already registered ({existing.path}) — choose another '
            f"name with --name, or remove it first: her-desktop models remove {chosen}"
        )
    model = UserModel(
        name=chosen,
        path=file,
        kind=kind,
        size=file.stat().st_size,
        sha256=sha256_file(file, progress) if hash_now else None,
        added_at=datetime.now(UTC).replace(microsecond=0),
    )
    _save(
        Registry(
            {**registry.models, chosen: model}, registry.path, registry.problem, registry.writable
        )
    )
    return model


def unregister(name: str) -> UserModel:
    """Forget a registered model (the file itself is left alone). Returns the removed entry."""
    registry = load_registry()
    model = registry.models.get(name)
    if model is None:
        known = ", ".join(sorted(registry.models)) or "none"
        raise RegistryError(f'no registered model called "{name}" (registered: {known})')
    remaining = {key: value for key, value in registry.models.items() if key != name}
    _save(Registry(remaining, registry.path, registry.problem, registry.writable))
    return model


def list_user_models() -> list[UserModel]:
    """The registered models, sorted by name (empty when models.toml is broken)."""
    return [model for _, model in sorted(load_registry().models.items())]


def user_model_state(model: UserModel, *, full_check: bool = False) -> VerifyResult:
    """A quick check of a registered file: still there, same size, and (for LMs) a sound GGUF.

    ``full_check`` also hashes the file and compares it with the sha256 recorded when it was
    added (when one was recorded).
    """
    if not model.path.exists():
        return VerifyResult("missing", model.path, f"{model.path} is no longer there")
    size = model.path.stat().st_size
    if size != model.size:
        return VerifyResult(
            "corrupt",
            model.path,
            f"{model.path.name} changed size since it was added ({size:,} bytes, was "
            f"{model.size:,}) — if you replaced it on purpose, add it again with --replace",
        )
    if model.kind == "llm":
        problem = gguf_problem(model.path)
        if problem is not None:
            return VerifyResult("corrupt", model.path, problem)
    if full_check and model.sha256 is not None:
        if sha256_file(model.path) != model.sha256:
            return VerifyResult(
                "corrupt",
                model.path,
                f"{model.path.name} changed since it was added (different checksum) — if you "
                "replaced it on purpose, add it again with --replace",
                hashed=True,
            )
        return VerifyResult("installed", model.path, hashed=True)
    return VerifyResult("installed", model.path)


# ---------------------------------------------------------------------------------------------
# Resolving a settings value
# ---------------------------------------------------------------------------------------------


def _looks_like_path(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.lower().endswith(".gguf") or ref.startswith("~")


def resolve_model(ref: str, *, kind: ModelKind = "llm") -> ResolvedModel:
    """Turn a manifest id, a registered name, or a file path into a path.

    For a manifest model the path is where the file is, or will be once installed (call
    ``installer.install(spec)`` before loading). Raises :class:`ModelNotFound` otherwise.
    """
    text = ref.strip()
    spec = get_spec(text)
    if spec is not None:
        path = installed_path(spec)
        if path is None or (not path.exists() and not packages_installed(spec)):
            raise ModelNotFound(
                f"{spec.name} ({spec.id}) is not installed — install it with: {INSTALL_HINT}"
            )
        return ResolvedModel(path, spec, spec.name)

    registry = load_registry()
    model = registry.models.get(text)
    if model is not None:
        if not model.path.is_file():
            raise ModelNotFound(
                f'your model "{model.name}" points to {model.path}, which is no longer there — '
                f"add it again from its new place, or remove it: her-desktop models remove "
                f"{model.name}"
            )
        return ResolvedModel(model.path, None, model.name)

    if text and _looks_like_path(text):
        file = Path(text).expanduser()
        if file.is_file():
            named = next(
                (m.name for m in registry.models.values() if m.path == file.resolve()), None
            )
            return ResolvedModel(file.resolve(), None, named or file.name)
        raise ModelNotFound(
            f"the model file {file} does not exist — check llm.model in settings.toml"
            + _available_text(kind, registry)
        )
    raise ModelNotFound(
        f'there is no model called "{ref}"'
        + _available_text(kind, registry)
        + (f" ({registry.problem})" if registry.problem else "")
    )


def _available_text(kind: ModelKind, registry: Registry) -> str:
    built_in = [spec.id for spec in MANIFEST if spec.kind == kind]
    own = sorted(name for name, model in registry.models.items() if model.kind == kind)
    available = ", ".join(built_in + own) or "none"
    return (
        f"; available: {available} — set llm.model in settings.toml to one of those, or add your "
        "own file with: her-desktop models add PATH"
    )
