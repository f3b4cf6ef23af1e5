"""Everyday phrases translated from a hand-checked phrasebook instead of by the LM.

The small default LM mistranslates even the commonest phrases ("I love you" in Italian came
out as "Mi piace te" and, with a tone example in the prompt, "Grazie"). A request to translate
one of the phrases in ``data/phrasebook.toml`` (greetings, thanks, apologies, "I love you",
"where is the station" … into French, Spanish, Italian, German, Portuguese or Dutch) is
answered from the book; anything else goes to the LM as usual, guided by ``turn_guide``.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import tomllib

from her_desktop.llm.turn_guide import translation_request

__all__ = ["phrase_answer"]

_TRAILING = re.compile(r"[\s.!?¡¿,;:]+$")


@functools.cache
def _book() -> dict[str, dict[str, str]]:
    raw = (
        importlib.resources.files("her_desktop.llm")
        .joinpath("data/phrasebook.toml")
        .read_text(encoding="utf-8")
    )
    return {lang.capitalize(): dict(phrases) for lang, phrases in tomllib.loads(raw).items()}


def _key(phrase: str) -> str:
    flat = " ".join(phrase.replace("’", "'").lower().split())
    return _TRAILING.sub("", flat)


def phrase_answer(user_text: str) -> str | None:
    """The reply to a translation request for a phrase in the book, else None."""
    request = translation_request(user_text)
    if request is None:
        return None
    phrase, lang = request
    translated = _book().get(lang, {}).get(_key(phrase))
    if translated is None:
        return None
    end = "" if translated[-1] in ".?!" else "."
    return f"In {lang}: {translated}{end}"
