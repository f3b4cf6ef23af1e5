"""The state the rules keep between sentences, shared by their parts."""

from __future__ import annotations

import re

from her_desktop.memory.extraction import Candidate
from her_desktop.memory.rules.text import _slug
from her_desktop.memory.rules.vocabulary import _PET, _REL, MANY, NOT_NAMES, PETS, RELATIONS, _Named


class RuleState:
    """What the rules remember between sentences: the last named subject (for "he's called
    Max"), the last sentence that told something, and whether the sentence being read says
    something changed; and how a change finds whom it is about."""

    def __init__(self) -> None:
        self.last_named: _Named | None = None
        self.last_said: str | None = None
        """the last sentence that told something (what "her" in "I'm worried about her" is)"""
        self._changing = False
        """the sentence being read says something changed (``CHANGE_CUES``)"""

    def _entity(self, who: str) -> _Named | None:
        """Whom a change is about: the user ("I", "we"), "my sister", "the puppy", a pronoun (the
        one named last) or a name ("Mira": ``people.named.mira``, found by the service).
        ``subject`` is the key without its field ("people.sister")."""
        who = who.strip()
        low = who.lower()
        if low in ("i", "we", "me", "my partner and i", "my family and i"):
            return _Named("user", "")
        m = re.fullmatch(
            rf"(?:my|our|the) (?:little |older |younger |big |old |new |baby )?(?P<noun>{_PET}|"
            rf"{_REL})",
            low,
        )
        if m:
            noun = m["noun"]
            if noun in PETS:
                return _Named(f"pet.{PETS[noun]}", noun)
            if RELATIONS[noun] in MANY:
                return None  # "my friend moved": which one?
            return _Named(f"people.{RELATIONS[noun]}", noun)
        if low in ("he", "she", "they", "it") and self.last_named is not None:
            named = self.last_named.subject
            base = named.removesuffix(".name") if named.endswith(".name") else named
            return _Named(base, self.last_named.noun)
        if re.fullmatch(r"(?-i:[A-Z])[\w'-]+", who) and low not in NOT_NAMES:
            slug = _slug(who)
            return _Named(f"people.named.{slug}", who) if slug else None
        return None

    def _naming(self, noun: str, name: str, confidence: float) -> Candidate:
        """ "My <pet or relation> is called <name>." under its subject key (a friend or a
        colleague: one memory per name, people have several)."""
        if noun in PETS:
            subject = f"pet.{PETS[noun]}.name"
        elif RELATIONS[noun] in MANY:
            slug = _slug(name) or "someone"
            subject = f"people.{RELATIONS[noun]}.{slug}"
            self.last_named = _Named(subject, noun)
            return Candidate("fact", f"{name} is my {noun}.", subject, confidence, 0.3, 0.6)
        else:
            subject = f"people.{RELATIONS[noun]}.name"
        self.last_named = _Named(subject, noun)
        return Candidate("fact", f"My {noun} is called {name}.", subject, confidence, 0.3, 0.6)
