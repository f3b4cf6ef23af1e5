"""Whom a question about the user's life asks about, when it is someone else.

"Remind me where greta is living now" asks about Greta, not the user: a note that says where
the *user* lives ("I live in Tacoma.") does not answer it, and her reply "You live in Tacoma."
answers the wrong person. ``asked_about`` finds the people a question names — a name (typed
in lower case too, when a note names that person: "my sister greta called"), or a relation
("my sister", "my mum's", "jonno's") — and everyone the notes tie to them ("my sister greta":
asking about the sister is asking about Greta too). ``mentions`` says whether a text names
one of them; ``about_someone_else`` whether a sentence of hers speaks of the user instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from her_desktop.memory.grounding import FUNCTION_WORDS, words
from her_desktop.memory.rules.vocabulary import _REL, PETS, RELATIONS

__all__ = ["about_someone_else", "asked_about", "mentions", "names_asked", "names_in"]

_NOT_NAME_WORDS: Final = (
    "i i'm im me my mine we our us you your what what's whats where where's who who's when "
    "which how why whose do does did is are was were remind tell remember recall know "
    "samantha hey hi so and ok okay oh um hmm again now still called named lives lived works "
    "worked said says just has had will would who but moved moves got gets came comes went goes "
    "told tells thinks thought wants wanted loves loved hates"
)
_NOT_NAMES: Final = frozenset(_NOT_NAME_WORDS.split())
_CAPITALISED: Final = re.compile(r"(?<=\s)(?-i:[A-Z])[\w'-]+")
_TIED: Final = re.compile(
    rf"\b(?:my|our|his|her|their) (?P<rel>{_REL}),? (?P<name>[^\W\d_][\w'-]{{2,}})", re.I
)
"""a relation and the name right after it ("my sister greta", "our neighbour, Bea")"""
_NAMED: Final = re.compile(
    rf"\b(?P<name>[^\W\d_][\w'-]{{2,}}),? (?:is )?(?:my|our) (?P<rel>{_REL})\b", re.I
)
"""a name and the relation right after it ("greta is my sister", "Bea, our neighbour")"""
_MY_REL: Final = re.compile(rf"\b(?:my|our) (?P<rel>{_REL})(?:'s)?\b", re.I)
_OWNER: Final = re.compile(r"\b([a-z][\w-]+)'s\b", re.I)
_THIRD: Final = re.compile(r"\b(he|she|they|him|her|them|his|hers|their|theirs)\b", re.I)
_YOU_ABOUT: Final = re.compile(r"^\W*(you|you're|you've|you'd|you'll|your)\b", re.I)


def _relation(word: str) -> str:
    return RELATIONS.get(word.lower(), word.lower())


def _ties(notes: Iterable[str]) -> list[tuple[str, str]]:
    """(relation, name) pairs the notes say ("my sister greta" → ("sister", "greta"))."""
    out: list[tuple[str, str]] = []
    for note in notes:
        flat = note.replace("’", "'")
        for m in (*_TIED.finditer(flat), *_NAMED.finditer(flat)):
            name = m["name"].lower().removesuffix("'s")
            if (
                name not in FUNCTION_WORDS | _NOT_NAMES
                and name not in RELATIONS
                and not name.endswith(("ed", "ing"))
            ):
                out.append((_relation(m["rel"]), name))
    return out


_GIVEN: Final = re.compile(
    r"\b(?:called|named|name's|name is)\s+(?P<name>[^\W\d_][\w'-]{2,})"
    r"|\b(?P<owner>[^\W\d_][\w-]{2,})'s\s+(?:(?:getting|started|starting|visiting|coming|"
    r"moving|moved|turned|turning|new|old|sister|brother|mum|mom|dad|wife|husband|partner|"
    r"girlfriend|boyfriend|parents|family|baby|birthday|wedding)\b)",
    re.IGNORECASE,
)
"""a name typed in lower case: given ("a greyhound called pilot", "her name's katrin"), or
the one something of theirs is told of ("elodie's started ballet", "rafa's sister")"""


def names_in(notes: Iterable[str]) -> set[str]:
    """Names the notes give: capitalised after the first word, tied to a relation, given
    ("called pilot") or someone's ("jonno's getting married")."""
    out: set[str] = set()
    for note in notes:
        flat = note.replace("’", "'")
        out |= {
            w.lower().removesuffix("'s")
            for w in _CAPITALISED.findall(" " + flat[1:])
            if w.lower().removesuffix("'s") not in _NOT_NAMES | FUNCTION_WORDS
        }
        for m in _GIVEN.finditer(flat):
            name = (m["name"] or m["owner"]).lower()
            if name not in _NOT_NAMES | FUNCTION_WORDS and name not in RELATIONS | PETS.keys():
                out.add(name)
    out |= {name for _, name in _ties(notes)}
    return out


