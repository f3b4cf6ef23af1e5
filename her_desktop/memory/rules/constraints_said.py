"""Constraints said anywhere in a sentence: "found out the hard way I'm allergic to shellfish",
"my doctor says no more fizzy drinks", "I went vegan in March", "I can't have gluten".

The sentence rules read a clause from its start ("I'm allergic to…"); a constraint that matters
for every later suggestion must not be missed because of what comes before it, so these
patterns search the whole sentence. Each gives an ``avoids.*`` or ``health.allergy.*`` memory
in the user's words (first person), which the reply guard then respects (``constraints``).
"""

from __future__ import annotations

import re
from typing import Final

from her_desktop.memory.extraction import Candidate, normalize_subject
from her_desktop.memory.rules.text import _slug, _trim_object
from her_desktop.memory.rules.vocabulary import _PET, _REL

_NOT_A_THING: Final = frozenset(
    [
        "it",
        "that",
        "this",
        "them",
        "those",
        "these",
        "all",
        "any",
        "anything",
        "everything",
        "something",
        "stuff",
        "one",
        "lot",
        "much",
        "more",
        "less",
        "of",
    ]
)
"""objects that name nothing on their own ("stay away from all of it")"""

_PATTERNS: Final[tuple[tuple[re.Pattern[str], str, str], ...]] = (
    (re.compile(r"\b(?:i'm|i am|im|i've been|i have been|i was|turns out i'm|i'm super|i'm "
                r"really|i'm very|i'm badly|i'm mildly) (?:\w+ )?allergic to (?P<x>[^.;!?]{2,60})",
                re.I), "health.allergy.", "I'm allergic to {x}."),
    (re.compile(r"\b(?:my|an?|the) (?P<x>[a-z][\w -]{1,30}?) allergy\b", re.I),
     "health.allergy.", "I have a {x} allergy."),
    (re.compile(r"\ballergy to (?P<x>[^.;!?]{2,60})", re.I), "health.allergy.",
     "I'm allergic to {x}."),
    (re.compile(r"\bi(?:'m| am|m) (?P<x>lactose|gluten|dairy|wheat|egg|soy|fructose) "
                r"intolerant\b", re.I), "health.allergy.", "I'm {x} intolerant."),
    (re.compile(r"\bi(?:'m| am|m) intolerant to (?P<x>[^.;!?]{2,40})", re.I), "health.allergy.",
     "I'm intolerant to {x}."),
    (re.compile(r"\bi (?:can't|cannot|can not|shouldn't|mustn't|am not allowed to|'m not "
                r"allowed to|don't|do not|never|no longer) (?P<verb>eat|drink|touch) "
                r"(?P<x>[^.;!?]{2,60})", re.I), "avoids.", "I don't {verb} {x}."),
    (re.compile(r"\bi (?:can't|cannot|can not|shouldn't|mustn't|am not allowed to|'m not "
                r"allowed to) have (?P<x>[^.;!?]{2,60})", re.I), "avoids.", "I can't have {x}."),
    (re.compile(r"\b(?:doctor|dentist|nurse|gp|dietitian|consultant)\b[^.;!?]{0,30}?\b(?:says|"
                r"said|told me|wants me)\b[^.;!?]{0,12}?\b(?:no more|to cut out|to cut down "
                r"on|to avoid|to stay off|off|to give up|to stop|stay away from|avoid) "
                r"(?P<x>[^.;!?]{2,60})", re.I), "avoids.", "I'm off {x}."),
    (re.compile(r"\b(?:i've|i have|i|i'm|we've)? ?(?:given up|gave up|quit|cut out|cutting out|"
                r"stopped eating|stopped drinking|off the|no more|i'm off|im off|i am off) "
                r"(?P<x>[^.;!?]{2,60})", re.I),
     "avoids.", "I'm off {x}."),
    (re.compile(r"\b(?:i|we)(?:'ve| have)? ?(?:went|gone|going|turned|became|become|am now|'m "
                r"now|'m|am) (?P<x>vegan|vegetarian|pescatarian|plant[- ]based)\b", re.I),
     "avoids.meat", "I'm {x}."),
    (re.compile(r"\b(?:diagnosed(?: as| with)?|i'm|i am|i have|i've got|turns out i'm) "
                r"(?:a )?(?:coeliac|celiac)\b", re.I), "health.allergy.gluten",
     "I'm coeliac: no gluten."),
    (re.compile(r"\bno (?P<x>[a-z]+(?: [a-z]+)?) (?:at all|ever|whatsoever|for me)\b", re.I),
     "avoids.", "No {x} for me."),
    (re.compile(r"\bi (?:can't|cannot|can not|shouldn't|mustn't|am not allowed to|'m not "
                r"allowed to) do (?P<x>[^.;!?]{2,60})", re.I), "avoids.", "I can't do {x}."),
    (re.compile(r"\b(?:i have|i've got|i've|i get|i suffer from) (?:(?:really|very|quite|"
                r"pretty|bad|severe|awful|terrible|a|an|mild) )*(?P<x>\w+phobia|fear of "
                r"[^.;!?,]{2,30})", re.I), "avoids.", "I have {x}."),
    (re.compile(r"\bi (?:stay away from|steer clear of|avoid|keep away from) "
                r"(?P<x>[^.;!?]{2,60})", re.I), "avoids.", "I avoid {x}."),
    (re.compile(r"\b(?:i'm|i am|im) (?:sober|teetotal|tee-total)\b|\bi (?:don't|do not|never) "
                r"drink(?! (?:coffee|tea|milk|water|juice|soda|cola))\b", re.I),
     "avoids.alcohol", "I don't drink alcohol."),
)  # fmt: skip
_WHO: Final = (
    rf"(?P<who>(?:my|our) (?:{_REL})|(?!(?:i|he|she|they|we|you|it|that|this|there|who|which|"
    rf"everyone|nobody|somebody|someone|one|{_PET})\b)[a-z][a-z'-]{{2,}})"
)
_THEIRS: Final[tuple[tuple[re.Pattern[str], str, str], ...]] = (
    (re.compile(rf"\b{_WHO} (?:doesn't|does not|can't|cannot|never|won't) drinks?"
                r"(?! (?:enough|much|any|from|out|coffee|tea|milk|water|juice|soda|cola))\b", re.I),
     "alcohol", "{who} doesn't drink alcohol."),
    (re.compile(rf"\b{_WHO}(?: is|'s) (?:sober|teetotal|tee-total)\b", re.I),
     "alcohol", "{who} doesn't drink alcohol."),
    (re.compile(rf"\b{_WHO}(?: is|'s| has gone| went| turned) (?P<x>vegan|vegetarian|"
                r"pescatarian|plant[- ]based)\b", re.I), "meat", "{who} is {x}."),
    (re.compile(rf"\b{_WHO}(?: is|'s) (?:\w+ )?allergic to (?P<x>[^.;!?]{{2,40}})", re.I), "",
     "{who} is allergic to {x}."),
)  # fmt: skip
"""someone else's constraint ("luca doesn't drink", "my wife is vegan"): kept as an
``avoids.<who>.*`` or ``health.allergy.<who>.*`` memory, so a suggestion for them respects it"""
_NO_MORE: Final = re.compile(
    r"\bno \w|\boff\b|\bquit\b|\bcut out\b|\b(?:gave|given) up\b", re.IGNORECASE
)
_ABOUT_DIET: Final = re.compile(
    r"\b(eat|eating|drink|drinks|drinking|food|diet|sugar|doctor|allerg\w*|caffeine|alcohol|"
    r"booze|meat|dairy|gluten|fizzy|sweets|chocolate|coffee|beer|wine|cola|coke|soda|crisps|"
    r"bread|cheese|juice|nuts?|fish|seafood|shellfish|smok\w*|cigarettes?|vap\w*|salt|salty|"
    r"sweet|sweets|sugary|carbs|fried|spicy|red meat|fatty)\b",
    re.I,
)
"""what a "no more…"/"quit…"/"gave up…" sentence must be about to be a constraint on
suggestions ("I gave up the cello" is not one)"""

