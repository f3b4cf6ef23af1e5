"""Markdown in a reply chunk, made fit for a voice.

The LM sometimes writes markdown (lists, headings, bold) although the persona forbids it. The
voice must never read it out, so every chunk the sentence splitter hands out (a sentence or a
line: the splitter ends a chunk at every newline) goes through :func:`convert` first. The chat
window renders markdown (a list the user asked for shows as a list), so the shown form is the
chunk as written; only the spoken form changes:

- a heading (``## Tips``, a line that is only bold text, or a short line ending in ``:``) is
  not spoken;
- a list item (``- x``, ``* x``, ``1. x``, ``a) x``) is spoken without its marker, as a
  sentence (a full stop is added where it has none);
- a horizontal rule, a table row or a fenced code block is never spoken;
- inline marks (``**bold**``, ``*em*``, ``_em_``, ``~~x~~``, `` `code` ``, ``[text](url)``)
  are spoken as their text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["SpokenChunk", "convert"]

ChunkKind = Literal["prose", "item", "heading", "code", "rule", "skip"]

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s*([-*_=])(?:\s*\1){2,}\s*$")
_TABLE = re.compile(r"^\s*\|.*\|\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•●▪◦‣]|\d{1,3}[.)]|[a-zA-Z][)])\s+")
_BOLD_ONLY = re.compile(r"^\s*(\*\*|__)(.+?)\1\s*:?\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_STRONG = re.compile(r"(\*\*|__)(.+?)\1")
_EM_STAR = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_EM_UNDER = re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])")
_STRIKE = re.compile(r"~~(.+?)~~")
_CODE = re.compile(r"`+([^`]*)`+")
_QUOTE = re.compile(r"^\s*>\s?")
_STRAY = re.compile(r"(?:(?<=\s)(?<!\d\s)|^)[*#]+(?=\s|$)|\*\*|__")
_SPACES = re.compile(r"[ \t]{2,}")
_TERMINAL = ".!?…:;,\"')»”’"


@dataclass(frozen=True, slots=True)
class SpokenChunk:
    kind: ChunkKind
    spoken: str
    """What the voice says ("" for nothing)."""
    shown: str
    """What the chat shows: the chunk as written ("" for nothing)."""


def _inline(text: str) -> str:
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _STRIKE.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _EM_STAR.sub(r"\1", text)
    text = _EM_UNDER.sub(r"\1", text)
    text = _STRAY.sub("", text)
    return _SPACES.sub(" ", text).strip()


def _as_sentence(text: str) -> str:
    """A list item spoken as a sentence: a full stop where it ends without punctuation."""
    if text and text[-1] not in _TERMINAL and (text[-1].isalnum() or text[-1] in ")]"):
        return text + "."
    if text.endswith(":"):
        return text[:-1].rstrip() + "."
    return text


def convert(chunk: str) -> SpokenChunk:
    """Classify one splitter chunk and give its spoken form."""
    shown = chunk.strip()
    if not shown:
        return SpokenChunk("skip", "", "")
    if shown.startswith("```"):
        return SpokenChunk("code", "", shown)
    if _RULE.fullmatch(shown) or _TABLE.fullmatch(shown):
        return SpokenChunk("rule", "", shown)
    text = _QUOTE.sub("", shown)
    heading = _HEADING.fullmatch(text)
    if heading is not None:
        return (
            SpokenChunk("heading", "", shown) if heading.group(1) else SpokenChunk("skip", "", "")
        )
    if _BOLD_ONLY.fullmatch(text) is not None:
        return SpokenChunk("heading", "", shown)
    bullet = _BULLET.match(text)
    if bullet is not None:
        body = _inline(text[bullet.end() :])
        return (
            SpokenChunk("item", _as_sentence(body), shown) if body else SpokenChunk("skip", "", "")
        )
    plain = _inline(text)
    if not plain:
        return SpokenChunk("skip", "", "")
    if plain.endswith(":") and len(plain.split()) <= 5:
        return SpokenChunk("heading", "", shown)
    return SpokenChunk("prose", plain, shown)
