"""``her-desktop bench memory --e2e``: recall through the real chat path, scored automatically.

Each scenario of ``data/memory_scenarios_<part>.json`` (``dev`` to tune on, ``locked`` to report
on: never tuned on) is a list of sessions of user turns and a list of questions. For each
scenario, in a fresh profile (its own data folder, the installed models shared):

- every session is one run of the real ``App`` (``build_app`` with the settings as they are,
  the same code as ``her-desktop chat``, minus the opening greeting): each user turn is typed
  and her reply awaited; the app is stopped between sessions, as a user closing it;
- a last session asks the questions, one turn each, and keeps her replies.

Scoring, per question (case-insensitive):

- ``recall`` / ``update`` / ``person``: right when the reply contains one of ``expect_any`` and
  none of ``forbid`` (for an update, the old value; for ``person``, her speaking as the user:
  a **first-person confusion**);
- ``unknown`` (never said): right when she says she does not know (one of ``expect_any``);
  otherwise the reply counts as an **invented fact** (an approximation: it asserts or guesses);
- ``constraint``: a **violation** when a sentence of the reply names a ``forbid`` term without
  warning about it (the same check as the reply guard, ``memory.constraints.offended``).

The LM is loaded once and shared by the sessions (``_Shared`` ignores the app's close). On a
2-core CPU a scenario takes minutes: ``limit`` runs the first N scenarios (say so when
reporting a subset). Writes JSON (stdout, or ``out``) and a summary on stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from her_desktop.bench.common import machine_info, write_report
from her_desktop.config import Settings
from her_desktop.events import Event, ReplyFinished, UserText
from her_desktop.llm.base import EngineInfo, GenerationParams, GenerationStats, LLMEngine, Message
from her_desktop.memory.constraints import Constraint, offended
from her_desktop.paths import ENV_DATA_DIR, ENV_MODELS_DIR, models_dir

DATA: Final = Path(__file__).parent / "data"
KINDS: Final = ("recall", "update", "person", "unknown", "constraint")
REPLY_TIMEOUT_S: Final = 600.0
CONSOLIDATE_TIMEOUT_S: Final = 600.0
TELLING_MAX_TOKENS: Final = 24
"""Her replies in the sessions where the user tells things are not scored: capped this short
(the memory work of those turns is the same), so more scenarios fit in the CPU time."""
REPLY_DEADLINE_S: Final = 400.0
"""Her replies' deadline in the bench (the app's default, 60 s, cut answers on a busy 2-core
machine into the fallback "I'm listening.", scored as wrong)."""
QUESTION_MAX_TOKENS: Final = 60
"""The bench's default cap on her answers to the questions (``max_tokens`` overrides it)."""
"""How long a session's end waits for the background LM to read its turns (the user pauses)."""


@dataclass(frozen=True, slots=True)
class Question:
    ask: str
    kind: str
    expect_any: tuple[str, ...]
    forbid: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    sessions: tuple[tuple[str, ...], ...]
    questions: tuple[Question, ...]


def load_scenarios(part: str) -> list[Scenario]:
    data = json.loads((DATA / f"memory_scenarios_{part}.json").read_text(encoding="utf-8"))
    return [
        Scenario(
            str(s["id"]),
            tuple(tuple(str(t) for t in session) for session in s["sessions"]),
            tuple(
                Question(
                    str(q["ask"]),
                    str(q["kind"]),
                    tuple(str(e) for e in q.get("expect_any", [])),
                    tuple(str(f) for f in q.get("forbid", [])),
                )
                for q in s["questions"]
            ),
        )
        for s in data
    ]


def score(question: Question, reply: str) -> dict[str, Any]:
    """One question's verdict (see the module docstring)."""
    low = reply.lower()
    hit = any(e.lower() in low for e in question.expect_any) if question.expect_any else True
    if question.kind == "constraint":
        guard = Constraint("bench", "bench", "", tuple(question.forbid))
        bad = [s for s in _sentences(reply) if offended(s, [guard]) is not None]
        return {"ok": not bad, "violation": bool(bad)}
    forbidden = [f for f in question.forbid if f.lower() in low]
    verdict: dict[str, Any] = {"ok": hit and not forbidden}
    if question.kind == "unknown":
        verdict["invented"] = not hit
    if question.kind == "person":
        verdict["first_person"] = bool(forbidden)
    return verdict


