"""Language models already on this computer: GGUF files other apps downloaded, found for the user.

People who try a local companion often have models already, from Ollama, LM Studio, GPT4All or
Jan. :func:`discover` finds their GGUF files where those apps keep them (and in any folder the
user adds), reads each file's GGUF header for what it is, and :func:`preferred_model` picks the
one to use by default on a machine with a GPU. The files are never moved, copied or changed.

Where the apps keep their models (from their documentation and source):

Ollama
    ``$OLLAMA_MODELS`` or ``~/.ollama/models`` (the Linux service: ``/usr/share/ollama/.ollama/
    models``): ``manifests/<registry>/<namespace>/<model>/<tag>`` is a JSON manifest whose layer
    of media type ``application/vnd.ollama.image.model`` names the GGUF blob by digest, stored as
    ``blobs/sha256-<hex>`` (older versions: ``sha256:<hex>``). Named ``model:tag`` (the namespace
    too when it is not ``library``).
LM Studio
    ``~/.lmstudio/models/<publisher>/<model>/<file>.gguf`` (older versions:
    ``~/.cache/lm-studio/models``).
GPT4All
    its download folder: ``~/.local/share/nomic.ai/GPT4All`` (Linux), ``~/Library/Application
    Support/nomic.ai/GPT4All`` (macOS), ``%LOCALAPPDATA%/nomic.ai/GPT4All`` (Windows).
Jan
    ``~/jan/models`` (before 0.5), then its data folder: ``~/.local/share/Jan/data`` (Linux),
    ``~/Library/Application Support/Jan/data`` (macOS), ``%APPDATA%/Jan/data`` (Windows), with the
    GGUF files under ``models`` or ``llamacpp/models``.

What a file is, from its header (:func:`read_gguf_info`, which reads only the metadata and the
tensor table, a few MB at most): the architecture, the parameter count (``general.size_label``
or the tensor table's element count), and whether it has a chat template. A base model (no chat
template, or "base" in its name), an embedding model, a vision projector or an adapter is listed
but never offered as the chat default (:attr:`FoundModel.chat`).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from her_desktop.models.gguf_file import (
    _MAX_DIMS,
    _STRING,
    GGUFFileError,
    _fixed_header,
    _reading,
)

__all__ = [
    "DEFAULT_LM_PARAMETERS",
    "FoundModel",
    "GGUFInfo",
    "Source",
    "discover",
    "gpu_memory_bytes",
    "installed_default",
    "model_roots",
    "preferred_model",
    "read_gguf_info",
]

Source = Literal["ollama", "lmstudio", "gpt4all", "jan", "folder"]

SOURCE_NAMES: dict[Source, str] = {
    "ollama": "Ollama",
    "lmstudio": "LM Studio",
    "gpt4all": "GPT4All",
    "jan": "Jan",
    "folder": "your folder",
}
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
OLLAMA_TEMPLATE_LAYER = "application/vnd.ollama.image.template"
NOT_CHAT_ARCHITECTURES = frozenset(
    {"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "t5encoder", "clip", "wavtokenizer"}
)
"""Architectures that embed or encode rather than chat."""
_BASE_NAME = re.compile(r"(?:^|[\s_.-])base(?:$|[\s_.-])", re.IGNORECASE)
_SPLIT_PART = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
_SIZE_LABEL = re.compile(r"^(?:(\d+)x)?(\d+(?:\.\d+)?)([KMBT])$", re.IGNORECASE)
_SCALE = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_WANTED_KEYS = frozenset(
    {
        b"general.architecture",
        b"general.name",
        b"general.basename",
        b"general.finetune",
        b"general.size_label",
        b"general.type",
    }
)
DEFAULT_LM_PARAMETERS = 1_540_000_000
"""The bundled default model's size (Qwen2.5-Coder-1.5B): a model found must be larger to
replace it."""
MAX_WALK_DEPTH = 6
"""Folders deeper than this under a model root are not searched."""


@dataclass(frozen=True, slots=True)
class GGUFInfo:
    """What a GGUF file's header says about the model."""

    architecture: str
    name: str
    parameters: int
    """Parameter count (0 when unknown)."""
    chat_template: bool
    file_type: str = "model"
    """``general.type``: "model", "adapter", "mmproj" …"""
    pooling: bool = False
    """An embedding model's pooling key is present."""

    @property
    def billions(self) -> float:
        return self.parameters / 1e9