def names_asked(question: str, notes: Iterable[str]) -> frozenset[str]:
    """The names ``notes`` give that ``question`` says ("what does dmitri do for a living")."""
    known = names_in(notes)
    return frozenset(w.removesuffix("'s") for w in words(question.replace("’", "'"))) & known


def asked_about(question: str, notes: Iterable[str]) -> frozenset[str]:
    """The people ``question`` asks about other than the user (lower-case names and
    canonical relations); empty when it asks about the user or a thing. ``notes``: what is
    stored that may name them."""
    notes = list(notes)
    q = question.replace("’", "'")
    who: set[str] = {_relation(m["rel"]) for m in _MY_REL.finditer(q)}
    known = names_in(notes)
    for w in words(q):
        name = w.removesuffix("'s")
        if name in known and name not in _NOT_NAMES:
            who.add(name)
    who |= {
        w.lower().removesuffix("'s")
        for w in _CAPITALISED.findall(" " + q[1:])
        if w.lower().removesuffix("'s") not in _NOT_NAMES | FUNCTION_WORDS
    }
    who |= {
        o.lower()
        for o in _OWNER.findall(q)
        if o.lower() not in _NOT_NAMES | FUNCTION_WORDS | {"it", "that", "there", "here", "let"}
    }
    for relation, name in _ties(notes):  # asking about the sister is asking about greta
        if relation in who:
            who.add(name)
        if name in who:
            who.add(relation)
    return frozenset(who)


def mentions(text: str, whom: frozenset[str]) -> bool:
    """True when ``text`` names one of ``whom`` (a name, or a relation in any of its
    words: "mum" for mother)."""
    if not whom:
        return True
    said = {_relation(w.removesuffix("'s")) for w in words(text.replace("’", "'"))}
    said |= {w.removesuffix("'s") for w in words(text.replace("’", "'"))}
    return bool(said & whom)


_FIRST: Final = re.compile(r"\b(i|i'm|im|i've|i'd|i'll|me|myself|we|we're|we've|us|my|our)\b", re.I)
_YOU_DO: Final = re.compile(r"^\W*(you|you're|you've|you'd|you'll)\b", re.I)


def the_users_own(note: str) -> bool:
    """True when ``note`` speaks of the user ("I'm from Osaka", "we call the puppy Biscuit",
    "my phone's broken"), not only of someone of theirs ("My sister lives in Lisbon.",
    "Jonno's fiancée is from Galway.")."""
    return _FIRST.search(_MY_REL.sub(" ", note)) is not None


def says_the_user_does(sentence: str) -> bool:
    """True when the user is the subject of ``sentence`` ("You live in Porto.", not "Your
    sister lives in Lisbon.")."""
    return _YOU_DO.match(sentence) is not None


def about_someone_else(sentence: str, whom: frozenset[str]) -> bool:
    """True when ``sentence`` speaks of the user ("You live in Tacoma.") where the question
    asked about someone else (``whom``), naming none of them nor anyone as he/she/they."""
    return (
        bool(whom)
        and _YOU_ABOUT.match(sentence) is not None
        and not mentions(sentence, whom)
        and _THIRD.search(sentence) is None
    )
