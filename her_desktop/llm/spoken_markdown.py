"""Markdown in a reply chunk, made fit for a voice and shown plainly in the chat.

The LM sometimes writes markdown (lists, headings, bold) although the persona forbids it. The
voice must never read it out, so every chunk the sentence splitter hands out (a sentence or a
line: the splitter ends a chunk at every newline) goes through :func:`convert` first:

- a heading (``## Tips``, a line that is only bold text, or a short line ending in ``:``) is
  shown in the chat but not spoken;
- a list item (``- x``, ``* x``, ``1. x``, ``a) x``) loses its marker; it is spoken as a
  sentence (a full stop is added where it has none) and shown as a bullet on its own line;
- a horizontal rule, a table row or a fenced code block is never spoken (code is shown);
- inline marks (``**bold**``, ``*em*``, ``_em_``, ``~~x~~``, `` `code` ``, ``[text](url)``)
  are reduced to their text in both forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["SpokenChunk", "convert"]

ChunkKind = Literal["prose", "item", "heading", "code", "skip"]

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
    """What the chat shows, without markdown marks ("" for nothing)."""


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
    """Classify one splitter chunk and give its spoken and shown forms."""
    text = chunk.strip()
    if not text:
        return SpokenChunk("skip", "", "")
    if text.startswith("```"):
        return SpokenChunk("code", "", text)
    if _RULE.fullmatch(text) or _TABLE.fullmatch(text):
        return SpokenChunk("skip", "", "")
    text = _QUOTE.sub("", text)
    heading = _HEADING.fullmatch(text)
    if heading is not None:
        title = _inline(heading.group(1))
        return SpokenChunk("heading", "", title) if title else SpokenChunk("skip", "", "")
    bold = _BOLD_ONLY.fullmatch(text)
    if bold is not None:
        title = _inline(bold.group(2)).rstrip(":").strip()
        return SpokenChunk("heading", "", title + ":") if title else SpokenChunk("skip", "", "")
    bullet = _BULLET.match(text)
    if bullet is not None:
        body = _inline(text[bullet.end() :])
        if not body:
            return SpokenChunk("skip", "", "")
        return SpokenChunk("item", _as_sentence(body), body)
    plain = _inline(text)
    if not plain:
        return SpokenChunk("skip", "", "")
    if plain.endswith(":") and len(plain.split()) <= 5:
        return SpokenChunk("heading", "", plain)
    return SpokenChunk("prose", plain, plain)
