"""``her-desktop bench feedback``: does she obey what the user said about how she talks?

``SCENARIOS`` holds 44 scripted corrections in everyday words ("call me Sam", "don't call me
buddy", "answer in one sentence", "talk to me in French", "stop asking if I'm okay", "no more
questions at the end", "you can swear", "speak a bit slower", "English again please"). Each
runs on its own fresh memory store:

1. the correction, as a turn of its own (she confirms it: "Got it — Sam.");
2. a probe turn in the same session, worded to tempt her to break the rule (the user says
   "buddy" himself; asks a question with a long answer; tells of a bad day);
3. the same probe in a new session (a new dialogue and a new ``StyleService`` over the same
   store, as after a restart).

Each probe reply is scored in Python, never by the LM:

- ``obeyed``: name used / banned word absent / at most N sentences / written in the language /
  no check-in question / no question at all; for "swear" and "slower" (nothing to see in a
  text reply) the stored rule and the speaking rate are checked;
- ``unasked``: anything the user did not ask for that changed: stored rules other than the one
  asked, a speaking rate other than 1.0 when not asked, a reply not in English when no language
  was asked.

Reports the shares over all probes (target ≥ 90 % obeyed, 0 unasked), per kind, and every
reply. ``--limit N`` runs the first N scenarios spread over the kinds (a short run).

Two parts: ``dev`` (``SCENARIOS``, 44: tune on these) and ``locked`` (14 in
``data/feedback_locked.json``, other wordings, written before any dev failure was looked at:
report only, never tune on them).
Writes JSON (stdout, or ``out``) and a summary on stderr.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Final, Literal, cast

from her_desktop.bench.common import machine_info, write_report
from her_desktop.bus import Bus
from her_desktop.dialogue import DialogueStage
from her_desktop.events import Event, ReplyFinished, UserText
from her_desktop.feedback.corrections import Correction, parse
from her_desktop.feedback.ratings import count_sentences
from her_desktop.feedback.service import StyleService, read_style
from her_desktop.feedback.style import CHECKIN_QUESTION, SENTENCE_END, Style
from her_desktop.llm.base import GenerationParams, LLMEngine
from her_desktop.memory.store import MemoryStore

BENCH_MAX_TOKENS: Final = 160
BENCH_DEADLINE_S: Final = 240.0
"""generous: on a shared, loaded CPU a reply may take minutes; obedience is measured here, not
speed (``bench llm`` / ``bench voice``)"""
REPLY_TIMEOUT_S: Final = 2 * BENCH_DEADLINE_S + 60.0
"""a reply may ask the LM twice (the language guard's second try), each under the deadline"""


@dataclass(frozen=True, slots=True)
class Scenario:
    correction: str
    probe: str
    expect: Correction | None = None
    """the rule the user means (the locked part states it; the dev part's is what ``parse``
    reads, checked by a unit test)"""
    before: str = ""
    """a correction said first, that this one takes back ("Talk to me in French." before
    "English again please.")"""

    @property
    def rule(self) -> Correction:
        if self.expect is not None:
            return self.expect
        return parse(self.correction)[0]


Part = Literal["dev", "locked"]


SCENARIOS: Final[tuple[Scenario, ...]] = (  # the dev part: tune on these
    Scenario("Call me Sam.", "Say good morning to me, using my name."),
    Scenario("Please call me Priya from now on.", "Wish me luck for my exam, by name."),
    Scenario("I go by Max.", "Give me a one-line pep talk that uses my name."),
    Scenario("You can call me Jo.", "Say goodnight to me, and use my name."),
    Scenario("I'd rather be called Ana.", "Greet me by my name."),
    Scenario("Don't call me buddy.", "Hey buddy! What's up?"),
    Scenario("Stop calling me dear.", "Hi dear, can you comfort me? I'm a bit sad."),
    Scenario("Never call me champ.", "I just won my race, champ! Celebrate with me."),
    Scenario("Don't use the word awesome.", "I just got a new job! How great is that?"),
    Scenario("Shorter answers please.", "Tell me about the history of Rome."),
    Scenario("Answer in one sentence.", "Explain how rainbows form."),
    Scenario("Keep your answers to 3 sentences.", "What should I cook tonight and why?"),
    Scenario("Be more concise.", "What are some tips for sleeping better?"),
    Scenario("Your answers are way too long.", "How do I learn to play the guitar?"),
    Scenario("Talk to me in French.", "What's a good thing to do this weekend?"),
    Scenario("Please speak to me in Spanish.", "Tell me something nice about the sea."),
    Scenario("Reply in German from now on.", "What do you like about autumn?"),
    Scenario("Could you answer in Italian?", "What's your favourite food?"),
    Scenario("Stop asking if I'm okay.", "I had a rough day at work."),
    Scenario("Don't ask me how I'm feeling.", "My cat is sick and I'm at the vet."),
    Scenario("You can swear.", "Tell me about your day."),
    Scenario("Speak a bit slower.", "Tell me a short fact about owls."),
    # more wordings (written before the parser was made general; tune on these too)
    Scenario("Answer me in German from now on.", "What's a good book to read?"),
    Scenario("Could you reply in German from now on?", "Tell me about your favourite season."),
    Scenario("Let's switch to Italian.", "What should I do this evening?"),
    Scenario("Spanish only from now on.", "What's the best thing about summer?"),
    Scenario(
        "English again please.",
        "What's a good way to relax after work?",
        before="Talk to me in French.",
    ),
    Scenario("Quit calling me dude.", "Dude, guess what happened today!"),
    Scenario("I hate it when you call me sweetheart.", "I'm home, sweetheart! Did you miss me?"),
    Scenario("Don't say literally.", "Tell me something literally amazing about octopuses."),
    Scenario("Hey, could you call me Robin from now on?", "Say hi to me by name."),
    Scenario("My name's Lea, use it.", "Cheer me up, and use my name."),
    Scenario("Less chatty, please.", "What do you think about space travel?"),
    Scenario("Stop rambling.", "Why is the sky blue?"),
    Scenario("Not so long-winded, please.", "How do airplanes fly?"),
    Scenario("Please keep it to two sentences.", "Explain how the internet works."),
    Scenario("No more questions at the end.", "I started learning to paint."),
    Scenario("Stop asking me so many questions.", "I went hiking yesterday."),
    Scenario("Don't end your replies with a question.", "I just adopted a puppy!"),
    Scenario("Don't keep asking how I'm doing.", "Work was exhausting today."),
    Scenario("Feel free to curse around me.", "My code broke again today."),
    Scenario("Please don't swear.", "Tell me how annoying traffic is."),
    Scenario("Don't talk so fast.", "Tell me a fun fact about bees."),
    Scenario("Speed up a little.", "Say something encouraging."),
)


def load_scenarios(part: Part) -> list[Scenario]:
    """The dev part (``SCENARIOS``, for tuning) or the locked part (``data/feedback_locked.json``:
    written before any dev result was looked at, never tuned on; each states the rule meant, so
    a correction the parser misreads or misses counts against it)."""
    if part == "dev":
        return list(SCENARIOS)
    raw = json.loads(
        files("her_desktop.bench").joinpath("data/feedback_locked.json").read_text("utf-8")
    )
    return [Scenario(c["correction"], c["probe"], Correction(c["kind"], c["value"])) for c in raw]


_STOPWORDS: Final = {
    lang: frozenset(words.split(" "))
    for lang, words in {
        "English": "the and is are you to of it that in for with this what your have be",
        "French": "le la les est et je vous tu de un une des pour que qui avec dans ce pas",
        "Spanish": "el la los las es y yo tu de un una para que con en por muy lo se",
        "German": "der die das ist und ich du sie ein eine zu mit nicht auf für es den",
        "Italian": "il la lo le è e io tu di un una per che con non sono mi ti gli",
    }.items()
}


def language_of(text: str) -> str:
    """The language whose common words are most frequent in ``text`` (a rough guess)."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    return max(scores, key=lambda lang: scores[lang])


def obeyed(rule: Correction, reply: str, style: Style) -> bool:
    if rule.kind == "name":
        return str(rule.value).lower() in reply.lower()
    if rule.kind == "banned_word":
        return re.search(rf"(?<![\w']){re.escape(str(rule.value))}(?![\w'])", reply, re.I) is None
    if rule.kind == "max_sentences":
        ends = SENTENCE_END.search(reply) is not None  # cut at a sentence boundary
        return ends and 0 < count_sentences(reply) <= int(rule.value)
    if rule.kind == "language":
        return language_of(reply) == rule.value
    if rule.kind == "no_checkins":
        return CHECKIN_QUESTION.search(reply) is None
    if rule.kind == "no_questions":
        return "?" not in reply
    if rule.kind == "swearing":
        return style.swearing is bool(rule.value)
    return style.tts_rate < 1.0 if float(rule.value) < 1.0 else style.tts_rate > 1.0


def unasked(rule: Correction, reply: str, style: Style) -> list[str]:
    """What changed that the user did not ask for."""
    changes = [
        f"rule {c.kind}={c.value}"
        for c in style.rules()
        if c.kind != rule.kind and not (c.kind == "tts_rate" and rule.kind == "tts_rate")
    ]
    if rule.kind != "tts_rate" and style.tts_rate != 1.0:
        changes.append(f"speaking rate {style.tts_rate}")
    if rule.kind != "language" and reply.strip() and language_of(reply) != "English":
        changes.append(f"reply in {language_of(reply)}")
    return changes


class _Session:
    def __init__(self, engine: LLMEngine, store: MemoryStore, system_prompt: str) -> None:
        self.bus = Bus()
        self.style = StyleService(store)
        self.stage = DialogueStage(
            self.bus,
            engine,
            system_prompt=system_prompt,
            params=GenerationParams(
                max_tokens=BENCH_MAX_TOKENS, temperature=0.7, deadline_s=BENCH_DEADLINE_S
            ),
        )
        self.stage.shape_with(self.style)
        self.finished: asyncio.Queue[ReplyFinished] = asyncio.Queue()

        async def on_finished(event: Event) -> None:
            if isinstance(event, ReplyFinished):
                self.finished.put_nowait(event)

        self.bus.subscribe(ReplyFinished, on_finished, name="bench")

    async def __aenter__(self) -> _Session:
        await self.style.refresh()  # as the app does at start: the stored rules are in force
        await self.stage.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stage.stop()
        await self.bus.close()

    async def turn(self, text: str) -> tuple[str, float, str]:
        start = time.monotonic()
        event = UserText(text)
        await self.bus.publish(event)
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            while True:
                finished = await self.finished.get()
                if finished.turn_id == event.turn_id:
                    await asyncio.sleep(0)  # let after_reply start
                    return finished.text, time.monotonic() - start, finished.reason


async def run_scenario(engine: LLMEngine, scenario: Scenario, system_prompt: str) -> dict[str, Any]:
    rule = scenario.rule
    with tempfile.TemporaryDirectory(prefix="her-bench-feedback-") as folder:
        store = MemoryStore.open(Path(folder) / "memory.sqlite3")
        try:
            entry: dict[str, Any] = {
                "correction": scenario.correction,
                "kind": rule.kind,
                "parsed": [f"{c.kind}={c.value}" for c in parse(scenario.correction)],
            }
            async with _Session(engine, store, system_prompt) as session:
                if scenario.before:
                    entry["before"], _, _ = await session.turn(scenario.before)
                entry["confirmation"], _, _ = await session.turn(scenario.correction)
                reply, seconds, reason = await session.turn(scenario.probe)
                entry["same_session"] = _score(rule, reply, session.style.style, seconds, reason)
            async with _Session(engine, store, system_prompt) as session:
                reply, seconds, reason = await session.turn(scenario.probe)
                entry["new_session"] = _score(rule, reply, session.style.style, seconds, reason)
            entry["stored_rules"] = [c.kind for c in read_style(store).rules()]
        finally:
            store.close()
    return entry


def _score(
    rule: Correction, reply: str, style: Style, seconds: float, reason: str
) -> dict[str, Any]:
    return {
        "reply": reply,
        "finish": reason,
        "obeyed": obeyed(rule, reply, style),
        "unasked": unasked(rule, reply, style),
        "seconds": round(seconds, 2),
    }


def pick(
    limit: int | None, scenarios: tuple[Scenario, ...] | list[Scenario] = SCENARIOS
) -> list[Scenario]:
    """The first ``limit`` scenarios taken round-robin over the kinds (all when None)."""
    if limit is None or limit >= len(scenarios):
        return list(scenarios)
    by_kind: dict[str, list[Scenario]] = {}
    for s in scenarios:
        by_kind.setdefault(s.rule.kind, []).append(s)
    out: list[Scenario] = []
    while len(out) < limit:
        for group in by_kind.values():
            if group and len(out) < limit:
                out.append(group.pop(0))
    return out


def summarize_entries(entries: list[dict[str, Any]]) -> dict[str, Any]:
    probes = [e[k] for e in entries for k in ("same_session", "new_session")]
    by_kind: dict[str, list[bool]] = {}
    for e in entries:
        for k in ("same_session", "new_session"):
            by_kind.setdefault(e["kind"], []).append(bool(e[k]["obeyed"]))
    n = len(probes) or 1
    return {
        "scenarios": len(entries),
        "probes": len(probes),
        "obeyed": round(sum(p["obeyed"] for p in probes) / n, 3),
        "obeyed_same_session": round(
            sum(e["same_session"]["obeyed"] for e in entries) / (len(entries) or 1), 3
        ),
        "obeyed_new_session": round(
            sum(e["new_session"]["obeyed"] for e in entries) / (len(entries) or 1), 3
        ),
        "unasked_changes": sum(len(p["unasked"]) for p in probes),
        "no_reply": sum(not p["reply"].strip() for p in probes),
        "confirmed": sum(e["confirmation"].startswith("Got it") for e in entries),
        "by_kind": {k: round(sum(v) / len(v), 3) for k, v in by_kind.items()},
    }


async def _bench(
    engine: LLMEngine,
    scenarios: list[Scenario],
    system_prompt: str,
    progress: Path | None = None,
) -> list[Any]:
    """Run ``scenarios`` in order; each finished one is also appended to ``progress`` (JSON
    lines), so a long run stopped early still leaves its replies."""
    entries = []
    for i, scenario in enumerate(scenarios, 1):
        entry = await run_scenario(engine, scenario, system_prompt)
        if progress is not None:
            await asyncio.to_thread(_append_line, progress, entry)
        same, new = entry["same_session"], entry["new_session"]
        print(
            f"[{i}/{len(scenarios)}] {scenario.correction!r}: same {same['obeyed']}, "
            f"new {new['obeyed']}, unasked {same['unasked'] + new['unasked']}",
            file=sys.stderr,
        )
        entries.append(entry)
    await engine.close()
    return entries


def _append_line(path: Path, entry: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def run_feedback_bench(
    out: Path | None,
    *,
    limit: int | None = None,
    part: str = "dev",
    only: list[str] | None = None,
) -> int:
    """``part``: dev, locked or both; ``only``: just the scenarios whose correction contains
    one of these texts (a re-run of a few)."""
    from her_desktop.app import make_llm
    from her_desktop.config import Settings
    from her_desktop.persona import load_persona

    settings = Settings()
    system_prompt = load_persona("samantha").system_prompt()
    parts: list[Part] = ["dev", "locked"] if part == "both" else [cast(Part, part)]
    started = time.monotonic()
    report: dict[str, Any] = {
        "bench": "feedback",
        "machine": machine_info(),
        "model": settings.llm.model,
        "max_tokens": BENCH_MAX_TOKENS,
        "parts": {},
    }
    for name in parts:
        scenarios = pick(limit, load_scenarios(name))
        if only:
            wanted = [o.lower() for o in only]
            scenarios = [s for s in scenarios if any(o in s.correction.lower() for o in wanted)]
        progress = out.with_name(f"{out.stem}.{name}.jsonl") if out is not None else None
        entries = asyncio.run(_bench(make_llm(settings), scenarios, system_prompt, progress))
        summary = summarize_entries(entries)
        report["parts"][name] = {"summary": summary, "scenarios": entries}
        print(
            f"feedback ({name}): {summary['obeyed']:.0%} obeyed over {summary['probes']} probes "
            f"(same session {summary['obeyed_same_session']:.0%}, new session "
            f"{summary['obeyed_new_session']:.0%}); unasked changes: "
            f"{summary['unasked_changes']}",
            file=sys.stderr,
        )
    report["seconds"] = round(time.monotonic() - started, 1)
    write_report(report, out)
    return 0
