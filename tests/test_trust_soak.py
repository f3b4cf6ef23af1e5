"""Soak: many turns through the wired app (dialogue + memory + affect, memory on).

Resident memory, open files, threads and asyncio tasks stay flat after the warm-up (caches,
the KV cache, SQLite's page cache, the memory index filling). Two runs: 500 turns with the
scripted engine (the app's own code, fast), and 200 turns on the tiny GGUF through real
llama.cpp (slow: native leaks would show there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from her_desktop.bench.soak import SoakReport, run_soak
from her_desktop.llm.llamacpp import LlamaCppEngine
from tests.fakes import FakeEngine


def check_flat(report: SoakReport, warm_up: int, max_rss_mb: float) -> None:
    for s in report.samples:
        print(s)
    assert report.errors == []
    last = report.samples[-1]
    assert last.turn == report.turns
    assert last.saved_messages == 2 * report.turns  # memory was on and kept every turn
    growth = report.growth(warm_up)
    print(f"growth {warm_up}→{report.turns}:", growth)
    assert growth["fds"] <= 0, growth
    assert growth["threads"] <= 4, growth  # the to_thread pool may still be filling up
    assert report.samples[-1].threads <= max(s.threads for s in report.samples[:-1]) + 1
    assert growth["tasks"] <= 2, growth
    assert growth["rss_mb"] < max_rss_mb, growth


async def test_500_turns_stay_flat_scripted_engine() -> None:
    engine = FakeEngine(["Oh, ", "that is ", "lovely. ", "Tell me ", "more?"])
    report = await run_soak(engine, turns=500, sample_every=50)
    check_flat(report, warm_up=100, max_rss_mb=15)


@pytest.mark.slow
async def test_200_turns_stay_flat_on_real_llama_cpp(tiny_gguf: Path) -> None:
    # the tiny GGUF's vocabulary is nearly one token a character: the persona alone is ~1,750
    # tokens there, more than a 2048 context leaves for the prompt (the soak is about leaks)
    engine = LlamaCppEngine(tiny_gguf, n_ctx=4096, n_threads=1)
    report = await run_soak(engine, turns=200, sample_every=25)
    check_flat(report, warm_up=50, max_rss_mb=15)