def _sentences(text: str) -> list[str]:
    from her_desktop.sentences import split_sentences

    return split_sentences(text, max_chars=1000)


def summarize_results(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"questions": len(results)}
    for kind in KINDS:
        of_kind = [r for r in results if r["kind"] == kind]
        if of_kind:
            out[f"{kind}_accuracy"] = round(sum(r["ok"] for r in of_kind) / len(of_kind), 3)
            out[f"{kind}_n"] = len(of_kind)
    unknown = [r for r in results if r["kind"] == "unknown"]
    out["invented_fact_rate"] = (
        round(sum(r.get("invented", False) for r in unknown) / len(unknown), 3) if unknown else 0
    )
    out["constraint_violations"] = sum(r.get("violation", False) for r in results)
    out["first_person_confusions"] = sum(r.get("first_person", False) for r in results)
    return out


class _Shared(LLMEngine):
    """The bench's one loaded LM, lent to each session's app (which closes its engine)."""

    def __init__(self, inner: LLMEngine) -> None:
        self.inner = inner
        self.name = inner.name
        self.written: list[str] = []
        """what the LM wrote for the turn being answered, before her checks (each stream)"""

    @property
    def context_size(self) -> int:
        return self.inner.context_size

    async def load(self) -> None:
        await self.inner.load()

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return self.inner.count_tokens(messages)

    def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        stats: GenerationStats | None = None,
    ) -> AsyncIterator[str]:
        return self._kept(self.inner.stream(messages, params, stats))

    async def _kept(self, pieces: AsyncIterator[str]) -> AsyncIterator[str]:
        self.written.append("")
        try:
            async for piece in pieces:
                self.written[-1] += piece
                yield piece
        finally:
            aclose = getattr(pieces, "aclose", None)
            if aclose is not None:
                await aclose()

    def info(self) -> EngineInfo:
        return self.inner.info()

    async def warm(self, messages: Sequence[Message], params: GenerationParams) -> None:
        await self.inner.warm(messages, params)

    @property
    def works_in_background(self) -> bool:
        return self.inner.works_in_background

    async def background_generate(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        *,
        yield_to: Callable[[], bool] = lambda: False,
    ) -> str:
        return await self.inner.background_generate(messages, params, yield_to=yield_to)

    async def close(self) -> None:
        """Kept open: the bench closes the real engine once, at the end."""


async def _session(
    settings: Settings, engine: LLMEngine, turns: Sequence[str]
) -> list[tuple[str, float, str]]:
    """One run of the real app: type each turn, wait for her reply; then close it. Each
    reply with its seconds and what the LM wrote for it before her checks (" || " between
    generations)."""
    from her_desktop.app import build_app
    from her_desktop.persona import load_persona

    app = build_app(settings, load_persona(settings.persona), engine=engine)
    done: dict[int, ReplyFinished] = {}
    arrived = asyncio.Event()

    async def on_finished(event: Event) -> None:
        if isinstance(event, ReplyFinished):
            done[event.turn_id] = event
            arrived.set()

    app.bus.subscribe(ReplyFinished, on_finished, name="bench")
    await app.start()
    replies: list[tuple[str, float, str]] = []
    written = engine.written if isinstance(engine, _Shared) else []
    try:
        await asyncio.wait_for(app.memory_ready.wait(), REPLY_TIMEOUT_S)
        for said in turns:
            event = UserText(said)
            start = time.monotonic()
            written.clear()
            await app.bus.publish(event)
            async with asyncio.timeout(REPLY_TIMEOUT_S):
                while event.turn_id not in done:
                    arrived.clear()
                    await arrived.wait()
            seconds = time.monotonic() - start
            replies.append((done[event.turn_id].text, seconds, " || ".join(written)))
        consolidator = app.memory.consolidator if app.memory is not None else None
        # the user pauses: she reads the session's turns in the background
        if consolidator is not None and not await consolidator.drained(CONSOLIDATE_TIMEOUT_S):
            print("  (background reading not finished at the session's end)", file=sys.stderr)
    finally:
        await app.stop()
    return replies


