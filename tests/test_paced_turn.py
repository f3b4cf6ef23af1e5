"""``scripts/paced_turn.py``: the partial transcripts it says, and its summary (no model)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "paced_turn.py"


def _script(name: str = "paced_turn") -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPT.with_name(f"{name}.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_partials_every_two_words_or_one_with_a_share_of_them() -> None:
    partials = _script().partials
    question = "What is a good name for a cat?"
    assert partials(question, None) == ["What is", "What is a good", "What is a good name for"]
    assert partials(question, 0.65) == ["What is a good name"]  # 5 of its 8 words
    assert partials(question, 2) == ["What is a good name for"]  # all but the last two
    assert partials("Hi!", 0.65) == []  # it would hold every word: the pause says it all
    assert partials("Hi there", None) == []


def test_summary_counts_each_way_apart() -> None:
    summary = _script().summary
    runs = [
        {
            "notes_told_ahead": True,
            "adopted_with_tokens": True,
            "read_after_end": 0,
            "read_after_words": words,
        }
        for words in (9, 13, 32)
    ] + [
        {
            "notes_told_ahead": False,
            "adopted_with_tokens": False,
            "read_after_end": 47,
            "read_after_words": 47,
        }
    ]
    out = summary(runs)
    assert out["notes_told_ahead"] == {
        "turns": 3,
        "adopted_with_tokens": 3,
        "read_after_end_median": 0,
        "read_after_words_median": 13,
        "read_after_words_mean": 18.0,
        "read_after_words_max": 32,
    }
    assert out["without_notes_ahead"]["read_after_words_median"] == 47
    assert summary([r for r in runs if r["notes_told_ahead"]]).keys() == {"notes_told_ahead"}


def test_prompt_orders_put_the_parts_as_named() -> None:
    orders = _script("prompt_orders")
    fenced = orders.FENCE.format(notes="N")
    assert orders.content("notes-words-guide", "W", "N", "G") == f"{fenced}\n\nW\n\n(G)"
    assert orders.content("words-notes-guide", "W", "N", "G") == f"W\n\n{fenced}\n\n(G)"
    assert orders.content("notes-guide-words", "W", "", "G") == "(G)\n\nW"
    assert orders.content("stable-notes", "W", "", "") == "W"
    assert orders.partial("a b c d e f g h", 0.65) == "a b c d e"
    assert orders.partial("a b c d e f g h", 2) == "a b c d e f"


def test_the_prompt_as_it_is_matches_its_order_in_prompt_orders() -> None:
    from her_desktop.reply.prompt import turn_prompt

    orders = _script("prompt_orders")
    prompt = turn_prompt("S", [], {}, 0, "W", "N", "G", budget=10_000, count=lambda m: 1)
    assert prompt.messages[-1].content == orders.content("notes-words-guide", "W", "N", "G")
