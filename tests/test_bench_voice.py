"""``bench voice`` once, on the small models, for a complete and consistent report (not speed)."""

from __future__ import annotations

import json

import pytest

from her_desktop.bench.voice import STAGES, _table, barge_in_on_device, measure
from her_desktop.config import Settings
from her_desktop.persona import resolve_persona
from tests.fakes import FakeEngine, FakeTTS
from tests.speech import requires_espeak
from tests.virtual_audio import VirtualAudio, virtual_audio  # noqa: F401

pytestmark = [pytest.mark.slow, requires_espeak]


async def test_voice_bench_report_is_complete_and_ordered() -> None:
    engine = FakeEngine(["Sure. ", "Here is a longer second sentence for you to hear."])
    report = await measure(
        Settings(), resolve_persona("samantha").persona, runs=1, compare=True, engine=engine
    )
    json.dumps(report)  # serialisable
    assert not report["problems"], report["problems"]
    metrics = report["metrics"]
    medians = [metrics[stage]["median"] for stage in STAGES]
    assert medians == sorted(medians), medians
    assert metrics["vad_end"]["median"] > 0  # real time: the end rule waits for silence
    assert 0 < metrics["barge_in_to_reply_stopped"]["median"] < 5
    assert "barge_in_to_silence" not in metrics  # a file sink cannot tell: never a fake zero
    assert report["launch_to_ready_s"] > 0
    assert report["peak_rss_mb"] > 50
    assert report["tts"]["tts_rtf"] > 0
    assert report["baseline"]["metrics"]["first_played"]["median"] > 0
    assert report["speedup_first_played"] > 0
    assert "first_played" in _table(report)
    for turn in report["turns"]:  # the reply's head start at the pause, NaN when none came
        assert "head_start_s" in turn, turn
        assert "pause_transcript_s" in turn, turn


async def test_barge_in_to_silence_is_measured_on_the_virtual_card(
    virtual_audio: VirtualAudio,  # noqa: F811
) -> None:
    """The device figure on the real speaker path (the session's virtual PulseAudio card, as
    the default devices: one sound server per process): measured for each interruption, or
    absent with the reason — never zero for lack of a device."""
    engine = FakeEngine([f"This is sentence number {i} of a long story. " for i in range(40)])
    summary = await barge_in_on_device(
        Settings(),
        resolve_persona("samantha").persona,
        "default",
        runs=3,
        engine=engine,
        tts=FakeTTS(seconds_per_word=0.15),
    )
    json.dumps(summary)
    assert summary["median"] is not None, summary
    assert summary["runs"] >= 1, summary
    assert all(0 <= v < 2.0 for v in summary["values"]), summary  # silent within the window
    print(f"barge-in → silence on the virtual card: {summary}")
