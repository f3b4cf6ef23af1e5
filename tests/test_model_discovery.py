"""Models already on the computer: Ollama, LM Studio, GPT4All and Jan folders, read and offered."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from her_desktop.models import discover as discover_mod
from her_desktop.models.discover import (
    FoundModel,
    GGUFInfo,
    discover,
    installed_default,
    model_roots,
    preferred_model,
    read_gguf_info,
    size_label_parameters,
)
from her_desktop.models.speed import cached_speed, measure_speed
from tests.tiny_gguf import build_tiny_gguf


@pytest.fixture(scope="module")
def base_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GGUF without a chat template: a base model."""
    return build_tiny_gguf(tmp_path_factory.mktemp("base") / "tiny-base.gguf", chat_template=None)


def _fake_home(home: Path, chat: Path, base: Path) -> Path:
    """Each app's folder layout, as the apps write it, holding tiny GGUF files."""
    ollama = home / ".ollama" / "models"
    digest = "ab" * 32
    (ollama / "blobs").mkdir(parents=True)
    shutil.copy(chat, ollama / "blobs" / f"sha256-{digest}")
    manifest = ollama / "manifests" / "registry.ollama.ai" / "library" / "tinychat" / "1b"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "layers": [
                    {
                        "mediaType": "application/vnd.ollama.image.model",
                        "digest": f"sha256:{digest}",
                    },
                    {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:00"},
                ],
            }
        )
    )
    lmstudio = home / ".lmstudio" / "models" / "someone" / "tiny-GGUF"
    lmstudio.mkdir(parents=True)
    shutil.copy(chat, lmstudio / "tiny-q8_0.gguf")
    shutil.copy(base, lmstudio / "tiny-base-q8_0.gguf")
    (lmstudio / "big-00002-of-00002.gguf").write_bytes(b"GGUF")  # a later part: skipped
    gpt4all = home / ".local" / "share" / "nomic.ai" / "GPT4All"
    gpt4all.mkdir(parents=True)
    shutil.copy(chat, gpt4all / "tiny-gpt4all.Q4_0.gguf")
    (gpt4all / "broken.gguf").write_bytes(b"not a model")
    jan = home / ".local" / "share" / "Jan" / "data" / "llamacpp" / "models" / "tiny-jan"
    jan.mkdir(parents=True)
    shutil.copy(chat, jan / "model.gguf")
    return home


def test_the_header_says_what_the_model_is(tiny_gguf: Path, base_gguf: Path) -> None:
    info = read_gguf_info(tiny_gguf)
    assert info.architecture == "llama"
    assert info.chat_template
    assert info.parameters > 0
    assert not read_gguf_info(base_gguf).chat_template


def test_size_labels() -> None:
    assert size_label_parameters("1.5B") == 1_500_000_000
    assert size_label_parameters("8x7B") == 56_000_000_000
    assert size_label_parameters("135M") == 135_000_000
    assert size_label_parameters("large") == 0


def test_models_are_found_in_every_apps_folder(
    tmp_path: Path, tiny_gguf: Path, base_gguf: Path
) -> None:
    home = _fake_home(tmp_path / "home", tiny_gguf, base_gguf)
    found = discover(roots=model_roots(home=home, env={}, platform="linux"))
    by_label = {m.label: m for m in found}
    assert set(by_label) == {
        "tinychat:1b",
        "tiny-GGUF/tiny-q8_0",
        "tiny-GGUF/tiny-base-q8_0",
        "tiny-gpt4all.Q4_0",
        "broken",
        "model",
    }
    assert by_label["tinychat:1b"].source == "ollama"
    assert by_label["tinychat:1b"].template_layer
    assert by_label["model"].source == "jan"
    assert by_label["tiny-gpt4all.Q4_0"].source == "gpt4all"
    assert by_label["tinychat:1b"].chat
    assert not by_label["tiny-GGUF/tiny-base-q8_0"].chat  # no chat template: a base model
    assert by_label["tiny-GGUF/tiny-base-q8_0"].kind_text == "base model"
    broken = by_label["broken"]
    assert not broken.chat
    assert broken.problem is not None
    assert "not a GGUF" in broken.problem


def test_ollama_models_dir_from_the_environment(tmp_path: Path, tiny_gguf: Path) -> None:
    home = _fake_home(tmp_path / "home", tiny_gguf, tiny_gguf)
    moved = tmp_path / "elsewhere"
    shutil.move(home / ".ollama" / "models", moved)
    roots = model_roots(home=home, env={"OLLAMA_MODELS": str(moved)}, platform="linux")
    assert ("ollama", moved) in roots
    assert "tinychat:1b" in {m.label for m in discover(roots=roots)}


def test_platform_folders() -> None:
    home = Path("/h")
    mac = dict(model_roots(home=home, env={}, platform="darwin"))
    assert mac["gpt4all"] == home / "Library/Application Support/nomic.ai/GPT4All"
    win = model_roots(home=home, env={"LOCALAPPDATA": "/L", "APPDATA": "/R"}, platform="win32")
    assert ("gpt4all", Path("/L/nomic.ai/GPT4All")) in win
    assert ("jan", Path("/R/Jan/data")) in win


