"""``her-desktop bench companion``: does she sound like a companion or a help desk?

Scripted user turns (``bench/data/companion_{dev,locked}.json``: moods from a bad day to
grief, small talk, and simple tasks with reference answers) go through the real App, the
same path as ``her-desktop chat`` (without memory, so nothing is kept). Each case starts a
fresh conversation; its ``history`` lines are said first as ordinary turns. The replies are
scored automatically:

cliche_turns
    replies containing a help-desk phrase (``bench/companion_checks.py``: the bench's own list,
    written apart from the reply filter's ``llm/data/reply_style.toml`` so that it sees what the
    filter misses; spoken markdown — a list marker, heading or ``**`` in a spoken sentence —
    counts too)
repeated_sentence_rate
    spoken sentences that repeat one of her earlier replies in the same conversation
human_experience_claims
    spoken sentences claiming a body, a past or a human experience (the bench's own list)
first_person_confusions
    spoken sentences where she speaks as the user: their state echoed in her first person
    ("I'm so bored" to a bored user), a thing of theirs called hers ("my boss"), a run of their
    first-person words
words_per_reply
    spoken words per reply (median, p90): voice replies should be one to three sentences
negative_acknowledged_first
    of the turns marked negative, the share whose reply acknowledges the feeling (an
    acknowledgement word) before any advice
held_chars_turns, held_chars_total
    replies whose first sound waited on text the reply filter left out, and how many
    characters in all (deterministic given the text: the filter's cost to the first sound)
task_accuracy
    of the task turns, the share whose reply contains an expected answer (one of
    ``expect_any``, and every one of ``expect_all``, whose items may list alternatives as
    ``"a|b"``) and no forbidden one (a forbidden answer is the check on invented facts;
    free-text inventions are not scored)
task_declined, task_wrong
    task turns not right: declined plainly ("I'm not sure…"), or answered wrongly

The dev part is for tuning the voice; dev2 (``companion_dev2.json``) is a second dev set written
independently later (its first run is the honest "before" on unseen turns); the tasks part
(``companion_tasks.json``, task turns only) for tuning the task paths; the locked part is for
reporting only. ``--ids`` runs only the named cases of a part.

``--no-filter`` measures
the LM's raw text (the reply filter off), for a before/after comparison. ``--rescore REPORT``
scores the replies of a saved report again with the current scorer and references (no LM):
a change to the scorer is compared on the same replies. Repeats need her earlier replies,
saved since ``history_replies`` was added; an older report keeps its repeat counts.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal, cast

from her_desktop.bench.common import machine_info, percentile, write_report
from her_desktop.bench.companion_checks import help_desk, human_claim, speaks_as_user
from her_desktop.llm.style_phrases import normalize
from her_desktop.sentences import split_sentences

Part = Literal["dev", "dev2", "tasks", "locked"]
SETTLE_TIMEOUT_S = 300.0
"""How long the bench waits for the app's start-up work before the first turn."""
TURN_TIMEOUT_S = 600.0
"""A turn that takes longer than this is reported as failed (the LM deadline is far shorter)."""

