"""Prompt tokens the LM reads after the end of a voice turn, counted (not timed) on the real
default LM with the app's providers (affect's tone note, the style block), as ``bench voice``
builds the app (no memory).

Each question of ``bench voice`` is fed to the dialogue as the transcriber would: live partials
(by default one every two words; ``--share 0.65``: one only, with the first 65 % of the words,
as the listener's partial every 1.5 s gives in a short question; ``--share 2``: one with all
but the last two words), then the whole question at
the pause, then the turn's end (``UserText``). The LM is let keep up: each read-ahead finishes
before the next partial, and the reply begun at the pause has written its first token when the
turn ends. So the counts do not depend on how loaded the machine is. Per turn:

* ``read_after_end``: what the LM read after the end (0 when the reply begun at the pause was
  adopted with a token written: the LM kept up);
* ``read_after_words``: what the reply read once the final words were known (its prompt less
  what the read-aheads had put in the cache): what the first token waits for when the pause's
  transcript comes as the turn ends (``bench voice`` ``head_start_s`` about 0, the end of turn
  waiting for that transcript).

Each question runs twice: with the notes told ahead (``NotesPreview``, now) and with
speculative prompts that lack the notes (as before it; ``--ahead-only`` skips that).
``--companion N`` adds the first N user turns of ``bench companion``'s dev part (each in a fresh
conversation, its history left out). Usage::

    PYTHONPATH=. nice python scripts/paced_turn.py [--share 0.65] [--companion 20] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any
from unittest import mock

from her_desktop.app import App, build_app
from her_desktop.bench.voice import QUESTIONS, _fresh_conversation
from her_desktop.cli.common import load_config_and_persona
from her_desktop.events import PartialTranscript, ReplyFinished, UserText

WAIT_S = 600.0  # a very loaded machine reads a few tokens a second


async def _until(check: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.02)


def partials(question: str, share: float | None) -> list[str]:
    """The live partial transcripts said before the pause: every two words, or (``share``)
    one with that share of the words, or with all but the last ``share`` words when it is 1
    or more (none when it would hold every word)."""
    words = question.split()
    if share is None:
        return [" ".join(words[:n]) for n in range(2, len(words), 2)]
    n = max(1, int(len(words) * share) if share < 1 else len(words) - int(share))
    return [" ".join(words[:n])] if n < len(words) else []


async def _turn(app: App, question: str, turn_id: int, share: float | None) -> dict[str, Any]:
    stage = app.dialogue
    stage.reset()
    await _fresh_conversation(app)
    done: asyncio.Queue[ReplyFinished] = asyncio.Queue()

    async def on_finished(event: ReplyFinished) -> None:
        if event.turn_id == turn_id:
            done.put_nowait(event)

    app.bus.subscribe(ReplyFinished, on_finished, name=f"paced-{turn_id}")
    for said in partials(question, share):
        await app.bus.publish(PartialTranscript(turn_id, said, pause=False))
        await _until(
            lambda: (
                stage._ahead.spec is not None and stage._ahead.spec.stats.finish_reason is not None
            ),
            "read-ahead",
        )
    await app.bus.publish(PartialTranscript(turn_id, question, pause=True))
    await _until(
        lambda: (
            stage._ahead.spec is not None
            and stage._ahead.spec.kind == "reply"
            and (stage._ahead.spec.stats.tokens > 0 or not stage._ahead.spec.running)
        ),
        "reply at the pause",
    )
    await app.bus.publish(UserText(question, turn_id=turn_id, source="voice"))
    finished = await asyncio.wait_for(done.get(), WAIT_S)
    return {
        "question": question,
        "speculation": finished.speculation,
        "adopted_with_tokens": finished.speculative and finished.written_ahead > 0,
        "read_after_end": finished.read_after_end,
        "read_after_words": finished.prompt_tokens - finished.cached_tokens,
        "prompt_tokens": finished.prompt_tokens,
        "note_in_prompt": "[Context for this turn"
        in stage._conversation.sent.get(stage.history[-2], ""),
    }


def _companion_turns(count: int) -> list[str]:
    data = resources.files("her_desktop.bench").joinpath("data/companion_dev.json").read_text()
    return [case["user"] for case in json.loads(data)[:count]]


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians and means of the counts, with the notes told ahead and without."""
    out: dict[str, Any] = {}
    for ahead in (True, False):
        mine = [r for r in runs if r["notes_told_ahead"] is ahead]
        if not mine:
            continue
        words = [r["read_after_words"] for r in mine]
        out["notes_told_ahead" if ahead else "without_notes_ahead"] = {
            "turns": len(mine),
            "adopted_with_tokens": sum(bool(r["adopted_with_tokens"]) for r in mine),
            "read_after_end_median": statistics.median(r["read_after_end"] for r in mine),
            "read_after_words_median": statistics.median(words),
            "read_after_words_mean": round(statistics.mean(words), 1),
            "read_after_words_max": max(words),
        }
    return out


async def main(share: float | None, companion: int, ahead_only: bool) -> dict[str, Any]:
    settings, persona = load_config_and_persona()
    app = build_app(settings, persona, with_memory=False)
    await app.start()
    if app.affect is not None:  # the detector the app upgrades to in the background
        await app.affect.use_best_detector()
    await app.dialogue.warm_up()
    app.dialogue.speculate = True
    runs: list[dict[str, Any]] = []
    turn_id = 1000
    try:
        for question in [*QUESTIONS, *_companion_turns(companion)]:
            for ahead in (True,) if ahead_only else (True, False):
                turn_id += 1
                if ahead:
                    run = await _turn(app, question, turn_id, share)
                else:  # the speculative prompts without the notes, as before NotesPreview
                    with mock.patch.object(app.dialogue, "_preview_notes", return_value=""):
                        run = await _turn(app, question, turn_id, share)
                run["notes_told_ahead"] = ahead
                runs.append(run)
                print(json.dumps(run), file=sys.stderr)
    finally:
        await app.stop()
    return {
        "bench": "paced_turn",
        "partials": "every two words" if share is None else f"one ({share:g} of the words)",
        "summary": summary(runs),
        "runs": runs,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--share", type=float, default=None, help="one partial with this share")
    parser.add_argument("--companion", type=int, default=0, help="add N companion dev turns")
    parser.add_argument("--ahead-only", action="store_true", help="only with notes told ahead")
    args = parser.parse_args()
    report = asyncio.run(main(args.share, args.companion, args.ahead_only))
    text = json.dumps(report, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")
    else:
        print(text)
