"""The user's style preferences taken together, and how they shape a reply.

``Style.from_corrections`` folds stored corrections (oldest first; a later one of a kind wins)
into one value. It shapes every reply in three ways:

* ``block()``: the preferences as a note for the prompt, each rule quoted as the user's data;
* ``max_tokens(cap)``: a token cap that fits the asked number of sentences;
* ``ReplyCheck``: a Python check on each sentence of her reply, where a rule can be checked
  without trusting the small LM: a banned word is replaced by the user's name (or removed), a
  check-in question is dropped when the user asked for none, any question is dropped when the
  user asked for no questions, and the reply stops at a sentence boundary once it holds the
  asked number of sentences.

The language asked is checked on every sentence too (``wrong_language``), by the service's
reply guard (``service.StyleService.reply_problem``): a Python check cannot translate, so an
English first sentence has the LM asked once more, and a later one ends the reply.

``confirmation(corrections)`` is the one short line she says when a correction is first heard
("Got it — Sam.").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from her_desktop.feedback.corrections import (
    DEFAULT_SHORT_SENTENCES,
    MAX_RATE,
    MIN_RATE,
    Correction,
    canonical,
)

TOKENS_PER_SENTENCE = 40
TOKENS_MARGIN = 24

CHECKIN_QUESTION = re.compile(
    r"\b(?:how are you (?:feeling|doing|holding up)|are you (?:ok|okay|alright|all right|doing "
    r"ok(?:ay)?)|is everything (?:ok|okay|alright|all right)|how do you feel|how's your mood|"
    r"how are things with you|you doing (?:ok|okay|alright))\b[^.!?]*\?",
    re.IGNORECASE,
)


GREETING = re.compile(
    r"^(?P<greet>(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening|night|luck)|goodnight|"
    r"night night|welcome back|welcome|congratulations|congrats|well done|sleep well|"
    r"sweet dreams|bye|goodbye|see you(?: soon| later| tomorrow)?)(?: there)?)\b[,!.]?\s*",
    re.IGNORECASE,
)
NAME_ASKED = re.compile(
    r"\b(?:my name|by name|by my name|(?:use|using|say|with) (?:my name|it)|call me)\b", re.I
)


SENTENCE_END = re.compile(r"[.!?…]+['\")\]’”]*\s*$")
LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s")


@dataclass(frozen=True, slots=True)
class Style:
    name: str | None = None
    banned: tuple[str, ...] = ()
    max_sentences: int = 0
    """0: no limit"""
    no_checkins: bool = False
    no_questions: bool = False
    swearing: bool | None = None
    """None: not said (the persona's default)"""
    tts_rate: float = 1.0
    language: str | None = None
    learned: tuple[str, ...] = field(default=())
    """notes learned from 👍/👎 (``feedback.ratings.learned_notes``)"""

    @classmethod
    def from_corrections(cls, corrections: Iterable[Correction]) -> Style:
        name: str | None = None
        banned: list[str] = []
        max_sentences = 0
        no_checkins = False
        no_questions = False
        swearing: bool | None = None
        rate = 1.0
        language: str | None = None
        for c in corrections:
            if c.kind == "name":
                name = str(c.value)
                banned = [w for w in banned if w != name.lower()]
            elif c.kind == "banned_word":
                if str(c.value) not in banned:
                    banned.append(str(c.value))
            elif c.kind == "max_sentences":
                max_sentences = int(c.value)
            elif c.kind == "no_checkins":
                no_checkins = bool(c.value)
            elif c.kind == "no_questions":
                no_questions = bool(c.value)
            elif c.kind == "swearing":
                swearing = bool(c.value)
            elif c.kind == "tts_rate":
                value = float(c.value) * (rate if c.relative else 1.0)
                rate = round(min(max(value, MIN_RATE), MAX_RATE), 2)
            elif c.kind == "language":
                language = None if str(c.value) == "English" else str(c.value)
        return cls(
            name=name,
            banned=tuple(banned),
            max_sentences=max_sentences,
            no_checkins=no_checkins,
            no_questions=no_questions,
            swearing=swearing,
            tts_rate=rate,
            language=language,
        )

    def rules(self) -> list[Correction]:
        """The style as its canonical rules (what is stored and shown)."""
        out: list[Correction] = []
        if self.name:
            out.append(Correction("name", self.name))
        out += [Correction("banned_word", w) for w in self.banned]
        if self.max_sentences:
            out.append(Correction("max_sentences", self.max_sentences))
        if self.no_checkins:
            out.append(Correction("no_checkins", True))
        if self.no_questions:
            out.append(Correction("no_questions", True))
        if self.swearing is not None:
            out.append(Correction("swearing", self.swearing))
        if self.tts_rate != 1.0:
            out.append(Correction("tts_rate", self.tts_rate))
        if self.language:
            out.append(Correction("language", self.language))
        return out

    @property
    def empty(self) -> bool:
        return not self.rules() and not self.learned

    def block(self) -> str:
        """The note for the prompt: what the user asked about how she talks, quoted."""
        lines: list[str] = []
        if self.name:
            lines.append(f'The user wants to be called "{self.name}".')
        for word in self.banned:
            lines.append(f'The user asked never to be called or addressed as "{word}".')
        if self.max_sentences:
            n = self.max_sentences
            lines.append(
                f"The user wants short replies: at most {n} sentence{'s' if n > 1 else ''}."
            )
        if self.no_checkins:
            lines.append("The user asked not to be asked how they feel or whether they are okay.")
        if self.no_questions:
            lines.append("The user asked for no questions: end each reply with a statement.")
        if self.swearing is True:
            lines.append("The user said casual swearing is fine.")
        elif self.swearing is False:
            lines.append("The user asked for no swearing.")
        if self.language:
            lines.append(f"The user wants replies in {self.language} only.")
        lines += [f'Learned from the user\'s ratings: "{note}"' for note in self.learned]
        if not lines:
            return ""
        return "How the user likes to be spoken to (their words):\n" + "\n".join(
            f"- {line}" for line in lines
        )

    def max_tokens(self, cap: int) -> int:
        if not self.max_sentences:
            return cap
        return max(1, min(cap, TOKENS_PER_SENTENCE * self.max_sentences + TOKENS_MARGIN))

    def check(self, user_text: str = "") -> ReplyCheck:
        return ReplyCheck(self, name_asked=bool(NAME_ASKED.search(user_text)))


QUESTION_SENTENCE = re.compile(r"[^.!?…]*\?+['\")\]’”]*\s*")
"""a question sentence within a chunk, with its trailing space"""


def _without_questions(text: str) -> str:
    """``text`` without its question sentences ("" when it held nothing else)."""
    out = QUESTION_SENTENCE.sub("", text).strip()
    return out if re.search(r"\w", out) else ""


def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w'])({re.escape(word)})(?![\w'])", re.IGNORECASE)


