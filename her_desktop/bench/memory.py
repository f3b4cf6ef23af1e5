"""``her-desktop bench memory``: does she remember what she was told, and how fast is recall?

**Recall.** ``SCRIPT`` is a conversation over three sessions (days 0, 3 and 10) in which the
user mentions 36 facts in everyday words — names, work, places, likes and dislikes, events —
with three corrections ("my dog is actually called Max", a move to another city, a pet renamed
by pronoun) and some small talk. Some facts are phrased in ways the rule-based extractor does
not cover, on purpose: the bench measures the system, not a script fitted to it. Every turn
goes through ``MemoryService.after_reply`` (the rules, plus the LM when a model is given), each
session with a fresh service as after a restart. In a fourth session (day 20) each fact's
question is asked and the top *k* recalled memories are checked for the expected answer:

- ``extracted``: share of facts whose answer is in some stored memory (extraction coverage);
- ``recall@k`` for k = 1, 3, 5: share of questions with the answer in the top k;
- ``stale``: corrected facts whose old value still comes up in the top 5 (should be 0);
- the same recall with ``DISTRACTORS`` unrelated memories added (other people, chores,
  errands, generated from templates that avoid every answer word).

**Latency.** Synthetic stores of 1k, 10k and 100k memories (random unit vectors in the
embedder's dimension, short texts): time to load the index from SQLite, time to rank
(one matrix-vector product + scoring), and the whole ``before_reply`` path (embed the turn,
rank, fetch the texts, format) — median and p90 over ``QUERIES`` turns.

Writes JSON (stdout, or ``out``) and a short summary on stderr.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from her_desktop.bench.common import machine_info, summarize, write_report
from her_desktop.bus import Bus
from her_desktop.llm.base import LLMEngine
from her_desktop.memory.embeddings import Embedder, HashingEmbedder, create_embedder
from her_desktop.memory.records import NewMemory, Vector
from her_desktop.memory.retrieval import rank
from her_desktop.memory.service import MemoryService
from her_desktop.memory.store import LONG_TIMEOUT_S, MemoryStore, Turn

DAY: Final = 86400.0
START: Final = 1_767_225_600.0  # 2026-01-01
SIZES: Final = (1_000, 10_000, 100_000)
QUERIES: Final = 30
KS: Final = (1, 3, 5)
DISTRACTORS: Final = 1000


@dataclass(frozen=True, slots=True)
class Fact:
    session: int
    said: str
    question: str | None
    answer: str
    stale: str | None = None
    """For a correction: the old value, which must no longer be recalled."""


SCRIPT: Final[tuple[Fact | str, ...]] = (
    # session 1 (day 0); plain strings are small talk (no fact)
    Fact(1, "Hi! My name is Priya.", "What's my name?", "Priya"),
    Fact(1, "My dog's name is Biscuit.", None, "Biscuit"),
    Fact(1, "I work as a nurse at St. Mary's.", "What do I do for a living?", "nurse"),
    Fact(1, "I live in Leeds with my boyfriend.", None, "Leeds"),
    Fact(1, "I love jazz, especially Nina Simone.", "What kind of music am I into?", "jazz"),
    "Haha, that's a good one.",
    Fact(1, "My sister's name is Anjali.", "What is my sister called?", "Anjali"),
    Fact(1, "I'm allergic to shellfish.", "Is there any food I can't eat?", "shellfish"),
    Fact(1, "I'm learning Portuguese.", "Which language am I studying?", "Portuguese"),
    Fact(1, "My favourite film is Spirited Away.", "What's my favorite movie?", "Spirited Away"),
    Fact(1, "I hate running in the rain.", "Do I like jogging when it's wet outside?", "rain"),
    Fact(
        1,
        "Honestly, coffee makes me jittery so I mostly drink green tea.",
        "What do I usually drink?",
        "green tea",
    ),
    "Anyway, I should get some sleep.",
    # session 2 (day 3)
    Fact(2, "Oh wait, my dog is actually called Max.", "What is my dog's name?", "Max", "Biscuit"),
    Fact(
        2,
        "I took Max to the vet today because he hurt his paw.",
        "Why did I go to the vet?",
        "paw",
    ),
    Fact(2, "I have a job interview on Friday.", "What's happening for me on Friday?", "interview"),
    Fact(2, "My birthday is on the 14th of March.", "When is my birthday?", "March"),
    Fact(2, "I'm from Pune originally.", "Where did I grow up?", "Pune"),
    Fact(2, "My boyfriend is called Tom.", "What's my partner's name?", "Tom"),
    "Can you tell me a joke?",
    Fact(2, "I'm afraid of spiders.", "What am I scared of?", "spiders"),
    Fact(2, "I enjoy baking sourdough bread on Sundays.", "What do I like to bake?", "sourdough"),
    Fact(2, "My favourite colour is teal.", "Which colour do I like best?", "teal"),
    Fact(
        2,
        "We went hiking in the Lake District last weekend.",
        "Where did I go hiking?",
        "Lake District",
    ),
    Fact(2, "I'm 34 years old.", "How old am I?", "34"),
    # session 3 (day 10)
    Fact(3, "I have a cat named Pepper.", None, "Pepper"),
    Fact(
        3,
        "Actually she's called Pip, Pepper was her shelter name.",
        "What's my cat called?",
        "Pip",
        "Pepper",
    ),
    Fact(3, "I started a pottery class this week.", "What class did I start?", "pottery"),
    Fact(3, "I can't stand horror movies.", "Which films do I avoid?", "horror"),
    Fact(3, "My mum is called Lakshmi.", "What is my mother's name?", "Lakshmi"),
    Fact(3, "I moved to Manchester last month.", "Where do I live now?", "Manchester", "Leeds"),
    Fact(3, "My best friend Sam is getting married in June.", "Who is getting married?", "Sam"),
    Fact(3, "I play the cello in a community orchestra.", "What instrument do I play?", "cello"),
    Fact(3, "I'm a vegetarian.", "Do I eat meat?", "vegetarian"),
    Fact(
        3,
        "I failed my driving test yesterday and I feel awful.",
        "How did my driving test go?",
        "failed",
    ),
    Fact(
        3,
        "My grandmother passed away last year.",
        "Has anyone in my family died recently?",
        "grandmother",
    ),
    Fact(3, "I support Leeds United.", "Which football team do I follow?", "Leeds United"),
    Fact(
        3,
        "My daughter Mia starts school in September.",
        "When does my daughter start school?",
        "September",
    ),
    "Thanks for listening, talk soon.",
)

_PEOPLE: Final = ("Dana", "Oskar", "Leila", "Bruno", "Hana", "Ivo", "Greta", "Rafael", "Noor")
_THINGS: Final = (
    "the curtains", "a bike lock", "printer ink", "the gutter", "a kettle", "the boiler",
    "a parking permit", "the fridge light", "a library card", "the garden hose",
)  # fmt: skip
_PLACES: Final = ("the post office", "the pharmacy", "the DIY store", "the bank", "the tip")
_DISTRACTOR_TEMPLATES: Final = (
    "My colleague {p} keeps talking about {t}.",
    "I need to sort out {t} before the weekend.",
    "{p} from upstairs asked me about {t}.",
    "I went to {pl} to ask about {t}.",
    "The man at {pl} was very chatty.",
    "I forgot to return {t} to {p}.",
    "{p} lent me {t} ages ago.",
    "I spent the morning fixing {t}.",
    "There was a long queue at {pl} again.",
    "{p} recommended a podcast about {t}.",
)


def distractors(n: int, forbidden: Sequence[str], seed: int = 7) -> list[str]:
    """``n`` distinct everyday sentences that contain none of the ``forbidden`` words."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    bad = [w.lower() for w in forbidden]
    while len(out) < n:
        text = rng.choice(_DISTRACTOR_TEMPLATES).format(
            p=rng.choice(_PEOPLE), t=rng.choice(_THINGS), pl=rng.choice(_PLACES)
        )
        text = f"{text} ({len(out)})" if text in seen else text
        if any(w in text.lower() for w in bad):
            continue
        seen.add(text)
        out.append(text)
    return out


