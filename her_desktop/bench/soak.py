"""Soak: many turns through the wired app (dialogue + memory + affect), watching for leaks.

``run_soak`` drives ``build_app`` with memory on for ``turns`` turns and samples the process
every ``sample_every`` turns: resident memory (RSS), open file descriptors, threads, asyncio
tasks, and the number of messages saved. A leak shows as growth between the sample after the
warm-up and the last one; ``SoakReport.growth`` gives it.

Nothing here is a fake: the caller passes the LM engine (a real ``LlamaCppEngine`` on any GGUF
file; the tests use the tiny one).
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import psutil

from her_desktop.app import build_app
from her_desktop.config import Settings
from her_desktop.events import Event, ReplyFinished, StageError, UserText
from her_desktop.llm.base import LLMEngine
from her_desktop.persona import load_persona

TURN_TIMEOUT_S = 120.0
SAVE_TIMEOUT_S = 30.0

_SENTENCES = (
    "My sister {n} lives in Porto and I miss her.",
    "I had a long day at work, number {n}, and I feel tired.",
    "I love playing the piano on rainy evenings like day {n}.",
    "What do you think I should cook tonight, option {n}?",
    "My dog Biscuit chased a cat for {n} minutes today!",
)


@dataclass(frozen=True, slots=True)
class Sample:
    turn: int
    rss_mb: float
    fds: int
    threads: int
    tasks: int
    saved_messages: int
    seconds: float


@dataclass
class SoakReport:
    turns: int
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def at(self, turn: int) -> Sample:
        """The first sample taken at or after ``turn``."""
        return next(s for s in self.samples if s.turn >= turn)

    def growth(self, since_turn: int) -> dict[str, float]:
        """Last sample minus the one at ``since_turn`` (after the warm-up)."""
        first, last = self.at(since_turn), self.samples[-1]
        return {
            "rss_mb": last.rss_mb - first.rss_mb,
            "fds": float(last.fds - first.fds),
            "threads": float(last.threads - first.threads),
            "tasks": float(last.tasks - first.tasks),
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "turns": self.turns,
            "samples": [asdict(s) for s in self.samples],
            "errors": self.errors,
        }


def soak_settings() -> Settings:
    """Memory on, without the sentence-embedding model (its warm-up would dominate)."""
    settings = Settings()
    settings.memory.embeddings = "hashing"
    settings.memory.lm_extraction = "off"
    settings.affect.use_embeddings = False
    settings.affect.lm_refine = "off"
    settings.llm.max_tokens = 16
    return settings


def _sample(turn: int, process: psutil.Process, saved: int, started: float) -> Sample:
    gc.collect()
    return Sample(
        turn=turn,
        rss_mb=process.memory_info().rss / 2**20,
        fds=process.num_fds() if os.name == "posix" else process.num_handles(),
        threads=threading.active_count(),
        tasks=len(asyncio.all_tasks()),
        saved_messages=saved,
        seconds=time.monotonic() - started,
    )


async def run_soak(
    engine: LLMEngine,
    *,
    turns: int = 500,
    sample_every: int = 50,
    settings: Settings | None = None,
) -> SoakReport:
    """Run ``turns`` turns (call inside an event loop; the data dir is the configured one)."""
    app = build_app(settings or soak_settings(), load_persona("samantha"), engine=engine)
    finished: asyncio.Queue[ReplyFinished] = asyncio.Queue()
    report = SoakReport(turns)

    async def on_event(event: Event) -> None:
        if isinstance(event, ReplyFinished):
            finished.put_nowait(event)
        elif isinstance(event, StageError):
            report.errors.append(event.message)

    app.bus.subscribe((ReplyFinished, StageError), on_event, name="soak")
    await app.start()
    await asyncio.wait_for(app.memory_ready.wait(), SAVE_TIMEOUT_S)
    process = psutil.Process()
    started = time.monotonic()

    def saved() -> int:
        return len(app.store.messages()) if app.store is not None else 0

    try:
        report.samples.append(_sample(0, process, saved(), started))
        for n in range(1, turns + 1):
            event = UserText(_SENTENCES[n % len(_SENTENCES)].format(n=n))
            await app.bus.publish(event)
            done = await asyncio.wait_for(finished.get(), TURN_TIMEOUT_S)
            while done.turn_id != event.turn_id:
                done = await asyncio.wait_for(finished.get(), TURN_TIMEOUT_S)
            if n % sample_every == 0 or n == turns:
                await _wait_saved(saved, n)
                report.samples.append(_sample(n, process, saved(), started))
    finally:
        await app.stop()
    return report


async def _wait_saved(saved: Callable[[], int], turns: int) -> None:
    """Let the after-reply work (saving) catch up before sampling: until every turn is saved,
    or the count has not moved for a moment (a turn with an empty reply is not saved)."""
    deadline = time.monotonic() + SAVE_TIMEOUT_S
    last, since = saved(), time.monotonic()
    while last < 2 * turns and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
        now = saved()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > 0.25:
            return
