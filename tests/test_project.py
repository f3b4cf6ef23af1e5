"""Project invariants: packaging lists every subpackage, licences stay permissive."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_subpackage_is_packaged() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "her_desktop").rglob("__init__.py")
    }
    missing = found - listed
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert "her_desktop.assets" in listed


def test_bundled_persona_ships_as_package_data() -> None:
    data = PYPROJECT["tool"]["setuptools"]["package-data"]["her_desktop.assets.personas"]
    assert "*.toml" in data
    assert "her_desktop.assets.personas" in PYPROJECT["tool"]["setuptools"]["packages"]
    assert list((ROOT / "assets" / "personas").glob("*.toml"))


def test_default_dependencies_have_no_gpl() -> None:
    """GPL engines (piper-tts) may only be optional extras, never default dependencies."""
    deps = " ".join(PYPROJECT["project"]["dependencies"]).lower()
    for gpl_package in ("piper-tts", "piper_phonemize", "espeakng"):
        assert gpl_package not in deps


def test_licence_files_exist() -> None:
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    third = (ROOT / "THIRD_PARTY.md").read_text(encoding="utf-8")
    assert "Qwen2.5-Coder-1.5B-Instruct" in third
    assert "SmolLM2" in third