class _Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


async def _converse(
    store: MemoryStore, embedder: Embedder, engine: LLMEngine | None, clock: _Clock
) -> None:
    bus = Bus()
    turn = 0
    for session, day in ((1, 0.0), (2, 3.0), (3, 10.0)):
        service = MemoryService(bus, store, embedder, engine=engine, enabled=True, clock=clock)
        clock.t = START + day * DAY
        for item in SCRIPT:
            said = item if isinstance(item, str) else item.said
            if not isinstance(item, str) and item.session != session:
                continue
            if isinstance(item, str) and not _in_session(item, session):
                continue
            turn += 1
            clock.t += 90.0
            await service.before_reply(turn, said)
            await service.after_reply(turn, said, "I see. Tell me more.")
    await bus.close()


def _in_session(small_talk: str, session: int) -> bool:
    index = SCRIPT.index(small_talk)
    previous = [f for f in SCRIPT[:index] if isinstance(f, Fact)]
    return (previous[-1].session if previous else 1) == session


def _ask(service: MemoryService, facts: Sequence[Fact]) -> dict[str, Any]:
    hits = dict.fromkeys(KS, 0)
    stale = 0
    details = []
    for fact in facts:
        assert fact.question is not None
        recalled = [r.record.text for r in service.recall(fact.question, limit=max(KS))]
        rank_of = next(
            (i + 1 for i, text in enumerate(recalled) if fact.answer.lower() in text.lower()),
            None,
        )
        for k in KS:
            hits[k] += rank_of is not None and rank_of <= k
        is_stale = fact.stale is not None and any(
            fact.stale.lower() in t.lower() and fact.answer.lower() not in t.lower()
            for t in recalled
        )
        stale += is_stale
        details.append(
            {
                "question": fact.question,
                "answer": fact.answer,
                "rank": rank_of,
                "stale": is_stale,
                "top": recalled[:3],
            }
        )
    n = len(facts)
    return {
        **{f"recall@{k}": hits[k] / n for k in KS},
        "stale": stale,
        "corrections": sum(f.stale is not None for f in facts),
        "questions": details,
    }