class ReplyCheck:
    """The Python check on one reply, one sentence at a time (see the module docstring)."""

    def __init__(self, style: Style, *, name_asked: bool = False) -> None:
        self.style = style
        self.name_asked = name_asked
        self.addressed = False
        """the name was used, or the first full sentence has passed"""
        self.chunks = 0
        """the user's turn asks for their name (\"wish me luck, by name\")"""
        self.kept = 0
        self.changed = False
        self._banned = [_word_pattern(w) for w in style.banned]

    def sentence(self, text: str) -> str | None:
        """``text`` as she may say it: "" to drop it, None when the reply is already as long
        as the user asked (stop generating)."""
        if self.style.max_sentences and self.kept >= self.style.max_sentences:
            self.changed = True
            return None
        out = text
        if self.style.no_checkins and CHECKIN_QUESTION.search(out):
            out = CHECKIN_QUESTION.sub("", out).strip()
            if not re.search(r"\w", out):
                out = ""
        if self.style.no_questions and "?" in out:
            out = _without_questions(out)
        for pattern in self._banned:
            out = self._replace(pattern, out)
        out = re.sub(r"\s{2,}", " ", out).strip()
        if out and not self.addressed:
            out = self._address(out)
        if out != text.strip():
            self.changed = True
        if out:
            self.chunks += 1
            if SENTENCE_END.search(out) or LIST_ITEM.match(out):
                self.kept += 1  # a clause chunk ("Rainbows form when …,") is not a sentence
        return out

    def _address(self, chunk: str) -> str:
        """Her first sentence uses the user's name when it greets them (or they asked for it)
        and the reply has not used it yet: after the greeting ("Good morning, Sam!"), else at
        the end of the first full sentence ("You've got this, Sam!")."""
        name = self.style.name
        if not name or name.casefold() in chunk.casefold():
            self.addressed = True
            return chunk
        m = GREETING.match(chunk) if self.chunks == 0 else None
        if m is not None:
            self.addressed = True
            rest = chunk[m.end() :]
            greet = chunk[m.start("greet") : m.end("greet")]
            punct = "!" if not rest or rest[:1].isupper() else ","
            return f"{greet}, {name}{punct} {rest}".strip()
        end = SENTENCE_END.search(chunk)
        if end is None:
            return chunk  # a clause: the name may still come in the rest of the sentence
        self.addressed = True
        if not self.name_asked:
            return chunk
        return f"{chunk[: end.start()].rstrip(' ,')}, {name}{chunk[end.start() :]}"

    def _replace(self, pattern: re.Pattern[str], text: str) -> str:
        name = self.style.name
        if name:
            return pattern.sub(name, text)
        # ", buddy" / "buddy, " as a form of address goes with its comma
        text = re.sub(
            rf"\s*,\s*{pattern.pattern}(?=\s*[,.!?…]|\s*$)", "", text, flags=re.IGNORECASE
        )
        text = re.sub(rf"^\s*{pattern.pattern}\s*,\s*", "", text, flags=re.IGNORECASE)
        text = pattern.sub("", text)
        text = re.sub(r"\s+([,.!?…])", r"\1", text).strip()
        return text[:1].upper() + text[1:]