_MARKDOWN = re.compile(r"^\s*(?:[-*+•]\s|\d{1,3}[.)]\s|#{1,6}\s)|\*\*|__|`")
_ACK = re.compile(
    r"\b(?:sorry|oh no|ugh|oof|aw+|ouch|that sounds|sounds (?:like|really|so|awful|hard|rough|"
    r"tough|exhausting|stressful|frustrating|scary|lonely|painful|heavy)|must (?:be|have|feel)|"
    r"i hear you|no wonder|what a|how (?:awful|hard|horrible|frustrating|scary|sad)|"
    r"that's (?:so |really |such |a )?(?:hard|rough|tough|awful|a lot|frustrating|stressful|"
    r"scary|painful|heavy|horrible|terrible|exhausting|sad|lonely|unfair|brutal)|"
    r"i can (?:imagine|only imagine|tell)|makes sense|of course you|i'm here|with you|"
    r"i (?:can |completely |totally |really |do )?(?:understand|get) (?:how|why|what|"
    r"that(?! you should)|it\b|the feeling)|"
    r"that hurts|heartbreaking|poor you|understandable|sad news|you (?:sound|seem) (?:really |so |"
    r"very |quite |a bit |pretty )?(?:stressed|worried|anxious|upset|sad|down|frustrated|"
    r"overwhelmed|exhausted|shaken|scared|hurt|low))\b",
    re.IGNORECASE,
)
_ADVICE = re.compile(
    r"\b(?:you should|you could|you might want|try (?:to |taking |talking |a |some )|"
    r"have you (?:tried|considered|thought about)|consider|make sure|it's important|here are|"
    r"one way|a good idea|i recommend|i suggest|how about you)\b",
    re.IGNORECASE,
)
_TOO_SLOW = re.compile(
    r"\b(?:too slow|thinking slowly|ask me (?:that )?again|try me again)\b", re.IGNORECASE
)
"""Her line for a reply the deadline cut before a sentence: no acknowledgement of anything."""
_DECLINE = re.compile(
    r"\b(?:not sure|don't know|do not know|no way (?:of|to) know|can't (?:say|know|translate)|"
    r"couldn't say|no idea|not confident|(?:don't|do not) have (?:any )?information)\b",
    re.IGNORECASE,
)


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Task:
    kind: str
    expect_any: tuple[str, ...]
    forbid: tuple[str, ...] = ()
    expect_all: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    category: str
    user: str
    history: tuple[str, ...] = ()
    negative: bool = False
    task: Task | None = None


def load_cases(part: Part) -> list[Case]:
    """The cases of one part of the bundled set."""
    path = files("her_desktop.bench").joinpath(f"data/companion_{part}.json")
    return parse_cases(path.read_text(encoding="utf-8"))


def parse_cases(text: str) -> list[Case]:
    """Cases from the JSON of a set: a list of {id, category, history, user, negative, task}."""
    cases = []
    for item in json.loads(text):
        task = item.get("task")
        cases.append(
            Case(
                id=str(item["id"]),
                category=str(item["category"]),
                user=str(item["user"]),
                history=tuple(str(h) for h in item.get("history") or ()),
                negative=bool(item.get("negative")),
                task=None
                if not task
                else Task(
                    kind=str(task["kind"]),
                    expect_any=tuple(str(x) for x in task.get("expect_any") or ()),
                    forbid=tuple(str(x) for x in task.get("forbid") or ()),
                    expect_all=tuple(str(x) for x in task.get("expect_all") or ()),
                ),
            )
        )
    return cases


def of_kinds(cases: Sequence[Case], kinds: str | None) -> list[Case]:
    """The task turns of the given kinds (comma-separated; "task": every task turn), or all
    cases when ``kinds`` is None."""
    if kinds is None:
        return list(cases)
    wanted = {k.strip() for k in kinds.split(",") if k.strip()}
    return [c for c in cases if c.task is not None and ("task" in wanted or c.task.kind in wanted)]


def with_ids(cases: Sequence[Case], ids: str | None) -> list[Case]:
    """The cases whose id is in ``ids`` (comma-separated), or all cases when it is None."""
    if ids is None:
        return list(cases)
    wanted = {i.strip() for i in ids.split(",") if i.strip()}
    return [c for c in cases if c.id in wanted]