def evaluate_recall(
    embedder: Embedder, engine: LLMEngine | None = None, distractor_count: int = DISTRACTORS
) -> dict[str, Any]:
    """Run the script into a fresh store, then ask every question (see the module doc)."""
    facts = [f for f in SCRIPT if isinstance(f, Fact)]
    asked = [f for f in facts if f.question is not None]
    with tempfile.TemporaryDirectory() as tmp:
        clock = _Clock(START)
        store = MemoryStore.open(Path(tmp) / "memory.sqlite3", clock=clock)
        started = time.perf_counter()
        asyncio.run(_converse(store, embedder, engine, clock))
        converse_s = time.perf_counter() - started
        texts = [m.text.lower() for m in store.memories(limit=-1)]
        final = {f.answer: f for f in facts}  # a corrected fact counts by its new value
        extracted = sum(any(a.lower() in t for t in texts) for a in final)
        clock.t = START + 20 * DAY
        service = MemoryService(Bus(), store, embedder, engine=None, enabled=True, clock=clock)
        clean = _ask(service, asked)
        greeting = service.greeting_context()
        stored = store.count()
        words = [f.answer for f in facts] + [f.stale for f in facts if f.stale]
        extra = distractors(distractor_count, words)
        vectors = embedder.embed(extra)
        with store.turn() as tx:
            for text, vector in zip(extra, vectors, strict=True):
                tx.upsert_memory(
                    NewMemory("episode", text, embedding=vector, embedder=embedder.name),
                    source_message_id=None,
                )
        noisy = MemoryService(Bus(), store, embedder, engine=None, enabled=True, clock=clock)
        with_distractors = _ask(noisy, asked)
        store.close()
    return {
        "embedder": embedder.name,
        "extractor": "rules+lm" if engine is not None else "rules",
        "facts": len(facts),
        "questions": len(asked),
        "memories_stored": stored,
        "extracted": extracted / len(final),
        "converse_s": converse_s,
        "clean": clean,
        "with_distractors": {"distractors": distractor_count, **with_distractors},
        "greeting_context": greeting,
    }


