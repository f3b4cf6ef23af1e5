"""Recognise style corrections in a user turn: what the user says about HOW she talks.

``parse(text)`` returns typed ``Correction``s for the sentences of ``text`` that are requests
addressed to her ("call me Sam", "don't call me buddy", "shorter answers please", "stop asking
if I'm okay", "you can swear", "speak a bit slower", "talk to me in French"), and nothing for
talk *about* such things ("my friend calls me Sam sometimes", "call me when you're done").

Policy: precision over recall. A sentence is a correction only when, after a polite opening
("please", "can you", "from now on", "I'd like you to") and before a polite ending ("please",
"from now on", "instead"), the whole of it matches one request pattern. Anything else is an
ordinary message. Pure Python, no model: the small LM is not trusted to tell these apart.

``canonical(c)`` is the rule in plain words, phrased so that ``parse`` reads it back as the
same correction: that text is what the memory view shows and the user can edit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, get_args

Kind = Literal[
    "name", "banned_word", "max_sentences", "no_checkins", "swearing", "tts_rate", "language"
]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)

DEFAULT_SHORT_SENTENCES: Final = 2
""""Shorter answers" without a number: at most this many sentences."""
MIN_RATE: Final = 0.6
MAX_RATE: Final = 1.5

LANGUAGES: Final = {
    "english": "en",
    "french": "fr",
    "spanish": "es",
    "german": "de",
    "italian": "it",
    "portuguese": "pt",
    "dutch": "nl",
    "japanese": "ja",
    "chinese": "zh",
    "mandarin": "zh",
    "russian": "ru",
    "polish": "pl",
    "korean": "ko",
    "swedish": "sv",
    "turkish": "tr",
    "arabic": "ar",
    "hindi": "hi",
    "ukrainian": "uk",
    "greek": "el",
    "danish": "da",
    "norwegian": "no",
    "finnish": "fi",
    "czech": "cs",
}
_NUMBERS: Final = {
    "one": 1,
    "a single": 1,
    "single": 1,
    "a": 1,
    "two": 2,
    "a couple of": 2,
    "three": 3,
    "four": 4,
    "five": 5,
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words after "call me" / "don't call me" that are not names (call me later, call me crazy).
_NOT_NAMES: Final = _words(
    "a an the later back tomorrow tonight today soon now again when if anytime "
    "sometime sometimes maybe please crazy that this it what whatever anything "
    "something nothing anyway first after before asap once up out on in at by names "
    "old"
)
_NOT_WORDS: Final = _words("that this it so things stuff anything something everything those these")


@dataclass(frozen=True, slots=True)
class Correction:
    """One style preference. ``value`` by kind:

    name: str (what to call the user) · banned_word: str (lower case) · max_sentences: int
    (0: no limit) · no_checkins: bool · swearing: bool (True: allowed) · tts_rate: float
    (speaking speed factor; ``relative``: multiply the current one) · language: str (English
    name, capitalised)
    """

    kind: Kind
    value: str | int | float | bool
    relative: bool = False


_OPENING = re.compile(
    r"^(?:(?:ok(?:ay)?|hey|hi|so|and|also|oh|um|uh|well|please|pls|actually|just|look|listen|"
    r"by the way|one more thing|from now on|going forward|in future|in the future|"
    r"and another thing|one thing)\b[,;:]?\s*)*"
    r"(?:(?:can|could|would|will) you(?: please)?(?: just)?\s+|"
    r"i(?:'d| would) (?:like|prefer|love) (?:it )?(?:if )?(?:you )?(?:to )?|"
    r"i want you to\s+|you should\s+|try to\s+|please\s+|do\s+(?=(?:call|talk|speak|keep))|"
    r"i(?:'d| would) appreciate (?:it )?if you(?:'d| would)?\s+)?",
    re.IGNORECASE,
)
_ENDING = re.compile(
    r"(?:[,;]?\s*(?:please|pls|from now on|going forward|instead|thanks|thank you|"
    r"then|anymore|any more|any longer|for me|all the time|again|if you can|if you could|"
    r"if that's ok(?:ay)?|from here on(?: out)?|in future|in the future|yeah|will you|"
    r"would you)|[,;]\s*(?:okay|ok|alright|yeah))*\s*[.!?…]*$",
    re.IGNORECASE,
)

_NAME = r"(?P<name>[^\W\d_][\w'-]{0,30}(?: [A-Z][\w'-]{0,30})?)"
_WORD = r"[\"'“‘]?(?P<word>[^\W\d_][\w'-]{0,30}(?: [\w'-]{1,30})?)[\"'”’]?"


def _compile(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


_NAME_PATTERNS = _compile(
    rf"(?:you can |you may |just |please )?(?:call|name) me {_NAME}",
    rf"i (?:go by|prefer|'d prefer|would prefer) {_NAME}",
    rf"i(?:'d| would) (?:rather|prefer to|like to) be called {_NAME}",
    rf"i prefer to be called {_NAME}",
    rf"my name(?: is|'s) {_NAME},? (?:call me that|use (?:it|that)|not \S+)",
    rf"it's {_NAME},? not \S+",
)
_BANNED_PATTERNS = _compile(
    rf"(?:do not|don't|dont|never|stop|quit|no more|please stop|please don't) "
    rf"(?:call(?:ing)? me|use the word|using the word|say(?:ing)? the word) {_WORD}",
    rf"(?:do not|don't|dont|never|stop|quit) (?:say(?:ing)?) {_WORD}",
    rf"i (?:hate|don't like|do not like|dislike) (?:it )?when you (?:call me|say) {_WORD}",
    rf"i(?:'m| am) not (?:your|a) {_WORD}",
)
_NUM = r"(?P<n>one|two|three|four|five|a single|single|a couple of|a|[1-5])"
_EXPLICIT_LENGTH = _compile(
    rf"(?:answer|reply|respond|talk)(?: me)? in (?:just |only )?{_NUM} (?:short )?sentences?",
    rf"(?:keep|limit) (?:your |the )?(?:answers|replies|responses|it) "
    rf"(?:to|under|below|within|at) (?:just |only |at most |max )?{_NUM} sentences?",
    rf"(?:no more than|at most|max(?:imum)?|only|just) {_NUM} sentences?"
    rf"(?: (?:answers|replies|responses|per (?:answer|reply)))?",
    rf"{_NUM}[- ]sentence (?:answers|replies|responses)",
)
_SHORTER = _compile(
    r"(?:give me |use |i want |i'd like )?(?:much |a bit |a little )?"
    r"(?:shorter|briefer|short|brief|concise|quicker|more concise)"
    r" (?:answers|replies|responses)",
    r"(?:keep|make) (?:it|things|your (?:answers|replies|responses)|the (?:answers|replies))"
    r" (?:short|shorter|brief|briefer|concise|snappy)(?: and sweet)?",
    r"be (?:more |a bit more |a little more )?(?:brief|concise|succinct|terse)",
    r"(?:be )?(?:less|not so) (?:wordy|long-winded|verbose|chatty)",
    r"your (?:answers|replies|responses) are (?:way |much |a bit |far )?too long",
    r"you talk too much",
    r"(?:not|don't be) so long-winded",
)
_LONGER = _compile(
    r"(?:give me |i want |i'd like )?(?:longer|more detailed|fuller) (?:answers|replies|"
    r"responses)",
    r"you can (?:talk|say) (?:as much as you (?:like|want)|more)",
    r"answers? of any length",
    r"longer (?:answers|replies|responses) are (?:fine|ok|okay)",
)
_CHECKIN_TOPIC = (
    r"(?:i'm|i am|im|i'm feeling|i feel|i'm doing|i am doing|i've been)"
    r" (?:ok|okay|alright|all right|fine|good|well|doing|feeling|holding up)(?: \w+)?"
)
_NO_CHECKINS = _compile(
    rf"(?:stop|quit|don't keep|don't|do not|never|no more|please stop) (?:asking|ask)"
    rf"(?: me)? (?:if|whether) {_CHECKIN_TOPIC}",
    r"(?:stop|quit|don't keep|don't|do not|never|no more) (?:asking|ask)(?: me)?"
    r" how (?:i'm|i am|im|i) (?:feeling|doing|holding up|feel|do)(?: today)?",
    r"(?:stop|quit|don't keep|don't|no more) (?:checking in|check in|check-ins|checkins)"
    r"(?: on me)?",
    r"no more (?:check-ins|checkins|check ins|mood questions)",
    r"i don't (?:need|want) you to (?:keep )?(?:check(?:ing)? (?:in )?on me|ask(?:ing)?"
    r" how i(?:'m| am) (?:feeling|doing))",
)
_SWEARING = r"(?:swear|curse|cuss|use swear words|use bad language|drop an f-bomb)"
_SWEAR_OK = _compile(
    rf"(?:you can|you may|feel free to|it's (?:ok|okay|fine) (?:to|if you)|go ahead and|"
    rf"you're allowed to|you are allowed to|i don't mind if you) {_SWEARING}"
    r"(?: if you (?:want|like)| all you want| with me| around me)?",
    r"(?:swearing|cursing|bad language|profanity) is (?:fine|ok|okay|allowed|alright)"
    r"(?: with me)?",
    r"i don't mind (?:swearing|cursing|bad language|profanity)",
)
_SWEAR_NO = _compile(
    rf"(?:don't|do not|stop|quit|no|never) (?:swearing|cursing|{_SWEARING})"
    r"(?: at me| around me| with me)?",
    r"(?:no|stop the) (?:swearing|cursing|bad language|profanity)",
)
_RATE = _compile(
    r"(?:speak|talk|go)(?: (?P<amount>a bit|a little|a tad|a little bit|much|way|a lot))?"
    r"(?: more)? (?P<dir>slower|faster|quicker|slowly|quickly)",
    r"(?P<dir>slow down|speed up)(?: (?P<amount>a bit|a little|a tad|a lot))?"
    r"(?: when you (?:talk|speak))?",
    r"you(?:'re| are) (?:talking|speaking) (?:(?P<amount>way|much|a bit|a little) )?too "
    r"(?P<dir>fast|quickly|slow|slowly)",
)
_RATE_ABSOLUTE = _compile(r"speak at (?P<x>\d(?:\.\d+)?)\s*[x×] speed")
_LANG = r"(?P<lang>" + "|".join(LANGUAGES) + r")"
_LANGUAGE = _compile(
    rf"(?:talk|speak|reply|answer|respond|write)(?: to me| with me)?(?: only)? in {_LANG}"
    r"(?: from now on)?",
    rf"let's (?:talk|speak|chat)(?: in)? {_LANG}",
    rf"(?:switch|change)(?: over)?(?: back)? to {_LANG}",
    rf"(?:use|speak) {_LANG}(?: with me| please)?",
)
# "back to English" said in the language she now hears (her hearing is set to it)
_BACK_TO_ENGLISH = _compile(
    r"(?:parle(?:[- ]moi)?|réponds(?:[- ]moi)?) en anglais(?:,? s'il te pla[iî]t)?",
    r"en anglais(?:,? s'il te pla[iî]t| s'il vous pla[iî]t)?",
    r"(?:habla(?:me)?|contesta(?:me)?) en ingl[eé]s(?:,? por favor)?",
    r"en ingl[eé]s(?:,? por favor)?",
    r"(?:sprich|antworte)(?: mit mir)? (?:auf )?englisch(?:,? bitte)?",
    r"auf englisch(?:,? bitte)?",
    r"(?:parla(?:mi)?|rispondi(?:mi)?) in inglese(?:,? per favore)?",
    r"in inglese(?:,? per favore)?",
)


def clauses(text: str) -> list[str]:
    """Sentences (and ``;``-separated parts) of ``text``, with plain apostrophes."""
    text = text.replace("’", "'").replace("‘", "'")
    parts = re.split(r"(?<=[.!?…;])\s+|\n+", text.strip())
    return [p.strip() for p in parts if p.strip()]


def _core(clause: str) -> str:
    core = _OPENING.sub("", clause, count=1)
    core = _ENDING.sub("", core, count=1)
    return re.sub(r"\s+", " ", core).strip(" ,")


def _name(match: re.Match[str], clause: str) -> str | None:
    name = match.group("name").strip()
    first = name.split()[0]
    if first.casefold() in _NOT_NAMES:
        return None
    # "call me crazy" → lower case; typed all in lower case, any non-stop word is a name.
    if not first[0].isupper() and clause != clause.lower():
        return None
    return " ".join(w[:1].upper() + w[1:] for w in name.split())


def _sentences(word: str) -> int | None:
    word = word.lower()
    if word.isdigit():
        return int(word)
    return _NUMBERS.get(word)


def _rate(match: re.Match[str]) -> float:
    direction = match.group("dir").lower()
    amount = (match.group("amount") or "").lower()
    slower = direction in ("slower", "slowly", "slow down", "fast", "quickly")
    step = 0.1 if amount.startswith("a ") and amount != "a lot" else 0.15
    if amount in ("much", "way", "a lot"):
        step = 0.25
    return round(1.0 - step if slower else 1.0 + step, 2)


_Build = Callable[[re.Match[str], str], "Correction | None"]
"""a matched request (and the clause it came from) → the correction, or None"""


def _banned(m: re.Match[str], clause: str) -> Correction | None:
    word = m.group("word").strip().strip("'\"").lower()
    return None if word in _NOT_WORDS or word in _NOT_NAMES else Correction("banned_word", word)


def _always(kind: Kind, value: str | int | float | bool) -> _Build:
    return lambda m, clause: Correction(kind, value)


_RULES: Final[tuple[tuple[tuple[re.Pattern[str], ...], _Build], ...]] = (
    # in this order; the first pattern that matches the whole request decides (None: not one)
    (_NAME_PATTERNS, lambda m, clause: _maybe("name", _name(m, clause))),
    (_BANNED_PATTERNS, _banned),
    (_EXPLICIT_LENGTH, lambda m, clause: _maybe("max_sentences", _sentences(m.group("n")))),
    (_SHORTER, _always("max_sentences", DEFAULT_SHORT_SENTENCES)),
    (_LONGER, _always("max_sentences", 0)),
    (_NO_CHECKINS, _always("no_checkins", True)),
    (_SWEAR_OK, _always("swearing", True)),
    (_SWEAR_NO, _always("swearing", False)),
    (
        _RATE_ABSOLUTE,
        lambda m, clause: Correction("tts_rate", min(max(float(m.group("x")), MIN_RATE), MAX_RATE)),
    ),
    (_RATE, lambda m, clause: Correction("tts_rate", _rate(m), relative=True)),
    (_LANGUAGE, lambda m, clause: Correction("language", m.group("lang").capitalize())),
    (_BACK_TO_ENGLISH, _always("language", "English")),
)


def _maybe(kind: Kind, value: str | int | None) -> Correction | None:
    return Correction(kind, value) if value else None


def parse_clause(clause: str) -> Correction | None:
    """The correction one sentence asks for, or None."""
    core = _core(clause)
    if not core:
        return None
    for patterns, build in _RULES:
        for pattern in patterns:
            m = pattern.fullmatch(core)
            if m:
                return build(m, clause)
    return None


def parse(text: str) -> list[Correction]:
    """Every correction in ``text``, in order (a later one of the same kind wins when
    applied)."""
    found = [parse_clause(clause) for clause in clauses(text)]
    return [c for c in found if c is not None]


def subject(c: Correction) -> str:
    """The memory subject: one stored rule per kind (per word for banned words), so a new
    correction of the same kind replaces the old one (which stays in the memory's history)."""
    if c.kind == "banned_word":
        return f"style:banned_word:{c.value}"
    return f"style:{c.kind}"


def canonical(c: Correction) -> str:
    """The rule in plain words; ``parse`` reads it back as ``c`` (relative rates absolute)."""
    if c.kind == "name":
        return f"Call me {c.value}."
    if c.kind == "banned_word":
        return f'Don\'t call me "{c.value}".'
    if c.kind == "max_sentences":
        n = int(c.value)
        if n == 0:
            return "Longer answers are fine."
        return "Answer in one sentence." if n == 1 else f"Answer in {n} sentences."
    if c.kind == "no_checkins":
        return "Stop asking if I'm okay."
    if c.kind == "swearing":
        return "You can swear." if c.value else "Don't swear."
    if c.kind == "tts_rate":
        return f"Speak at {float(c.value):.2f}x speed."
    return f"Talk to me in {c.value}."
