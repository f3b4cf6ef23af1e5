"""End of turn: the end-of-turn model at a short pause, the transcript's veto, the silence rule
(fakes for the model and the recogniser), and the real Smart Turn model as its twin."""

from __future__ import annotations

import numpy as np
import pytest

from her_desktop.audio.smart_turn import SmartTurn, TurnModelError, find_model
from her_desktop.audio.vad import UtteranceSegmenter
from her_desktop.audio.whisper_mel import last_window, log_mel
from her_desktop.bus import Bus
from her_desktop.config import VADSettings
from her_desktop.events import Notice, SpeechEnded, UserText
from her_desktop.voice.listener import ListenStage
from her_desktop.voice.transcriber import TranscribeStage, reads_open
from tests.fakes import FakeSTT
from tests.test_voice_stages import Collector, EnergyVAD, blocks_of, tone
from tests.waiting import wait_until


class FakeTurnModel:
    def __init__(self, probability: float) -> None:
        self.probability = probability
        self.calls = 0

    def load(self) -> None:
        pass

    def complete_probability(self, audio: object) -> float:
        self.calls += 1
        return self.probability


async def _turn(model: FakeTurnModel | None, transcript: str) -> tuple[SpeechEnded, Collector]:
    bus = Bus()
    seen = Collector(bus)
    seg = UtteranceSegmenter(EnergyVAD(), VADSettings(end_silence_ms=800, pre_roll_ms=96))
    listener = ListenStage(bus, seg, predictive_end_ms=256, turn_model=model)
    transcriber = TranscribeStage(bus, FakeSTT([transcript]), end_silence_s=0.8)
    await listener.start()
    await transcriber.start()
    for block in blocks_of(np.concatenate([tone(1.0), np.zeros(16000 * 2, np.float32)])):
        listener.feed(block)
    await listener.drain()
    await wait_until(lambda: seen.of(SpeechEnded))
    await transcriber.stop()
    await listener.stop()
    ended = seen.of(SpeechEnded)[0]
    assert isinstance(ended, SpeechEnded)
    return ended, seen


async def test_the_model_ends_a_finished_turn_when_the_words_do_not_object() -> None:
    model = FakeTurnModel(0.9)
    ended, _ = await _turn(model, "so that was my day")  # reads neither finished nor open
    assert ended.end_reason == "smart_turn"
    assert ended.transcript_verdict in ("unsure", "waiting")  # no objection (yet)
    assert ended.turn_probability == pytest.approx(0.9)
    assert ended.duration_s < 1.0 + 0.096 + 0.45  # not after the 800 ms silence rule
    assert model.calls == 1


async def test_the_model_alone_ends_the_turn_when_no_transcript_comes() -> None:
    ended, _ = await _turn(FakeTurnModel(0.9), "")  # silence for the recogniser: no verdict
    assert ended.end_reason == "smart_turn"
    assert ended.duration_s < 1.0 + 0.096 + 0.7  # after model_alone_ms, before the 800 ms rule


async def test_an_unfinished_turn_waits_for_the_full_silence() -> None:
    ended, _ = await _turn(FakeTurnModel(0.1), "")
    assert ended.end_reason == "silence"
    assert ended.duration_s > 1.0 + 0.7


async def test_a_transcript_that_ends_open_withdraws_the_early_end() -> None:
    """The model thinks she may answer, but the words stop mid-thought: "… lives in"."""
    bus = Bus()
    seen = Collector(bus)
    seg = UtteranceSegmenter(EnergyVAD(), VADSettings(end_silence_ms=800, pre_roll_ms=96))
    listener = ListenStage(bus, seg, predictive_end_ms=500, turn_model=FakeTurnModel(0.9))
    transcriber = TranscribeStage(bus, FakeSTT(["My sister lives in"]), end_silence_s=0.8)
    await listener.start()
    await transcriber.start()
    for block in blocks_of(np.concatenate([tone(1.0), np.zeros(512 * 4, np.float32)])):
        listener.feed(block)
    await listener.drain()
    await wait_until(lambda: listener._text == "open")  # the veto arrived within the pause
    for block in blocks_of(np.zeros(16000 * 2, np.float32)):
        listener.feed(block)
    await wait_until(lambda: seen.of(UserText))
    ended = seen.of(SpeechEnded)[0]
    assert isinstance(ended, SpeechEnded)
    assert ended.end_reason == "silence"
    assert ended.transcript_verdict == "open"
    await transcriber.stop()
    await listener.stop()


