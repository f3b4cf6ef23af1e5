"""Kinds of value: the words that name one of a kind (a colour, an instrument, a language, a
sport, a diet, a position on a team, a hobby). A question asking "what <kind>" needs a note
naming one (``questions.identifies``), and a note naming one tells the kind ("signed up for
pottery" answers "what hobby have i been doing": ``questions.answers``); a newer note naming
another of the same kind as an older one about the same person is a change of it ("hamid's
gone fully vegan now" after "hamid is vegetarian": ``slots.current``).
"""

from __future__ import annotations

import re
from typing import Final

_COLOURS: Final = (
    "red orange yellow green blue purple pink brown black white grey gray lilac violet navy "
    "teal gold silver beige cream maroon turquoise"
)


COLOURS: Final = frozenset(_COLOURS.split())


_INSTRUMENTS: Final = (
    "piano guitar violin cello viola bass drums drum ukulele flute clarinet saxophone sax "
    "trumpet trombone harp banjo mandolin accordion harmonica keyboard oboe bassoon organ"
)


_LANGUAGES: Final = (
    "english french spanish german italian portuguese dutch polish russian ukrainian greek "
    "turkish arabic hebrew hindi urdu bengali japanese korean chinese mandarin cantonese thai "
    "vietnamese swedish norwegian danish finnish czech hungarian romanian welsh irish latin "
    "swahili indonesian tagalog persian farsi catalan basque"
)


_SPORTS: Final = (
    "football soccer rugby cricket tennis golf basketball baseball hockey netball volleyball "
    "badminton squash swimming running cycling rowing climbing bouldering boxing judo karate "
    "yoga pilates skiing snowboarding surfing sailing skating athletics triathlon darts"
)


_DIETS: Final = (
    "vegan vegetarian veggie pescatarian pescetarian carnivore keto paleo halal kosher "
    "flexitarian plant-based"
)


_POSITIONS: Final = (
    "goalkeeper keeper goalie defender defence defense centre-back fullback full-back "
    "midfield midfielder winger striker forward"
)


_HOBBIES: Final = (
    "pottery ceramics knitting crochet sewing embroidery quilting painting drawing sketching "
    "photography gardening baking cooking woodwork woodworking carving calligraphy origami "
    "chess climbing bouldering hiking running cycling swimming yoga pilates dancing salsa "
    "singing choir fishing birdwatching birding gaming skateboarding surfing sailing rowing "
    "archery fencing martial judo karate boxing kickboxing tennis golf squash badminton "
    "juggling magic writing poetry reading scrapbooking"
)


MEMBERS: Final[dict[str, frozenset[str]]] = {
    "colour": COLOURS,
    "color": COLOURS,
    "instrument": frozenset(_INSTRUMENTS.split()),
    "language": frozenset(_LANGUAGES.split()),
    "sport": frozenset(_SPORTS.split()),
    "diet": frozenset(_DIETS.split()),
    "position": frozenset(_POSITIONS.split()),
    "hobby": frozenset(_HOBBIES.split()),
}
"""what a "what <category>" question needs a note to name one of"""


SINGLE_KINDS: Final = frozenset({"diet", "position"})
"""kinds of which one holds at a time (a hobby, a language: several)"""


def kind_asked(question: str) -> str | None:
    """The kind a question asks for ("what hobby have i been doing lately": ``hobby``)."""
    for w in re.findall(r"[a-z]+", question.lower()):
        for kind in MEMBERS:
            if w in (kind, kind + "s", kind[:-1] + "ies"):
                return kind
    return None


def kinds_named(text_words: set[str]) -> dict[str, frozenset[str]]:
    """The kinds ``text_words`` name a member of, each with the members named."""
    out: dict[str, frozenset[str]] = {}
    for kind, members in MEMBERS.items():
        named = members & text_words
        if named and kind != "color":
            out[kind] = frozenset(named)
    return out
