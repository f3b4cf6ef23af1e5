"""Chat-template control tokens in a streamed reply: removed, and the reply ends at a turn tag.

Both engines run their reply text through :class:`ControlTokenFilter`:

- ``<|…|>``-style tokens (also with the full-width ``｜`` of DeepSeek), ``<s>``/``</s>`` and
  Gemma's turn tags never reach the user, even when split across streamed pieces.
- End-of-turn tokens (``<|im_end|>``, ``<|eot_id|>``, ``</s>`` …) and start-of-another-turn
  tokens (``<|im_start|>``, ``<|user|>``, ``<|start_header_id|>`` …) end the reply: ``stopped``
  becomes True and later text is dropped. The texts of :data:`STOP_TAGS` are these tags.
- An engine may add stop strings of its own (the model's control-token texts, the caller's
  ``GenerationParams.stop``): the reply ends at the first one, which is never emitted. They
  are looked for in the text once tags are removed; one that is itself a tag (``<s>``, a
  model's ``<|…|>`` control text) ends the reply where that tag would otherwise be removed.
- A tail that may still grow into a tag or a stop string is held back until the next piece
  decides (a run of them, "<|<", as a whole); a dangling "<|" right before a removed tag is
  dropped with it, so removing a tag never joins its neighbours into a new one;
  :meth:`ControlTokenFilter.flush` releases it at the end. A dangling ``<|…`` is then
  dropped, unless ``keep_partial_at_end`` (the in-process engine, whose real control tokens are
  stopped on by id and never arrive as text, so ``<|`` there is the model's own words).
- ``strip_leading_space`` drops the whitespace a reply starts with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

_TAG = re.compile(r"<[|｜][^<>|｜\s]{1,48}[|｜]>|</?s>|<(?:start|end)_of_turn>")
_PARTIAL_PIPE_TAG = re.compile(r"<[|｜][^<>|｜\s]{0,48}[|｜]?\Z")
_PIPE_OPENERS: Final = ("<|", "<｜")
_PLAIN_TAGS: Final = ("</s>", "<s>", "<start_of_turn>", "<end_of_turn>")
_PLAIN_STOP_TAGS: Final = ("</s>", "<start_of_turn>", "<end_of_turn>")
_STOP_NAMES: Final = (
    "im_end",
    "im_start",
    "eot_id",
    "eom_id",
    "end",
    "end_of_text",
    "endoftext",
    "start_header_id",
    "user",
    "User",
    "system",
    "end▁of▁sentence",
    "begin▁of▁sentence",
)

STOP_TAGS: Final = (*(f"<|{name}|>" for name in _STOP_NAMES), *_PLAIN_STOP_TAGS)
"""The tags that end a reply wherever they appear in it (``<｜…｜>`` forms too)."""


def _is_stop_tag(tag: str) -> bool:
    if tag in _PLAIN_STOP_TAGS:
        return True
    return tag.startswith(_PIPE_OPENERS) and tag[2:-2] in _STOP_NAMES


def _could_start_tag(tail: str) -> bool:
    """True when ``tail`` (starting with ``<``) may still grow into a control token."""
    return bool(_PARTIAL_PIPE_TAG.match(tail)) or any(t.startswith(tail) for t in _PLAIN_TAGS)


def _dangling_start(text: str) -> int:
    """Where the run of possible tag starts at the end of ``text`` begins ("<|<", "a<|im"):
    ``len(text)`` when it ends with none."""
    start = len(text)
    while (i := text.rfind("<", 0, start)) >= 0 and _could_start_tag(text[i:start]):
        start = i
    return start


class ControlTokenFilter:
    """Streaming filter of reply text (see the module docstring for the policy).

    ``feed(piece)`` returns the text that may be shown now; ``flush()`` the rest at the end.
    Two steps: tags are removed (or end the reply), then the remaining text is searched for
    the extra stop strings.
    """

    __slots__ = (
        "_keep_partial",
        "_longest",
        "_started",
        "_stop_tags",
        "_stops",
        "_tag_held",
        "_text_held",
        "stopped",
    )

    def __init__(
        self,
        extra_stops: Iterable[str] = (),
        *,
        strip_leading_space: bool = False,
        keep_partial_at_end: bool = False,
    ) -> None:
        stops = [s for s in dict.fromkeys(extra_stops) if s]
        self._stop_tags = frozenset(s for s in stops if _TAG.fullmatch(s))
        self._stops = tuple(s for s in stops if s not in self._stop_tags)
        self._longest = max((len(s) for s in self._stops), default=0)
        self._keep_partial = keep_partial_at_end
        self._started = not strip_leading_space
        self._tag_held = ""
        self._text_held = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        text, tag_stop = self._without_tags(self._tag_held + piece)
        text = self._before_stops(text, release=tag_stop)
        self.stopped = self.stopped or tag_stop
        return self._visible(text)

    def flush(self) -> str:
        """The held-back text, at the end of the reply."""
        if self.stopped:
            return ""
        tail, self._tag_held = self._tag_held, ""
        if tail.startswith(_PIPE_OPENERS) and not self._keep_partial:
            tail = ""
        return self._visible(self._before_stops(tail, release=True))

    def _without_tags(self, text: str) -> tuple[str, bool]:
        """``text`` without its tags, up to the first stop tag (and whether there was one); a
        tail that may still grow into a tag is kept in ``_tag_held``."""
        out: list[str] = []
        while (m := _TAG.search(text)) is not None:
            before = text[: m.start()]
            if not (_is_stop_tag(m.group()) or m.group() in self._stop_tags):
                # a dangling "<|" before a removed tag is debris: kept, it would join the
                # text after the tag into a new one ("<|" + "<|x|>" + "im_end|>")
                before = before[: _dangling_start(before)]
            out.append(before)
            text = text[m.end() :]
            if _is_stop_tag(m.group()) or m.group() in self._stop_tags:
                self._tag_held = ""
                return "".join(out), True
        cut = _dangling_start(text)
        if cut < len(text):
            out.append(text[:cut])
            self._tag_held = text[cut:]
        else:
            out.append(text)
            self._tag_held = ""
        return "".join(out), False

    def _before_stops(self, text: str, *, release: bool) -> str:
        """The text before the first extra stop string (which sets ``stopped``). A tail that may
        still grow into one is kept in ``_text_held``, unless ``release`` (no more text comes)."""
        text = self._text_held + text
        self._text_held = ""
        cut = min((i for s in self._stops if (i := text.find(s)) >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            return text[:cut]
        if release:
            return text
        hold = self._hold_back(text)
        self._text_held = text[len(text) - hold :]
        return text[: len(text) - hold]

    def _hold_back(self, text: str) -> int:
        """How many characters at the end of ``text`` may still become an extra stop string."""
        for n in range(min(self._longest - 1, len(text)), 0, -1):
            tail = text[-n:]
            if any(s.startswith(tail) for s in self._stops):
                return n
        return 0

    def _visible(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        return text


def strip_control_tokens(text: str) -> str:
    """One-shot form of :class:`ControlTokenFilter` for a complete text."""
    f = ControlTokenFilter()
    return f.feed(text) + f.flush()
