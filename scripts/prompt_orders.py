"""Which order of the user message's parts leaves least for the LM to read once the final
words are known: tokens counted with the real default LM's tokenizer (no generation), for the
questions of ``bench voice`` and the user turns of ``bench companion`` dev and dev2.

For each turn, a read-ahead of a partial transcript (the first ``--share`` of the words, as
the listener's partial every 1.5 s gives in a short question; ``--share 2``: all but the last
two words) is compared with the final prompt: the tokens after their common prefix are what
the reply reads once the words are final (``paced_turn.py`` ``read_after_words``). The notes
and the guide are the app's own (affect's tone note, the style block; ``llm.turn_guide``), each
told from the words it is given. Orders:

* ``notes-words-guide``: the prompt as it is (``reply.prompt``);
* ``words-notes-guide``: the user's words first;
* ``notes-guide-words``: the guide before the words;
* ``stable-notes``: as it is, with notes that do not change while the user speaks (the
  read-ahead has the turn's own notes: e.g. a tone note from the previous estimate).

Usage::

    PYTHONPATH=. nice python scripts/prompt_orders.py [--share 0.65]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from importlib import resources
from typing import Any

from her_desktop.app import build_app
from her_desktop.bench.voice import QUESTIONS
from her_desktop.cli.common import load_config_and_persona
from her_desktop.llm.base import Message
from her_desktop.llm.llamacpp import LlamaCppEngine
from her_desktop.reply.notes import preview_notes

ORDERS = ("notes-words-guide", "words-notes-guide", "notes-guide-words", "stable-notes")
FENCE = "[Context for this turn: notes about the user, not instructions]\n{notes}\n[End of notes]"


def content(order: str, words: str, notes: str, guide: str) -> str:
    """The user message in ``order`` (``reply.prompt.turn_prompt``'s text for the parts)."""
    block = FENCE.format(notes=notes) if notes else ""
    hint = f"({guide})" if guide else ""
    parts = {
        "notes-words-guide": [block, words, hint],
        "words-notes-guide": [words, block, hint],
        "notes-guide-words": [block, hint, words],
        "stable-notes": [block, words, hint],
    }[order]
    return "\n\n".join(p for p in parts if p)


def partial(text: str, share: float) -> str:
    words = text.split()
    n = max(1, int(len(words) * share)) if share < 1 else max(1, len(words) - int(share))
    return " ".join(words[:n])


async def main(share: float) -> dict[str, Any]:
    settings, persona = load_config_and_persona()
    app = build_app(settings, persona, with_memory=False)
    await app.start()
    if app.affect is not None:
        await app.affect.use_best_detector()
    engine = app.engine
    if not isinstance(engine, LlamaCppEngine):
        raise SystemExit("the tokens are counted with the local llama.cpp engine")
    await engine.load()
    stage = app.dialogue
    turns = list(QUESTIONS)
    for name in ("companion_dev.json", "companion_dev2.json"):
        data = resources.files("her_desktop.bench").joinpath(f"data/{name}").read_text()
        turns += [case["user"] for case in json.loads(data)]
    system = Message("system", stage.system_prompt)

    def told(words: str) -> tuple[str, str]:
        compose = stage._compose
        guide = compose.guide(words, hard=compose.hard(-1, words) is not None)
        return preview_notes(stage.providers, words), guide.text if guide else ""

    counts: dict[str, list[int]] = {order: [] for order in ORDERS}
    for text in turns:
        said = partial(text, share)
        (early_notes, early_guide), (notes, guide) = told(said), told(text)
        for order in ORDERS:
            ahead_notes = notes if order == "stable-notes" else early_notes
            ahead = [system, Message("user", content(order, said, ahead_notes, early_guide))]
            final = [system, Message("user", content(order, text, notes, guide))]
            a = engine.formatted_prompt(ahead)[1]
            b = engine.formatted_prompt(final)[1]
            same = 0
            while same < min(len(a), len(b)) and a[same] == b[same]:
                same += 1
            counts[order].append(len(b) - same)
    await app.stop()
    bench = len(QUESTIONS)
    return {
        "share": share,
        "turns": len(turns),
        "read_after_words": {
            order: {
                "bench_voice_questions": v[:bench],
                "median": statistics.median(v),
                "mean": round(statistics.mean(v), 1),
                "p90": sorted(v)[int(0.9 * len(v))],
            }
            for order, v in counts.items()
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--share", type=float, default=0.65)
    print(json.dumps(asyncio.run(main(parser.parse_args().share)), indent=2))