def spread(cases: Sequence[Case], limit: int | None) -> list[Case]:
    """At most ``limit`` cases, spread evenly over the set (every category keeps a share)."""
    if limit is None or limit >= len(cases):
        return list(cases)
    limit = max(1, limit)
    return [cases[i * len(cases) // limit] for i in range(limit)]


# ---------------------------------------------------------------------------------------------
# Scoring (pure functions on text)
# ---------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower case, no accents, straight apostrophes: for matching reference answers."""
    decomposed = unicodedata.normalize("NFKD", normalize(text))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _sentence_key(sentence: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", normalize(sentence)))


@dataclass(slots=True)
class TurnScore:
    id: str
    category: str
    reply: str
    spoken: list[str]
    reason: str
    seconds: float
    words: int = 0
    cliches: list[str] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)
    human_claims: list[str] = field(default_factory=list)
    as_user: list[str] = field(default_factory=list)
    acknowledged_first: bool | None = None
    task_correct: bool | None = None
    task_declined: bool | None = None
    held_chars: int = 0
    history_replies: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "reply": self.reply,
            "reason": self.reason,
            "seconds": round(self.seconds, 2),
            "words": self.words,
            "cliches": self.cliches,
            "repeated": self.repeated,
            "human_claims": self.human_claims,
            "as_user": self.as_user,
            "acknowledged_first": self.acknowledged_first,
            "task_correct": self.task_correct,
            "task_declined": self.task_declined,
            "held_chars": self.held_chars,
            "history_replies": self.history_replies,
        }


def acknowledged_first(spoken: Sequence[str]) -> bool:
    """The reply acknowledges the feeling before any advice."""
    text = " ".join(spoken)
    ack = _ACK.search(text)
    if ack is None:
        return False
    advice = _ADVICE.search(text)
    return advice is None or ack.start() < advice.start()


def task_correct(reply: str, task: Task) -> bool:
    folded = _fold(reply)
    if any(_fold(f) in folded for f in task.forbid):
        return False
    if task.expect_any and not any(_fold(e) in folded for e in task.expect_any):
        return False
    return all(any(_fold(alt) in folded for alt in e.split("|")) for e in task.expect_all)


def declined(reply: str) -> bool:
    """The reply says plainly that she does not know or cannot do it."""
    return _DECLINE.search(normalize(reply)) is not None


def score_turn(
    case: Case,
    reply: str,
    spoken: Sequence[str],
    earlier_replies: Sequence[str],
    *,
    reason: str = "stop",
    seconds: float = 0.0,
) -> TurnScore:
    """Score one reply. ``spoken``: the sentences the voice got (the chat text when there is
    no voice); ``earlier_replies``: her replies earlier in the same conversation."""
    said_by_user = [*case.history, case.user]
    spoken = [s for s in spoken if s.strip()] or split_sentences(reply)
    score = TurnScore(case.id, case.category, reply, list(spoken), reason, seconds)
    score.history_replies = list(earlier_replies)
    score.words = sum(len(s.split()) for s in spoken)
    for sentence in spoken:
        found = help_desk(sentence)
        if found is not None:
            score.cliches.append(found)
        elif _MARKDOWN.search(sentence):
            score.cliches.append("markdown: " + sentence[:40])
        if human_claim(sentence) is not None:
            score.human_claims.append(sentence)
        if speaks_as_user(sentence, said_by_user) is not None:
            score.as_user.append(sentence)
    seen = {_sentence_key(s) for r in earlier_replies for s in split_sentences(r)}
    seen.discard("")
    score.repeated = [s for s in spoken if _sentence_key(s) in seen]
    if case.negative:
        said = [s for s in spoken if not _TOO_SLOW.search(s)]
        score.acknowledged_first = acknowledged_first(said)
    if case.task is not None:
        score.task_correct = task_correct(reply, case.task)
        score.task_declined = not score.task_correct and declined(reply)
    return score


def summarize_scores(scores: Sequence[TurnScore]) -> dict[str, Any]:
    """The headline figures over all scored turns."""
    n = len(scores)
    sentences = sum(len(s.spoken) for s in scores)
    negatives = [s.acknowledged_first for s in scores if s.acknowledged_first is not None]
    tasks = [s.task_correct for s in scores if s.task_correct is not None]
    words = [float(s.words) for s in scores]
    reasons: dict[str, int] = {}
    for s in scores:
        reasons[s.reason] = reasons.get(s.reason, 0) + 1

    def share(values: Sequence[bool]) -> float | None:
        return round(sum(values) / len(values), 3) if values else None

    return {
        "turns": n,
        "cliche_turns": sum(1 for s in scores if s.cliches),
        "cliche_rate": round(sum(1 for s in scores if s.cliches) / n, 3) if n else None,
        "repeated_sentences": sum(len(s.repeated) for s in scores),
        "repeated_sentence_rate": (
            round(sum(len(s.repeated) for s in scores) / sentences, 3) if sentences else None
        ),
        "human_experience_claims": sum(len(s.human_claims) for s in scores),
        "first_person_confusions": sum(len(s.as_user) for s in scores),
        "words_per_reply_median": statistics.median(words) if words else None,
        "words_per_reply_p90": percentile(words, 90) if words else None,
        "negative_turns": len(negatives),
        "negative_acknowledged_first": share(negatives),
        "task_turns": len(tasks),
        "task_accuracy": share(tasks),
        "task_declined": sum(1 for s in scores if s.task_declined),
        "task_wrong": sum(1 for s in scores if s.task_correct is False and not s.task_declined),
        "held_chars_turns": sum(1 for s in scores if s.held_chars),
        "held_chars_total": sum(s.held_chars for s in scores),
        "finish_reasons": reasons,
        "seconds_per_turn_median": (
            round(statistics.median(s.seconds for s in scores), 2) if scores else None
        ),
    }


# ---------------------------------------------------------------------------------------------
# Running the turns through the real App
# ---------------------------------------------------------------------------------------------


class _Listener:
    """Collects what one reply showed and said."""

    def __init__(self) -> None:
        self.spoken: dict[int, list[str]] = {}
        self.finished: asyncio.Queue[Any] = asyncio.Queue()

    async def on_event(self, event: Any) -> None:
        from her_desktop.events import ReplyFinished, ReplySentence

        if isinstance(event, ReplySentence):
            self.spoken.setdefault(event.turn_id, []).append(event.text)
        elif isinstance(event, ReplyFinished):
            await self.finished.put(event)


async def _say(app: Any, listener: _Listener, text: str) -> tuple[Any, list[str], float]:
    from her_desktop.events import UserText

    event = UserText(text)
    start = time.monotonic()
    await app.bus.publish(event)
    async with asyncio.timeout(TURN_TIMEOUT_S):
        while True:
            finished = await listener.finished.get()
            if finished.turn_id == event.turn_id:
                break
    spoken = listener.spoken.pop(event.turn_id, [])
    return finished, spoken, time.monotonic() - start


async def run_cases(
    app: Any, cases: Sequence[Case], done: Callable[[list[TurnScore]], None] | None = None
) -> list[TurnScore]:
    """Each case in a fresh conversation: history turns first, then the scored turn.
    ``done``: told the scores so far after each case (the partial report)."""
    from her_desktop.events import ReplyFinished, ReplySentence

    listener = _Listener()
    app.bus.subscribe((ReplySentence, ReplyFinished), listener.on_event, name="bench:companion")
    scores: list[TurnScore] = []
    for i, case in enumerate(cases):
        app.dialogue.reset()
        earlier: list[str] = []
        for line in case.history:
            said, _, _ = await _say(app, listener, line)
            earlier.append(said.text)
        finished, spoken, seconds = await _say(app, listener, case.user)
        reply = finished.text
        score = score_turn(case, reply, spoken, earlier, reason=finished.reason, seconds=seconds)
        score.held_chars = finished.held_chars
        scores.append(score)
        flags = [
            name
            for name, bad in (
                ("cliche", score.cliches),
                ("repeat", score.repeated),
                ("claim", score.human_claims),
                ("as-user", score.as_user),
                ("no-ack", score.acknowledged_first is False),
                ("declined", bool(score.task_declined)),
                ("wrong", score.task_correct is False and not score.task_declined),
            )
            if bad
        ]
        print(
            f"[{i + 1}/{len(cases)}] {case.id} {seconds:.1f}s {score.words}w "
            f"{' '.join(flags) or 'ok'}: {reply[:100]!r}",
            file=sys.stderr,
        )
        if done is not None:
            done(scores)
    return scores


async def measure(
    settings: Any,
    persona: Any,
    parts: Sequence[Part],
    *,
    limit: int | None = None,
    raw: bool = False,
    engine: Any = None,
    kinds: str | None = None,
    ids: str | None = None,
    partial: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the parts through a real App and return the report. ``partial``: given the report
    so far after each case (``"partial": true``, the part's cases done so far scored), so a
    run stopped early still leaves its figures."""
    from her_desktop.app import build_app

    app = build_app(settings, persona, engine=engine, with_memory=False)
    await app.start()
    app.dialogue.reply_style = not raw
    try:
        await app.dialogue.warm_up()
        # the first turn should not compete with the start-up work (a conversation is measured
        # here, not the start: ``bench voice`` does that)
        settled = await app.settled(SETTLE_TIMEOUT_S)
        report: dict[str, Any] = {
            "start_settled": settled,
            "bench": "companion",
            "machine": machine_info(),
            "lm": app.engine.info().model,
            "reply_filter": not raw,
            "persona": persona.name,
            "sampling": {
                "temperature": settings.llm.temperature,
                "top_p": settings.llm.top_p,
                "min_p": settings.llm.min_p,
                "repeat_penalty": settings.llm.repeat_penalty,
                "presence_penalty": settings.llm.presence_penalty,
                "max_tokens": settings.llm.max_tokens,
                "deadline_s": settings.llm.deadline_s,
            },
            "parts": {},
        }
        for part in parts:
            cases = spread(with_ids(of_kinds(load_cases(part), kinds), ids), limit)

            def entry(scores: list[TurnScore], cases: list[Case] = cases) -> dict[str, Any]:
                return {
                    "cases": len(cases),
                    "done": len(scores),
                    "subset": limit is not None or kinds is not None or ids is not None,
                    "kinds": kinds,
                    "ids": ids,
                    "summary": summarize_scores(scores),
                    "turns": [s.as_dict() for s in scores],
                }

            def so_far(
                scores: list[TurnScore], part: Part = part, cases: list[Case] = cases
            ) -> None:
                if partial is not None and len(scores) < len(cases):
                    parts_so_far = {**report["parts"], part: entry(scores, cases)}
                    partial(dict(report, partial=True, parts=parts_so_far))

            report["parts"][part] = entry(await run_cases(app, cases, so_far))
        return report
    finally:
        await app.stop()


def rescore(report: dict[str, Any]) -> dict[str, Any]:
    """``report`` (a saved bench report) with its replies scored again by the current scorer
    and references; the cases are found by id in the bundled parts."""
    cases = {c.id: c for part in ("dev", "dev2", "tasks", "locked") for c in load_cases(part)}
    out = dict(report, rescored=True, parts={})
    for name, part in report.get("parts", {}).items():
        scores = []
        for turn in part.get("turns", []):
            earlier = turn.get("history_replies")
            score = score_turn(
                cases[turn["id"]],
                turn["reply"],
                turn.get("spoken") or [],
                earlier or [],
                reason=turn.get("reason", "stop"),
                seconds=float(turn.get("seconds", 0.0)),
            )
            if earlier is None:  # saved before her earlier replies were: its count stays
                score.repeated = list(turn.get("repeated") or [])
            score.held_chars = int(turn.get("held_chars", 0))
            scores.append(score)
        out["parts"][name] = dict(
            part, summary=summarize_scores(scores), turns=[s.as_dict() for s in scores]
        )
    return out


def run_companion_bench(
    *,
    part: str = "dev",
    out: Path | None = None,
    model: str | None = None,
    limit: int | None = None,
    raw: bool = False,
    kinds: str | None = None,
    ids: str | None = None,
    rescored: Path | None = None,
) -> int:
    """``her-desktop bench companion``: 0 when it ran (the figures say how well)."""
    if rescored is not None:
        write_report(rescore(json.loads(rescored.read_text(encoding="utf-8"))), out)
        return 0
    from her_desktop.cli.common import load_config_and_persona, prepare_default_model
    from her_desktop.llm.base import LLMError

    settings, persona = load_config_and_persona()
    if model:
        settings.llm.model = model
    if settings.llm.engine == "llamacpp":
        prepare_default_model(settings.llm.model)
    parts: list[Part] = ["dev", "locked"] if part == "both" else [cast(Part, part)]
    try:
        report = asyncio.run(
            measure(
                settings,
                persona,
                parts,
                limit=limit,
                raw=raw,
                kinds=kinds,
                ids=ids,
                partial=None if out is None else lambda r: write_report(r, out),
            )
        )
    except LLMError as exc:
        print(f"! {exc}", file=sys.stderr)
        return 2
    write_report(report, out)
    return 0