def confirmation(corrections: Sequence[Correction]) -> str:
    """One short line acknowledging new corrections ("Got it — Sam.")."""
    parts: list[str] = []
    for c in corrections:
        if c.kind == "name":
            parts.append(str(c.value))
        elif c.kind == "banned_word":
            parts.append(f'no more "{c.value}"')
        elif c.kind == "max_sentences":
            n = int(c.value)
            if not n:
                parts.append("longer answers are fine")
            elif n == DEFAULT_SHORT_SENTENCES:
                parts.append("shorter answers")
            else:
                parts.append("one sentence" if n == 1 else f"{n} sentences at most")
        elif c.kind == "no_checkins":
            parts.append("I'll stop asking")
        elif c.kind == "no_questions":
            parts.append("no more questions" if c.value else "questions are fine")
        elif c.kind == "swearing":
            parts.append("I can swear" if c.value else "no swearing")
        elif c.kind == "tts_rate":
            slower = float(c.value) < 1.0
            parts.append("slower" if slower else "faster")
        elif c.kind == "language":
            parts.append(f"{c.value} from now on")
    if not parts:
        return ""
    return "Got it — " + ", ".join(dict.fromkeys(parts)) + "."


IN_LANGUAGE: dict[str, str] = {
    "French": "D'accord, je te parle en français maintenant.",
    "Spanish": "De acuerdo, ahora te hablo en español.",
    "German": "Alles klar, ab jetzt spreche ich Deutsch mit dir.",
    "Italian": "Va bene, da ora ti parlo in italiano.",
    "Portuguese": "Combinado, agora falo contigo em português.",
    "Dutch": "Prima, vanaf nu praat ik Nederlands met je.",
}
"""The switch said once more in the language asked: her first line in it (a small model that
sees its own last line in English tends to go on in English)."""


def in_language(corrections: Sequence[Correction]) -> str:
    """The line in the newly asked language, or "" (none asked, or one without a line)."""
    asked = [str(c.value) for c in corrections if c.kind == "language"]
    return IN_LANGUAGE.get(asked[-1], "") if asked else ""


_COMMON_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "English": "the and is are you to of it that this what your have be was with for my "
        "i i'm it's don't can will would there they in on at a an we so but not some new how "
        "do just like about if or as by from up out all get go here me he she his her our "
        "their them been has had were which when where why who really very",
        "French": "le la les est et je vous tu de un une des pour que qui avec dans ce pas "
        "c'est il elle mais très sur",
        "Spanish": "el la los las es y yo tu de un una para que con en por muy lo se "
        "pero como más está",
        "German": "der die das ist und ich du sie ein eine zu mit nicht auf für es den "
        "aber wie sehr",
        "Italian": "il la lo le è e io tu di un una per che con non sono mi ti gli ma come molto",
        "Portuguese": "o a os as é e eu você de um uma para que com em não por muito mas como",
        "Dutch": "de het een is en ik je jij van te dat niet met voor op maar zijn",
    }.items()
}
ENGLISH_EVIDENCE = 3
"""English common words a sentence needs before it counts as English"""
ENGLISH_OPENERS = frozenset(
    re.split(
        r"\s+",
        "sure of course absolutely certainly definitely yes yeah yep alright thanks thank sounds "
        "good great nice wow let's let me think see question happy glad help here's here well "
        "oh hey hi hello morning evening night goodnight welcome congratulations congrats luck "
        "what a an the",
    )
)
"""words of a short English opening ("Sure!", "Of course, Sam!", "Hello there!")"""


def wrong_language(sentence: str, language: str, *, opening: bool = False) -> bool:
    """The sentence is plainly English when ``language`` was asked: at least
    ``ENGLISH_EVIDENCE`` common English words and no sign of the language asked (its common
    words; for a language without a list, any letter outside ASCII). A short or mixed sentence
    is given the benefit of the doubt, except as the reply's ``opening``: there a short
    sentence of English openers ("Sure!", "Hello, Sam!") is English too (the LM is asked again
    before anything is said; past it, the rest would follow in English)."""
    words = re.findall(r"[^\W\d_][\w']*", sentence.lower())
    known = _COMMON_WORDS.get(language, frozenset())
    foreign = known - _COMMON_WORDS["English"]
    english_words = _COMMON_WORDS["English"] - known  # "on", "a", "me" are French too
    english = sum(w in english_words for w in words)
    if english < ENGLISH_EVIDENCE:
        if not opening or not sentence.isascii() or any(w in foreign for w in words):
            return False
        openers = sum(w in ENGLISH_OPENERS or w in english_words for w in words)
        return openers >= 1 and 2 * openers >= len(words)
    if known:
        return not any(w in foreign for w in words)
    return all(ch.isascii() for ch in sentence)


def describe(style: Style) -> list[str]:
    """The rules as the user would say them (the memory view's list)."""
    return [canonical(c) for c in style.rules()]