def test_a_folder_the_user_adds_is_searched_and_each_file_listed_once(
    tmp_path: Path, tiny_gguf: Path
) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(tiny_gguf, folder / "a.gguf")
    found = discover([folder, folder / "a.gguf"], roots=[])
    assert [(m.source, m.label) for m in found] == [("folder", "a")]


def _model(label: str, billions: float, *, chat: bool = True, size: int = 1) -> FoundModel:
    info = GGUFInfo("llama", label, int(billions * 1e9), chat_template=chat)
    return FoundModel(Path(f"/m/{label}.gguf"), "ollama", label, size, info)


def test_with_a_gpu_the_largest_chat_model_that_fits_is_preferred() -> None:
    found = [
        _model("small", 1.0),
        _model("mid", 7.0, size=4_000),
        _model("huge", 70.0, size=40_000),
        _model("base", 13.0, chat=False, size=7_000),
    ]
    pick = preferred_model(found, gpu=True, memory_bytes=10_000, minimum_parameters=1_500_000_000)
    assert pick is not None
    assert pick.label == "mid"
    assert preferred_model(found, gpu=False, memory_bytes=10**12, minimum_parameters=0) is None
    assert (
        preferred_model(found[:1], gpu=True, memory_bytes=10**12, minimum_parameters=10**10) is None
    )


def test_installed_default_needs_a_gpu_with_known_memory(
    tmp_path: Path, tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discover_mod, "model_roots", list)
    assert installed_default([tiny_gguf], minimum_parameters=0, gpu=False) is None
    monkeypatch.setattr(discover_mod, "gpu_memory_bytes", lambda: None)
    assert installed_default([tiny_gguf], minimum_parameters=0, gpu=True) is None
    monkeypatch.setattr(discover_mod, "gpu_memory_bytes", lambda: 10**9)
    pick = installed_default([tiny_gguf], minimum_parameters=0, gpu=True)
    assert pick is not None
    assert pick.path == tiny_gguf


def test_speed_is_measured_in_the_real_engine_and_remembered(tiny_gguf: Path) -> None:
    assert cached_speed(tiny_gguf, 0) is None
    first = measure_speed(tiny_gguf, gpu_layers=0, n_threads=1, tokens=8)
    assert first.tokens_per_s > 0
    assert first.tokens >= 2
    assert not first.cached
    again = measure_speed(tiny_gguf, gpu_layers=0, n_threads=1, tokens=8)
    assert again.cached
    assert again.tokens_per_s == pytest.approx(first.tokens_per_s, abs=0.01)
    assert cached_speed(tiny_gguf, "auto") is None  # another GPU setting: measured apart


@pytest.mark.slow
def test_the_default_model_is_read_and_timed(default_gguf: Path) -> None:
    found = discover([default_gguf], roots=[])
    assert len(found) == 1
    assert found[0].chat
    info = found[0].info
    assert info is not None
    assert info.architecture == "qwen2"
    assert 1.4e9 < info.parameters < 1.6e9
    speed = measure_speed(default_gguf, gpu_layers=0, tokens=16)
    assert speed.tokens_per_s > 0


def test_cli_lists_found_models(
    tmp_path: Path,
    tiny_gguf: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from her_desktop.cli import models_cmd

    monkeypatch.setattr(discover_mod, "model_roots", list)
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(tiny_gguf, folder / "tiny.gguf")
    args = argparse.Namespace(models_command="found", folder=[folder], measure=False)
    assert models_cmd.run(args) == 0
    out = capsys.readouterr().out
    assert "tiny (your folder" in out
    assert "chat, llama, speed not measured" in out
    assert str(folder / "tiny.gguf") in out


def test_a_measurement_cut_by_the_deadline_is_not_remembered(
    tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from her_desktop.models import speed

    async def busy(*_args: object) -> speed.SpeedResult:
        return speed.SpeedResult(0.1, 37.0, 3, complete=False, busy=9.5)

    monkeypatch.setattr(speed, "_measure", busy)
    result = measure_speed(tiny_gguf, gpu_layers=0)
    assert result.tokens_per_s == 0.1
    assert "busy" in result.text
    assert cached_speed(tiny_gguf, 0) is None


def test_the_app_uses_a_larger_installed_model_only_when_asked(
    tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from her_desktop.app import make_llm
    from her_desktop.config import Settings
    from her_desktop.llm.llamacpp import LlamaCppEngine

    bigger = _model("bigger", 7.0)
    bigger = FoundModel(tiny_gguf, "ollama", "bigger:7b", 1, bigger.info)
    monkeypatch.setattr(discover_mod, "installed_default", lambda *_a, **_k: bigger)
    settings = Settings()
    engine = make_llm(settings)
    assert isinstance(engine, LlamaCppEngine)
    assert engine.model_path == tiny_gguf
    settings.llm.prefer_installed = False
    engine = make_llm(settings)
    assert isinstance(engine, LlamaCppEngine)
    assert engine.model_path != tiny_gguf
    settings.llm.prefer_installed = True
    settings.llm.n_gpu_layers = 0  # CPU only: the small default stays
    engine = make_llm(settings)
    assert isinstance(engine, LlamaCppEngine)
    assert engine.model_path != tiny_gguf
