"""The companion's reply, sentence by sentence: what she says and what she leaves out.

The small default LM falls back on help-desk habits however it is prompted. The dialogue
stage passes every chunk of the streamed reply (from ``SentenceSplitter``) through one
:class:`ReplyFilter` per reply, before the chunk is shown or spoken:

- markdown is made speakable (``spoken_markdown.convert``): headings, rules and code never
  reach the voice; list items are spoken as sentences. The chat is shown the markdown as
  written (the window renders it), one kept chunk at a time;
- a sentence with an assistant cliché (``data/reply_style.toml``, read by
  ``llm.style_phrases``: "How can I assist you", "feel free to", "seek professional help" …,
  and their variants as patterns: "let me know if there was anything", "do you have any
  questions", "it's important to take care of them") is dropped; a formula that only opens
  an answer ("To summarise, you said …") is left out and the answer kept;
- a sentence claiming a body, a past or a human experience ("my favourite film", "when I was
  young", "I love watching") is dropped: she is an AI companion and says so; and the reply
  ends there, as what follows builds on the claim ("Yes, I have been in love before. It was
  a beautiful experience…");
- a sentence that says her own name to someone ("You look great today, Samantha.": the LM
  writing the user's line) is dropped;
- a sentence that gives the user's own state as hers ("I'm so bored" to "I'm so bored, it's
  raining": ``llm.user_voice.says_their_state``) is dropped: she never speaks as the user;
- a sentence she already said in one of her recent replies (or earlier in this one) is
  dropped — small LMs loop on one sentence from turn to turn. "Already said": the same words,
  a run of 3+ words that was all part of one earlier sentence, or (4+ words) a word set
  overlapping an earlier one by :data:`REPEAT_OVERLAP`;
- the reply ends after its first question (one question at a time), after ``max_sentences``
  spoken sentences or ``max_words`` words (voice replies are one to three sentences; a user
  who asks for a list, steps or a story gets :data:`LONG_SENTENCES`);
- a reply cut by the token cap or the deadline loses its unfinished last fragment;
- a reply left with nothing gets a short fallback line.

:attr:`ReplyFilter.done` tells the caller to stop generating: the rest would be dropped anyway,
and on a 2-core CPU every token saved is time back for the user.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from her_desktop.events import FinishReason
from her_desktop.llm.spoken_markdown import convert
from her_desktop.llm.style_phrases import StylePhrases, normalize
from her_desktop.llm.user_voice import says_their_state
from her_desktop.sentences import split_sentences

__all__ = [
    "LONG_SENTENCES",
    "SHORT_SENTENCES",
    "Kept",
    "ReplyFilter",
    "asks",
    "sentence_limit",
]

SHORT_SENTENCES = 3
"""Spoken sentences in an ordinary voice reply."""
LONG_SENTENCES = 12
"""Spoken sentences when the user asked for more (a list, steps, a story)."""
SHORT_WORDS = 55
LONG_WORDS = 250
RECENT_REPLIES = 6
"""How many of her latest replies a new sentence must not repeat."""
REPEAT_OVERLAP = 0.8
"""Word-set overlap (Jaccard) at which two sentences of 4+ words count as the same."""

DropReason = Literal[
    "cliche",
    "human_experience",
    "unkind",
    "repeat",
    "cut",
    "empty",
    "recited",
    "user_turn",
    "as_user",
]

RECITE_WORDS = 8
"""A sentence sharing this many consecutive words with her instructions recites them."""


def word_windows(text: str, size: int = RECITE_WORDS) -> set[str]:
    """Every run of ``size`` consecutive words (lower case, letters and digits only)."""
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


_TERMINALS = ".!?…。！？"
_WORD = re.compile(r"[a-z0-9']+")
_USER_TURN = re.compile(r"^\W*(?:user|human|you|me|client|customer)\s*:", re.IGNORECASE)
"""A chunk that opens with the user's role label: the LM has begun writing their turn."""
_QUESTION_END = re.compile(r"[?？‽][^\w]*$")
_CLAUSE_END = re.compile(r"\s*[,;:–—-]\s*$")
"""A kept chunk that ends at a clause mark: the first chunk, cut early so the voice starts."""


