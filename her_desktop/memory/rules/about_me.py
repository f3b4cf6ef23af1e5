"""About the user: likes and dislikes, what they avoid, worries, plans, their job, workplace, home,
age, allergies, what they are learning.
"""

from __future__ import annotations

import re

from her_desktop.memory.extraction import Candidate, normalize_subject
from her_desktop.memory.rules.state import RuleState
from her_desktop.memory.rules.text import _article, _place, _slug, _trim_clause, _trim_object
from her_desktop.memory.rules.vocabulary import LIKE_VERBS, OCCUPATIONS


class SelfRules(RuleState):
    """What the user says of themselves: likes, avoids, worries, plans, job, home."""

    def _avoid(self, s: str) -> Candidate | None:
        """What the user does not eat or drink, or avoids (a constraint for suggestions)."""
        m = re.match(
            r"^i (?:don't|do not|never|can't|cannot|try not to|no longer) "
            r"(?P<verb>eat|drink|touch) (?P<x>.{2,60})",
            s,
            re.IGNORECASE,
        ) or re.match(r"^i (?:avoid|stay away from|steer clear of) (?P<x>.{2,60})", s, re.I)
        if not m:
            return None
        obj = _trim_object(m["x"])
        slug = _slug(obj)
        if slug is None or obj.lower().startswith(("it", "that", "this", "time", "a lot")):
            return None
        verb = m.groupdict().get("verb")
        text = f"I don't {verb.lower()} {obj}." if verb else f"I avoid {obj}."
        return Candidate("preference", text, f"avoids.{slug}", 0.85, -0.6, 0.6)

    def _worry(self, s: str) -> Candidate | None:
        """ "I'm worried about my mum's visit next week" (a worry is worth asking about later)."""
        m = re.match(
            r"^i'm (?:really |very |so |a bit |a little |kind of |kinda |pretty |quite |"
            r"super |getting )?(?P<feel>worried|nervous|anxious|stressed|scared|concerned|"
            r"freaking out|uneasy|dreading) (?:about|for|over|because of|that) (?P<x>.{2,160})",
            s,
            re.IGNORECASE,
        ) or re.match(
            r"^i (?:keep |really )?(?P<feel>worry|dread) (?:about )?(?P<x>.{2,160})", s, re.I
        )
        if not m:
            return None
        what = _trim_clause(m["x"])
        slug = _slug(what)
        pronoun = what.lower() in ("her", "him", "them", "it", "that", "this")
        if pronoun and self.last_said:  # "I'm worried about her", after "my mum's having…"
            what = f"{what} ({self.last_said.rstrip(' .!')})"
            slug = _slug(self.last_said)
        if not what or slug is None or what.lower() in ("it", "that", "this", "you"):
            return None
        feel = m["feel"].lower()
        text = (
            f"I'm {feel} about {what}." if feel not in ("worry", "dread") else f"I {feel} {what}."
        )
        return Candidate("episode", text, f"worries.{slug}", 0.8, -0.5, 0.8)

    def _plan(self, s: str) -> Candidate | None:
        """ "I'm going to visit my mum next month", "we're planning to move": a plan."""
        m = re.match(
            r"^(?P<who>i'm|i am|we're|we are) (?:going to|gonna|planning to|planning on|"
            r"hoping to|thinking of|thinking about|about to) (?P<x>.{3,160})",
            s,
            re.IGNORECASE,
        ) or re.match(
            r"^(?P<who>i|we) (?:plan|intend|hope|want|'d like|would like|have decided|decided) "
            r"to (?P<x>.{3,160})",
            s,
            re.IGNORECASE,
        )
        if not m:
            return None
        what = _trim_clause(m["x"])
        slug = _slug(what)
        if not what or slug is None or what.lower().startswith(("be ", "say", "ask", "tell")):
            return None
        lead = s[: m.start("x")].strip()
        return Candidate("episode", f"{lead} {what}.", f"plans.{slug}", 0.75, 0.2, 0.7)

    def _job_at(self, s: str) -> list[Candidate]:
        m = re.match(
            r"^i(?:'m| work as)(?: now)? (?:an? |the )?(?P<job>[\w' -]{2,40}?) "
            r"(?:at|for|in) (?P<place>.{2,80})",
            s,
            re.IGNORECASE,
        )
        if not m or m["job"].lower().split()[-1] not in OCCUPATIONS:
            return []
        job, place = m["job"].strip(), _trim_object(m["place"])
        if not place:
            return []
        return [
            Candidate("fact", _article(f"I work as a {job}."), "user.job", 0.85, 0.0, 0.5),
            Candidate("fact", f"I work at {place}.", "user.workplace", 0.85, 0.0, 0.5),
        ]

    def _favorite(self, s: str) -> Candidate | None:
        m = re.match(
            r"^my (?:all-time |absolute |new |current |latest |real )?favou?rite "
            r"(?P<thing>[\w ]{1,30}?) (?:is|are) (?P<value>.{1,80})",
            s,
            re.IGNORECASE,
        ) or re.match(
            r"^(?P<value>(?-i:[A-Z])[^,;]{0,60}?) (?:is|are) (?:now |definitely )?my "
            r"(?:new |current |all-time )?favou?rite (?P<thing>[\w ]{1,30}?)(?: now)?[.!]*$",
            s,
            re.IGNORECASE,
        )
        if not m:
            return None
        value = _trim_object(m["value"])
        thing = m["thing"].strip().lower()
        slug = _slug(thing)
        if not value or slug is None:
            return None
        return Candidate(
            "preference", f"My favourite {thing} is {value}.", f"favorite.{slug}", 0.85, 0.6, 0.5
        )

    def _like(self, s: str) -> Candidate | None:
        verbs = "|".join(re.escape(v) for v in sorted(LIKE_VERBS, key=len, reverse=True))
        m = re.match(
            rf"^i (?:really |just |honestly )?"
            rf"(?P<neg>don't (?:really )?|do not (?:really )?|no longer |never )?"
            rf"(?:really |absolutely |just |kind of |kinda |totally |truly )?"
            rf"(?P<verb>{verbs}) (?P<object>.{{2,120}})",
            s,
            re.IGNORECASE,
        )
        if not m:
            return None
        obj = _trim_object(m["object"])
        if obj.lower().startswith(("it", "that", "this", "you", "when", "how", "him", "her")):
            return None
        slug = _slug(re.sub(r"^to ", "", obj, flags=re.IGNORECASE))
        if slug is None:
            return None
        verb = m["verb"].lower()
        valence = LIKE_VERBS[verb]
        if m["neg"]:
            if valence < 0:
                return None  # "I don't hate it": no clear preference
            valence = -0.5
            verb = f"don't {verb}"
        return Candidate(
            "preference",
            f"I {verb} {obj}.",
            f"likes.{slug}",
            0.8,
            valence,
            0.6 if abs(valence) >= 0.8 else 0.4,
        )

    def _about_me(self, s: str) -> Candidate | None:
        rules: tuple[tuple[str, str, str | None], ...] = (
            (r"^i'm (?P<x>\d{1,3})(?: years old| years| yo)?[.!]?$", "user.age",
             "I'm {x} years old."),
            (r"^i work (?:at|for) (?P<x>.{2,80})", "user.workplace", "I work at {x}."),
            (r"^i(?:'ve| have)? (?:just |recently )?(?:joined|started at|started working at|"
             r"got a job at) (?P<x>(?-i:[A-Z]).{1,80})", "user.workplace", "I work at {x}."),
            (r"^i (?:live|reside) in (?P<x>.{2,80})", "user.home", "I live in {x}."),
            (r"^(?:i|we)(?:'ve| have)?(?: been)? (?:live|lived|living|staying|settled|based)"
             r"(?: here)? in (?P<x>(?-i:[A-Z]).{1,80})", "user.home", "I live in {x}."),
            (r"^(?:i'm|we're|we are|i am) (?:now )?in (?P<x>(?-i:[A-Z])[^,;]{1,60}?) now[.!]*$",
             "user.home", "I live in {x}."),
            (r"^(?:home is|home's) (?:now )?(?P<x>(?-i:[A-Z]).{1,60})", "user.home",
             "I live in {x}."),
            (r"^i(?:'ve| have)?(?: been)? (?:work|worked|working|teach|teaching|taught|"
             r"volunteer|volunteering)(?: nights| days| shifts| weekends| part-time| full-time)? "
             r"(?:at|for) "
             r"(?P<x>(?:(?-i:[A-Z])|the |a |an ).{2,80})", "user.workplace",
             "I work at {x}."),
            (r"^i(?:'m|'ve been| have been) at (?P<x>(?-i:[A-Z])[^,;]{1,60}?)"
             r"(?: now| these days| for [\w ]+)?[.!]*$", "user.workplace", "I work at {x}."),
            (r"^i (?:just |recently )?moved to (?P<x>.{2,80})", "user.home", "I live in {x}."),
            (r"^i(?:'m| come) from (?P<x>.{2,80})", "user.hometown", "I'm from {x}."),
            (r"^i grew up in (?P<x>.{2,80})", "user.hometown", "I grew up in {x}."),
            (r"^my birthday is (?:on )?(?P<x>.{2,40})", "user.birthday", "My birthday is {x}."),
            (r"^i was born (?:on|in) (?P<x>.{2,40})", "user.birthday", "I was born on {x}."),
            (r"^i'm allergic to (?P<x>.{2,60})", "health.allergy.", "I'm allergic to {x}."),
            (r"^i'm (?:really |very |so )?(?:afraid|scared|terrified|frightened) of (?P<x>.{2,60})",
             "fears.", "I'm afraid of {x}."),
            (r"^i(?:'m|'ve been| have been|'ve started| have started| started| just started)? ?"
             r"(?:learning|studying|taking classes in|practising|practicing|learn)"
             r"(?: to play| how to play| to)? (?P<x>.{2,60})", "user.learning.",
             "I'm learning {x}."),
            (r"^i(?:'m| have| 've|'ve started| started)? ?(?:taking|having|started) "
             r"(?P<x>.{2,40}?) (?:lessons|classes)\b", "user.learning.", "I'm learning {x}."),
            (r"^i(?:'ve| have)? (?:taken up|picked up|got into|gotten into) (?P<x>.{2,60})",
             "user.hobby.", "I've taken up {x}."),
            (r"^my (?:new |main |favourite |favorite )?hobby is (?P<x>.{2,60})", "user.hobby.",
             "My hobby is {x}."),
            (r"^i play (?P<x>(?:the )?.{2,40})", "user.plays.", "I play {x}."),
            (r"^i(?:'m| am) (?P<x>lactose|gluten|dairy|wheat|egg|soy) intolerant",
             "health.allergy.", "I'm {x} intolerant."),
            (r"^i(?:'m| am| have) (?P<x>coeliac|celiac)(?: disease)?", "health.allergy.gluten",
             "I'm {x}: no gluten."),
            (r"^i(?:'m| am) (?:a )?(?P<x>vegetarian|vegan|pescatarian)\b", "avoids.meat",
             "I'm {x}."),
            (r"^i(?:'m| am) (?:training|preparing|studying) for (?P<x>.{2,80})", "plans.",
             "I'm training for {x}."),
            (r"^i (?:work|am working) (?:from home |remotely |part[- ]time |full[- ]time )?"
             r"as an? (?P<x>.{2,60})", "user.job", "I work as a {x}."),
            (r"^i'm (?:now )?(?:renting|living|based) (?:an? (?:flat|house|apartment|room|place) )?"
             r"in (?P<x>.{2,80})", "user.home", "I live in {x}."),
            (r"^i'm (?:an? )?(?:big |huge |massive |real )?fan of (?P<x>.{2,60})", "user.hobby.",
             "I'm a big fan of {x}."),
            (r"^i'm an? (?P<x>.{2,60})", "", "I'm a {x}."),
        )  # fmt: skip
        for pattern, subject, template in rules:
            m = re.match(pattern, s, re.IGNORECASE)
            if not m:
                continue
            value = _trim_object(m["x"])
            if subject in ("user.home", "user.workplace"):  # "Lyon for years": Lyon
                value = _place(m["x"])
            if not value:
                return None
            slug = _slug(value)
            if slug is None:
                return None
            if subject == "":  # "I'm a W": a job when W ends in an occupation
                last = value.lower().split()[-1]
                subject = "user.job" if last in OCCUPATIONS else f"user.is.{slug}"
            elif subject == "user.learning.":  # "French for work": French
                head = re.split(r" (?:for|with|at|in|to|because|so|since|on) ", value)[0]
                subject = subject + (_slug(head) or slug)
            elif subject.endswith("."):
                subject = subject + slug
            text = (template or "{x}").format(x=value)
            text = _article(text)
            valence = -0.5 if subject.startswith(("fears.", "health.")) else 0.0
            return Candidate("fact", text, normalize_subject(subject), 0.8, valence, 0.5)
        return None
