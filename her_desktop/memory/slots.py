"""Slots: which memories hold a value of the same relation of the same one (the user's home,
the puppy's name, where the user works), so that a newer value supersedes an older one —
the older text is kept as the newer one's history — whatever words the change was told in
and whatever key each was stored under.

A memory's slot is read from its subject key (``user.home``, ``pet.dog.name``,
``people.sister.home``, ``user.learning.drums``) or, for a memory without one, from its text: who
it is about (its first words: "I", "my sister", "the puppy") and the one relation its words
name (a home, a workplace or job, a name, something being learned). ``supersedes`` decides,
from the two memories alone, whether the newer one replaces the older:

- a current value replaces an ended one of the same slot ("I used to live in Glasgow" gives
  way to "I live in Dundee");
- a single-valued relation (a name, a home, a workplace, a job) holds one current value: a
  later one replaces it;
- a relation that may hold several (things being learned) is replaced only when the turn says
  so (a change cue: "now", "instead", "anymore", "switched", …, and not "too", "also");
- an ended value ("I don't work at the bank anymore") replaces the current one it names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from her_desktop.memory.grounding import FUNCTION_WORDS, stem, words
from her_desktop.memory.kinds import SINGLE_KINDS, kind_asked, kinds_named
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.rules.state import RuleState
from her_desktop.memory.rules.vocabulary import RELATION_FIELDS
from her_desktop.memory.whom import names_in
from her_desktop.memory.words import WANTS, WH_WORDS

KEPT_PREFIXES: Final = ("health.", "avoids.", "dislikes.", "diet.", "style:", "feedback:")
"""what a change never hides at answer time (constraints, other services' notes)"""
SINGLE_VALUED: Final = frozenset({"name", "home", "workplace", "job"})
RELATION_KEYS: Final = frozenset({*SINGLE_VALUED, "learning", "plays", "hobby"})
WORK: Final = frozenset({"work", "workplace", "job"})
"""a text that says "work" without more is about the workplace or the job"""

ENDED: Final = re.compile(
    r"\b(?:no longer|anymore|any more|used to|quit|quitting|left|leaving|stopped|gave up|"
    r"given up|moved out of|moved away from|moved out|former|formerly|previously|not any more|"
    r"passed away|died|broke up|split up|rehomed|is off|was off|called off|cancelled|"
    r"ex|retired from|sold|don't|doesn't|do not|does not|isn't|aren't|is not|are not|not)\b",
    re.IGNORECASE,
)
"""a memory that says a value is over (or is not): "I used to live in Glasgow", "I quit guitar"
"""
CHANGE: Final = re.compile(
    r"\b(?:now|anymore|any more|no longer|these days|nowadays|instead|from now on|actually|"
    r"turns out|turned out|switched|switching|changed|changing|moved|relocated|renamed|"
    r"swapped|replaced|new|since|started|joined|quit|left|stopped|gave up|dropped|"
    r"not any more|rather than|not|pushed back|brought forward|postponed|rescheduled|"
    r"in the end|got it wrong|no wait|correct myself|i meant|move up|moved up|moving|"
    r"transferred|turned down|decided|changed (?:his|her|their|my|our) mind|after all|"
    r"autocorrect|update)\b",
    re.IGNORECASE,
)
"""a turn that says a value changed (a relation that may hold several is then replaced)"""
ADDED: Final = re.compile(
    r"\b(?:too(?!\s+[a-z])|also|as well|another|both|besides)\b", re.IGNORECASE
)
"""a turn that adds a value to the ones held ("I'm learning Spanish too"; not "too cringe")"""

_RELATION_WORDS: Final = (
    "call called name named renamed go goes live lives lived living moved moving based "
    "relocated settled work works worked working job employed learn learning learnt "
    "learned lessons studying study practising taking up took used quit left stopped "
    "gave given longer anymore any more now these days instead actually former ex there"
)
RELATION_STEMS: Final = frozenset(stem(w) for w in _RELATION_WORDS.split())
"""words that say the relation or the change, not the value"""
_WISHES: Final = rf"{WANTS}|hoping|might|maybe|if"
WISHED: Final = re.compile(rf"\b(?:{_WISHES})\b", re.IGNORECASE)
"""a note of what someone wishes or may do: it changes nothing yet (a plan does: "the
nursery's going to be sage green"; and so does an ending: "kwabena's not going to bristol
after all, it's cardiff")"""
IRREALIS: Final = re.compile(
    rf"\b(?:{_WISHES}|planning to|plan to|going to|gonna|will|'ll|soon|next)\b", re.IGNORECASE
)
"""a memory of what someone wants or may do (a wish or a plan), not of a value they hold"""
_NEGATIONS: Final = (
    "not no never don't doesn't didn't isn't aren't wasn't won't can't i i'm my our we"
)
NEGATIONS: Final = frozenset(_NEGATIONS.split())
_PRONOUNS: Final = "she he it they them her him his their theirs hers this that there here"
PRONOUNS: Final = frozenset(_PRONOUNS.split())
WHO: Final = re.compile(
    r"^(?:(?P<user>i|i'm|i've|i'd|i'll|we|we're|we've|we'd)\b|(?P<mine>(?:my|our|the) "
    r"(?:little |older |younger |big |old |new |baby |best )?[\w-]+)\b|"
    r"(?P<bare>mum|mom|mam|dad|nan|nana|gran|granny|grandma|grandpa|grandad)\b|"
    r"(?P<dropped>(?:finally |just |recently |then )?(?:settled|moved|relocated|sold|started|"
    r"quit|left|dropped|switched|joined|got|been|went|gave up|took up|picked up)\b))",
    re.IGNORECASE,
)
CLAUSE: Final = re.compile(r"[,;:]\s*|\s+(?:but|and|so)\s+(?=\w)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Slot:
    who: str
    """the key of whom it is about, without the field: ``user``, ``people.sister``, ``pet.dog``"""
    relation: str
    """``name``, ``home``, ``workplace``, ``job``, ``learning``; or ``work`` (a text that says
    only that it is about work: the workplace or the job)"""

    def matches(self, other: Slot) -> bool:
        if self.who != other.who:
            return False
        if self.relation == other.relation:
            return True
        pair = {self.relation, other.relation}
        return pair <= WORK and "work" in pair

    @property
    def single(self) -> bool:
        return self.relation in SINGLE_VALUED or self.relation == "work"


def slot_of(subject: str | None, text: str) -> Slot | None:
    """The slot a memory holds a value of (see the module docstring), or None."""
    if subject:
        parts = subject.split(".")
        for i in range(1, len(parts)):
            if parts[i] in RELATION_KEYS:
                return Slot(".".join(parts[:i]), parts[i])
        return None
    return _slot_of_text(text)


def _slot_of_text(text: str) -> Slot | None:
    """The one slot the clauses of a text hold a value of: who a clause starts with and the
    one relation its words say ("Derek left, my new boss is Priya": the boss's name)."""
    said = text.strip().replace("’", "'")
    if IRREALIS.search(said):
        return None  # "I'm looking for a new job": no value held
    found = {slot for clause in CLAUSE.split(said) if (slot := _clause_slot(clause))}
    return found.pop() if len(found) == 1 else None


def _clause_slot(clause: str) -> Slot | None:
    m = WHO.match(clause.strip())
    if m is None:
        return None
    if m["user"] or m["dropped"]:  # "finally settled in leeds": the user, unsaid
        who = "user"
    else:
        entity = RuleState()._entity(m["mine"] or f"my {m['bare']}")
        if entity is None or entity.subject == "user":
            return None
        who = entity.subject
    found = [relation for relation, said in RELATION_FIELDS if said.search(clause.strip())]
    if len(found) != 1:
        return None
    relation = found[0]
    if relation == "name" and who == "user":
        return None  # "we adopted a greyhound called Biscuit": not the user's name
    return Slot(who, relation)


def ended(text: str) -> bool:
    """The memory says its value is over or is not ("I used to live in Glasgow", "I quit
    guitar", "My sister no longer lives in Leeds")."""
    return ENDED.search(text.replace("’", "'")) is not None


def changing(said: str) -> bool:
    """The user's turn says a value changed, and does not add one ("too", "also")."""
    return CHANGE.search(said) is not None and ADDED.search(said) is None


def values(text: str) -> set[str]:
    """The stems of a memory's words that carry its value (not its relation, not function
    words): "I don't work at the bank anymore" → {bank}."""
    said = text.strip().replace("’", "'")
    who = WHO.match(said)
    return {
        stem(w)
        for w in words(said[who.end() :] if who else said)
        if w not in FUNCTION_WORDS | NEGATIONS and stem(w) not in RELATION_STEMS and len(w) > 1
    }


PAST_ASKED: Final = re.compile(
    r"\b(?:used to|before|previous|previously|old|first|originally|ex|last|earlier|"
    r"former|did|was|were)\b",
    re.IGNORECASE,
)
"""a question about what was, not what is ("Where did I live before?")"""
NOW_ASKED: Final = re.compile(
    r"\b(?:now|these days|nowadays|currently|at the moment|right now|end(?:ed)? up|in the end|"
    r"still|any ?more|no longer)\b",
    re.IGNORECASE,
)
"""a question about what is now, though it says "did" ("what did we end up calling the cat")"""


def asks_past(question: str) -> bool:
    """The question asks what was ("where did I live before?"), not what is now."""
    return PAST_ASKED.search(question) is not None and NOW_ASKED.search(question) is None


CLOSEST: Final = 3
"""the notes recalled first (closest in meaning) are about what is asked"""


def current(
    records: Sequence[MemoryRecord],
    question: str,
    answered: Callable[[str, MemoryRecord], bool],
) -> list[MemoryRecord]:
    """The notes for a question about the user, less the older ones a newer note says changed
    (at answer time: the most recent wins, whatever key each was kept under): a note that
    says its value is over ("I sold the Fiat") when a note as new or newer tells a change
    ("got a Mazda instead"); and a note older than a change that shares its topic ("I run
    with the harriers on Tuesdays" before "the harriers moved club night to Thursdays").
    Kept: everything, when the question asks about the past; the constraints (allergies,
    things avoided)."""
    if asks_past(question):
        return list(records)
    asked = topic(question)
    kind = kind_asked(question)
    # whom the question asks about is not a change's topic ("rafa says it's his favourite bowl
    # now" does not make "rafa's a sound engineer" history); a place or another name is
    # ("kwabena's not going to bristol after all, it's cardiff")
    said = {stem(w) for w in words(question)}
    names = {stem(n) for n in names_in([r.text for r in records])} & said
    changes = [  # about what is asked: sharing its words, answering it, or closest in meaning;
        # a note that says a value is over only when it answers ("not bristol, it's cardiff")
        r
        for i, r in enumerate(records)
        if changing(r.text)
        and not WISHED.search(r.text)  # "I'm looking for a new job" changes nothing yet
        and (not ended(r.text) or answered(question, r))
        and (i < CLOSEST or (asked - names) & topic(r.text) or answered(question, r))
    ]
    if not changes and kind not in SINGLE_KINDS:
        return list(records)

    # the kinds of value each note names (``other_of_kind``; one diet at a time)
    kinds = {r.id: kinds_named(set(words(r.text))) for r in records}

    def superseded(old: MemoryRecord) -> bool:
        if old.subject is not None and old.subject.startswith(KEPT_PREFIXES):
            return False
        about = asked & topic(old.text) or kind in kinds[old.id]
        if ended(old.text) and answered(question, old):
            return False  # "Do I still work at the bakery?": "I no longer work there."
        for new in changes:
            if new.id == old.id:
                continue
            if ended(old.text) and new.updated >= old.updated:
                return True
            if new.updated > old.updated and (topic(new.text) & topic(old.text)) - names:
                return True
            if new.updated > old.updated and about and other_of_kind(kinds[new.id], kinds[old.id]):
                return True  # "hamid's gone fully vegan now" after "hamid is vegetarian"
        return False

    kept = [r for r in records if not superseded(r)]
    if kind in SINGLE_KINDS:  # one diet at a time: the newest note naming one
        naming = [
            r
            for r in kept
            if kind in kinds[r.id] and not (r.subject or "").startswith(KEPT_PREFIXES)
        ]
        newest = max(naming, key=lambda r: r.updated, default=None)
        kept = [r for r in kept if r not in naming or r is newest]
    return kept


def in_place_of(
    gone: Sequence[MemoryRecord], kept: Sequence[MemoryRecord], question: str
) -> frozenset[int]:
    """The notes that answer the question in place of the answering notes ``current`` made
    history (``gone``): for each, the newest kept note sharing its topic beyond the question's
    words; of several as new, the one said last ("we changed the band name, static pigeons
    was too cringe. we're velvet static now": the second)."""
    asked = topic(question)
    out: set[int] = set()
    for old in gone:
        said = topic(old.text) - asked
        newer = [r for r in kept if r.updated >= old.updated and topic(r.text) & said]
        if newer:
            out.add(max(newer, key=lambda r: (r.updated, r.id)).id)
    return frozenset(out)


_FILLERS: Final = (
    "got get gets lol cos coz bit way yes yeah yep nah new old day lot too big one two out "
    "off put set say said tell told know thing things like just really"
)
FILLERS: Final = frozenset(_FILLERS.split())
"""short words of talk that name no topic ("gig", "dad" and "cat" do)"""


def other_of_kind(new: dict[str, frozenset[str]], old: dict[str, frozenset[str]]) -> bool:
    """A newer note naming ``new`` (``kinds.kinds_named``) names another value of a kind the
    older one (``old``) names one of (a diet, a colour, a position on a team), and not the old
    one."""
    return any(kind in old and not (named & old[kind]) for kind, named in new.items())


def topic(text: str) -> set[str]:
    """The stems of a text's content words (not its function words, pronouns, change words)."""
    return {
        stem(w.removesuffix("'s"))
        for w in words(text.replace("’", "'"))
        if w not in FUNCTION_WORDS | NEGATIONS | WH_WORDS | FILLERS
        and len(w.removesuffix("'s")) >= 3
        and w.removesuffix("'s") not in PRONOUNS
        and not CHANGE.fullmatch(w)
    }


@dataclass(frozen=True, slots=True)
class Held:
    """A memory as ``supersedes`` reads it."""

    subject: str | None
    text: str


def supersedes(new: Held, old: Held, *, same_turn: bool, change_told: bool) -> bool:
    """Whether ``new`` (just told) replaces ``old`` (told before it, or in the same turn when
    ``same_turn``): see the module docstring. ``change_told``: the turn that told ``new``
    says something changed (``changing``)."""
    if new.subject is not None and new.subject == old.subject:
        return False  # the same key: the store already keeps one, with its history
    new_slot, old_slot = slot_of(new.subject, new.text), slot_of(old.subject, old.text)
    if new_slot is None or old_slot is None or not new_slot.matches(old_slot):
        return False
    new_ended, old_ended = ended(new.text), ended(old.text)
    if not new_ended and old_ended:
        return True  # "I live in Dundee" after (or with) "I used to live in Glasgow"
    if same_turn:
        return False  # "I'm a nurse at St Mary's": a job and a workplace, told together
    if new_ended:  # "I don't work at the bank anymore": the value it names is over
        told = values(new.text)
        return not old_ended and (not told or bool(told & values(old.text)))
    if old_slot.single and new_slot.single:
        return True
    return change_told