_NEGATED: Final = re.compile(r"\b(not|never|no longer|isn't|wasn't|aren't)\b|n't\b", re.I)
_LEAD: Final = re.compile(r"^(?:(?:any|all|eating|drinking|having|the|so much|too much|of) )+")
_TAIL: Final = re.compile(
    r",| (?:and|or) my | and (?:i|it|my|the)\b| anymore\b| any more\b| for me\b|"
    r" for (?:a |the )?(?:bit|"
    r"while|now|lent|month|week|year|january|dry january|a few)\b| at the moment\b| right now\b|"
    r" these days\b"
)


def said_constraints(sentence: str) -> list[Candidate]:
    """The constraints ``sentence`` states wherever they stand in it (see the module)."""
    found: list[Candidate] = []
    for pattern, subject, template in _PATTERNS:
        m = pattern.search(sentence)
        if m is None:
            continue
        if (
            subject == "avoids."
            and _NO_MORE.search(m.group(0))
            and not _ABOUT_DIET.search(sentence)
        ):
            continue  # "no more late nights": not something to eat or drink
        if subject.startswith("health.") or subject == "avoids.meat":
            before = sentence[max(0, m.start() - 30) : m.start()] + m.group(0)
            if _NEGATED.search(before):
                continue  # "I'm not allergic to peanuts", "not vegan anymore"
        x = m.groupdict().get("x")
        value = _trim_object(x) if x else ""
        value = _LEAD.sub("", value)
        value = _TAIL.split(value)[0]
        value = value.strip(" ,.!")
        if x is not None:
            words = value.lower().split()
            if not words or all(w in _NOT_A_THING for w in words):
                continue
        slug = _slug(value) if value else None
        full = subject + slug if subject.endswith(".") and slug else subject
        if full.endswith(".") or normalize_subject(full) is None:
            continue
        text = template.format(x=value, verb=(m.groupdict().get("verb") or "").lower())
        found.append(Candidate("preference", text, normalize_subject(full), 0.8, -0.6, 0.6))
    found += _their_constraints(sentence)
    return list({c.subject: c for c in reversed(found)}.values())[::-1]  # the first per subject


def _their_constraints(sentence: str) -> list[Candidate]:
    """Someone else's constraints in ``sentence`` (``_THEIRS``)."""
    found: list[Candidate] = []
    for pattern, what, template in _THEIRS:
        m = pattern.search(sentence)
        if m is None:
            continue
        who = m.group("who")
        before = sentence[max(0, m.start() - 20) : m.start()]
        if _NEGATED.search(before) or re.search(r"\bnot\b|n't (?:vegan|vegetarian)", m.group(0)):
            continue  # "my wife isn't vegan"
        x = (m.groupdict().get("x") or "").strip(" ,.!")
        x = _TAIL.split(_LEAD.sub("", _trim_object(x) if x else ""))[0].strip(" ,.!")
        kind = "health.allergy." if "allergic" in m.group(0).lower() else "avoids."
        leaf = what or _slug(x)
        subject = normalize_subject(f"{kind}{_slug(who)}.{leaf}") if leaf else None
        if subject is None:
            continue
        text = template.format(who=who[:1].upper() + who[1:], x=x)
        found.append(Candidate("preference", text, subject, 0.8, -0.6, 0.6))
    return found