@dataclass(frozen=True, slots=True)
class FoundModel:
    """A GGUF file found on this computer."""

    path: Path
    source: Source
    label: str
    """How the app that holds it names it (Ollama's ``llama3.2:3b``, a file name otherwise)."""
    size: int
    info: GGUFInfo | None
    problem: str | None = None
    """Why it cannot be used (a damaged or unreadable file), in plain words."""
    template_layer: bool = False
    """Ollama keeps the chat template as a separate layer of the manifest."""

    @property
    def chat(self) -> bool:
        """A chat model: may be offered as the default (a base, embedding or adapter model may
        not)."""
        info = self.info
        if info is None or self.problem is not None:
            return False
        if info.file_type not in ("", "model") or info.pooling:
            return False
        if info.architecture in NOT_CHAT_ARCHITECTURES:
            return False
        if _BASE_NAME.search(info.name) or _BASE_NAME.search(self.path.name):
            return False
        return info.chat_template or self.template_layer

    @property
    def kind_text(self) -> str:
        """ "chat", "base model", "embedding" … for the model manager."""
        info = self.info
        if info is None or self.problem is not None:
            return "unreadable"
        if info.file_type not in ("", "model"):
            return info.file_type
        if info.pooling or info.architecture in NOT_CHAT_ARCHITECTURES:
            return "embedding"
        return "chat" if self.chat else "base model"

    @property
    def display(self) -> str:
        """ "llama3.2:3b (Ollama, 3.2B)" — the source and size in words."""
        size = ""
        if self.info is not None and self.info.parameters:
            size = f", {self.info.billions:.1f}B"
        return f"{self.label} ({SOURCE_NAMES[self.source]}{size})"


# -------------------------------------------------------------------------------------------
# Reading the header
# -------------------------------------------------------------------------------------------


def size_label_parameters(label: str) -> int:
    """``"1.5B"`` → 1_500_000_000, ``"8x7B"`` → 56e9; 0 when the label is not a size."""
    match = _SIZE_LABEL.match(label.strip())
    if match is None:
        return 0
    experts = int(match[1]) if match[1] else 1
    return int(experts * float(match[2]) * _SCALE[match[3].lower()])


def read_gguf_info(path: Path) -> GGUFInfo:
    """Read the model's description from the GGUF header. Raises ``GGUFFileError``."""
    strings: dict[bytes, str] = {}
    chat_template = pooling = False
    elements = 0
    with _reading(path) as (reader, _size):
        try:
            header = _fixed_header(reader, path)
            for _ in range(header.kv_count):
                key = reader.string()
                vtype = reader.u32()
                if vtype == _STRING and key in _WANTED_KEYS:
                    strings[key] = reader.string().decode("utf-8", "replace")
                    continue
                if key.startswith(b"tokenizer.chat_template"):
                    chat_template = True
                elif key.endswith(b".pooling_type"):
                    pooling = True
                reader.value(vtype)
            for _ in range(header.tensor_count):
                reader.skip_strings(1)
                n_dims = reader.u32()
                if n_dims > _MAX_DIMS:
                    raise ValueError(f"a tensor with {n_dims} dimensions")
                count = 1
                for _ in range(n_dims):
                    count *= reader.u64()
                reader.skip(12)  # type and offset
                elements += count
        except (ValueError, OverflowError) as exc:
            raise GGUFFileError(
                f"The model file {path} has a damaged GGUF header ({exc})"
            ) from None
    label = strings.get(b"general.size_label", "")
    parameters = size_label_parameters(label) if label else 0
    split = _SPLIT_PART.search(path.name)
    if not parameters and split is None:
        parameters = elements
    name = strings.get(b"general.name") or " ".join(
        p for p in (strings.get(b"general.basename"), strings.get(b"general.finetune")) if p
    )
    return GGUFInfo(
        architecture=strings.get(b"general.architecture", ""),
        name=name,
        parameters=parameters,
        chat_template=chat_template,
        file_type=strings.get(b"general.type", "model"),
        pooling=pooling,
    )


