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
    "name",
    "banned_word",
    "max_sentences",
    "no_checkins",
    "no_questions",
    "swearing",
    "tts_rate",
    "language",
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
_NOT_BANNED: Final = _words("never no yes goodbye bye")
"""idioms, not words to avoid ("never say never", "don't say no", "don't say goodbye")"""


@dataclass(frozen=True, slots=True)
class Correction:
    """One style preference. ``value`` by kind:

    name: str (what to call the user) · banned_word: str (lower case) · max_sentences: int
    (0: no limit) · no_checkins: bool · no_questions: bool (True: her replies end without a
    question) · swearing: bool (True: allowed) · tts_rate: float
    (speaking speed factor; ``relative``: multiply the current one) · language: str (English
    name, capitalised)
    """

    kind: Kind
    value: str | int | float | bool
    relative: bool = False


_OPENING = re.compile(
    r"^(?:(?:ok(?:ay)?|hey|hi|so|and|also|oh|um|uh|well|please|pls|actually|just|look|listen|"
    r"by the way|one more thing|from now on|going forward|in future|in the future|"
    r"and another thing|one thing|seriously|honestly)\b[,;:]?\s*|"
    r"(?:no|nah|yes|yeah|sorry|right)[,;:]\s*)*"
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
    r"would you|ok(?:ay)?\?)|[,;]\s*(?:okay|ok|alright|yeah))*\s*[.!?…]*$",
    re.IGNORECASE,
)
_LASTING = re.compile(
    r"\b(?:again|from now on|going forward|only|instead|back|anymore|from here on|"
    r"in future|in the future)\b",
    re.IGNORECASE,
)
"""words that make a bare "English" a request for how she talks from now on"""

# -- the request's mode: a plain request, a request to stop, a permission ----------------------
#
# A correction is a MODE followed by an ACTION: "stop" + "calling me buddy", "you can" +
# "swear", "" + "call me Sam". The mode is read first (many ways to say "don't"), the verb of
# the action is put in its base form ("calling" → "call"), then the action is matched against
# the grammar of each kind, which says what it means in each mode.

Mode = Literal["", "not", "ok"]

_NOT = re.compile(
    r"^(?:please |just |and )?(?:"
    r"do not|don't|dont|never|stop|quit|no more|no|not|cut out|cut|enough with|enough of|"
    r"lay off(?: the)?|less|fewer|without|avoid|drop|ditch|skip|lose|"
    r"you don't (?:need|have) to|you do not (?:need|have) to|no need to|there's no need to|"
    r"i don't (?:want|need) you to|i do not (?:want|need) you to|"
    r"i(?:'d| would) rather you (?:didn't|did not)|"
    r"i (?:really )?(?:hate|don't like|do not like|dislike|can't stand|cannot stand|"
    r"don't love|am not a fan of|'m not a fan of)(?: it)? (?:when|that|how) you|"
    r"i (?:really )?(?:hate|don't like|do not like|dislike|can't stand|cannot stand)|"
    r"be less|be not so|not so|not as|be a bit less|be a little less"
    r")(?: (?:keep|always|constantly|ever|with the|with|so much))*\s+",
    re.IGNORECASE,
)
_OK = re.compile(
    r"^(?:you can|you may|you could|feel free to|it's (?:ok|okay|fine|alright) (?:to|if you)|"
    r"it is (?:ok|okay|fine|alright) (?:to|if you)|go ahead and|you're allowed to|"
    r"you are allowed to|i don't mind if you|i do not mind if you|you have my permission to|"
    r"i'm (?:ok|okay|fine) with you|i am (?:ok|okay|fine) with you|i don't mind)\s+",
    re.IGNORECASE,
)
_BASE_FORMS: Final = {
    "calling": "call",
    "naming": "name",
    "addressing": "address",
    "referring": "refer",
    "saying": "say",
    "using": "use",
    "asking": "ask",
    "checking": "check",
    "ending": "end",
    "finishing": "finish",
    "swearing": "swear",
    "cursing": "curse",
    "cussing": "cuss",
    "talking": "talk",
    "speaking": "speak",
    "rambling": "ramble",
    "being": "be",
    "rushing": "rush",
    "replying": "reply",
    "answering": "answer",
    "responding": "respond",
    "writing": "write",
    "going": "go",
}


def _mode(core: str) -> tuple[Mode, str]:
    """The request's mode and its action, the action's first verb in its base form."""
    mode: Mode = ""
    m = _NOT.match(core)
    if m is not None:
        mode, core = "not", core[m.end() :]
    else:
        m = _OK.match(core)
        if m is not None:
            mode, core = "ok", core[m.end() :]
    first, _, rest = core.partition(" ")
    base = _BASE_FORMS.get(first.lower())
    if base is not None and (mode or first.lower() in ("being",)):
        core = f"{base} {rest}".strip()
    return mode, core


