"""Endings and new times: what the user stopped having or doing ("I don't work there anymore",
"I sold the Fiat") and a plan moved to another day ("the pottery class moved to Thursdays").
"""

from __future__ import annotations

import re

from her_desktop.memory.extraction import Candidate, clean_text
from her_desktop.memory.grounding import FUNCTION_WORDS, words
from her_desktop.memory.rules.state import RuleState
from her_desktop.memory.rules.text import _trim_object
from her_desktop.memory.rules.vocabulary import (
    _STOP_VERBS,
    CHANGE_CUES,
    IRREALIS_START,
    MOVE_NOISE,
    OCCUPATIONS,
    STOP_NOISE,
    WHEN_PHRASE,
    WHEN_SPAN,
)


class EndingRules(RuleState):
    """What stopped or was rescheduled: no longer, quit, sold, moved to Thursday."""

    def _moved(self, s: str) -> Candidate | None:
        """ "the pottery class moved to Thursdays", "the dentist called, it's moved to Thursday
        at two": a rescheduled plan. ``moves`` (topic words, new time) lets the service change
        the time in the memory about that topic (the old text stays as its history)."""
        m = re.match(
            r"^(?:i|we)(?: have|'ve|'ve just| just)? (?:moved|changed|rescheduled|postponed|"
            rf"pushed back|switched) (?P<topic>(?:(?:the|my|our) )?.{{2,60}}?) (?:to|till|until) "
            rf"(?P<when>{WHEN_PHRASE})[.!]*$",
            s,
            re.IGNORECASE,
        ) or re.match(
            r"^(?P<topic>.{2,80}?),? (?:(?:it|that|this|which|they)(?:'s| is| has| was|'ve| have)?"
            r"|(?:is|has|was|'s))? ?(?:now |been |just |got )*(?:moved|changed|rescheduled|"
            r"postponed|pushed back|pushed|brought forward|switched)(?: back| forward)? "
            rf"(?:to|till|until) (?P<when>{WHEN_PHRASE})[.!]*$",
            s,
            re.IGNORECASE,
        )
        if not m:
            return None
        topic = [w for w in words(m["topic"]) if w not in FUNCTION_WORDS and w not in MOVE_NOISE]
        text = clean_text(s if s[-1] in ".!" else s + ".")
        if not topic or text is None:
            return None
        when = m["when"].strip()
        return Candidate("episode", text, None, 0.85, 0.0, 0.6, moves=(" ".join(topic), when))

    def _retimed(self, s: str) -> Candidate | None:
        """ "the dentist is on Thursday now", "practice is Tuesdays these days": a sentence
        that says something changed and names a day or time moves the memory about its topic
        to that time, like ``_moved``."""
        span = WHEN_SPAN.search(s)
        if not self._changing or span is None or IRREALIS_START.search(s):
            return None
        if re.match(r"^(?:i|i'm|we|we're|you)\b", s, re.IGNORECASE):
            return None  # "I'm off on Friday now": about the user's week, not a plan's time
        rest = s[: span.start()] + " " + s[span.end() :]
        topic = [
            w
            for w in words(rest)
            if w not in FUNCTION_WORDS and w not in MOVE_NOISE and not CHANGE_CUES.fullmatch(w)
        ]
        text = clean_text(s if s[-1] in ".!" else s + ".")
        if not topic or text is None:
            return None
        when = re.sub(r"^(?:on|every|at|in|next) ", "", span.group(0).strip(), flags=re.I)
        return Candidate("episode", text, None, 0.8, 0.0, 0.6, moves=(" ".join(topic), when))

    def _ended(self, s: str) -> Candidate | None:
        """ "I sold the Fiat", "I gave up the violin", "I've quit coffee", "I left Brasa", "I'm
        not vegetarian anymore", "I don't play tennis anymore": what the user stopped having or
        doing. The memory about it is replaced by this sentence (``moves`` with no time: the
        service finds the memory naming it, a keyed fact first; the old text stays as its
        history; with none, the sentence is kept as an episode)."""
        m = (
            re.match(
                rf"^(?:i|we)(?: have|'ve)?(?: just| finally| recently| already| now)? "
                rf"{_STOP_VERBS} "
                r"(?:my |the |our |a |an )?(?P<x>[\w'&. -]{2,40}?)"
                r"(?:[,.;!]| and | because | after | since | last | this | for | so |$)",
                s,
                re.IGNORECASE,
            )
            or re.match(
                r"^i(?:'m| am) (?:not|no longer) (?:an? |the )?(?P<x>[\w' -]{2,40}?)"
                r"(?: anymore| any more)?(?:[,.;!]|$)",
                s,
                re.IGNORECASE,
            )
            or re.match(
                r"^(?:i|we) (?:don't|do not|no longer) (?:really )?"
                r"(?!(?:eat|drink|touch|like|love|enjoy|adore|hate|mind|work|live|know|think|want|need)\b)"
                r"(?P<verb>[a-z]+(?: to| with| at| in)?) (?:my |the |a |an )?(?P<x>[\w' -]{2,40}?)"
                r" (?:anymore|any more)(?:[,.;!]|$)",
                s,
                re.IGNORECASE,
            )
        )
        if not m:
            return None
        left = re.match(r"^i(?: have|'ve)?(?: just| finally| recently| already)? left ", s, re.I)
        if left and not re.match(r"(?-i:[A-Z])|(?:my )?(?:job|work)\b", m["x"]):
            return None  # "I left my keys at home": only a named place or the job is left
        topic = [w for w in words(m["x"]) if w not in FUNCTION_WORDS and w not in STOP_NOISE]
        if "verb" in m.groupdict() and m["verb"]:
            topic = [m["verb"].split()[0].lower(), *topic]
        text = clean_text(s if s[-1] in ".!" else s + ".")
        if not topic or text is None or topic[-1] in ("it", "that", "time", "any", "anything"):
            return None
        if topic[0] in ("it", "that", "this", "sure", "worried", "sorry", "happy", "ok", "okay"):
            return None
        return Candidate("fact", text, None, 0.85, 0.0, 0.5, moves=(" ".join(topic), ""))

    def _no_longer(self, s: str) -> Candidate | None:
        """ "I don't work there anymore", "I quit my job", "I'm not a nurse anymore": the same
        subject as the old value, which the store keeps as history."""
        m = re.match(
            r"^i (?:don't|do not|no longer|stopped|have stopped) (?:work|working) "
            r"(?:(?:at|for) (?P<x>.{2,80}?)|there)(?: anymore| any more)?[.!]*$",
            s,
            re.IGNORECASE,
        )
        if m:
            where = f"at {_trim_object(m['x'])}" if m["x"] else "there"
            return Candidate("fact", f"I no longer work {where}.", "user.workplace", 0.85, 0.0, 0.5)
        m = re.match(
            r"^i'm (?:no longer|not) (?:with|at) (?P<x>(?-i:[A-Z]).{1,80}?)(?: anymore| any more)?"
            r"[.!]*$",
            s,
            re.IGNORECASE,
        )
        if m:
            where = f"at {_trim_object(m['x'])}"
            return Candidate("fact", f"I no longer work {where}.", "user.workplace", 0.85, 0.0, 0.5)
        m = re.match(
            r"^i (?:just |finally )?(?:quit|left|lost) (?:my job|work|my work)"
            r"(?: (?:at|with) (?P<x>.{2,80}))?",
            s,
            re.IGNORECASE,
        ) or re.match(r"^i (?:just |finally )?(?:quit|left) (?P<x>(?-i:[A-Z]).{1,80})", s)
        if m:
            where = f"at {_trim_object(m['x'])}" if m["x"] else "there"
            return Candidate("fact", f"I no longer work {where}.", "user.workplace", 0.85, 0.0, 0.6)
        m = re.match(
            r"^i (?:don't|do not|no longer) live (?:(?:in|at) (?P<x>.{2,80}?)|there)"
            r"(?: anymore| any more)?[.!]*$",
            s,
            re.IGNORECASE,
        )
        if m:
            where = f"in {_trim_object(m['x'])}" if m["x"] else "there"
            return Candidate("fact", f"I no longer live {where}.", "user.home", 0.85, 0.0, 0.5)
        m = re.match(
            r"^i (?:got|was|have been|'ve been|just got) (?:laid off|made redundant|fired|let go|"
            r"sacked)(?: (?:from|at|by) (?P<x>.{2,80}))?",
            s,
            re.IGNORECASE,
        )
        if m:
            where = f"at {_trim_object(m['x'])}" if m["x"] else "there"
            return Candidate("fact", f"I no longer work {where}.", "user.workplace", 0.85, 0.0, 0.6)
        if re.match(r"^i(?:'ve| have)? (?:just |finally )?retired\b", s, re.IGNORECASE):
            text = clean_text(s if s[-1] in ".!" else s + ".")
            if text is not None:
                return Candidate("fact", text, "user.job", 0.85, 0.0, 0.6)
        m = re.match(
            r"^i'm (?:not|no longer) an? (?P<x>.{2,60}?)(?: anymore| any more)?[.!]*$",
            s,
            re.IGNORECASE,
        )
        if m and m["x"].lower().split()[-1] in OCCUPATIONS:
            return Candidate(
                "fact", f"I'm no longer a {_trim_object(m['x'])}.", "user.job", 0.85, 0.0, 0.5
            )
        return None
