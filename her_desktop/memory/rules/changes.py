"""Changes: a value that gives way to a new one ("I moved to Porto", "we call the puppy Pepper now",
"it's Ana, not Anna", "I left the library, now I teach at…").
"""

from __future__ import annotations

import re
from typing import Final

from her_desktop.memory.extraction import Candidate, clean_text
from her_desktop.memory.grounding import FUNCTION_WORDS
from her_desktop.memory.rules.state import RuleState
from her_desktop.memory.rules.text import _is_name, _place, _slug, _trim_object
from her_desktop.memory.rules.vocabulary import (
    _NAME_BODY,
    _PET,
    _REL,
    CHANGE_CUES,
    ENDED_CUE,
    IRREALIS_START,
    NAME,
    NEW_VALUE,
    NOT_NAMES,
    NOT_PLACE_STARTS,
    PARTNERS,
    PLURAL_RELATIONS,
    RELATION_FIELDS,
    RELATIONS,
    _Named,
)

_NOT_A_PLACE: Final = frozenset(
    ["well", "fine", "ok", "okay", "alright", "nicely", "great", "now", "again"]
)
"""what follows "settled in" that is not a place"""


class ChangeRules(RuleState):
    """A value that changed: moved, renamed, split up, switched, corrected."""

    def _old_then_new(self, s: str) -> list[str]:
        """The sides of a sentence where an ended value gives way to a new one (``NEW_VALUE``),
        or [] when it is not one."""
        cuts = list(NEW_VALUE.finditer(s))
        if not cuts:
            return []
        first, rest = s[: cuts[0].start()], s[cuts[0].end() :]
        if not re.match(r"(?:i|i'm|i've|we|we're|we've)\b", first, re.IGNORECASE):
            return []  # "Hana moved out of Leeds, she's in York now": one change, read whole
        if not (ENDED_CUE.search(first) or cuts[0]["cue"] or CHANGE_CUES.search(rest)):
            return []
        parts: list[str] = []
        start, cue = 0, False
        for m in [*cuts, None]:
            part = s[start : m.start() if m else len(s)].strip(" ,;")
            if cue and not CHANGE_CUES.search(part):
                part = f"{part.rstrip('.!')} now"
            if part:
                parts.append(part)
            if m is not None:
                start, cue = m.end(), bool(m["cue"])
        return parts if len(parts) > 1 else []

    def _changed_slot(self, s: str) -> Candidate | None:
        """A sentence no rule reads that says something changed ("now", "anymore", "no
        longer", "these days", "instead") about one relation (a name, a home, work) of one
        person or pet: kept in the user's words under that key (``<who>.<field>``), so it
        replaces the value stored there (which stays as its history)."""
        if not self._changing or IRREALIS_START.search(s):
            return None
        fields = [
            field for field, said in RELATION_FIELDS if said.search(s) and field != "learning"
        ]
        if len(fields) != 1:
            return None
        field = fields[0]
        mine = re.search(
            rf"\b(?:my|our|the) (?:little |older |younger |big |old |new |baby )?(?P<noun>{_PET}|"
            rf"{_REL})\b",
            s,
            re.IGNORECASE,
        )
        start = re.match(r"^(?P<w>[\w'-]+)", s)
        first = start["w"].lower() if start else ""
        who: _Named | None = None
        if mine is not None:
            who = self._entity(mine.group(0))
        elif first in ("i", "i'm", "i've", "we", "we're", "we've"):
            who = _Named("user", "")
        elif first in ("he", "she", "they", "it", "he's", "she's", "they're", "it's"):
            who = self._entity(first.split("'")[0])
        elif start is not None:
            who = self._entity(start["w"])
        if who is None or (who.subject == "user" and field == "name"):
            return None  # "we call him Max now": not the user's name
        if field == "work":  # the user's workplace when one is named, else the job
            named_place = re.search(r"\b(?:at|for|with) (?:the )?(?-i:[A-Z])", s)
            field = "workplace" if who.subject == "user" and named_place else "job"
        said = s
        if mine is None and who.noun and first.split("'")[0] in ("he", "she", "they", "it"):
            plural = first.startswith("they")  # "she's living in…": "My uncle is living in…"
            said = re.sub(
                r"^(?:he|she|it|they)(?:'s|'re)?",
                lambda m: f"My {who.noun}" + ((" are" if plural else " is") if "'" in m[0] else ""),
                s,
                count=1,
                flags=re.IGNORECASE,
            )
        text = clean_text(said if said[-1] in ".!" else said + ".")
        if text is None:
            return None
        return Candidate("fact", text, f"{who.subject}.{field}", 0.75, 0.0, 0.5)

    def _relocated(self, s: str) -> Candidate | None:
        """ "we've relocated to Glasgow", "my sister moved from Osaka to Kyoto", "my parents
        have moved to Málaga", "she's moved back to Leeds": where someone lives now, under the
        same key as where they lived (``<who>.home``), so the old place becomes its history."""
        m = re.match(
            r"^(?P<who>i|we|(?:my|our) [\w-]+(?: [\w-]+)??|he|she|they|(?-i:[A-Z])[\w'-]+)"
            r"(?: have| has|'ve|'s)?(?: just| finally| recently| now| all| also| since)* "
            r"(?:moved|relocated|moved house|upped sticks|emigrated|settled)(?: back| away| over)?"
            r"(?: from (?P<old>[^,;]{2,40}?))? (?:to|into) (?:live in )?(?P<x>.{2,80})",
            s,
            re.IGNORECASE,
        )
        if not m:
            return self._settled(s)
        who = self._entity(m["who"])
        place = _place(m["x"])
        if who is None or not place or place.lower().split()[0] in NOT_PLACE_STARTS:
            return None
        if who.subject == "user":
            return Candidate("fact", f"I live in {place}.", "user.home", 0.85, 0.0, 0.5)
        if who.subject.startswith("people.named."):
            text = f"{who.noun} lives in {place}."
        else:
            verb = "live" if who.noun in PLURAL_RELATIONS else "lives"
            text = f"My {who.noun} {verb} in {place}."
        return Candidate("fact", text, f"{who.subject}.home", 0.85, 0.0, 0.5)

    def _settled(self, s: str) -> Candidate | None:
        """ "finally settled in leeds after the move", "since moving to cork the commute is
        nothing", "now that we've moved to Bath…": where the user lives now (``user.home``),
        the place being the words before the rest of the sentence goes on ("cork")."""
        m = re.match(
            r"^(?:(?:i|we)(?:'ve| have)? )?(?:just |finally |recently |now )*(?:settled|"
            r"settling) (?:in|into) (?P<x>.{2,80})|"
            r"^(?:ever since|since|now that|after) (?:i've |we've |i have |we have |i |we )?"
            r"(?:moving|moved|relocating|relocated) (?:to|into) (?P<y>.{2,80})",
            s,
            re.IGNORECASE,
        )
        if not m:
            return None
        said = (m["x"] or m["y"]).split()
        name: list[str] = []
        for w in said[:3]:
            bare = w.strip(",.;!?")
            low = bare.lower()
            if not bare or low in FUNCTION_WORDS or low in NOT_PLACE_STARTS or low in _NOT_A_PLACE:
                break
            if low.endswith("ly"):
                break  # "I settled in quickly": how, not where
            name.append(bare)
            if bare != w:
                break
        place = _place(" ".join(name)) if name else None
        if not place or place.lower().split()[0] in NOT_PLACE_STARTS:
            return None
        return Candidate("fact", f"I live in {place}.", "user.home", 0.85, 0.0, 0.5)

    def _renamed(self, s: str) -> Candidate | None:
        """ "we've renamed the tortoise to Gus", "my best friend goes by Margaret now", "she
        changed her name to Noor": the same key as the first naming (``<who>.name``)."""
        m = re.match(
            rf"^(?:we|i)(?: have|'ve| just| finally| now)* (?:renamed|re-named|changed the name "
            rf"of) (?P<who>(?:the|our|my) (?:little |new |old )?(?:{_PET}|{_REL})|him|her|it|them)"
            rf" (?:to |as )?{NAME}",
            s,
            re.IGNORECASE,
        ) or re.match(
            r"^(?P<who>(?:my|our|the) [\w-]+(?: [\w-]+)?|he|she|they|it|(?-i:[A-Z])[\w'-]+)"
            r"(?: now| actually| these days)? (?:goes by|go by|is going by|'s going by|"
            r"prefers to be called|wants to be called|(?:has |'s )?changed (?:his|her|their|its) "
            rf"name to|is called|'s called) {NAME}(?P<now> now| these days| nowadays)?",
            s,
            re.IGNORECASE,
        )
        if not m or not _is_name(m["name"], capitalised=True):
            return None
        if " called " in m.group(0).lower() and not m.groupdict().get("now"):
            return None  # "my dog is called Rex": a first naming (``_named``)
        who_text = m["who"].lower()
        who_text = {"him": "he", "her": "she", "them": "they"}.get(who_text, who_text)
        who = self._entity(who_text if who_text in ("he", "she", "they", "it") else m["who"])
        if who is None or who.subject == "user":
            return None
        self.last_named = _Named(f"{who.subject}.name", who.noun)
        if who.subject.startswith("people.named."):
            return Candidate(
                "fact", f"{who.noun} is called {m['name']}.", f"{who.subject}.name", 0.85, 0.3, 0.6
            )
        verb = "are" if who.noun in PLURAL_RELATIONS else "is"
        text = f"My {who.noun} {verb} called {m['name']}."
        return Candidate("fact", text, f"{who.subject}.name", 0.9, 0.3, 0.6)

    def _split_up(self, s: str) -> Candidate | None:
        """ "Lena and I aren't together anymore", "I broke up with my boyfriend", "we split
        up": the memory naming the partner is replaced by this sentence (its history keeps
        the old one)."""
        together = (
            r"(?:have |'ve )?(?:just |finally )?(?:broke up|broken up|split up|split|separated|"
            r"divorced|are not together|aren't together|are no longer together|'re not together|"
            r"'re no longer together|are over|called it off|called off the wedding)"
        )
        m = (
            re.match(rf"^(?P<who>[\w' -]{{2,30}}?) and i {together}\b", s, re.I)
            or re.match(
                rf"^i {together} (?:with|from) (?P<who>[\w' -]{{2,30}}?)"
                r"(?:[,.;!]| last | in | after | because |$)",
                s,
                re.IGNORECASE,
            )
            or re.match(rf"^(?P<who>we) {together}\b", s, re.I)
        )
        if not m:
            return None
        who = m["who"].strip()
        low = who.lower()
        rel = re.fullmatch(rf"my (?:ex-?)?(?P<noun>{_REL})", low)
        if rel is not None and RELATIONS[rel["noun"]] in PARTNERS:
            topic = rel["noun"]
        elif low == "we":
            topic = " ".join(sorted(PARTNERS))
        elif re.fullmatch(r"(?-i:[A-Z])[\w'-]+", who) and low not in NOT_NAMES:
            topic = low
        else:
            return None
        text = clean_text(s if s[-1] in ".!" else s + ".")
        if text is None:
            return None
        return Candidate("fact", text, None, 0.85, -0.3, 0.7, moves=(topic, ""))

    def _substitution(self, s: str) -> Candidate | None:
        """A value replaced by another anywhere in a sentence: "my boss is Greta, not
        Gretchen", "I meant Ripon, not Harrogate", "switched from Mondays to Tuesdays". The
        service replaces the old word in the memories that hold it (``replaces``); when none
        does, the sentence is kept as it is."""
        cap = r"(?-i:[A-Z])[\w'-]+(?: (?-i:[A-Z])[\w'-]+){0,2}"
        m = re.search(
            rf"(?<![\w'])(?P<new>{cap})(?: with an? \w\b)?(?: now| instead| actually)?,? "
            rf"(?:not|instead of) (?P<old>{cap})\b",
            s,
        )
        if m is None:
            m = re.search(
                r"\b(?:switched|changed|moved|gone|went|upgraded|swapped)(?: it| them)? "
                r"from (?P<old>[\w'-]+(?: [\w'-]+){0,2}?) "
                r"to (?P<new>[\w'-]+(?: [\w'-]+){0,2}?)"
                r"(?=[,.;!]|$| now\b| instead\b| last\b| this\b| in\b| for\b| because\b)",
                s,
                re.IGNORECASE,
            )
        if m is None or m["new"].lower() == m["old"].lower():
            return None
        if m["new"].lower() in NOT_NAMES or m["new"].split()[0].lower() in ("i", "it"):
            return None
        text = clean_text(s if s[-1] in ".!" else s + ".")
        if text is None:
            return None
        return Candidate("fact", text, None, 0.9, 0.0, 0.5, replaces=(m["old"], m["new"]))

    def _switched(self, s: str) -> list[Candidate]:
        """ "I've switched jobs, I'm at Deloitte now"; "I stopped learning French, I'm doing
        Italian instead"."""
        m = re.match(
            r"^i(?:'ve| have)? (?:just )?(?:switched|changed|got a new) jobs?,? (?:and )?"
            r"(?:i'm|i am|i work) (?:now )?(?:working )?(?:at|for|with) (?P<x>.{2,60})",
            s,
            re.IGNORECASE,
        ) or re.match(
            r"^i(?:'ve| have)? (?:just )?(?:started (?:a new job |working )?|got a (?:new )?job |"
            r"(?:was|got|have been|'ve been) hired )(?:at|for|with|by) (?P<x>.{2,60})",
            s,
            re.IGNORECASE,
        )
        if m:
            place = _trim_object(m["x"])
            if place:
                return [Candidate("fact", f"I work at {place}.", "user.workplace", 0.85, 0.0, 0.5)]
        m = re.match(
            r"^i (?:stopped|quit|gave up|dropped) (?:learning|studying|taking|doing) "
            r"(?P<old>[\w' -]{2,30}?)(?:[,;] (?:and )?| and )i'm (?:now )?(?:doing|learning|"
            r"studying|taking) (?P<new>[\w' -]{2,30}?)(?: instead| now)?[.!]*$",
            s,
            re.IGNORECASE,
        )
        if not m:
            return []
        old, new = _trim_object(m["old"]), _trim_object(m["new"])
        old_slug, new_slug = _slug(old), _slug(new)
        if not old or not new or old_slug is None or new_slug is None:
            return []
        return [
            Candidate(
                "fact", f"I stopped learning {old}.", f"user.learning.{old_slug}", 0.85, 0.0, 0.5
            ),
            Candidate("fact", f"I'm learning {new}.", f"user.learning.{new_slug}", 0.85, 0.0, 0.5),
        ]

    def _named_moved(self, s: str) -> Candidate | None:
        """ "Mira moved to Berlin": someone named before (the service finds who by the name)."""
        m = re.match(
            r"^(?P<name>(?-i:[A-Z])[\w'-]+) (?:has |just |recently |now )*(?:moved|lives|is living)"
            r"(?: back)? (?:to|in) (?P<x>.{2,60})",
            s,
            re.IGNORECASE,
        )
        if not m or m["name"].lower() in NOT_NAMES or m["name"].lower() in ("i", "we"):
            return None
        place = _trim_object(m["x"])
        slug = _slug(m["name"])
        if not place or slug is None:
            return None
        return Candidate(
            "fact", f"{m['name']} lives in {place}.", f"people.named.{slug}.home", 0.8, 0.0, 0.5
        )

    def _correction(self, s: str) -> Candidate | None:
        """ "it's Ana, not Anna": the old word is replaced in what is stored (``replaces``)."""
        m = (
            re.match(
                rf"^(?:it's|it is|its|her name is|his name is|the name is|that's|it was|"
                rf"it's spelled|it's spelt|i said|i meant|i mean) (?P<new>{_NAME_BODY})"
                r"(?: with an? \w\b)?[,;]? "
                rf"(?:and )?not (?P<old>[^\W\d_][\w'-]*)(?:[.!]*$|[,;] .*$)",
                s,
                re.IGNORECASE,
            )
            or re.match(
                r"^(?:my |our |the )?[\w' -]{1,30}? "
                r"(?:isn't|is not|is no longer|'s not|'s no longer) (?P<old>(?-i:[A-Z])[\w'-]*)"
                r"(?: anymore| any more)?[,;]? (?:it's|she's|he's|they're|it is) "
                r"(?P<new>(?-i:[A-Z])[\w'-]*)(?: now)?[.!]*$",
                s,
                re.IGNORECASE,
            )
            or re.match(
                r"^not (?P<old>[^\W\d_][\w'-]*)[,;]? (?:it's |but |it was )?"
                r"(?P<new>[^\W\d_][\w'-]*)[.!]*$",
                s,
                re.IGNORECASE,
            )
        )
        if not m or m["new"].lower() == m["old"].lower():
            return None
        new, old = m["new"], m["old"]
        return Candidate(
            "fact", f"It's {new}, not {old}.", None, 0.9, 0.0, 0.5, replaces=(old, new)
        )
