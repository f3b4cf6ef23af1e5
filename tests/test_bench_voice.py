"""``bench voice`` once, on the small models, for a complete and consistent report (not speed)."""

from __future__ import annotations

import json

import pytest

from her_desktop.bench.voice import STAGES, _table, measure
from her_desktop.config import Settings
from her_desktop.persona import resolve_persona
from tests.fakes import FakeEngine
from tests.speech import requires_espeak

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
    assert 0 < metrics["barge_in_to_silence"]["median"] < 5
    assert report["launch_to_ready_s"] > 0
    assert report["peak_rss_mb"] > 50
    assert report["tts"]["tts_rtf"] > 0
    assert report["baseline"]["metrics"]["first_played"]["median"] > 0
    assert report["speedup_first_played"] > 0
    assert "first_played" in _table(report)