async def _told_without_lm(settings: Settings, sessions: Sequence[Sequence[str]]) -> None:
    """The telling sessions kept by the memory service alone (the same code the app runs
    after each turn, one service per session as after a restart; her replies not generated):
    with ``lm_extraction`` off what is stored does not depend on her replies."""
    from her_desktop.bus import Bus
    from her_desktop.memory.embeddings import create_embedder
    from her_desktop.memory.service import MemoryService
    from her_desktop.memory.store import MemoryStore

    embedder = await asyncio.to_thread(create_embedder, settings.memory.embeddings)
    bus = Bus()
    store = await asyncio.to_thread(MemoryStore.open)
    turn = 0
    try:
        for session in sessions:
            service = MemoryService(bus, store, embedder, engine=None, enabled=True)
            for said in session:
                turn += 1
                await service.after_reply(turn, said, "I see.")
            await service.close()
    finally:
        await asyncio.to_thread(store.close)
        await bus.close()


async def run_scenario(
    scenario: Scenario, settings: Settings, engine: LLMEngine, *, lm_telling: bool = True
) -> list[dict[str, Any]]:
    """``lm_telling`` False: the telling sessions are kept without the LM (``_told_without_lm``:
    only with ``lm_extraction`` off); the questions always go through the real app."""
    telling = settings.model_copy(deep=True)
    telling.llm.max_tokens = min(settings.llm.max_tokens, TELLING_MAX_TOKENS)
    if not lm_telling:
        await _told_without_lm(settings, scenario.sessions)
    for turns in scenario.sessions if lm_telling else ():  # her replies there: kept short
        await _session(telling, engine, turns)
    answers = await _session(settings, engine, [q.ask for q in scenario.questions])
    results: list[dict[str, Any]] = []
    for question, (reply, seconds, wrote) in zip(scenario.questions, answers, strict=True):
        verdict = score(question, reply)
        results.append(
            {
                "scenario": scenario.id,
                "kind": question.kind,
                "ask": question.ask,
                "reply": reply,
                "seconds": round(seconds, 2),
                **verdict,
                **({"lm_wrote": wrote} if wrote.strip() != reply.strip() else {}),
            }
        )
        print(json.dumps(results[-1], ensure_ascii=False), file=sys.stderr)  # a partial run counts
    return results


async def _run_all(
    scenarios: Sequence[Scenario], settings: Settings, real: LLMEngine, *, lm_telling: bool = True
) -> list[dict[str, Any]]:
    """Every scenario in one event loop (the LM stays loaded), each in a fresh profile."""
    shared = _Shared(real)
    results: list[dict[str, Any]] = []
    try:
        for scenario in scenarios:
            with tempfile.TemporaryDirectory(prefix="her-bench-") as profile:
                os.environ[ENV_DATA_DIR] = profile
                got = await run_scenario(scenario, settings, shared, lm_telling=lm_telling)
            results += got
            right = sum(r["ok"] for r in got)
            print(f"{scenario.id}: {right}/{len(got)} right", file=sys.stderr)
    finally:
        await real.close()
    return results


def notes_only(scenarios: Sequence[Scenario], embedder: Any) -> list[dict[str, Any]]:
    """Without the LM: what memory would hand her for each question (each scenario's turns
    kept through ``MemoryService``, one service per session as after a restart). Right when
    the notes hold an expected answer and no forbidden (stale) one; for an ``unknown``
    question, when the notes say she does not know it; a ``constraint`` question is right
    when the reply guard is armed (``guarding``)."""
    from her_desktop.bus import Bus
    from her_desktop.memory.recall import UNKNOWN_NOTE
    from her_desktop.memory.service import MemoryService
    from her_desktop.memory.store import MemoryStore

    async def one(scenario: Scenario, path: Path) -> list[dict[str, Any]]:
        bus = Bus()
        store = MemoryStore.open(path)
        turn = 0
        service: MemoryService | None = None
        try:
            for session in scenario.sessions:
                service = MemoryService(bus, store, embedder, engine=None, enabled=True)
                for said in session:
                    turn += 1
                    await service.after_reply(turn, said, "I see.")
                await service.close()
            service = MemoryService(bus, store, embedder, engine=None, enabled=True)
            await asyncio.to_thread(service.refresh_constraints)
            out = []
            for q in scenario.questions:
                notes = await asyncio.to_thread(service.notes_for, q.ask) or ""
                low = notes.lower()
                why: str | None = None  # why it is wrong: "missing", "stale" or "answered"
                if q.kind == "unknown":
                    ok = UNKNOWN_NOTE in notes
                    why = None if ok else "answered"  # a note was taken for an answer
                elif q.kind == "constraint":
                    ok = service.guarding()
                else:
                    hit = any(e.lower() in low for e in q.expect_any) if q.expect_any else True
                    stale = q.kind == "update" and any(f.lower() in low for f in q.forbid)
                    ok = hit and not stale
                    why = "missing" if not hit else "stale" if stale else None
                result = {"scenario": scenario.id, "kind": q.kind, "ask": q.ask, "ok": ok}
                out.append(result | ({"why": why} if why else {}))
            await service.close()
            return out
        finally:
            store.close()
            await bus.close()

    results: list[dict[str, Any]] = []
    for scenario in scenarios:
        with tempfile.TemporaryDirectory(prefix="her-bench-") as tmp:
            results += asyncio.run(one(scenario, Path(tmp) / "memory.sqlite3"))
    return results