def _words(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


_ASKS = re.compile(
    r"[?？]\s*$|^\W*(?:so |and |but |ok |okay |hey |um |uh )*(?:what|who|where|when|which|why|how|"
    r"is|are|was|were|do|does|did|can|could|would|will|should|shall|have|has|am)\b",
    re.IGNORECASE,
)


def asks(user_text: str) -> bool:
    """``user_text`` asks a question (a question mark, or it opens like one)."""
    return bool(user_text.strip()) and _ASKS.search(user_text.strip()) is not None


_OTHER_NAME = re.compile(
    r"\b(?P<claim>(?i:i am|i'm|i’m|my name is|my name's|call me|you can call me)) "
    r"(?P<name>[A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b(?!['’]s)"
)
_NOT_NAMES = frozenset(
    {"I", "AI", "Sorry", "Here", "Not", "Just", "Really", "So", "Glad", "English", "British"}
)


def own_identity(text: str, own_name: str) -> str:
    """``text`` with her own name where it gives her another ("I am Bob, …" after a user's
    "You are now Bob": "I am Samantha, …"). Unchanged without ``own_name``."""
    if not own_name:
        return text

    def keep(match: re.Match[str]) -> str:
        name = match["name"]
        if name == own_name or name in _NOT_NAMES:
            return match.group()
        return f"{match['claim']} {own_name}"

    return _OTHER_NAME.sub(keep, text)


def sentence_limit(user_text: str, phrases: StylePhrases | None = None) -> tuple[int, int]:
    """(sentences, words) a reply to ``user_text`` may have: short unless more was asked for."""
    phrases = phrases or StylePhrases.load()
    if phrases.long_request.search(user_text):
        return LONG_SENTENCES, LONG_WORDS
    return SHORT_SENTENCES, SHORT_WORDS


@dataclass(frozen=True, slots=True)
class Kept:
    """One chunk of the reply that stays: its spoken form ("" for nothing to say) and the text
    to show (markdown as written), with the separator that joins it to what was shown."""

    spoken: str
    shown: str


class _Seen:
    """Sentences already said, for the repeat check."""

    def __init__(self) -> None:
        self._exact: set[str] = set()
        self._sets: list[frozenset[str]] = []

    def add(self, text: str) -> None:
        words = _words(text)
        if not words:
            return
        self._exact.add(" ".join(words))
        if len(words) >= 4:
            self._sets.append(frozenset(words))

    def __contains__(self, text: str) -> bool:
        words = _words(text)
        if not words:
            return False
        flat = " ".join(words)
        if flat in self._exact:
            return True
        if len(words) >= 3 and any(f" {flat} " in f" {seen} " for seen in self._exact):
            return True  # all of it was part of an earlier sentence
        if len(words) < 4:
            return False
        mine = frozenset(words)
        return any(len(mine & s) / len(mine | s) >= REPEAT_OVERLAP for s in self._sets)


class ReplyFilter:
    """Decides, chunk by chunk, what of one streamed reply is shown and spoken."""

    def __init__(
        self,
        *,
        recent_replies: Sequence[str] = (),
        max_sentences: int = SHORT_SENTENCES,
        max_words: int = SHORT_WORDS,
        phrases: StylePhrases | None = None,
        passthrough: bool = False,
        private: str = "",
        own_name: str = "",
        user_text: str = "",
    ) -> None:
        self.phrases = phrases or StylePhrases.load()
        self.user_text = user_text
        """What the user just said: a sentence giving their state as hers is dropped."""
        self.own_name = own_name
        self._to_herself = (
            re.compile(
                rf"(?:,|^\W*(?:hi|hey|hello|thanks|thank you|oh|well|yes|no|ok|okay))\s+"
                rf"{re.escape(own_name)}\b(?!')",
                re.IGNORECASE,
            )
            if own_name
            else None
        )
        """Her own name said to someone ("…, Samantha."): a line the user would say to her."""
        """Her name: a sentence giving herself another one ("I am Bob") says hers instead."""
        self._private = word_windows(private)
        """Her instructions (the system prompt after its identity line): never recited."""
        self.passthrough = passthrough
        """Keep every chunk as written (spoken as is): the LM's raw reply, for measuring."""
        self.max_sentences = max(1, max_sentences)
        self.max_words = max(1, max_words)
        self.dropped: Counter[DropReason] = Counter()
        self.done = False
        """Nothing more will be kept: the caller may stop generating."""
        self.exact = False
        """The reply is an answer worked out in Python (a sum, a summary of what the user said):
        said even where it repeats her earlier words ("You're planning a trip to Japan" before
        "You said you're planning a trip to Japan, …"; the same sum asked twice)."""
        self._recent = [r for r in recent_replies[-RECENT_REPLIES:] if r.strip()]
        self._seen = _Seen()
        for reply in self._recent:
            for sentence in split_sentences(reply):
                self._seen.add(convert(sentence).spoken)
        self._shown: list[str] = []
        self._spoken = 0
        self._words = 0
        self._last_kind = ""
        self._spoken_any = False
        self.held_chars = 0
        """Characters dropped before the first spoken chunk (what the filter cost the first
        sound: the voice waited for them to be generated and left out)."""

    @property
    def text(self) -> str:
        """Everything shown so far: the reply as the chat shows it and the history keeps it."""
        return "".join(self._shown).strip()

    @property
    def kept_any(self) -> bool:
        return bool(self._shown)

    def _drop(self, reason: DropReason, chunk: str = "") -> None:
        self.dropped[reason] += 1
        if not self._spoken_any:
            self.held_chars += len(chunk.strip())
        self._close_fragment()

    def _close_fragment(self) -> None:
        """The last chunk kept ended at a clause mark ("It's hard starting at a new school,")
        and the rest of its sentence is left out: the text shown and kept ends it with a full
        stop instead of a dangling comma before the next sentence (the voice said it already)."""
        if self._shown and _CLAUSE_END.search(self._shown[-1]):
            self._shown[-1] = _CLAUSE_END.sub(".", self._shown[-1])
            self._spoken += 1

    def _join(self, kind: str, shown: str) -> str:
        """``shown`` with the separator that keeps the markdown's lines: a new line between
        list items, a blank line around blocks, a space between sentences."""
        blocks = ("item", "heading", "code", "rule")
        if not self._shown:
            prefix = ""
        elif kind == self._last_kind and kind in ("item", "rule"):
            prefix = "\n"
        elif kind in blocks or self._last_kind in blocks:
            prefix = "\n\n"
        else:
            prefix = " "
        self._last_kind = kind
        return prefix + shown

    def accept(self, chunk: str, *, cut: FinishReason | None = None) -> Kept | None:
        """The kept form of ``chunk``, or None when it is dropped (or the reply is done).

        ``cut``: this is the stream's last fragment and the reply was cut there (``"length"``,
        the token cap, or ``"deadline"``) — a fragment without a closing mark is dropped when
        something was said, and always at the deadline ("The capital of France is" is no
        answer; :meth:`fallback` then says she was too slow).
        """
        if self.done:
            return None
        if self.passthrough:
            raw = chunk.strip()
            if not raw:
                return None
            shown = self._join("prose", raw)
            self._shown.append(shown)
            return Kept(raw, shown)
        piece = convert(own_identity(self.phrases.without_opening(chunk), self.own_name))
        if piece.kind == "skip":
            self._drop("empty", chunk)
            return None
        if piece.kind in ("heading", "code", "rule"):
            if not self._spoken_any:  # shown, not spoken: the voice waits on
                self.held_chars += len(chunk.strip())
            shown = self._join(piece.kind, piece.shown)
            self._shown.append(shown)
            return Kept("", shown)
        spoken = piece.spoken
        if _USER_TURN.search(spoken):  # she never speaks as the user: the reply ends here
            self._drop("user_turn", chunk)
            self.done = True
            return None
        if cut and (self.kept_any or cut == "deadline") and spoken[-1] not in _TERMINALS:
            self._drop("cut", chunk)
            return None
        if self.phrases.cliche(spoken) is not None:
            self._drop("cliche", chunk)
            return None
        if self.phrases.human_claim(spoken):
            self._drop("human_experience", chunk)
            self.done = True  # what follows builds on the claim
            return None
        if self._to_herself is not None and self._to_herself.search(spoken):
            self._drop("as_user", chunk)  # "You look great today, Samantha.": the user's line
            return None
        if self.user_text and says_their_state(spoken, self.user_text):
            self._drop("as_user", chunk)
            return None
        if self.phrases.unkind_to_user(spoken):
            self._drop("unkind", chunk)
            return None
        if self._private and word_windows(spoken) & self._private:
            self._drop("recited", chunk)
            return None
        if spoken in self._seen and not self.exact:
            self._drop("repeat", chunk)
            return None
        self._seen.add(spoken)
        shown = self._join(piece.kind, piece.shown)
        self._shown.append(shown)
        if spoken[-1] in _TERMINALS or cut:
            self._spoken += 1
        self._words += len(spoken.split())
        self._spoken_any = True
        if (
            _QUESTION_END.search(spoken)
            or self._spoken >= self.max_sentences
            or self._words >= self.max_words
        ):
            self.done = True
            self._close_fragment()  # nothing more of its sentence will come
            shown = self._shown[-1]
        return Kept(spoken, shown)

    def must_say(self, chunk: str) -> Kept:
        """``chunk`` kept whatever the limits: a computed answer the reply left out."""
        piece = convert(chunk)
        shown = self._join(piece.kind, piece.shown)
        self._shown.append(shown)
        self._seen.add(piece.spoken)
        self._spoken_any = True
        return Kept(piece.spoken, shown)

    def fallback(
        self,
        *,
        too_slow: bool = False,
        question: bool = False,
        about_her: bool = False,
        after: bool = False,
    ) -> Kept | None:
        """A short line for a reply that kept nothing (None when something was kept).

        ``too_slow``: the model ran out of time before a sentence was complete; she says so
        rather than a line that sounds like an answer ("I'm listening." to a question).
        ``about_her``: they asked about her own life; she says what she is, warmly.
        ``question``: the user asked something; she says honestly she is not sure and asks
        for more, rather than "I'm listening." Never the line of her last reply.
        ``after``: said after a line of her own (an acknowledgement) all the same."""
        if (self.kept_any and not after) or self.passthrough:
            return None
        recent = {normalize(r) for r in self._recent}
        if too_slow:
            lines = self.phrases.too_slow
        elif about_her and self.phrases.self_fallbacks:
            lines = self.phrases.self_fallbacks
        elif question and self.phrases.question_fallbacks:
            lines = self.phrases.question_fallbacks
        else:
            lines = self.phrases.fallbacks
        last = normalize(self._recent[-1]) if self._recent else ""
        line = next(
            (f for f in lines if normalize(f) not in recent),
            next((f for f in lines if normalize(f) != last), lines[0]),
        )
        self._shown.append(line)
        return Kept(line, line)
