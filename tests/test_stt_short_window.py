"""The short-window first pass (stt/short_window.py): its rules, and real decodes on tiny.en."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from her_desktop.models import installer
from her_desktop.stt import short_window
from her_desktop.stt.models import WHISPER_TINY_EN, resolve_stt_model
from her_desktop.stt.short_window import FULL_WINDOW_FRAMES, _looping, decode_short, window_frames
from her_desktop.stt.whisper import WhisperEngine
from tests.speech import espeak_wav, padded, requires_espeak, white_noise


def test_window_is_clip_plus_padding_in_whole_seconds() -> None:
    assert window_frames(150) == 400  # 1.5 s + 2 s → 4 s
    assert window_frames(200) == 400
    assert window_frames(201) == 500
    assert window_frames(150, pad_s=0.0, min_s=10.0) == 1000
    assert window_frames(2900) == FULL_WINDOW_FRAMES


@pytest.mark.parametrize(
    "text",
    [
        "so much rain... so much rain... so much rain... so",
        "Side Right Right Right",
        "What's my first name? What's my first name?",
    ],
)
def test_a_repeated_word_or_phrase_is_a_loop(text: str) -> None:
    assert _looping(text)


@pytest.mark.parametrize(
    "text",
    ["Can you suggest something relaxing for tonight?", "I had a really long day", "no"],
)
def test_ordinary_sentences_are_not_loops(text: str) -> None:
    assert not _looping(text)


def _untouchable() -> Any:
    """A model that fails if anything beyond its language flag is used."""
    return SimpleNamespace(model=SimpleNamespace(is_multilingual=True))


def test_unknown_language_on_a_multilingual_model_goes_to_the_full_window() -> None:
    clip = np.zeros(16000, dtype=np.float32)
    assert decode_short(_untouchable(), clip, language=None, max_new_tokens=40) is None


def test_a_long_clip_goes_to_the_full_window() -> None:
    clip = np.zeros(int(16000 * (short_window.MAX_CLIP_S + 1)), dtype=np.float32)
    assert decode_short(_untouchable(), clip, language="en", max_new_tokens=40) is None


# -- real decodes (tiny.en) --------------------------------------------------------------------

SENTENCES = {
    "Can you suggest something relaxing for tonight?": ("suggest", "relaxing", "tonight"),
    "My sister is moving to Porto next month.": ("sister", "moving", "month"),
    "What is the weather like tomorrow?": ("weather", "tomorrow"),
}


@pytest.fixture(scope="module")
def tiny_engines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, WhisperEngine]:
    from tests.conftest import REAL_MODELS_DIR

    if not installer.packages_installed(WHISPER_TINY_EN):
        pytest.skip("the packages of whisper-tiny.en are not installed (requirements-models.txt)")
    mp = pytest.MonkeyPatch()
    mp.setenv("HER_DESKTOP_MODELS_DIR", str(REAL_MODELS_DIR))
    try:
        folder: Path = resolve_stt_model("whisper-tiny.en")
    finally:
        mp.undo()
    return {
        "short": WhisperEngine(folder, n_threads=2, short_window=True),
        "full": WhisperEngine(folder, n_threads=2, short_window=False),
    }


@pytest.mark.slow
@requires_espeak
@pytest.mark.parametrize("sentence", list(SENTENCES))
def test_short_window_hears_what_the_full_window_hears(
    tiny_engines: dict[str, WhisperEngine], sentence: str
) -> None:
    clip = padded(espeak_wav(sentence), 0.3, 0.6)
    short = tiny_engines["short"]
    model = short._native.call(short._load_model, timeout=300.0)  # on its owner thread
    segments = decode_short(model, clip, language="en", max_new_tokens=60)
    assert segments is not None, "a clean sentence is decided in the short window"
    heard = " ".join(s.text for s in segments).lower()
    for keyword in SENTENCES[sentence]:
        assert keyword in heard, heard
    full = tiny_engines["full"].transcribe(clip).text.lower()
    for keyword in SENTENCES[sentence]:
        assert keyword in full, full
    assert short.transcribe(clip).text.lower() == heard.strip()


@pytest.mark.slow
@pytest.mark.parametrize("level", [0.05, 0.2])
def test_noise_is_never_decided_in_the_short_window(
    tiny_engines: dict[str, WhisperEngine], level: float
) -> None:
    engine = tiny_engines["short"]
    model = engine._native.call(engine._load_model, timeout=300.0)  # on its owner thread
    noise = white_noise(2.0, level)
    assert decode_short(model, noise, language="en", max_new_tokens=40) is None
    assert tiny_engines["short"].transcribe(noise).text == ""