def run_memory_e2e(
    out: Path | None,
    *,
    part: str = "dev",
    limit: int | None = None,
    ids: Sequence[str] = (),
    max_tokens: int | None = None,
    lm_extraction: str | None = None,
    questions_only: bool = False,
    settings: Settings | None = None,
    engine: LLMEngine | None = None,
    without_lm: bool = False,
) -> int:
    """Run the end-to-end bench (see the module docstring). Returns the exit status.
    ``without_lm``: score only what memory hands her (``notes_only``), in seconds."""
    from her_desktop.app import make_llm
    from her_desktop.config import load_settings

    settings = settings or load_settings().settings
    settings.llm.max_tokens = max_tokens if max_tokens is not None else QUESTION_MAX_TOKENS
    # a loaded CPU is not a memory failure: her answer may take minutes, not the app's 60 s
    settings.llm.deadline_s = max(settings.llm.deadline_s, REPLY_DEADLINE_S)
    if lm_extraction is not None:
        settings.memory.lm_extraction = lm_extraction  # type: ignore[assignment]
    if questions_only and settings.memory.lm_extraction != "off":
        raise SystemExit(
            "--questions-only needs --lm-extraction off (what is kept must not depend on the LM)"
        )
    lm_telling = not questions_only
    scenarios = load_scenarios(part)
    if ids:
        scenarios = [s for s in scenarios if s.id in ids]
    if limit is not None:
        scenarios = scenarios[:limit]
    if without_lm:
        from her_desktop.memory.embeddings import create_embedder

        embedder = create_embedder(settings.memory.embeddings)
        got = notes_only(scenarios, embedder)
        by_kind = {
            k: round(sum(r["ok"] for r in got if r["kind"] == k) / n, 3)
            for k in KINDS
            if (n := sum(1 for r in got if r["kind"] == k))
        }
        wrong: dict[str, int] = {}  # "update:stale": 2 (counts only: safe to read on locked)
        for r in got:
            if "why" in r:
                key = f"{r['kind']}:{r['why']}"
                wrong[key] = wrong.get(key, 0) + 1
        notes_report = {
            "bench": "memory-notes",
            "part": part,
            "scenarios": [s.id for s in scenarios],
            "embedder": embedder.name,
            "accuracy_by_kind": by_kind,
            "wrong_by_reason": dict(sorted(wrong.items())),
            "results": got,
        }
        write_report(notes_report, out)
        print(json.dumps(by_kind), file=sys.stderr)
        return 0
    models = str(models_dir())
    real = engine or make_llm(settings)
    report: dict[str, Any] = {
        "bench": "memory-e2e",
        "machine": machine_info(),
        "part": part,
        "scenarios": [s.id for s in scenarios],
        "of": len(load_scenarios(part)),
        "model": real.info().model,
        "max_tokens": settings.llm.max_tokens,
        "telling_max_tokens": TELLING_MAX_TOKENS,
        "telling_through_lm": lm_telling,
        "lm_extraction": settings.memory.lm_extraction,
    }
    saved = {k: os.environ.get(k) for k in (ENV_DATA_DIR, ENV_MODELS_DIR)}
    start = time.monotonic()
    try:
        os.environ[ENV_MODELS_DIR] = models
        results = asyncio.run(_run_all(scenarios, settings, real, lm_telling=lm_telling))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    report["wall_s"] = round(time.monotonic() - start, 1)
    report["summary"] = summarize_results(results)
    report["results"] = results
    write_report(report, out)
    print(json.dumps(report["summary"]), file=sys.stderr)
    return 0
