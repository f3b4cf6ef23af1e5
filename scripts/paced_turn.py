"""Prompt tokens the LM reads after the end of a voice turn, counted (not timed) on the real
default LM with the app's providers (affect's tone note, the style block), as ``bench voice``
builds the app (no memory).

Each question of ``bench voice`` is fed to the dialogue as the transcriber would: a live partial
every two words, then the whole question at the pause, then the turn's end (``UserText``). The
LM is let keep up, as on a machine fast enough for speech: each read-ahead finishes before the
next partial, and the reply begun at the pause has written its first token when the turn ends.
So the counts do not depend on how loaded the machine is. Each question runs twice: with the
notes told ahead (``NotesPreview``, now) and with speculative prompts that lack the notes (as
before it). Usage::

    PYTHONPATH=. nice python scripts/paced_turn.py [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
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


async def _turn(app: App, question: str, turn_id: int) -> dict[str, Any]:
    stage = app.dialogue
    stage.reset()
    await _fresh_conversation(app)
    done: asyncio.Queue[ReplyFinished] = asyncio.Queue()

    async def on_finished(event: ReplyFinished) -> None:
        if event.turn_id == turn_id:
            done.put_nowait(event)

    app.bus.subscribe(ReplyFinished, on_finished, name=f"paced-{turn_id}")
    words = question.split()
    for n in range(2, len(words), 2):
        await app.bus.publish(PartialTranscript(turn_id, " ".join(words[:n]), pause=False))
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
        "prompt_tokens": finished.prompt_tokens,
        "note_in_prompt": "[Context for this turn"
        in stage._conversation.sent.get(stage.history[-2], ""),
    }


async def main() -> dict[str, Any]:
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
        for question in QUESTIONS:
            for ahead in (True, False):
                turn_id += 1
                if ahead:
                    run = await _turn(app, question, turn_id)
                else:  # the speculative prompts without the notes, as before NotesPreview
                    with mock.patch.object(app.dialogue, "_preview_notes", return_value=""):
                        run = await _turn(app, question, turn_id)
                run["notes_told_ahead"] = ahead
                runs.append(run)
                print(json.dumps(run), file=sys.stderr)
    finally:
        await app.stop()
    return {"bench": "paced_turn", "runs": runs}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None)
    out = parser.parse_args().out
    text = json.dumps(asyncio.run(main()), indent=2)
    if out is not None:
        out.write_text(text + "\n")
    else:
        print(text)
