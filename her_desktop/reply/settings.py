"""The settings of one reply: the generation parameters and the reply filter."""

from __future__ import annotations

import dataclasses

from her_desktop.llm.base import GenerationParams
from her_desktop.llm.reply_filter import ReplyFilter, sentence_limit
from her_desktop.llm.style_phrases import StylePhrases
from her_desktop.llm.turn_guide import EXACT_GUIDES, Guide


def reply_params(
    params: GenerationParams, context_size: int, *, reply_style: bool
) -> GenerationParams:
    """The generation settings, with the reply capped at half the context so a prompt
    always has room (a configured cap larger than that cannot be honoured anyway)."""
    cap = max(1, min(params.max_tokens, context_size // 2))
    openers = StylePhrases.load().openers if reply_style else ()
    return dataclasses.replace(params, max_tokens=cap, banned_openers=openers)


def turn_params(params: GenerationParams, guide: Guide | None) -> GenerationParams:
    """The generation settings of one turn: a task's reply is its likeliest answer."""
    if guide is not None and guide.kind in EXACT_GUIDES:
        params = dataclasses.replace(params, temperature=0.0)
    return params


def reply_filter(
    system_prompt: str,
    recent: list[str],
    user_text: str,
    *,
    greeting: bool,
    reply_style: bool,
    own_name: str,
) -> ReplyFilter:
    """The filter for one reply: short unless the user asked for more; no sentence of
    her ``recent`` replies said again."""
    sentences, words = (2, 40) if greeting else sentence_limit(user_text)
    return ReplyFilter(
        private=system_prompt.split("\n", 1)[1] if "\n" in system_prompt else "",
        recent_replies=recent,
        max_sentences=sentences,
        max_words=words,
        passthrough=not reply_style,
        own_name=own_name,
        user_text=user_text,
    )


def out_of_time(deadline_s: float) -> str:
    """The notice of a reply the model did not finish within its deadline, in plain words."""
    return (
        f"The reply was cut off: the language model took longer than {deadline_s:g} s "
        "(llm.deadline_s in Settings). The computer may be busy, or the model too "
        "large for it."
    )
