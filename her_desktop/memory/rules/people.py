"""People and pets: the user's name, a pet's or a relation's name, where they live and what they do,
and the pronoun that points back to them.
"""

from __future__ import annotations

import re

from her_desktop.memory.extraction import Candidate, clean_text
from her_desktop.memory.rules.state import RuleState
from her_desktop.memory.rules.text import (
    _article,
    _is_name,
    _salience,
    _slug,
    _trim_object,
    _valence,
)
from her_desktop.memory.rules.vocabulary import (
    _NAMING,
    _PET,
    _REL,
    MANY,
    NAME,
    OCCUPATIONS,
    PETS,
    PLURAL_RELATIONS,
    RELATIONS,
    _Named,
)


class PeopleRules(RuleState):
    """The user's name, pets and people: who is called what, lives where, does what."""

    def _name(self, s: str) -> Candidate | None:
        m = re.match(
            r"^(?:my name is|my name's|i'm called|call me|people call me|you can call me)\s+"
            + NAME,
            s,
            re.IGNORECASE,
        )
        if not m or not _is_name(m["name"], capitalised=False):
            return None
        name = m["name"].title() if m["name"].islower() else m["name"]
        return Candidate("fact", f"My name is {name}.", "user.name", 0.9, 0.0, 0.7)

    def _named(self, s: str) -> Candidate | None:
        have = re.match(
            rf"^i have an? (?:[a-z]+ )?(?P<noun>{_PET}|{_REL})(?: who is| who's| that is)?"
            rf"(?: called| named)\s+{NAME}",
            s,
            re.IGNORECASE,
        )
        my = re.match(
            rf"^(?:my|our|the) (?:little |older |younger |big |old |new )?(?P<noun>{_PET}|{_REL})"
            rf"{_NAMING}(?P<actually> actually| now| really)?(?P<called> called| named)?\s+{NAME}",
            s,
            re.IGNORECASE,
        )
        m = have or my
        if not m:
            return None
        noun = m["noun"].lower()
        explicit = have is not None or bool(my and (my["called"] or "name" in my.group(0)))
        if not _is_name(m["name"], capitalised=not explicit):
            return None
        kind_of = f"pet.{PETS[noun]}" if noun in PETS else f"people.{RELATIONS[noun]}"
        subject = f"{kind_of}.name"
        self.last_named = _Named(subject, noun)
        return Candidate("fact", f"My {noun} is called {m['name']}.", subject, 0.9, 0.3, 0.6)

    def _pronoun(self, s: str) -> Candidate | None:
        m = re.match(
            rf"^(?:(?:he|she|it|they)(?:'s| is| are|'re)(?: actually| really)? (?:called|named)"
            rf"|(?:his|her|its|their) name(?:'s| is)(?: actually| really)?)\s+{NAME}",
            s,
            re.IGNORECASE,
        )
        if not m or self.last_named is None or not _is_name(m["name"], capitalised=False):
            return None
        named = self.last_named
        return Candidate(
            "fact", f"My {named.noun} is called {m['name']}.", named.subject, 0.85, 0.3, 0.6
        )

    def _rename(self, s: str) -> Candidate | None:
        """ "we call the puppy Pepper now", "we renamed him Pepper", "the dog is called Pepper
        now": the same subject as the first naming, so the store keeps the old one as history."""
        m = re.match(
            rf"^(?:we|i)(?: now| have| 've| just| finally)? (?:call|named|renamed|name|"
            rf"decided to call|started calling|are calling|'re calling) (?:the|our|my) "
            rf"(?:little |new |old )?(?P<noun>{_PET}|{_REL}) (?:to )?{NAME}",
            s,
            re.IGNORECASE,
        ) or re.match(
            rf"^(?:the|our) (?:little |new |old )?(?P<noun>{_PET}) (?:is|'s) (?:now |actually )?"
            rf"(?:called|named) {NAME}",
            s,
            re.IGNORECASE,
        )
        if m:
            noun = m["noun"].lower()
            if not _is_name(m["name"], capitalised=False):
                return None
            kind_of = f"pet.{PETS[noun]}" if noun in PETS else f"people.{RELATIONS[noun]}"
            self.last_named = _Named(f"{kind_of}.name", noun)
            return Candidate(
                "fact", f"My {noun} is called {m['name']}.", f"{kind_of}.name", 0.9, 0.3, 0.6
            )
        m = re.match(
            rf"^(?:we|i)(?: now)? (?:call|named|renamed|are calling|'re calling) "
            rf"(?:him|her|it|them) (?:to )?{NAME}",
            s,
            re.IGNORECASE,
        )
        if not m or self.last_named is None or not _is_name(m["name"], capitalised=False):
            return None
        named = self.last_named
        return Candidate(
            "fact", f"My {named.noun} is called {m['name']}.", named.subject, 0.85, 0.3, 0.6
        )

    def _got_pet(self, s: str) -> Candidate | None:
        """ "we got a kitten, we called her Whiskers": the new pet's name."""
        m = re.match(
            rf"^(?:we|i)(?: just| finally| have| 've)? (?:got|adopted|bought|rescued|have|"
            rf"brought home|took in) (?:a|an|our|my) (?:new |little |baby |tiny )?"
            rf"(?P<noun>{_PET})\b.{{0,40}}?\b(?:called|named|call|name) (?:her |him |it |them )?"
            rf"{NAME}",
            s,
            re.IGNORECASE,
        )
        if not m or not _is_name(m["name"], capitalised=True):
            return None
        return self._naming(m["noun"].lower(), m["name"], 0.85)

    def _mentioned(self, s: str) -> None:
        """ "my mum's having surgery", "we adopted a puppy": "she" or "he" in the next sentences
        is the mum or the puppy."""
        pet = re.search(
            rf"\b(?:my|our|a|an|the) (?:new |little |baby )?(?P<noun>{_PET})\b", s, re.I
        )
        if pet is not None:
            noun = pet["noun"].lower()
            subject = f"pet.{PETS[noun]}.name"
            if self.last_named is None or self.last_named.subject != subject:
                self.last_named = _Named(subject, noun)
            return
        m = re.search(
            rf"\bmy (?:little |older |younger |big |old |new )?(?P<noun>{_REL})\b", s, re.I
        )
        if m is None:
            return
        noun = m["noun"].lower()
        rel = RELATIONS[noun]
        if rel in MANY:
            return
        if self.last_named is None or not self.last_named.subject.startswith(f"people.{rel}."):
            self.last_named = _Named(f"people.{rel}.name", noun)

    def _about_them(self, s: str) -> Candidate | None:
        """ "she's obsessed with dinosaurs", "he chews everything" (the person or pet named
        last): kept as "My niece is obsessed with dinosaurs." """
        named = self.last_named
        m = re.match(r"^(?:he|she|they)(?P<be>'s|'re| is| are)?\b\s*(?P<rest>.+)$", s, re.I)
        if named is None or m is None or len(m["rest"].split()) < 2:
            return None
        rest = m["rest"].rstrip(" .!")
        if m["be"]:
            has = m["be"] == "'s" and re.match(r"(got|been|had)\b", rest, re.I)
            rest = f"{'has' if has else 'is'} {rest}"
        text = clean_text(f"My {named.noun} {rest}.")
        if text is None:
            return None
        return Candidate("episode", text, None, 0.6, _valence(s), _salience(s, 0.4))

    def _their_job(self, s: str) -> Candidate | None:
        """ "he's a carpenter" (the person named last)."""
        m = re.match(
            r"^(?P<who>he|she|they|my [\w-]+(?: [\w-]+)??)(?:'s| is| are|'re) (?:now )?an? "
            r"(?P<x>[\w' -]{2,40}?)(?: now| these days)?[.!]*$",
            s,
            re.I,
        )
        if not m:
            return None
        who = m["who"].lower()
        named = self.last_named if who in ("he", "she", "they") else None
        if who.startswith("my "):
            entity = self._entity(who)
            if entity is not None and entity.subject.startswith("people."):
                named = _Named(f"{entity.subject}.name", entity.noun)
        if named is None or not named.subject.startswith("people."):
            return None
        job = _trim_object(m["x"])
        if not job or job.lower().split()[-1] not in OCCUPATIONS:
            return None
        base = named.subject.rsplit(".", 1)[0] if named.subject.endswith(".name") else named.subject
        return Candidate(
            "fact", _article(f"My {named.noun} is a {job}."), f"{base}.job", 0.8, 0.0, 0.5
        )

    def _appositive(self, s: str) -> Candidate | None:
        """ "My sister Ana lives in Porto": the name (the rest of the clause is read too)."""
        m = re.match(
            rf"^(?:my|our) (?:little |older |younger |big |old |new )?(?P<noun>{_PET}|{_REL}),? "
            r"(?P<name>(?-i:[A-Z])[\w'-]+)(?= [a-z]|,|$)",
            s,
            re.IGNORECASE,
        ) or re.match(  # "Biscuit, our beagle, …", "Pepper is the puppy's new name"
            r"^(?P<name>(?-i:[A-Z])[\w'-]+)(?:,| is) (?:my|our|the) (?:little |older |younger |"
            rf"big |old |new )?(?P<noun>{_PET}|{_REL})(?:'s (?:new |real |actual )?name)?\b",
            s,
            re.IGNORECASE,
        )
        if not m or not _is_name(m["name"], capitalised=True):
            return None
        if m["name"].lower() in ("i", "we", "it", "he", "she", "they", "that", "this"):
            return None
        return self._naming(m["noun"].lower(), m["name"], 0.85)

    def _called(self, s: str) -> Candidate | None:
        """ "I run a little bookshop called Page Turner", "the physio is called Sean"."""
        m = re.search(
            r"\b(?P<det>my|our|a|an|the) (?P<thing>[a-z][a-z ]{1,30}?) (?:is |'s )?"
            r"(?:called|named) (?P<name>(?-i:[A-Z])[\w'-]*(?: (?-i:[A-Z])[\w'-]*)*)",
            s,
        )
        if not m:
            return None
        thing = m["thing"].strip()
        last = thing.split()[-1]
        if last in RELATIONS:
            return self._naming(last, m["name"], 0.8)
        if last in PETS:
            return self._naming(last, m["name"], 0.8)
        slug = _slug(thing)
        if slug is None:
            return None
        owner = "My" if re.search(r"\b(i|my|our|we)\b", s, re.IGNORECASE) else "The"
        return Candidate(
            "fact", f"{owner} {thing} is called {m['name']}.", f"names.{slug}", 0.75, 0.0, 0.5
        )

    def _lives(self, s: str) -> Candidate | None:
        """Where a family member or friend lives ("my sister lives in Porto", "she lives in…")."""
        m = re.match(
            rf"^(?:my (?:little |older |younger |big |old |new )?(?P<noun>{_REL})"
            r"(?:,? (?-i:[A-Z])[\w'-]+,?)?|(?P<pron>she|he|they)) (?:still |now |also )?"
            r"(?:lives|live|is living|are living|has moved|just moved|moved|recently moved)"
            r"(?: back)? (?P<prep>in|near|close to|outside|outside of|by|on|to) (?P<x>.{2,80})",
            s,
            re.IGNORECASE,
        )
        if not m:
            return None
        if m["noun"]:
            noun = m["noun"].lower()
            subject = f"people.{RELATIONS[noun]}.home"
        elif self.last_named is not None and self.last_named.subject.startswith("people."):
            noun = self.last_named.noun
            named = self.last_named.subject
            subject = (named.removesuffix(".name") if named.endswith(".name") else named) + ".home"
        else:
            return None
        place = _trim_object(m["x"])
        if not place:
            return None
        prep = "in" if m["prep"].lower() == "to" else m["prep"].lower()
        verb = "live" if noun in PLURAL_RELATIONS else "lives"
        return Candidate("fact", f"My {noun} {verb} {prep} {place}.", subject, 0.85, 0.0, 0.5)