async def test_a_model_that_fails_leaves_the_other_rules_working() -> None:
    class Broken(FakeTurnModel):
        def complete_probability(self, audio: object) -> float:
            raise RuntimeError("onnxruntime fell over")

    ended, _ = await _turn(Broken(0.0), "What time is it?")
    assert ended.end_reason in ("transcript", "silence")


async def test_a_model_that_cannot_load_is_said_once_in_plain_words() -> None:
    class Missing(FakeTurnModel):
        def load(self) -> None:
            raise TurnModelError("the end-of-turn model is not installed")

    bus = Bus()
    seen = Collector(bus)
    listener = ListenStage(
        bus, UtteranceSegmenter(EnergyVAD(), VADSettings()), turn_model=Missing(0.0)
    )
    await listener.start()
    await wait_until(lambda: seen.of(Notice))
    notice = seen.of(Notice)[0]
    assert isinstance(notice, Notice)
    assert "silence alone" in notice.message
    assert listener.turn_model is None
    await listener.stop()


@pytest.mark.parametrize(
    ("text", "open_"),
    [
        ("My sister lives in", True),
        ("So I went to the store and", True),
        ("I was thinking about,", True),
        ("Well, um", True),
        ("My sister lives in Leeds.", False),
        ("What time is it?", False),
        ("", False),
    ],
)
def test_reads_open(text: str, open_: bool) -> None:
    assert reads_open(text) is open_


def test_features_have_the_model_shape_and_pad_at_the_start() -> None:
    audio = (0.1 * np.sin(np.arange(16000) / 5)).astype(np.float32)
    window = last_window(audio)
    assert window.shape == (128000,)
    assert np.all(window[:-16000] == 0.0)
    features = log_mel(window)
    assert features.shape == (80, 800)
    assert features.dtype == np.float32
    assert np.isfinite(features).all()


@pytest.mark.slow
def test_real_smart_turn_hears_finished_and_unfinished_speech() -> None:
    """The twin on the real model (shipped in the pipecat-ai wheel) and real speech (hibari)."""
    if find_model() is None:
        pytest.skip("the end-of-turn model package is not installed (scripts/setup)")
    from her_desktop.app import create_tts_engine
    from her_desktop.config import Settings
    from her_desktop.harness import spoken_question

    tts = create_tts_engine(Settings())
    model = SmartTurn()
    model.load()
    pause = np.zeros(int(0.096 * 16000), np.float32)
    finished = spoken_question(tts, "What is a good name for a cat?")
    unfinished = spoken_question(tts, "So I went to the store and")
    p_finished = model.complete_probability(np.concatenate([finished, pause]))
    p_unfinished = model.complete_probability(np.concatenate([unfinished, pause]))
    assert p_finished > 0.5 > p_unfinished
    assert model.complete_probability(np.zeros(100, np.float32)) == 0.0  # too short to judge


def test_a_damaged_model_file_is_refused_in_plain_words(tmp_path: object) -> None:
    from pathlib import Path

    bad = Path(str(tmp_path)) / "smart-turn-v3.2-cpu.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(TurnModelError, match="damaged"):
        SmartTurn(bad).load()


def test_the_listener_never_waits_for_a_load_in_progress() -> None:
    """The model loads on the loop's worker at start; a pause judged meanwhile (the listener's
    thread) gets no judgement (0.0: silence ends the turn) instead of waiting for the load,
    and a second ``load`` waits at most its bound."""
    import threading

    model = SmartTurn()
    inside, release = threading.Event(), threading.Event()

    def slow_load() -> None:
        inside.set()
        release.wait(30.0)

    model._load = slow_load  # type: ignore[method-assign]
    loader = threading.Thread(target=model.load, daemon=True)
    loader.start()
    try:
        assert inside.wait(5.0)
        assert model.complete_probability(np.zeros(16000, np.float32)) == 0.0
        with pytest.raises(TurnModelError, match="still loading"):
            model.load(timeout=0.05)
        assert loader.is_alive()
    finally:
        release.set()
        loader.join(5.0)
    model.load(timeout=1.0)  # done: returns at once


def test_a_failed_load_is_told_to_every_caller(tmp_path: object) -> None:
    from pathlib import Path

    bad = Path(str(tmp_path)) / "smart-turn-v3.2-cpu.onnx"
    bad.write_bytes(b"not a model")
    model = SmartTurn(bad)
    for _ in range(2):
        with pytest.raises(TurnModelError, match="damaged"):
            model.load()