def evaluate_latency(
    embedder: Embedder, sizes: Sequence[int] = SIZES, queries: int = QUERIES
) -> dict[str, Any]:
    """Index load, rank and whole-``before_reply`` latency at each store size."""
    rng = np.random.default_rng(0)
    questions = [f.question for f in SCRIPT if isinstance(f, Fact) and f.question][:queries]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clock = _Clock(START + 400 * DAY)
        store = MemoryStore.open(Path(tmp) / "memory.sqlite3", clock=clock)
        have = 0
        for size in sorted(sizes):
            vecs = rng.standard_normal((size - have, embedder.dim)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            saliences = rng.random(size - have)

            def fill(
                tx: Turn, first: int = have, vecs: Vector = vecs, sal: Any = saliences
            ) -> None:
                for j, vec in enumerate(vecs):  # one transaction on the store's thread
                    i = first + j
                    tx.now = START + (i % 365) * DAY
                    tx.upsert_memory(
                        NewMemory(
                            "fact",
                            f"synthetic memory number {i} about topic {i % 97}",
                            salience=float(sal[j]),
                            embedding=vec,
                            embedder=embedder.name,
                        ),
                        source_message_id=None,
                    )

            store.write(fill, timeout=LONG_TIMEOUT_S)
            have = size
            service = MemoryService(Bus(), store, embedder, engine=None, enabled=True, clock=clock)
            started = time.perf_counter()
            index = service.index()
            load_s = time.perf_counter() - started
            samples = []
            for q in (questions * (queries // max(1, len(questions)) + 1))[:queries]:
                query = embedder.embed([q])[0]
                t0 = time.perf_counter()
                rank(index.view(), query, now=clock(), min_relevance=-1.0, limit=8)
                t1 = time.perf_counter()
                service.notes_for(q)
                t2 = time.perf_counter()
                samples.append({"rank_ms": (t1 - t0) * 1e3, "before_reply_ms": (t2 - t1) * 1e3})
            store.checkpoint()
            db_bytes = sum(
                p.stat().st_size for p in Path(tmp).iterdir() if p.name.startswith("memory")
            )
            results[str(size)] = {
                "load_index_s": load_s,
                "db_mb": db_bytes / 1e6,
                "index_mb": index.view().vectors.nbytes / 1e6,
                **summarize(samples),
            }
        store.close()
    return results


def embed_latency(embedder: Embedder, n: int = 30) -> dict[str, float]:
    questions = [f.question for f in SCRIPT if isinstance(f, Fact) and f.question]
    times = []
    for q in (questions * 2)[:n]:
        t0 = time.perf_counter()
        embedder.embed([q])
        times.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(times), "max_ms": max(times)}


def _embedders() -> list[tuple[Embedder, float]]:
    out: list[tuple[Embedder, float]] = []
    t0 = time.perf_counter()
    chosen = create_embedder()
    out.append((chosen, time.perf_counter() - t0))
    if not isinstance(chosen, HashingEmbedder):
        out.append((HashingEmbedder(), 0.0))
    return out


def run_memory_bench(
    out: Path | None,
    *,
    model: Path | None = None,
    sizes: Sequence[int] = SIZES,
    queries: int = QUERIES,
    distractor_count: int = DISTRACTORS,
) -> int:
    """Run the bench; write JSON to ``out`` (stdout when None). ``model``: a GGUF file for the
    LM extractor (rules only without it). Returns the exit status."""
    report: dict[str, Any] = {
        "bench": "memory",
        "machine": machine_info(),
        "sizes": list(sizes),
        "queries": queries,
        "embedders": {},
    }
    engine: LLMEngine | None = None
    if model is not None:
        from her_desktop.llm.llamacpp import LlamaCppEngine

        engine = LlamaCppEngine(model, n_ctx=2048)
        report["lm_model"] = str(model)
    for i, (embedder, load_s) in enumerate(_embedders()):
        entry: dict[str, Any] = {"load_s": load_s, "embed": embed_latency(embedder)}
        entry["recall"] = [evaluate_recall(embedder, None, distractor_count)]
        if engine is not None and i == 0:
            entry["recall"].append(evaluate_recall(embedder, engine, distractor_count))
        entry["latency"] = evaluate_latency(embedder, sizes, queries)
        report["embedders"][embedder.name] = entry
        for r in entry["recall"]:
            print(
                f"{embedder.name:20} {r['extractor']:9} extracted {r['extracted']:.2f}  "
                + "  ".join(f"R@{k} {r['clean'][f'recall@{k}']:.2f}" for k in KS)
                + f"  stale {r['clean']['stale']}/{r['clean']['corrections']}"
                + f"  (+{distractor_count} distractors R@5 "
                + f"{r['with_distractors']['recall@5']:.2f})",
                file=sys.stderr,
            )
        for size, lat in entry["latency"].items():
            whole, ranked = lat["before_reply_ms"], lat["rank_ms"]
            print(
                f"{embedder.name:20} {int(size):>7} memories: before_reply median "
                f"{whole['median']:.1f} ms p90 {whole['p90']:.1f} ms (rank "
                f"{ranked['median']:.1f} ms), index load {lat['load_index_s']:.2f} s",
                file=sys.stderr,
            )
    if engine is not None:
        asyncio.run(engine.close())
    write_report(report, out)
    return 0
