"""Streaming VAD: the real Silero model on espeak-ng speech, and the segmenter's rules.

The segmentation rules are pinned with a scripted fake VAD (``EnergyVAD``: speech = loud chunk);
every rule also has a twin on the real model with synthetic speech.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
import pytest

from her_desktop.audio.vad import (
    CHUNK_SAMPLES,
    SAMPLE_RATE,
    SileroVAD,
    UtteranceEnd,
    UtteranceSegmenter,
    UtteranceStart,
    default_model_path,
    sanitize,
)
from her_desktop.config import VADSettings
from tests.speech import espeak_wav, padded, requires_espeak, silence, white_noise

SENTENCE = "Hello there, I would like to talk about my day at work."


class EnergyVAD:
    """Fake VAD for rule tests: a chunk is speech when its peak is above 0.05."""

    def __init__(self) -> None:
        self.resets = 0

    def prob(self, chunk: npt.ArrayLike) -> float:
        return 1.0 if float(np.max(np.abs(np.asarray(chunk)))) > 0.05 else 0.0

    def reset(self) -> None:
        self.resets += 1


def tone(seconds: float, level: float = 0.3) -> npt.NDArray[np.float32]:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def run(segmenter: UtteranceSegmenter, audio: npt.NDArray[np.float32], block: int = CHUNK_SAMPLES):
    events: list[UtteranceStart | UtteranceEnd] = []
    for offset in range(0, audio.shape[0], block):
        events.extend(segmenter.feed(audio[offset : offset + block]))
    return events


@pytest.fixture(scope="module")
def silero() -> SileroVAD:
    return SileroVAD()


@pytest.fixture
def vad(silero: SileroVAD) -> SileroVAD:
    silero.reset()
    return silero


# -- the model ------------------------------------------------------------------------------


def test_model_ships_with_faster_whisper() -> None:
    path = default_model_path()
    assert path.is_file()
    assert path.suffix == ".onnx"


def test_prob_needs_512_samples(vad: SileroVAD) -> None:
    with pytest.raises(ValueError, match="512"):
        vad.prob(np.zeros(100, dtype=np.float32))


@requires_espeak
def test_speech_scores_high_and_silence_low(vad: SileroVAD) -> None:
    speech = espeak_wav(SENTENCE)
    probs = [vad.prob(speech[i : i + 512]) for i in range(0, len(speech) - 511, 512)]
    assert max(probs) > 0.9
    assert np.mean(np.array(probs) > 0.5) > 0.4
    vad.reset()
    quiet = [vad.prob(np.zeros(512, dtype=np.float32)) for _ in range(30)]
    assert max(quiet) < 0.2


@requires_espeak
def test_state_is_carried_and_reset_restores_it(vad: SileroVAD) -> None:
    speech = espeak_wav(SENTENCE)
    chunks = [speech[i : i + 512] for i in range(0, 512 * 20, 512)]
    first = [vad.prob(c) for c in chunks]
    vad.reset()
    again = [vad.prob(c) for c in chunks]
    assert first == pytest.approx(again, abs=1e-5)
    assert len({round(p, 4) for p in first}) > 3  # not a constant: the state evolves


def test_chunk_cost_is_small(vad: SileroVAD, record_property: pytest.RecordProperty) -> None:
    """Measured (reported, not asserted against a wall-clock limit)."""
    chunk = white_noise(512 / SAMPLE_RATE, 0.05)
    for _ in range(20):
        vad.prob(chunk)
    runs = 300
    started = time.perf_counter()
    for _ in range(runs):
        vad.prob(chunk)
    per_chunk_ms = (time.perf_counter() - started) * 1000 / runs
    record_property("vad_chunk_ms", per_chunk_ms)
    print(f"silero vad: {per_chunk_ms:.3f} ms per 32 ms chunk")


# -- sanitising -----------------------------------------------------------------------------


def test_sanitize_cleans_nan_inf_and_clipping() -> None:
    raw = np.array([np.nan, np.inf, -np.inf, 3.0, -2.0, 0.5], dtype=np.float32)
    assert sanitize(raw).tolist() == [0.0, 0.0, 0.0, 1.0, -1.0, 0.5]
    pcm = np.array([-32768, 0, 16384], dtype=np.int16)
    assert sanitize(pcm).tolist() == pytest.approx([-1.0, 0.0, 0.5], abs=1e-4)


def test_nan_and_inf_blocks_do_not_break_the_model(vad: SileroVAD) -> None:
    bad = np.full(512, np.nan, dtype=np.float32)
    bad[::7] = np.inf
    for _ in range(5):
        p = vad.prob(bad)
        assert 0.0 <= p <= 1.0
    assert np.isfinite(vad.prob(np.zeros(512, dtype=np.float32)))


# -- segmentation rules (fake VAD) ----------------------------------------------------------


def test_start_after_min_speech_with_pre_roll_and_end_after_silence() -> None:
    settings = VADSettings(min_speech_ms=256, end_silence_ms=640, pre_roll_ms=320)
    seg = UtteranceSegmenter(EnergyVAD(), settings)
    audio = np.concatenate((silence(1.0), tone(1.0), silence(1.0)))
    events = run(seg, audio)
    assert [type(e) for e in events] == [UtteranceStart, UtteranceEnd]
    start, end = events
    assert isinstance(start, UtteranceStart)
    assert isinstance(end, UtteranceEnd)
    assert start.at_s == pytest.approx(1.0 - 0.32, abs=0.04)
    assert end.reason == "silence"
    # pre-roll (silent) + 1 s tone + 640 ms silence
    assert end.duration_s == pytest.approx(0.32 + 1.0 + 0.64, abs=0.07)
    assert not np.any(np.abs(end.audio[: int(0.3 * SAMPLE_RATE)]) > 0.05)  # pre-roll first
    assert start.index == end.index == 0


def test_short_blip_is_not_an_utterance() -> None:
    seg = UtteranceSegmenter(EnergyVAD(), VADSettings(min_speech_ms=250))
    assert run(seg, np.concatenate((silence(0.5), tone(0.1), silence(1.0)))) == []


def test_any_block_size_is_accepted() -> None:
    settings = VADSettings(min_speech_ms=256, end_silence_ms=640, pre_roll_ms=320)
    audio = np.concatenate((silence(0.7), tone(1.0), silence(1.0)))
    a = run(UtteranceSegmenter(EnergyVAD(), settings), audio, block=CHUNK_SAMPLES)
    b = run(UtteranceSegmenter(EnergyVAD(), settings), audio, block=333)
    assert [type(e) for e in a] == [type(e) for e in b]
    end_a, end_b = a[-1], b[-1]
    assert isinstance(end_a, UtteranceEnd)
    assert isinstance(end_b, UtteranceEnd)
    assert np.array_equal(end_a.audio, end_b.audio)


def test_audio_so_far_grows_during_the_utterance() -> None:
    seg = UtteranceSegmenter(EnergyVAD(), VADSettings(min_speech_ms=96, pre_roll_ms=0))
    assert seg.audio_so_far() is None
    run(seg, tone(0.5))
    first = seg.audio_so_far()
    assert first is not None
    assert seg.in_utterance
    run(seg, tone(0.5))
    second = seg.audio_so_far()
    assert second is not None
    assert second.shape[0] > first.shape[0]


def test_long_monologue_is_split_at_max_utterance() -> None:
    settings = VADSettings(max_utterance_s=2.0, pre_roll_ms=0, min_speech_ms=64)
    seg = UtteranceSegmenter(EnergyVAD(), settings)
    events = run(seg, np.concatenate((tone(5.0), silence(1.0))))
    ends = [e for e in events if isinstance(e, UtteranceEnd)]
    starts = [e for e in events if isinstance(e, UtteranceStart)]
    assert [e.reason for e in ends] == ["max_length", "max_length", "silence"]
    assert len(starts) == 3
    assert all(e.duration_s <= 2.0 + 1e-6 for e in ends)
    total = sum(e.duration_s for e in ends)
    assert total == pytest.approx(5.0 + 0.6, abs=0.1)  # nothing lost, nothing duplicated


def test_push_to_talk_ignores_the_vad() -> None:
    seg = UtteranceSegmenter(EnergyVAD(), VADSettings(pre_roll_ms=320))
    run(seg, silence(1.024))  # 32 whole chunks
    started = seg.begin()
    assert len(started) == 1
    assert isinstance(started[0], UtteranceStart)
    assert started[0].push_to_talk
    events = run(seg, np.concatenate((tone(0.5), silence(2.0), tone(0.5))))
    assert events == []  # the silence in the middle does not end it
    seg.feed(np.zeros(100, dtype=np.float32))  # a partial chunk is kept at release
    ended = seg.end()
    assert len(ended) == 1
    assert isinstance(ended[0], UtteranceEnd)
    assert ended[0].reason == "push_to_talk"
    assert ended[0].audio.shape[0] == int(0.32 * SAMPLE_RATE) + 3 * SAMPLE_RATE + 100
    assert seg.end() == []


def test_push_to_talk_continues_a_vad_utterance() -> None:
    seg = UtteranceSegmenter(EnergyVAD(), VADSettings(min_speech_ms=64))
    first = run(seg, tone(0.5))
    assert [type(e) for e in first] == [UtteranceStart]
    assert seg.begin() == []
    assert run(seg, silence(2.0)) == []
    ended = seg.end()
    assert isinstance(ended[0], UtteranceEnd)
    assert ended[0].index == 0


# -- the same rules on the real model ---------------------------------------------------------


@requires_espeak
def test_real_speech_is_one_utterance_with_pre_roll(vad: SileroVAD) -> None:
    speech = espeak_wav(SENTENCE)
    seg = UtteranceSegmenter(vad, VADSettings(end_silence_ms=800))
    events = run(seg, padded(speech, 1.0, 1.5))
    starts = [e for e in events if isinstance(e, UtteranceStart)]
    ends = [e for e in events if isinstance(e, UtteranceEnd)]
    assert len(starts) == 1
    assert len(ends) == 1
    assert ends[0].reason == "silence"
    # starts no later than the speech (pre-roll) and holds all of it
    assert starts[0].at_s <= 1.0 + 0.05
    assert ends[0].duration_s >= speech.shape[0] / SAMPLE_RATE - 0.2
    lead = ends[0].audio[: int(0.1 * SAMPLE_RATE)]
    assert float(np.max(np.abs(lead))) < 0.05  # the utterance opens with quiet pre-roll


@requires_espeak
def test_real_two_sentences_with_a_long_pause_are_two_utterances(vad: SileroVAD) -> None:
    a = espeak_wav("I went for a walk this morning.")
    b = espeak_wav("Then I had breakfast with my sister.")
    audio = np.concatenate((silence(0.5), a, silence(1.5), b, silence(1.5)))
    ends = [e for e in run(UtteranceSegmenter(vad), audio) if isinstance(e, UtteranceEnd)]
    assert [e.index for e in ends] == [0, 1]


def test_real_silence_and_white_noise_give_nothing(vad: SileroVAD) -> None:
    assert run(UtteranceSegmenter(vad), silence(3.0)) == []
    vad.reset()
    assert run(UtteranceSegmenter(vad), white_noise(3.0, 0.1)) == []


@requires_espeak
def test_real_clipped_and_corrupted_speech_is_still_speech(vad: SileroVAD) -> None:
    speech = padded(espeak_wav(SENTENCE), 0.5, 1.0) * 20.0  # hard clipping after sanitising
    speech[::1000] = np.nan
    speech[5::1000] = np.inf
    events = run(UtteranceSegmenter(vad), speech)
    assert any(isinstance(e, UtteranceEnd) for e in events)
    for e in events:
        if isinstance(e, UtteranceEnd):
            assert np.all(np.isfinite(e.audio))
            assert float(np.max(np.abs(e.audio))) <= 1.0


@requires_espeak
def test_real_monologue_is_force_split(vad: SileroVAD) -> None:
    speech = espeak_wav(
        "This is a long story about my weekend, and it keeps going without a pause, "
        "because I have so much to say about the mountains and the lake and the people."
    )
    settings = VADSettings(max_utterance_s=2.0, end_silence_ms=1000)
    ends = [
        e
        for e in run(UtteranceSegmenter(vad, settings), padded(speech, 0.5, 1.5))
        if isinstance(e, UtteranceEnd)
    ]
    assert len(ends) >= 3
    assert "max_length" in {e.reason for e in ends}
    assert all(e.duration_s <= 2.0 + 1e-6 for e in ends)


@requires_espeak
def test_real_push_to_talk(vad: SileroVAD) -> None:
    seg = UtteranceSegmenter(vad)
    seg.begin()
    run(seg, np.concatenate((silence(1.0), espeak_wav("Yes."), silence(1.5))))
    ended = seg.end()
    assert isinstance(ended[0], UtteranceEnd)
    assert ended[0].reason == "push_to_talk"