# -- the kinds' grammars ------------------------------------------------------------------------

_NAME = r"(?P<name>[^\W\d_][\w'-]{0,30}(?: [A-Z][\w'-]{0,30})?)"
_WORD = r"[\"'“‘]?(?P<word>[^\W\d_][\w'-]{0,30}(?: [\w'-]{1,30})?)[\"'”’]?"
_ME = r"(?: me| to me| with me| back)?"
_COMM = r"(?:talk|speak|reply|answer|respond|write|chat|text|converse|communicate)"
_ADDRESS = r"(?:call|name|address|refer to) me(?: as)?"
_REPLIES = (
    r"(?:your |the |all |every |each |my )?(?:answers?|repl(?:y|ies)|responses?|messages?|"
    r"texts?|sentences?)"
)


def _compile(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


_NAME_PATTERNS = _compile(
    rf"(?:just )?{_ADDRESS} {_NAME}",
    rf"i (?:go by|prefer|'d prefer|would prefer) {_NAME}",
    rf"i(?:'d| would) (?:rather|prefer to|like to) be called {_NAME}",
    rf"i prefer to be called {_NAME}",
    rf"my name(?: is|'s) {_NAME},? (?:call me that|use (?:it|that)|not \S+)",
    rf"it's {_NAME},? not \S+",
)
_BANNED_ACTIONS = _compile(  # after "don't"
    rf"{_ADDRESS} {_WORD}",
    rf"(?:use|say) the word {_WORD}",
    rf"say {_WORD}",
    rf"be called {_WORD}",
)
_BANNED_STATEMENTS = _compile(
    rf"i(?:'m| am) not (?:your|a) {_WORD}",
    rf"i (?:hate|don't like|do not like|dislike) being called {_WORD}",
)
_NUM = r"(?P<n>one|two|three|four|five|a single|single|a couple of|a|[1-5])"
_EXPLICIT_LENGTH = _compile(
    rf"{_COMM}{_ME} in (?:just |only )?{_NUM} (?:short )?sentences?",
    rf"(?:keep|limit) (?:your |the )?(?:answers|replies|responses|it) "
    rf"(?:to|under|below|within|at) (?:just |only |at most |max )?{_NUM} sentences?",
    rf"(?:no more than|at most|max(?:imum)?|only|just) {_NUM} sentences?"
    rf"(?: (?:answers|replies|responses|per (?:answer|reply)))?",
    rf"{_NUM}[- ]sentence (?:answers|replies|responses)",
)
_TALKATIVE = (
    r"(?:(?:so |too |that |as |this )?(?:chatty|wordy|verbose|long-winded|talkative|rambly)|"
    r"(?:so|too|that|this) (?:long|lengthy))"  # "don't be long" is about coming back soon
)
_SHORTER = _compile(
    r"(?:give me |use |i want |i'd like )?(?:much |a bit |a little )?"
    r"(?:shorter|briefer|short|brief|concise|quicker|more concise|snappier)"
    r" (?:answers|replies|responses)",
    r"(?:keep|make) (?:it|things|your (?:answers|replies|responses)|the (?:answers|replies))"
    r" (?:short|shorter|brief|briefer|concise|snappy)(?: and sweet)?",
    r"be (?:more |a bit more |a little more )?(?:brief|concise|succinct|terse|to the point)",
    r"get (?:straight )?to the point",
    r"your (?:answers|replies|responses) are (?:way |much |a bit |far )?too long",
    r"you talk (?:way |far )?too much",
    r"tone it down a (?:bit|little|notch)",
)
_SHORTER_ACTIONS = _compile(  # after "don't", "less"
    rf"(?:be )?{_TALKATIVE}",
    r"ramble(?: on)?",
    r"(?:talk|say) so much",
    r"(?:long|lengthy|wordy) (?:answers|replies|responses|paragraphs|speeches)|essays|"
    r"monologues|walls of text|lectures|rambling",
    r"(?:the )?(?:words|chatter|waffle|small talk|chit-chat|chitchat)",
)
_LONGER = _compile(
    r"(?:give me |i want |i'd like )?(?:longer|more detailed|fuller) (?:answers|replies|"
    r"responses)",
    r"you can (?:talk|say) (?:as much as you (?:like|want)|more)",
    r"answers? of any length",
    r"longer (?:answers|replies|responses) are (?:fine|ok|okay)",
)
_CHECKIN_TOPIC = (
    r"(?:i'm|i am|im|i'm feeling|i feel|i'm doing|i am doing|i've been|everything's|"
    r"everything is)"
    r" (?:ok|okay|alright|all right|fine|good|well|doing|feeling|holding up)(?: \w+)?"
)
_CHECKIN_ACTIONS = _compile(  # after "don't"
    rf"ask(?: me)? (?:if|whether) {_CHECKIN_TOPIC}",
    r"ask(?: me)? how (?:i'm|i am|im|i) (?:feeling|doing|holding up|feel|do)(?: today)?",
    r"ask(?: me)? (?:about )?(?:my|how my) (?:feelings|mood|day)(?: is)?",
    r"(?:checking in|check in|check-ins|checkins|check ins|check up)(?: on me)?",
    r"(?:mood questions|questions about my (?:feelings|mood))",
    r"i don't (?:need|want) you to (?:keep )?(?:check(?:ing)? (?:in )?on me|ask(?:ing)?"
    r" how i(?:'m| am) (?:feeling|doing))",
)
_QUESTION_WORD = (
    r"(?:(?:so many|any|all these|all those|all the|these|those|a|more|your|the|so much|"
    r"constant|endless) )?(?:(?:follow[- ]up|extra|little|more|silly|last|closing|final) )?"
    r"(?:questions?|question marks?)"
)
_AT_THE_END = (
    rf"(?: (?:at the end|back|every time|all the time|to me|at me|after (?:every|each) "
    rf"(?:thing|reply|answer|message)|at the end of {_REPLIES}|in {_REPLIES}))*"
)
_QUESTION_ACTIONS = _compile(  # after "don't"; "you can ask me questions" undoes it
    rf"(?:ask|throw|put)(?: me)? {_QUESTION_WORD}{_AT_THE_END}",
    rf"(?:end|finish|close)(?: (?:off|up))?(?: {_REPLIES}| everything| it)?"
    rf" (?:with|on|in) (?:a )?{_QUESTION_WORD}",
    r"(?:turn|make) (?:it|everything) (?:into|in) (?:a )?questions?",
)
_QUESTION_NOUNS = _compile(rf"{_QUESTION_WORD}{_AT_THE_END}")
"""after "no": "no more questions at the end" (a bare "no questions" may answer hers)"""
_SWEARING = (
    r"(?:swear|curse|cuss|use (?:swear words|bad language|profanity|curse words)|"
    r"drop (?:an )?f-bombs?|swearing|cursing|cussing|bad language|profanity|swear words|"
    r"curse words)"
    r"(?: if you (?:want|like)| all you want| with me| around me| at me)?"
)
_SWEAR_ACTIONS = _compile(_SWEARING)
_SWEAR_OK = _compile(
    r"(?:swearing|cursing|bad language|profanity) is (?:fine|ok|okay|allowed|alright)"
    r"(?: with me)?",
)
_RATE = _compile(
    r"(?:speak|talk|go)(?: (?P<amount>a bit|a little|a tad|a little bit|much|way|a lot))?"
    r"(?: more)? (?P<dir>slower|faster|quicker|slowly|quickly)",
    r"(?P<dir>slow down|speed up)(?: (?P<amount>a bit|a little|a tad|a lot))?"
    r"(?: when you (?:talk|speak))?",
    r"you(?:'re| are) (?:talking|speaking) (?:(?P<amount>way|much|a bit|a little) )?too "
    r"(?P<dir>fast|quickly|slow|slowly)",
)
_RATE_ACTIONS = _compile(  # after "don't": "don't talk so fast"
    r"(?:speak|talk|go)(?: so| that| too)? (?P<dir>fast|quickly|slow|slowly)",
    r"(?P<dir>rush)(?: it| me| things)?",
)
_RATE_ABSOLUTE = _compile(r"speak at (?P<x>\d(?:\.\d+)?)\s*[x×] speed")
_LANG = r"(?P<lang>" + "|".join(LANGUAGES) + r")"
_LANGUAGE = _compile(
    rf"{_COMM}{_ME}(?: back)?(?: only| just| always)? in {_LANG}(?: only)?",
    rf"(?:let's|can we|could we|shall we|we can)(?: go back to| switch to| switch back to|"
    rf" go| talk| speak| chat| do| use| try)+(?: in)? {_LANG}(?: (?:now|only))?",
    rf"(?:switch|change|go|move|get|come|revert|swap)(?: over| back| it)*(?: to| into)"
    rf"(?: speaking| using)? {_LANG}",
    rf"(?:use|speak) {_LANG}(?: only)?(?: with me| to me)?",
    rf"(?:answers|replies|responses|your answers|your replies)(?: only)? in {_LANG}",
    rf"(?:give me |i want |i'd like )?{_LANG} (?:answers|replies|responses)",
)
_LANGUAGE_TERSE = _compile(  # said with "again", "only", "from now on", "back"…
    rf"(?:only |just |back (?:to|in) |back to |in |to )?{_LANG}(?: only| again| now)?",
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


def _banned(m: re.Match[str]) -> Correction | None:
    word = m.group("word").strip().strip("'\"").lower()
    first = word.split()[0]  # "don't say a word", "never say never"
    if word in _NOT_WORDS or first in _NOT_NAMES or first in _NOT_BANNED:
        return None
    return Correction("banned_word", word)


def _maybe(kind: Kind, value: str | int | None) -> Correction | None:
    return Correction(kind, value) if value else None


_Build = Callable[[re.Match[str], str], "Correction | None"]
"""a matched action (and the clause it came from) → the correction, or None (not one)"""


def _always(kind: Kind, value: str | int | float | bool) -> _Build:
    return lambda m, clause: Correction(kind, value)


def _slower(m: re.Match[str], clause: str) -> Correction:
    return Correction("tts_rate", round(1.0 - 0.15, 2), relative=True)


def _no_questions(m: re.Match[str], clause: str) -> Correction | None:
    """ "No more questions at the end", "fewer questions please"; a bare "No questions." is
    taken as an answer to hers, not a rule."""
    bare = re.match(r"\W*(?:no|not)\s+(?!more\b)", _core(clause), re.IGNORECASE)
    said = _LASTING.search(clause) or re.search(r"\b(?:please|at the end)\b", clause, re.I)
    return Correction("no_questions", True) if not bare or said else None


def _terse_language(m: re.Match[str], clause: str) -> Correction | None:
    """A bare language ("English again please") is a request only when something in the
    clause says it is for from now on (or it is English: going back, with "please")."""
    lang = m.group("lang").capitalize()
    lasting = _LASTING.search(clause) or re.search(r"\bback\b", m.group(0), re.IGNORECASE)
    if lasting or (lang == "English" and re.search(r"\bplease\b", clause, re.IGNORECASE)):
        return Correction("language", lang)
    return None


_Grammar = tuple[tuple[tuple[re.Pattern[str], ...], _Build], ...]

# The grammar by mode: in this order, the first pattern that matches the whole action decides
# (its builder may still say it is not a correction: "call me later").
_GRAMMAR: Final[dict[Mode, _Grammar]] = {
    "": (
        (_NAME_PATTERNS, lambda m, clause: _maybe("name", _name(m, clause))),
        (_BANNED_STATEMENTS, lambda m, clause: _banned(m)),
        (_EXPLICIT_LENGTH, lambda m, clause: _maybe("max_sentences", _sentences(m.group("n")))),
        (_SHORTER, _always("max_sentences", DEFAULT_SHORT_SENTENCES)),
        (_LONGER, _always("max_sentences", 0)),
        (_SWEAR_OK, _always("swearing", True)),
        (
            _RATE_ABSOLUTE,
            lambda m, clause: Correction(
                "tts_rate", min(max(float(m.group("x")), MIN_RATE), MAX_RATE)
            ),
        ),
        (_RATE, lambda m, clause: Correction("tts_rate", _rate(m), relative=True)),
        (_LANGUAGE, lambda m, clause: Correction("language", m.group("lang").capitalize())),
        (_LANGUAGE_TERSE, _terse_language),
        (_BACK_TO_ENGLISH, _always("language", "English")),
    ),
    "not": (
        (_BANNED_ACTIONS, lambda m, clause: _banned(m)),
        (_CHECKIN_ACTIONS, _always("no_checkins", True)),
        (_QUESTION_ACTIONS, _always("no_questions", True)),
        (_QUESTION_NOUNS, _no_questions),
        (_SWEAR_ACTIONS, _always("swearing", False)),
        (_RATE_ACTIONS, _slower),
        (_SHORTER_ACTIONS, _always("max_sentences", DEFAULT_SHORT_SENTENCES)),
    ),
    "ok": (
        (_NAME_PATTERNS, lambda m, clause: _maybe("name", _name(m, clause))),
        (_SWEAR_ACTIONS, _always("swearing", True)),
        (_QUESTION_ACTIONS, _always("no_questions", False)),
    ),
}


def parse_clause(clause: str) -> Correction | None:
    """The correction one sentence asks for, or None."""
    core = _core(clause)
    if not core:
        return None
    mode, action = _mode(core)
    tries: list[tuple[Mode, str]] = [(mode, action), ("", core)] if mode else [("", core)]
    for tried, words in tries:  # "no more than two sentences": not a "no" + an action
        for patterns, build in _GRAMMAR[tried]:
            for pattern in patterns:
                m = pattern.fullmatch(words)
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
    if c.kind == "no_questions":
        return "Don't end with a question." if c.value else "You can ask me questions."
    if c.kind == "swearing":
        return "You can swear." if c.value else "Don't swear."
    if c.kind == "tts_rate":
        return f"Speak at {float(c.value):.2f}x speed."
    return f"Talk to me in {c.value}."
