"""Split a streamed LM reply into speakable sentences, as early as possible.

The TTS speaks the first sentence while the LM is still writing the rest, so a sentence is
handed out the moment the text seen so far proves it complete. ``SentenceSplitter.feed`` takes
each streamed piece and returns the sentences that piece completed; ``flush`` ends the stream.
Create one splitter per LM reply (``flush`` resets it, so it can also be reused).

Policy (every rule depends only on the text, never on how the stream was cut into pieces, so
feeding a reply in any chunking yields exactly ``split_sentences(reply)``):

Sentence ends
    A run of ``. ! ? … ‽ ‼`` (also ``؟ ۔ । ॥``), then any adjacent closing quotes/brackets/markdown
    emphasis (``" ' ) ] } » ” ’ 」 』 * _`` …), then whitespace. The sentence is emitted as soon as
    the first visible character after that whitespace arrives. Waiting for that one character is
    needed to honour the emoji, ellipsis and abbreviation rules below, and costs nothing in
    practice: LM tokenizers glue the space to the next word (``" How"``), so the space and the
    next word's first letter arrive in the same piece. A newline after the terminator needs no
    look-ahead at all.
Newlines
    Every newline ends a chunk (not only ``"\\n\\n"``): chat LMs use single newlines for
    structure (list items, headings, lines of a poem), rarely to wrap prose, and a line break is
    a natural pause. So ``"Steps:\\n- buy milk\\n- eat"`` gives three chunks.
Lower case continues
    A terminator followed by a lowercase word is not a boundary (``"Wow!" she said.``,
    ``approx. five``, ``Well... maybe``). Ellipses follow the general rule: ``... `` then a
    lowercase word continues the sentence, then anything else (upper case, digit) ends it, so
    ``"Well... I think so."`` is two chunks (a natural pause for speech).
Abbreviations (a single ``.``)
    Titles and Latin forms never end a sentence: Dr. Mr. Mrs. Ms. Prof. St. Jr. Sr. vs. e.g.
    i.e. approx. cf. Gen. Capt. … Numbering forms (No. Jan.–Dec. Vol. Fig. p. pp. …) do not end
    a sentence when a digit follows (``No. 5``, ``Dec. 25``) but do otherwise (``No. I won't.``
    is two sentences). Single capital initials and dotted initials (``J. R. R. Tolkien``,
    ``J.K. Rowling``) never end one, except the country forms U.S. U.K. U.N. E.U. Words that
    often really end a sentence (etc. Inc. Ltd. Co. a.m. p.m. U.S.) are treated like any word:
    followed by a capitalised word they END the sentence (``apples, pears, etc. Then…``); the
    rarer ``etc. Paris`` or ``U.S. Army`` is split too (a short pause, no lost text).
Numbers
    A decimal point is never a boundary (no whitespace follows it): ``3.14 $4.99 v1.2.3
    1,000.50``. A list number at the start of a line (``1. Buy milk``, ``10. ``, ``a. ``,
    ``iv. ``) is not a boundary; ``I'm 25. You?`` mid-line is.
Emoji
    Emoji after a terminator (adjacent or after spaces) stay with the sentence they follow:
    ``"I'm so happy for you! 😊"`` then ``"What's next?"``. Emoji clusters (ZWJ sequences, skin
    tones, flags, variation selectors, keycaps) are never cut apart.
Code
    Inside an inline `code` span nothing splits (``os.path.join``, ``file.txt`` need no help: a dot
    without whitespace after it never splits, which also covers URLs and e-mail addresses). An
    inline span left open ends at the newline. A fenced block (a line starting with 3+
    backticks, up to the closing fence at a line start) is one chunk, emitted when the closing
    backticks complete, whatever its length (the TTS layer decides how to speak code). ``~~~``
    fences are not recognised.
CJK
    ``。！？．｡`` end a sentence with no whitespace needed; closing quotes ``」』）`` … after them
    stay with the sentence (so the character after them is awaited). A full-width ``．``
    directly followed by a digit is a decimal point.
Length
    ``max_chars`` bounds every chunk except a fenced code block: a run-on is cut at the last
    clause mark (``, ; : — –``, CJK ``，、；：``) in the second half of the window, else at the
    last space, else at any clause mark, else hard (never inside an emoji cluster or before a
    combining mark, unless one cluster alone is longer than ``max_chars``). ``min_chars``: a
    boundary is skipped while the chunk is shorter, so tiny sentences merge with the next (the
    end of the stream, a fence and a forced cut emit regardless). ``first_min_chars``: until the
    first chunk is out, a clause mark followed by whitespace (CJK clause marks: none needed)
    also ends a chunk once it holds at least that many characters, to start the audio sooner.
Whitespace
    Chunks are stripped; inner text is kept as is; empty chunks are never emitted. Every
    non-whitespace character of the input appears in the output, in order.

Cost: ``feed`` keeps a scan position and only looks at new text plus a few characters of
look-ahead; consumed text is dropped (a long code block is kept as a list of parts), so each
piece costs time proportional to its own length.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["SentenceSplitter", "split_sentences"]

_TERMS_WESTERN = ".!?‼⁇⁈⁉‽…⋯؟۔।॥"
_TERMS_CJK = "。！？．｡"
_TERMS = frozenset(_TERMS_WESTERN + _TERMS_CJK)
_CJK_TERMS = frozenset(_TERMS_CJK)
_CLOSERS = frozenset("\"')]}»›”’」』）］｝】〕〉》〗〙〛*_")
_CLAUSE_WESTERN = frozenset(",;:—–")
_CLAUSE_CJK = frozenset("，、；：")

_SPECIAL = re.compile("[" + re.escape(_TERMS_WESTERN + _TERMS_CJK) + "\n`]")
_SPECIAL_CLAUSE = re.compile(
    "[" + re.escape(_TERMS_WESTERN + _TERMS_CJK + ",;:—–，、；：") + "\n`]"
)
_CODE_SPECIAL = re.compile("[\n`]")

_ZWJ = "\u200d"

# Never the end of a sentence (lower-cased, without the final dot).
_TITLES = frozenset(
    {
        "mr", "mrs", "ms", "mx", "dr", "prof", "st", "jr", "sr", "rev", "hon", "gen", "col",
        "capt", "lt", "sgt", "cpl", "gov", "sen", "rep", "pres", "fr", "mt", "ft", "messrs", "mme",
        "mlle", "vs", "e.g", "i.e", "cf", "viz", "approx", "esp", "incl",
    }
)  # fmt: skip
# Not the end of a sentence when a digit follows ("No. 5", "Dec. 25", "p. 12").
_NUMBERING = frozenset(
    {
        "no", "nos", "nr", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
        "nov", "dec", "vol", "vols", "fig", "figs", "ch", "chap", "sec", "pt", "p", "pp", "ca",
        "ed", "eq", "ex", "art", "op", "tel",
    }
)  # fmt: skip
# Dotted capitals that do end sentences; other dotted capitals are initials ("J.R.R.").
_FINAL_DOTTED = frozenset({"u.s", "u.k", "u.n", "e.u", "u.s.a", "u.a.e", "d.c"})
_DOTTED_INITIALS = re.compile(r"(?:[A-Z]\.)+[A-Z]")
_LIST_MARKER = re.compile(r"\d{1,3}|[A-Za-z]|x{0,3}(?:ix|iv|v?i{0,3})|X{0,3}(?:IX|IV|V?I{0,3})")
_TOKEN_LOOKBACK = 40


def _is_emoji(ch: str) -> bool:
    """A character that starts an emoji (Extended_Pictographic, approximated by blocks)."""
    cp = ord(ch)
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x2300 <= cp <= 0x23FF
        or 0x2B00 <= cp <= 0x2BFF
        or cp in (0x3030, 0x303D, 0x3297, 0x3299)
    )


def _is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _is_extend(ch: str) -> bool:
    """A character that belongs to the grapheme before it (never starts a chunk)."""
    cp = ord(ch)
    if (
        cp == 0x200D
        or 0xFE00 <= cp <= 0xFE0F
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0xE0020 <= cp <= 0xE007F
        or cp == 0x20E3
    ):
        return True
    return unicodedata.category(ch).startswith("M")


def _can_break(buf: str, p: int) -> bool:
    """Whether a hard cut between ``buf[p - 1]`` and ``buf[p]`` keeps graphemes whole."""
    ch, prev = buf[p], buf[p - 1]
    if _is_extend(ch) or prev == _ZWJ or (prev == "\r" and ch == "\n"):
        return False
    if _is_regional(ch) and _is_regional(prev):
        run = 0
        i = p - 1
        while i >= 0 and _is_regional(buf[i]):
            run += 1
            i -= 1
        return run % 2 == 0
    return True


class SentenceSplitter:
    """Turns a stream of LM text pieces into speakable chunks (see the module docstring)."""

    def __init__(
        self, *, min_chars: int = 1, max_chars: int = 400, first_min_chars: int | None = None
    ) -> None:
        if min_chars < 1:
            raise ValueError("min_chars must be at least 1")
        if max_chars < 1:
            raise ValueError("max_chars must be at least 1")
        if first_min_chars is not None and first_min_chars < 1:
            raise ValueError("first_min_chars must be at least 1 (or None to turn it off)")
        self._min = min_chars
        self._max = max_chars
        self._first_min = first_min_chars
        self._reset()

    def _reset(self) -> None:
        self._buf = ""
        self._pos = 0  # next character to scan; everything before it is decided
        self._start = 0  # where the current chunk begins
        self._cs: int | None = None  # first visible character of the current chunk
        self._last = 0  # one past the last visible character scanned (valid when _cs is set)
        self._line_blank = True  # nothing visible on the current line yet
        self._line_first = -1  # first visible character of the current line (-1: dropped)
        self._inline = 0  # backtick count of the open inline code span (0: none)
        self._fence = 0  # backtick count of the open fence (0: none)
        self._fence_parts: list[str] = []  # scanned text of the open fenced block
        self._emitted_any = False
        self._out: list[str] = []

    # ------------------------------------------------------------------ public API

    def feed(self, piece: str) -> list[str]:
        """Add the next piece of the stream; return the chunks it completed (maybe none)."""
        if not piece:
            return []
        self._buf += piece
        self._out = []
        self._scan(eof=False)
        self._compact()
        return self._out

    def flush(self) -> list[str]:
        """End of stream: return whatever is left as chunks, and reset for a new stream."""
        self._out = []
        self._scan(eof=True)
        if self._fence:
            self._emit_code(len(self._buf))
        else:
            self._enforce_max()
            self._emit(len(self._buf))
        out = self._out
        self._reset()
        return out

    # ------------------------------------------------------------------ scanning

    def _scan(self, *, eof: bool) -> None:
        """Decide as much as the buffer allows; stop where a decision needs more text."""
        buf = self._buf
        n = len(buf)
        while True:
            if self._fence:
                if not self._scan_fence(eof):
                    return
                continue
            self._enforce_max()
            pos = self._pos
            if pos >= n:
                return
            if self._inline:
                pattern = _CODE_SPECIAL
            elif self._first_min is not None and not self._emitted_any:
                pattern = _SPECIAL_CLAUSE
            else:
                pattern = _SPECIAL
            m = pattern.search(buf, pos)
            stop = m.start() if m else n
            if stop > pos:
                self._advance(pos, stop)
                self._pos = stop
                continue
            c = buf[pos]
            if c == "\n":
                self._on_newline()
            elif c == "`":
                if not self._on_backticks(eof):
                    return
            elif c in _TERMS:
                if not self._on_terminator(eof):
                    return
            elif not self._on_clause(eof):
                return

    def _advance(self, a: int, b: int) -> None:
        """Mark ``buf[a:b]`` (no newline inside) as scanned, not a boundary."""
        buf = self._buf
        if self._cs is None or self._line_blank:
            i = a
            while i < b and buf[i].isspace():
                i += 1
            if i == b:
                return
            if self._cs is None:
                self._cs = i
            if self._line_blank:
                self._line_blank = False
                self._line_first = i
        j = b
        while j > a and buf[j - 1].isspace():
            j -= 1
        if j > a:
            self._last = j

    def _on_newline(self) -> None:
        pos = self._pos
        if self._cs is not None and self._last - self._cs >= self._min:
            self._emit(pos)
        self._line_blank = True
        self._inline = 0
        self._pos = pos + 1

    def _on_backticks(self, eof: bool) -> bool:
        buf, pos = self._buf, self._pos
        end = pos
        while end < len(buf) and buf[end] == "`":
            end += 1
        if end == len(buf) and not eof:
            return False
        run = end - pos
        if self._line_blank and run >= 3 and not self._inline:
            self._emit(pos)  # prose before a fence always goes out first
            self._fence = run
            self._fence_parts = []
            self._line_blank = False
            self._line_first = -1
            self._pos = end
            return True
        if self._inline == run:
            self._inline = 0
        elif not self._inline:
            self._inline = run
        self._advance(pos, end)
        self._pos = end
        return True

    def _scan_fence(self, eof: bool) -> bool:
        """Scan inside a fenced block; True when there is more to decide."""
        buf, pos = self._buf, self._pos
        m = _CODE_SPECIAL.search(buf, pos)
        stop = m.start() if m else len(buf)
        if self._line_blank and buf[pos:stop].strip():
            self._line_blank = False
        self._pos = stop
        if m is None:
            return False
        if buf[stop] == "\n":
            self._line_blank = True
            self._pos = stop + 1
            return True
        end = stop
        while end < len(buf) and buf[end] == "`":
            end += 1
        if end == len(buf) and not eof:
            return False
        closes = self._line_blank and end - stop >= self._fence
        self._line_blank = False
        self._pos = end
        if closes:
            self._emit_code(end)
        return True

    def _on_clause(self, eof: bool) -> bool:
        """A clause mark while the early-first-chunk rule is active."""
        buf, pos = self._buf, self._pos
        if buf[pos] in _CLAUSE_CJK:
            ok = True
        elif pos + 1 < len(buf):
            ok = buf[pos + 1].isspace()
        elif not eof:
            return False
        else:
            ok = False
        self._advance(pos, pos + 1)
        self._pos = pos + 1
        if (
            ok
            and self._first_min is not None
            and not self._emitted_any
            and self._cs is not None
            and self._last - self._cs >= self._first_min
        ):
            self._enforce_max()
            self._emit(pos + 1)
        return True

    def _on_terminator(self, eof: bool) -> bool:
        buf, pos = self._buf, self._pos
        e = pos
        while e < len(buf) and buf[e] in _TERMS:
            e += 1
        if e == len(buf) and not eof:
            return False
        decision = self._decide(pos, e, eof)
        if decision is None:
            return False
        boundary, end = decision
        self._advance(pos, end)
        self._pos = end
        if boundary:
            self._enforce_max()
            if self._cs is not None and self._last - self._cs >= self._min:
                self._emit(end)
        return True

    # ------------------------------------------------------------------ decisions

    def _closers_end(self, j: int, eof: bool) -> int | None:
        buf = self._buf
        while j < len(buf) and buf[j] in _CLOSERS:
            j += 1
        if j == len(buf) and not eof:
            return None
        return j

    def _emoji_end(self, i: int, eof: bool) -> int | None:
        """End of the emoji cluster starting at ``i`` (None: needs more text)."""
        buf = self._buf
        n = len(buf)
        j = i + 1
        if _is_regional(buf[i]):
            if j == n:
                return j if eof else None
            if _is_regional(buf[j]):
                j += 1
        while True:
            if j == n:
                return j if eof else None
            ch = buf[j]
            if ch == _ZWJ:
                if j + 1 == n:
                    return j + 1 if eof else None
                j += 2 if _is_emoji(buf[j + 1]) else 1
            elif _is_extend(ch):
                j += 1
            else:
                return j

    def _decide(self, tstart: int, e: int, eof: bool) -> tuple[bool, int] | None:
        """For the terminator run ``buf[tstart:e]``: (is it a boundary, where the sentence ends).

        None when the answer needs text that has not arrived yet.
        """
        buf = self._buf
        n = len(buf)
        end = self._closers_end(e, eof)
        if end is None:
            return None
        j = end
        while True:  # emoji (adjacent or after spaces) stay with the sentence
            k = j
            while k < n and buf[k] != "\n" and buf[k].isspace():
                k += 1
            if k == n:
                if not eof:
                    return None
                return True, end
            if not _is_emoji(buf[k]):
                break
            cluster_end = self._emoji_end(k, eof)
            if cluster_end is None:
                return None
            after = self._closers_end(cluster_end, eof)
            if after is None:
                return None
            j = end = after
        nxt = buf[k]
        if nxt == "\n":
            return True, end
        if any(ch in _CJK_TERMS for ch in buf[tstart:e]):
            decimal = buf[e - 1] == "．" and end == e and k == e and nxt.isdigit()
            return not decimal, end
        if k == end or nxt.islower():
            return False, end
        if e - tstart == 1 and buf[tstart] == "." and self._is_abbreviation(tstart, nxt):
            return False, end
        return True, end

    def _is_abbreviation(self, dot: int, nxt: str) -> bool:
        """Whether the word before the single dot at ``dot`` makes it a non-boundary."""
        buf = self._buf
        lo = max(self._start, dot - _TOKEN_LOOKBACK)
        i = dot
        while i > lo and not buf[i - 1].isspace():
            i -= 1
        token_start = i
        while i < dot and not buf[i].isalnum():
            i += 1
        word = buf[i:dot]
        if not word:
            return False
        key = word.lower()
        if key in _TITLES or (key in _NUMBERING and nxt.isdigit()):
            return True
        if len(word) == 1 and word.isupper():
            return True  # an initial: "J. R. R. Tolkien"
        if _DOTTED_INITIALS.fullmatch(word) and key not in _FINAL_DOTTED:
            return True
        return token_start == self._line_first and bool(_LIST_MARKER.fullmatch(word))

    # ------------------------------------------------------------------ emitting

    def _emit(self, end: int) -> None:
        """Hand out ``buf[start:end]`` (stripped, if not blank) and start the next chunk."""
        text = self._buf[self._start : end].strip()
        if text:
            self._out.append(text)
            self._emitted_any = True
        self._start = end
        self._cs = None

    def _emit_code(self, end: int) -> None:
        text = ("".join(self._fence_parts) + self._buf[self._start : end]).strip()
        if text:
            self._out.append(text)
            self._emitted_any = True
        self._fence_parts = []
        self._fence = 0
        self._start = end
        self._cs = None

    def _enforce_max(self) -> None:
        """Cut the current chunk while it holds more than ``max_chars`` characters."""
        while self._cs is not None and self._last - self._cs > self._max:
            cut = self._cut_point(self._cs, self._cs + self._max)
            self._emit(cut)
            buf, i = self._buf, cut
            while i < self._pos and buf[i].isspace():
                i += 1
            self._cs = i if i < self._pos else None

    def _cut_point(self, lo: int, hi: int) -> int:
        """Where to cut a run-on whose first ``max_chars`` characters are ``buf[lo:hi]``."""
        buf = self._buf
        half = lo + max(1, self._max // 2)
        clause = -1
        for i in range(hi - 1, lo - 1, -1):
            c = buf[i]
            if c in _CLAUSE_CJK or (c in _CLAUSE_WESTERN and buf[i + 1].isspace()):
                if i + 1 >= half:
                    return i + 1
                clause = i + 1
                break
        for w in range(hi, lo, -1):
            if buf[w].isspace():
                return w
        if clause > lo:
            return clause
        for p in range(hi, lo, -1):
            if _can_break(buf, p):
                return p
        return hi

    def _compact(self) -> None:
        """Drop text that no decision will look at again (keeps ``feed`` cost per piece)."""
        if self._fence:
            if self._pos > self._start:
                self._fence_parts.append(self._buf[self._start : self._pos])
                self._start = self._pos
        elif self._cs is None:
            self._start = self._pos  # only whitespace is pending
        drop = self._start
        if drop == 0:
            return
        self._buf = self._buf[drop:]
        self._pos -= drop
        self._start = 0
        if self._cs is not None:
            self._cs -= drop
            self._last -= drop
        self._line_first = self._line_first - drop if self._line_first >= drop else -1


def split_sentences(
    text: str, *, min_chars: int = 1, max_chars: int = 400, first_min_chars: int | None = None
) -> list[str]:
    """Split a whole text the way a stream of it would be split (feed everything, then flush)."""
    splitter = SentenceSplitter(
        min_chars=min_chars, max_chars=max_chars, first_min_chars=first_min_chars
    )
    return splitter.feed(text) + splitter.flush()
