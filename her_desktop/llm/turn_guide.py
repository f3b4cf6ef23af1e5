"""A short guide for one reply, worked out in Python from what the user just said.

The small default LM follows a concrete, turn-specific hint far better than the general rules
of the persona prompt (measured with ``her-desktop bench companion --part dev``). So the dialogue
stage adds, after the user's message and for this reply only (the history keeps the message as
said), a line in brackets that names what kind of turn it is:

- a translation ("how do you say X in Italian", "translate X into Spanish"): the words and the
  language (the reply itself is made by ``llm.translate``; the guide keeps the task in the
  history);
- a definition ("what does X mean"): one plain sentence;
- a hard moment (loss, illness, failure, worry: ``trouble`` in ``data/reply_style.toml``):
  acknowledge the feeling first, no advice; a message that is only a flat word ("meh",
  "ugh", "been better"): notice the mood gently first;
- a question about her own life ("have you ever been in love?", "did you watch the match?",
  "what's your favourite food?", "how's your day going?"): answer truthfully as what she is,
  an AI with no body, senses or past, warmly, and turn it back to them (the LM otherwise
  claims a first love, a match watched, a dish eaten);
- a plain question of fact: answer in a sentence, or say she is not sure; one about a recent
  event ("who won … last Tuesday"): say plainly she cannot know (the LM invents a winner).

- a sum asked inside a longer message ("I'm going mad with these accounts. What's 1,250 minus
  375?"): the answer worked out in Python (``llm.arithmetic.find_sum``), to be given after a
  word for how they feel (the dialogue says it itself if the reply leaves it out).

A message that is only a sum, or asks her to sum up what they said (``llm.recap``), is not
guided but answered in Python; a translation
the phrasebook does not hold is made on a side path and checked (``llm.translate``), so its
guide only names the task in the history. :func:`turn_guide` is pure and fast
(regular expressions on one message). The guides of everyday turns are a dozen tokens: the
LM reads them before its first word, so they cost the first sound (about 0.1 s on 2 cores).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from her_desktop.llm.acknowledge import low_mood, troubled, worried_question
from her_desktop.llm.arithmetic import find_sum

__all__ = ["EXACT_GUIDES", "Guide", "GuideKind", "translation_request", "troubled", "turn_guide"]

GuideKind = Literal["translate", "sum", "define", "trouble", "fact", "personal", "self"]

EXACT_GUIDES: frozenset[GuideKind] = frozenset({"translate", "define", "fact"})
"""Task turns: the reply is generated greedily (its likeliest answer, no sampling)."""

_Q = "[\"'“”‘’]"
_LANGUAGES = (
    "english|french|spanish|italian|german|portuguese|dutch|swedish|norwegian|danish|finnish|"
    "polish|czech|greek|turkish|russian|ukrainian|japanese|chinese|mandarin|cantonese|korean|"
    "arabic|hebrew|hindi|irish|welsh|latin|catalan|romanian|hungarian|indonesian|vietnamese|thai"
)
_TRANSLATE = [
    re.compile(
        rf"\bhow (?:(?:do|would|can|should|could) (?:you|i|we|one) |to )say {_Q}?(?P<text>.+?)"
        rf"{_Q}?"
        rf"\s+in (?P<lang>{_LANGUAGES})\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\btranslate {_Q}?(?P<text>.+?){_Q}?\s+(?:in)?to (?P<lang>{_LANGUAGES})\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\bwhat(?:'s| is) {_Q}?(?P<text>.+?){_Q}?\s+in (?P<lang>{_LANGUAGES})\b", re.IGNORECASE
    ),
    re.compile(
        rf"\btranslate (?:this |that |the following )?(?:in)?to (?P<lang>{_LANGUAGES})\s*[:,-]\s*"
        rf"{_Q}?(?P<text>.+?){_Q}?\s*$",
        re.IGNORECASE,
    ),
    re.compile(
        rf"(?:^|\b(?:can you|could you|please|how to|how do i|how would i|i want to|i'd like to) )"
        rf"say {_Q}(?P<text>.+?){_Q}\s+in (?P<lang>{_LANGUAGES})\b",
        re.IGNORECASE,
    ),
    re.compile(rf"^{_Q}(?P<text>.+?){_Q}\s+in (?P<lang>{_LANGUAGES})\s*\?*$", re.IGNORECASE),
    re.compile(
        rf"\b(?:what's|what is|say) the (?P<lang>{_LANGUAGES}) (?:word |phrase )?for "
        rf"{_Q}?(?P<text>.+?){_Q}?\s*[?.!]*$",
        re.IGNORECASE,
    ),
]
_END = r"(?:,? (?:for me|please|exactly|again|in plain english|in simple terms))*\s*[?.!]*$"
_DEFINE = [
    re.compile(
        rf"\bwhat does it mean (?:to be|to feel|if (?:someone|something|you) is|when (?:someone|"
        rf"something|you) (?:is|are)|to call someone) (?:an? )?{_Q}?(?P<word>[\w'-]{{1,30}}){_Q}?"
        + _END,
        re.I,
    ),
    re.compile(
        rf"\bwhat(?: does|'s| is| do)? (?:the (?:word|term|phrase|expression) )?{_Q}?"
        rf"(?P<word>(?!(?:it|that|this|you|he|she|they|i|we|does|do|did|people)\b)[\w' -]{{1,40}}?)"
        rf"{_Q}? mean\b",
        re.I,
    ),
    re.compile(
        rf"\b(?:tell me|explain|do you know|remind me|wonder) what (?:the word )?{_Q}?"
        rf"(?P<word>[\w' -]{{1,40}}?){_Q}? means\b",
        re.I,
    ),
    re.compile(rf"\bdefine (?:the word )?{_Q}?(?P<word>[\w' -]{{1,40}}?){_Q}?" + _END, re.I),
    re.compile(
        rf"\bwhat(?:'s| is) the (?:meaning|definition) of (?:the word )?{_Q}?"
        rf"(?P<word>[\w' -]{{1,40}}?){_Q}?" + _END,
        re.I,
    ),
    re.compile(rf"\bmeaning of (?:the word )?{_Q}?(?P<word>[\w'-]{{1,40}}){_Q}?" + _END, re.I),
    re.compile(rf"^(?:what(?:'s| is) )?(?:an? )?{_Q}(?P<word>[\w' -]{{1,30}}){_Q}\s*\?$", re.I),
]
_LEAD_IN = (
    r"^(?:(?:so|and|hey|ok|okay|oh|um|well|also|right|random question|quick question|quick one|"
    r"one more|another one|just wondering|i wonder|out of curiosity|serious question)[,:\s-]+)*"
)
_FACT = re.compile(
    _LEAD_IN + r"(?:what|who|where|when|which|how (?:many|much|far|long|old|big|tall|deep|hot|"
    r"cold|fast|heavy)|is|are|was|were|does|do|did)\b.{3,120}\?\s*$",
    re.IGNORECASE,
)
_FACT_UNMARKED = re.compile(
    _LEAD_IN + r"(?:what(?:'s| is| are| was| were)(?! an?\b)|who(?:'s| is| was| were| wrote| "
    r"painted| invented| discovered| won| built| composed| directed| sang)|where(?:'s| is| are)|"
    r"when (?:is|was|did|does)|which|how (?:many|much|far|long|old|big|tall|deep|hot|cold|fast|"
    r"heavy))\b(?:\s+\S+){2,20}\s*$",
    re.IGNORECASE,
)
"""A question of fact typed without its question mark ("what's the capital of Spain")."""
_REQUEST = re.compile(
    r"^(?:(?:so|ok|okay|hey|please|now)[,\s]+)?(?:give|tell|talk|say|make|write|let's|"
    r"let us|sing|read|help|show|name|list|suggest|recommend|describe|explain|can you|could "
    r"you|would you|will you|please)\b",
    re.IGNORECASE,
)
_RECENT = re.compile(
    r"\b(?:yesterday|last (?:night|week|weekend|month|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday)|this (?:morning|afternoon|evening|week|weekend)|tonight|earlier today|"
    r"just now|right now|at the moment|currently|latest|so far this)\b",
    re.IGNORECASE,
)
"""A question of fact about something recent: no LM knows it (she has no news feed)."""
_ABOUT_HER = re.compile(r"\b(?:you|your|yourself)\b", re.IGNORECASE)
_HER_LIFE = re.compile(
    r"\b(?:(?:have|had|did|do|would|were|are|could|can) you (?:ever |also |even |really |"
    r"actually |still )?(?:been|watch|watched|see|seen|saw|eat|eaten|ate|drink|taste|tasted|"
    r"like|love|enjoy|prefer|miss|have|had|go|went|gone|travel|visit|visited|read|"
    r"play|played|listen|sleep|slept|get|feel|fall|fallen|cook|grow|own|dream|tired|hungry|"
    r"bored|lonely|married|single|in love|a fan)|"
    r"(?:what(?:'s| is| are|'re)|which (?:is|are)|got|have you got|do you have) (?:a |any )?"
    r"your (?:favou?rites?|fave|best|go-to)|your (?:favou?rite|fave) \w+|"
    r"how(?:'s| is| was|'d| did| has)(?: your)? (?:your )?(?:day|weekend|morning|evening|night|"
    r"week|life|holiday)|what did you (?:do|get up to|have|eat)|where (?:are|were) you (?:from|"
    r"born|going)|how old are you|what do you (?:do|like|eat|look like) )",
    re.IGNORECASE,
)
"""A question about her own life: what she has done, likes, feels in her body, her day."""
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|im|my|me|we|we're|our|us|mine)\b", re.I)


@dataclass(frozen=True, slots=True)
class Guide:
    """What kind of turn this is, and the hint for the LM."""

    kind: GuideKind
    text: str


def _clean(text: str) -> str:
    return text.strip().strip("\"'“”‘’").strip()


def translation_request(user_text: str) -> tuple[str, str] | None:
    """(phrase, language) when ``user_text`` asks for a translation ("how do you say X in
    Italian"), else None. The language is capitalised ("Italian")."""
    text = " ".join(user_text.split())
    for pattern in _TRANSLATE:
        match = pattern.search(text)
        if match is not None:
            return _clean(match["text"]), match["lang"].capitalize()
    return None


def turn_guide(user_text: str, *, hard: bool = False) -> Guide | None:
    """The guide for a reply to ``user_text``, or None for an ordinary turn. ``hard``: the
    turn was found to tell of a hard moment beyond its words (``llm.acknowledge.hard_turn``
    with the turn's affect estimate)."""
    text = " ".join(user_text.split())
    if not text:
        return None
    translation = translation_request(text)
    if translation is not None:
        phrase, lang = translation
        return Guide(
            "translate",
            f'Task: translate "{phrase}" into {lang}.',
        )
    found = find_sum(text)
    if found is not None and found.value is not None and not found.whole:
        return Guide(
            "sum",
            f"Their sum, worked out exactly, comes to {found.spoken}. First a few words of "
            f'your own to them about how they seem (say "you"), then tell them it comes to '
            f"{found.spoken}.",
        )
    for pattern in _DEFINE:
        match = pattern.search(text)
        if match is not None:
            word = _clean(match["word"])
            return Guide(
                "define",
                f'Task: say in one plain sentence what "{word}" means, starting with '
                f'"{word[:1].upper() + word[1:]} means".',
            )
    if worried_question(text) and not troubled(text):
        return Guide(
            "trouble", "They are worried about this: be kind and steady first, in your own words."
        )
    if low_mood(text):
        return Guide(
            "trouble",
            "They sound flat or low: notice that gently first, in your own words, no advice.",
        )
    if hard or troubled(text):
        return Guide(
            "trouble", "Something hard happened to them: begin with sympathy, in your own words."
        )
    if (_HER_LIFE.search(text) and text.rstrip().endswith("?")) or _HER_LIFE.match(text):
        return Guide(
            "self",
            "They asked about you: answer truthfully as an AI with no body, senses or past "
            "(never pretend to have done, eaten, watched or felt it), warmly, then ask about "
            "theirs.",
        )
    unmarked = _FACT_UNMARKED.search(text) is not None and not _FIRST_PERSON.search(text)
    if (_FACT.search(text) or unmarked) and not _ABOUT_HER.search(text):
        if _RECENT.search(text):
            return Guide(
                "fact",
                "A question about a recent or local event: you cannot see the news or anything "
                "outside this conversation, so say plainly that you don't know.",
            )
        return Guide(
            "fact",
            "A question of fact: answer it correctly in one short sentence; if you are not sure, "
            "say so plainly.",
        )
    if (
        not text.rstrip().endswith("?")
        and not _REQUEST.search(text)
        and (_FIRST_PERSON.search(text) or len(text.split()) > 3)
    ):
        return Guide("personal", "Respond first to what they said and how they feel.")
    return None