# -------------------------------------------------------------------------------------------
# Where the apps keep their models
# -------------------------------------------------------------------------------------------


def model_roots(
    *,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> list[tuple[Source, Path]]:
    """The folders where Ollama, LM Studio, GPT4All and Jan keep models on this platform
    (whether or not they exist)."""
    home = home if home is not None else Path.home()
    env = env if env is not None else os.environ
    platform = platform or sys.platform
    roots: list[tuple[Source, Path]] = []
    if env.get("OLLAMA_MODELS"):
        roots.append(("ollama", Path(env["OLLAMA_MODELS"]).expanduser()))
    roots.append(("ollama", home / ".ollama" / "models"))
    if platform.startswith("linux"):
        roots.append(("ollama", Path("/usr/share/ollama/.ollama/models")))
    roots += [
        ("lmstudio", home / ".lmstudio" / "models"),
        ("lmstudio", home / ".cache" / "lm-studio" / "models"),
    ]
    if platform == "darwin":
        support = home / "Library" / "Application Support"
        roots += [("gpt4all", support / "nomic.ai" / "GPT4All"), ("jan", support / "Jan" / "data")]
    elif platform.startswith("win"):
        local = Path(env.get("LOCALAPPDATA") or home / "AppData" / "Local")
        roaming = Path(env.get("APPDATA") or home / "AppData" / "Roaming")
        roots += [("gpt4all", local / "nomic.ai" / "GPT4All"), ("jan", roaming / "Jan" / "data")]
    else:
        share = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
        roots += [("gpt4all", share / "nomic.ai" / "GPT4All"), ("jan", share / "Jan" / "data")]
    roots.append(("jan", home / "jan" / "models"))
    return roots


def _ollama_models(root: Path) -> Iterable[tuple[str, Path, bool]]:
    """(name, blob path, has a template layer) for each manifest under an Ollama root."""
    manifests = root / "manifests"
    if not manifests.is_dir():
        return
    for manifest in sorted(manifests.glob("*/*/*/*")):
        if not manifest.is_file():
            continue
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            layers = [layer for layer in data.get("layers", []) if isinstance(layer, dict)]
        except (OSError, ValueError, AttributeError):
            continue
        digest = next(
            (str(x.get("digest", "")) for x in layers if x.get("mediaType") == OLLAMA_MODEL_LAYER),
            "",
        )
        if not digest.startswith("sha256:"):
            continue
        blob = root / "blobs" / digest.replace(":", "-")
        if not blob.exists():
            blob = root / "blobs" / digest
        namespace, model, tag = manifest.parts[-3:]
        name = f"{model}:{tag}" if namespace == "library" else f"{namespace}/{model}:{tag}"
        templated = any(x.get("mediaType") == OLLAMA_TEMPLATE_LAYER for x in layers)
        yield name, blob, templated


def _gguf_files(root: Path) -> Iterable[Path]:
    """Every ``*.gguf`` under ``root`` (at most :data:`MAX_WALK_DEPTH` deep); of a split model,
    its first part only."""
    if root.is_file():
        if root.suffix.lower() == ".gguf":
            yield root
        return
    base = len(root.parts)
    for folder, dirs, files in os.walk(root, onerror=lambda _e: None):
        if len(Path(folder).parts) - base >= MAX_WALK_DEPTH:
            dirs.clear()
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.lower().endswith(".gguf"):
                continue
            split = _SPLIT_PART.search(name)
            if split is not None and int(split[1]) != 1:
                continue
            yield Path(folder) / name


def _found(path: Path, source: Source, label: str, template_layer: bool = False) -> FoundModel:
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    try:
        info: GGUFInfo | None = read_gguf_info(path)
        problem = None
    except GGUFFileError as exc:
        info, problem = None, exc.problem
    return FoundModel(path, source, label, size, info, problem, template_layer)


def discover(
    extra: Sequence[Path | str] = (),
    *,
    roots: Sequence[tuple[Source, Path]] | None = None,
) -> list[FoundModel]:
    """The GGUF models in the apps' folders (:func:`model_roots`) and in ``extra`` (folders or
    files the user added), each file once, larger models first."""
    chosen: list[tuple[Source, Path]] = list(roots if roots is not None else model_roots())
    chosen += [("folder", Path(p).expanduser()) for p in extra]
    found: list[FoundModel] = []
    seen: set[Path] = set()

    def fresh(path: Path) -> bool:
        try:
            key = path.resolve()
        except OSError:
            key = path
        if key in seen:
            return False
        seen.add(key)
        return True

    for source, root in chosen:
        try:
            if not root.exists():
                continue
        except OSError:
            continue
        if source == "ollama":
            for name, blob, templated in _ollama_models(root):
                if blob.exists() and fresh(blob):
                    found.append(_found(blob, source, name, templated))
            continue
        for path in _gguf_files(root):
            if fresh(path):
                label = path.stem if source != "lmstudio" else f"{path.parent.name}/{path.stem}"
                found.append(_found(path, source, label))
    found.sort(key=lambda m: (-(m.info.parameters if m.info else 0), m.label))
    return found


def preferred_model(
    found: Sequence[FoundModel], *, gpu: bool, memory_bytes: int, minimum_parameters: int
) -> FoundModel | None:
    """The chat model to use by default: with a GPU, the largest chat model found that is
    larger than ``minimum_parameters`` (the current default's) and whose file fits in
    ``memory_bytes`` (the GPU's memory, less room for the context); without a GPU, none (the
    small default stays: a larger model on a CPU is too slow to talk with)."""
    if not gpu:
        return None
    fitting = [
        m
        for m in found
        if m.chat
        and m.info is not None
        and m.info.parameters > minimum_parameters
        and 0 < m.size <= memory_bytes
    ]
    return max(fitting, key=lambda m: (m.info.parameters if m.info else 0, -m.size), default=None)


GPU_MEMORY_SHARE = 0.8
"""Of the GPU's memory, the share a model file may take (the rest: context and buffers)."""


def gpu_memory_bytes(timeout_s: float = 3.0) -> int | None:
    """The GPU's memory: NVIDIA's through ``nvidia-smi``, Apple's unified memory as two thirds
    of the RAM; None when unknown."""
    import shutil
    import subprocess

    if sys.platform == "darwin":
        import psutil

        return int(psutil.virtual_memory().total * 2 / 3)
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=True,
        ).stdout
        return max(int(float(line)) for line in out.split() if line.strip()) * 1024 * 1024
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def installed_default(
    folders: Sequence[Path | str], *, minimum_parameters: int, gpu: bool | None = None
) -> FoundModel | None:
    """The model to use instead of the default one: on a computer with a GPU whose memory is
    known, the largest chat model found (:func:`preferred_model`); otherwise None."""
    if gpu is None:
        import llama_cpp

        gpu = bool(llama_cpp.llama_supports_gpu_offload())
    if not gpu:
        return None
    memory = gpu_memory_bytes()
    if memory is None:
        return None
    return preferred_model(
        discover(folders),
        gpu=True,
        memory_bytes=int(memory * GPU_MEMORY_SHARE),
        minimum_parameters=minimum_parameters,
    )
