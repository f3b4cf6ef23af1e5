"""Changed values at answer time: a note that says a value is over or was wrong names the old
value ("the name biscotti didn't stick, she's nimbus now", "i said tuesday before, the dentist
is actually wednesday", "luca's birthday is the 27th of july not the 22nd", "nadia and i broke
up", "sold the fiat"). For a question about what is now, the notes told before it that name
the old value are history: they are not handed to her, and the note that tells the change is
handed to her without the old value, so that only the current one reads as current.

- ``read_change`` reads one note: its clauses that say a value is over or wrong (an end cue:
  "didn't stick", "no longer", "handed in my notice", "passed away", "sold", "is off", "broke
  up"; a correction: "i said tuesday before", "i'm not a nurse", ", not sultan", "the 27th not
  the 22nd", "climbing, no wait, kayaking"), the old values they name, and the note's text
  without them (``now``).
- ``revise`` applies the changes to the notes for a question about the present: a note told
  before a change (or with it) that names its old value gives way to the change's ``now``
  text — or, when the old value is a day, a month or a date and the change names one new
  value of the same kind, the old one is replaced in it ("I have a dentist appointment
  tuesday at…" → "…wednesday at…"); a note that calls someone by a name the correction spells
  differently ("her name's katherine" after "her name's katrin, i got it wrong") gives way; and
  after an ending ("nadia and i broke up", "we've rehomed bramble"), the older notes about "my
  girlfriend" or "our collie" (how the old one was called) give way too.

The notes themselves are not changed in the store: the memory view keeps every one as told.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final

from her_desktop.memory.grounding import FUNCTION_WORDS, KEY_WORDS, stem, words
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.rules.vocabulary import PETS, RELATIONS

WHO_WORDS: Final = frozenset({*KEY_WORDS, *(w for k in (*PETS, *RELATIONS) for w in k.split())})
"""who a change is about or what relation it names ("my sister no longer lives in leeds"),
never the old value itself"""

ENDING: Final = re.compile(
    r"\b(?:didn't stick|did not stick|no longer|not any ?more|any ?more|used to|"
    r"handed in (?:my|his|her|their) notice|quit|quitting|gave up|given up|"
    r"sold(?! out)|rehomed|re-homed|passed away|died|broke up|broken up|split up|"
    r"(?:is|was|are|were) off(?! to\b| work\b| sick\b| for\b| on\b| today\b| tomorrow\b)|"
    r"called off|cancell?ed|fell through|walked out of|got rid of|"
    r"moved (?:out of|away from)|former|formerly|ex)\b",
    re.IGNORECASE,
)
"""a clause that says a value is over"""
LEFT: Final = re.compile(r"\b(?:left|dropped|stopped)\b", re.IGNORECASE)
"""a clause that says a value is over when the note says what is now ("i dropped history, i'm
doing psychology now"; not "I left my keys at home")"""
IT: Final = re.compile(r"^(?:it|it's|its|that|that's|which|this)\b", re.IGNORECASE)
"""a clause about the thing the clause before it named"""
NOW: Final = re.compile(r"\b(?:now|instead|these days|nowadays|since|new)\b", re.IGNORECASE)
GONE: Final = re.compile(
    r"\b(?:passed away|died|rehomed|re-homed|broke up|broken up|split up|sold|got rid of)\b",
    re.IGNORECASE,
)
"""an ending of someone or something (not of a value they had): their older notes go too"""
WRONG: Final = re.compile(
    r"\b(?:i said \w+(?: \w+)? before|(?:got|had) (?:it|that) wrong|before|not|n't|never)\b|"
    r"n't\b",
    re.IGNORECASE,
)
"""a clause that says a value was wrong ("i said tuesday before", "i'm not a nurse")"""
CORRECTION: Final = re.compile(
    r"\b(?:(?:got|had) (?:it|that|the name) wrong|no wait|i meant|correct myself|spelled|spelt|"
    r"typo|my mistake|misspoke|misheard|i said \w+(?: \w+)? before|actually)\b",
    re.IGNORECASE,
)
"""a note that corrects a value told before ("her name's katrin, i totally got it wrong")"""
NO_WAIT: Final = re.compile(
    r"\b(?P<old>[\w'-]+),? (?:no wait|no sorry|sorry|i mean|i meant|or rather|scratch that|"
    r"scrap that|make that),? ",
    re.IGNORECASE,
)
"""a value taken back in the same breath: "she's taking me climbing, no wait, kayaking" """
NOT_THAT: Final = re.compile(
    r"(?<=[\w'])(?P<cut>,? (?:and )?not (?:the |a |an |on |in |at )?(?P<old>[\w'-]+))",
    re.IGNORECASE,
)
"""a value set against the new one inside a clause: "the 27th of july not the 22nd" """
VERB_BEFORE_NOT: Final = re.compile(
    r"(?:\b(?:i'm|im|am|is|are|was|were|be|do|does|did|have|has|had|will|would|could|can|"
    r"should|it's|that's|he's|she's|they're|we're|you're|i|we|you|they|he|she|it|why|"
    r"whether|or)|'s|'re|'m)$",
    re.IGNORECASE,
)
"""the word before a "not" that negates a verb ("i'm not a nurse"), not set against a value"""
CLAUSE: Final = re.compile(r"\s*[,;:]\s*|\s+but\s+(?=\w)|\s+-+\s+", re.IGNORECASE)
OPENER: Final = re.compile(
    r"^(?:no wait|oops|sorry|ugh|ok|okay|so|um|anyway|actually|update|well)$", re.IGNORECASE
)
"""a clause that is only an opener (left out of the current text on its own)"""
LEADING: Final = re.compile(
    r"^(?:(?:no wait|oops|sorry|ugh|ok|okay|so|um|anyway|update|well|no)\b[,!]?\s*)+",
    re.IGNORECASE,
)
"""openers before what the current text says ("no wait her name's katrin")"""
_SAYING: Final = (
    "said say says told tell thought think totally just actually really wrong before stick "
    "notice handed walked bit kind like lol now instead anymore longer any more off thing "
    "stuff got get not no never"
)
SAYING: Final = frozenset(_SAYING.split())
"""words of how a change is told, not of the value that changed"""

WEEKDAYS: Final = "monday tuesday wednesday thursday friday saturday sunday"
MONTHS: Final = (
    "january february march april may june july august september october november december"
)
_KINDS: Final = (
    ("day", re.compile(rf"^(?:{WEEKDAYS.replace(' ', '|')})s?$", re.IGNORECASE)),
    ("month", re.compile(rf"^(?:{MONTHS.replace(' ', '|')})$", re.IGNORECASE)),
    ("date", re.compile(r"^\d{1,2}(?:st|nd|rd|th)$", re.IGNORECASE)),
)
"""the kinds of value one of which replaces another of its kind in an older note"""
TIME_WORD: Final = re.compile(
    rf"^(?:{WEEKDAYS.replace(' ', '|')}|{MONTHS.replace(' ', '|')})s?$|^\d+(?:st|nd|rd|th)?$|"
    r"^(?:yesterday|today|tonight|tomorrow|week|weekend|month|year|morning|night|ago|last|"
    r"next|weeks|months|years|days|day)$",
    re.IGNORECASE,
)
"""when a thing ended is not the value that ended ("juniper passed away on thursday")"""
_DAYS: Final = WEEKDAYS.replace(" ", "|")
_MONTHS: Final = MONTHS.replace(" ", "|")
MOVED_TO: Final = re.compile(
    r"\b(?:moved|pushed back|brought forward|rescheduled|changed|switched|now|actually|instead|"
    r"is|'s)\b(?: [\w']+){0,3}? (?:to |on |is )?(?:the )?"
    rf"(?P<new>(?:{_DAYS})s?|{_MONTHS}|\d{{1,2}}(?:st|nd|rd|th))\b",
    re.IGNORECASE,
)
"""a change of when something is, with the new value after its cue ("moved club night to
thursdays", "the dentist is actually wednesday")"""
MOVE_CUE: Final = re.compile(
    r"\b(?:moved|pushed back|brought forward|rescheduled|postponed|changed|switched|"
    r"now on|actually)\b",
    re.IGNORECASE,
)
_ASKING: Final = "what which when where whom whose how much many long often"
ASKING: Final = frozenset(_ASKING.split())
_GENERIC: Final = "time times same back day days week date month year night morning home"
GENERIC: Final = frozenset(stem(w) for w in _GENERIC.split())
"""words a change and a question may share without being about one thing ("same time")"""
"""words of asking, not of what is asked"""
SIMILAR: Final = 0.75
"""how alike a corrected spelling and the old one are ("katrin", "katherine")"""


@dataclass(frozen=True, slots=True)
class Change:
    """What one note says changed."""

    record: MemoryRecord
    old: frozenset[str]
    """the old values it names (lower case)"""
    now: str | None
    """its text without the clauses and words about the old value (None: nothing is left)"""
    gone: bool
    """someone or something ended (broke up, passed away, sold): not just a value of theirs"""
    correction: bool
    """it corrects a value told before (a spelling corrected by a like one)"""
    moved: tuple[str, str] | None
    """(kind, value): when something is now ("moved club night to thursdays"), with no old
    value said"""
    alike: frozenset[str] = frozenset()
    """the words of a correction's current text a misspelt older one may be like ("katrin")"""
    called: frozenset[str] = frozenset()
    """how older notes call the one that ended ("my girlfriend nadia"): ``called``"""


def read_change(record: MemoryRecord) -> Change | None:
    """The change a note tells (see the module docstring), or None."""
    text = record.text.strip().replace("’", "'")
    said: set[str] = set()  # taken back in so many words: "no wait", "the 27th not the 22nd"
    for m in NO_WAIT.finditer(text):
        said.add(m["old"].lower())
    text = NO_WAIT.sub("", text)
    old: set[str] = set()
    kept: list[str] = []
    for m in list(NOT_THAT.finditer(text)):
        before = text[: m.start()].split()
        if before and not VERB_BEFORE_NOT.search(before[-1]):
            said.add(m["old"].lower())
            text = text.replace(m["cut"], "", 1)
    clauses = CLAUSE.split(text.rstrip(".!?"))
    correcting = CORRECTION.search(text) is not None
    marked = NOW.search(text) is not None
    after_old = False
    for clause in clauses:
        if not clause or said & set(words(clause)):
            continue  # "the 22nd is his brother's": about the old value
        ending = ENDING.search(clause) or (LEFT.search(clause) if marked else None)
        wrong = WRONG.search(clause) if correcting else None  # "I don't have any pets": no change
        if ending is None and wrong is None:
            if not (after_old and IT.match(clause)):  # "sold the fiat, it was dying": the fiat
                kept.append(clause)
            after_old = False
            continue
        after_old = True
        bare = LEFT.sub(" ", ENDING.sub(" ", clause))
        for w in words(bare):
            if w in FUNCTION_WORDS or w in SAYING or w in WHO_WORDS or len(w) < 3 or "'" in w:
                continue
            if TIME_WORD.match(w) and not (wrong and re.search(r"\bbefore\b|\bnot\b", clause)):
                continue  # "juniper passed away on thursday": thursday did not end
            old.add(w)
    correction = correcting
    moved = _moved(text) if not old else None
    if not old and not said and not correction and moved is None:
        return None
    if correcting:  # "her name's katherine; her name's katrin, i got it wrong": told together
        kept, respelt = _respelt(kept)
        old |= respelt
    now_words = {w for clause in kept for w in words(clause)}
    old -= now_words  # "i'm not a nurse, i'm a midwife … nurses": what it still says
    old |= {w for w in said if w not in FUNCTION_WORDS and w not in SAYING}
    left = [c for c in kept if not OPENER.match(c.strip()) and words(c)]
    now = LEADING.sub("", ", ".join(left)).strip(" ,") if left else None
    if now:
        now = now[0].upper() + now[1:] + "."
    alike = frozenset(
        w for w in words(now or "") if correction and len(w) >= 4 and w not in FUNCTION_WORDS
    )
    gone = GONE.search(text) is not None
    return Change(record, frozenset(old), now, gone, correction, moved, alike)


def _alike(a: str, b: str) -> bool:
    """Two spellings of one name ("katherine", "katrin"), not two words."""
    if a == b or len(a) < 4 or len(b) < 4 or a[0] != b[0] or abs(len(a) - len(b)) > 3:
        return False
    if a in FUNCTION_WORDS or b in FUNCTION_WORDS or stem(a) == stem(b):
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= SIMILAR


def _respelt(clauses: list[str]) -> tuple[list[str], set[str]]:
    """The clauses of a correction less those a later clause spells again, and the old
    spellings."""
    kept: list[str] = []
    old: set[str] = set()
    for i, clause in enumerate(clauses):
        later = {w for c in clauses[i + 1 :] for w in words(c)}
        gone = {w for w in words(clause) for n in later if _alike(w, n)}
        if gone:
            old |= gone
        else:
            kept.append(clause)
    return kept, old


def _moved(text: str) -> tuple[str, str] | None:
    if MOVE_CUE.search(text) is None:
        return None
    for m in MOVED_TO.finditer(text):
        kind = kind_of(m["new"])
        if kind is not None:
            return kind, m["new"]
    return None


def kind_of(word: str) -> str | None:
    for kind, pattern in _KINDS:
        if pattern.match(word):
            return kind
    return None


def _base(word: str) -> str:
    w = word.lower()
    return w[:-1] if kind_of(w) == "day" and w.endswith("s") else w


def _new_of_kind(change: Change, kind: str) -> str | None:
    """The one value of ``kind`` the change's current text names, if just one."""
    if change.moved is not None and change.moved[0] == kind:
        return change.moved[1]
    found = {_base(w) for w in words(change.now or "") if kind_of(w) == kind}
    return found.pop() if len(found) == 1 else None


def _topic(text: str) -> set[str]:
    return {
        stem(w)
        for w in words(text)
        if w not in FUNCTION_WORDS and w not in SAYING and len(w) > 3 and kind_of(w) is None
    }


@dataclass(frozen=True, slots=True)
class Revised:
    """The notes for a question about the present (``revise``)."""

    notes: list[MemoryRecord]
    standing_in: frozenset[int]
    """the notes that stand in for one that answered the question (a change told without the
    old value: "Her name's katrin." for "her name's katherine"), or changes told without it
    that name what is asked ("The dentist is actually wednesday."): they answer it too"""


def revise(
    records: Sequence[MemoryRecord],
    changes: Iterable[Change],
    question: str,
    answered: Callable[[str, MemoryRecord], bool],
    *,
    kept: Callable[[MemoryRecord], bool] = lambda r: False,
) -> Revised:
    """The notes for a question about the present, with the changes applied (the module
    docstring). ``kept``: notes no change touches (constraints)."""
    asked = {stem(w) for w in words(question)}
    changes = list(changes)
    by_id = {c.record.id: c for c in changes}
    out: dict[int, MemoryRecord] = {}
    standing_in: set[int] = set()
    now_texts = {c.now for c in changes if c.now}

    topic = _topic(question) - ASKING - GENERIC

    def add(r: MemoryRecord, instead_of: MemoryRecord | None = None) -> None:
        out.setdefault(r.id, r)
        if instead_of is None:
            return
        if answered(question, instead_of) or (r.text in now_texts and topic & _topic(r.text)):
            standing_in.add(r.id)  # "The dentist is actually wednesday." for "what day's my
            # dentist appointment": a change tells the value of what it names

    for r in records:
        if kept(r):
            add(r)
            continue
        own = by_id.get(r.id)
        if own is not None and (own.old or own.now != r.text):
            if own.now is None:
                if answered(question, r):
                    add(r)  # "Do I still have a hamster?": "my hamster passed away"
                continue
            if {w for w in own.old if stem(w) not in asked} or not own.old:
                add(replace(r, text=own.now), r)
            else:
                add(r)
            continue
        revised = _revised(r, changes, asked)
        if revised is None:
            add(r)
        elif isinstance(revised, Change):
            if revised.now is None:
                if answered(question, revised.record):
                    add(revised.record)
            else:
                add(replace(revised.record, text=revised.now), r)
        else:
            add(revised, r)
    return Revised(list(out.values()), frozenset(standing_in))


def _revised(
    r: MemoryRecord, changes: Sequence[Change], asked: set[str]
) -> MemoryRecord | Change | None:
    """What a note older than a change gives way to: the same note with a day or a date
    replaced, or the change (None: the note stands)."""
    said = words(r.text)
    said_set = set(said)
    for c in changes:
        if c.record.id == r.id or r.updated > c.record.updated:
            continue
        olds = {w for w in c.old if stem(w) not in asked} & said_set
        if olds:
            for old in olds:
                kind = kind_of(old)
                new = _new_of_kind(c, kind) if kind else _said_in_its_place(c, old, said)
                if new is not None:
                    return _swap(r, old, new)
            return c
        if c.moved is not None and r.updated < c.record.updated:
            kind, new = c.moved
            others = [w for w in said if kind_of(w) == kind and _base(w) != _base(new)]
            if others and _topic(r.text) & _topic(c.record.text):
                return _swap(r, others[0], new)
        if c.correction and c.now and r.updated < c.record.updated:
            for w in said_set:
                if len(w) < 4 or w in FUNCTION_WORDS or stem(w) in asked:
                    continue
                if any(_alike(n, w) for n in c.alike):
                    return c
        if c.gone and c.old and r.updated < c.record.updated and _calls(r.text) & c.called:
            return c
    return None


_FRAME: Final = "a an the is am are 's called named at in to for as"
FRAME: Final = frozenset(_FRAME.split())
"""the words before a value that frame it ("a nurse", "at Foldline", "called Biscuit")"""


def _said_in_its_place(c: Change, old: str, said: Sequence[str]) -> str | None:
    """The new value a change gives in the old one's frame, when the older note says the old
    one in that frame too: "i'm not a nurse, i'm a midwife" and "I'm a nurse on the
    maternity ward" → midwife (so the older note keeps the rest of what it says)."""
    told = words(c.record.text)
    frames = {told[i - 1] for i, w in enumerate(told) if w == old and i and told[i - 1] in FRAME}
    frames &= {said[i - 1] for i, w in enumerate(said) if w == old and i}
    if len(frames) != 1:
        return None
    frame = frames.pop()
    now = words(c.now or "")
    new = {
        now[i + 1]
        for i, w in enumerate(now[:-1])
        if w == frame and now[i + 1] not in FUNCTION_WORDS and now[i + 1] != old
    }
    return new.pop() if len(new) == 1 else None


def _swap(r: MemoryRecord, old: str, new: str) -> MemoryRecord:
    """The note with the old day or date replaced by the new one ("tuesdays" → "thursdays")."""
    base_old, base_new = _base(old), _base(new)

    def sub(m: re.Match[str]) -> str:
        return base_new + (m[1] or "")

    plural = "s?" if kind_of(old) == "day" else "()"
    text = re.sub(rf"\b{re.escape(base_old)}({plural})\b", sub, r.text, flags=re.IGNORECASE)
    return replace(r, text=text)


OWNED: Final = re.compile(r"\b(?:my|our) ([\w-]+)(?: ([\w-]+))?", re.IGNORECASE)


def _calls(text: str) -> set[str]:
    """How a note calls those it is about: "my girlfriend", "our old collie" → girlfriend,
    old, collie (the words after "my" or "our")."""
    return {w.lower() for m in OWNED.finditer(text) for w in m.groups() if w}


def called(c: Change, older: Iterable[MemoryRecord]) -> frozenset[str]:
    """How the older notes call the one a change says ended ("my girlfriend nadia", "our
    collie bramble") → {girlfriend}, {collie}."""
    found: set[str] = set()
    for r in older:
        if r.updated >= c.record.updated:
            continue
        for old in c.old:
            for m in re.finditer(
                rf"\b(?:my|our) (?:\w+ )?(?P<noun>[a-z][\w-]+),? {re.escape(old)}\b",
                r.text,
                re.IGNORECASE,
            ):
                found.add(m["noun"].lower())
    return frozenset(found)
