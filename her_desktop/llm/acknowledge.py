"""A hard moment is answered with an acknowledgement first — made sure of in Python.

The small default LM often opens a reply to bad news with advice, a question or a restatement
("The doctor seems worried…"), and which it does moves with every change of the prompt (the
mood note's label, the turn guide). So the rule is kept outside the LM's free text:

- :func:`hard_turn` decides from the user's words (the ``trouble`` list of
  ``data/reply_style.toml``: loss, illness, failure, worry) and from the affect estimate of the
  turn (a sad, worried or angry reading, sure enough and negative enough, of a message about
  the user's own life) whether the turn tells of a hard moment, and which feeling it shows;
- :func:`acknowledges` says whether a sentence acknowledges what they said or how they seem
  ("Oh no", "I'm sorry", "That sounds…", "You sound…", "What a…");
- :func:`cheers` says whether a sentence celebrates: the dialogue leaves such a sentence out
  of a reply to a hard moment ("Three years! I'm so excited." to a mother's anniversary);
- :func:`good_news` and :func:`condoles`: good news is never condoled with ("Oh no, I'm sorry.
  … What happened?" to a student loan paid off); :func:`glad_line` is said instead;
- :func:`acknowledgement` picks a short line for the feeling from ``acknowledgements`` in the
  same file, not one of her recent replies holds (the dialogue says it first when the reply's
  first sentence does not acknowledge).

Pure functions on text; fast (regular expressions).
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import tomllib
from collections.abc import Sequence
from typing import Literal

__all__ = [
    "Feeling",
    "acknowledgement",
    "acknowledges",
    "cheers",
    "condoles",
    "feeling_of",
    "glad_line",
    "good_news",
    "hard_turn",
    "troubled",
    "worried_question",
]

Feeling = Literal["sad", "worried", "frustrated", "hard"]

MIN_CONFIDENCE = 0.35
"""An affect reading at least this sure makes a turn hard (with :data:`MAX_VALENCE`)."""
MAX_VALENCE = -0.2
"""… when its valence is at most this (the fast detector's readings of good news that it
labels 'fear' or 'sadness' sit above it: "The scan came back clear." -0.17)."""

_LABEL_FEELING: dict[str, Feeling] = {"sadness": "sad", "fear": "worried", "anger": "frustrated"}

_ACK = re.compile(
    r"^\W*(?:(?:oh|ah|aw+|oof|ugh|ouch|hey|well|gosh|oh my)\b[\s,.!…-]*)*"
    r"(?:oh no|oh dear|ugh|oof|aw+|ouch|"
    r"(?:i'm |i am )?(?:so |really |very |truly )?sorry|"
    r"that (?:sounds|must|seems)|this (?:sounds|must)|it sounds|sounds |"
    r"(?:that|this|it)(?:'s| is| was) (?:so |really |such |a |an |very |just |truly |"
    r"completely |not (?:fair|ok|okay|easy)|awful|hard|rough|tough|terrible|horrible|sad|"
    r"heartbreaking|frustrating|scary|unfair|rotten|painful|lonely|exhausting|stressful|"
    r"worrying|upsetting|brutal|heavy|understandable|devastating|crushing|gutting|rubbish)|"
    r"you (?:sound|seem|must)|it must|must (?:be|have|feel)|"
    r"what an? |how (?:awful|hard|horrible|frustrating|scary|sad|painful|lonely|stressful|"
    r"rotten|unfair|worrying|tough)|"
    r"i can (?:imagine|only imagine|hear|tell|see)|i hear you|no wonder|of course you|"
    r"poor you|my heart|i'm with you|i'm here|losing |what a )",
    re.IGNORECASE,
)
"""The start of a sentence that acknowledges what they said or how they seem."""
_CHEER = re.compile(
    r"\b(?:good news|great news|congratulations|congrats|how exciting|so exciting|"
    r"(?:i'm|i am) (?:so |really |very )?(?:excited|thrilled|delighted|happy for you)|"
    r"(?:i'm|i am) (?:so |really )?glad(?! you (?:told|said|mentioned|shared|reached|came|"
    r"brought|can|have|had))|that's (?:so |really )?(?:great|wonderful|amazing|fantastic|"
    r"brilliant|exciting|lovely)|how (?:lovely|wonderful|fun)|sounds (?:so |really )?"
    r"(?:special|lovely|exciting|fun|great|wonderful|amazing)|yay|woo+)\b",
    re.IGNORECASE,
)
"""A sentence that celebrates: never said to a hard moment ("Oh, that's good news! I'm glad
the GP wants you both to come in." to a worrying call from a doctor)."""
_CONDOLENCE = re.compile(
    r"^\W*(?:(?:oh|ah|aw+)\b[\s,.!…-]*)?(?:oh no\b|oh dear\b|(?:i'm |i am )?(?:so |really |very |"
    r"truly )?sorry\b|that sounds (?:really |so |very )?(?:draining|awful|hard|rough|tough|"
    r"terrible|horrible|exhausting|sad|stressful|frustrating)|that's (?:so |really )?(?:sad|awful|"
    r"hard|rough|tough|terrible)\b|what happened\?)",
    re.IGNORECASE,
)
"""A sentence that condoles ("Oh no, I'm sorry.", "That sounds really draining."): never
said to good news ("guess who finally paid off her student loan")."""
_WORRY_QUESTION = re.compile(
    r"^\W*(?:so |and |but |ok |okay )?(?:what if|what happens if|what do i do|what should i do|"
    r"what am i (?:going|gonna) to do|is it (?:my fault|me)\b|why do i always|"
    r"am i (?:a |an |too |being |the )?(?:bad|terrible|awful|horrible|selfish|stupid|wrong|"
    r"overreacting|failure|crazy|mad|boring|annoying|unlovable|ugly|worst)|"
    r"why does this always)",
    re.IGNORECASE,
)
"""A question about themselves, asked in worry ("What if I'm not good enough?"): not a fact."""
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|im|my|me|we|we're|our|us|mine)\b", re.I)
_RELIEF = re.compile(
    r"\b(?:out of hospital|back home|recovered|all clear|came back clear|better now|"
    r"got the job|passed (?:my|the)|got (?:in|accepted)\b|accepted|engaged|pregnant\b|"
    r"had a baby|promot|won\b(?!')|finally)",
    re.IGNORECASE,
)


@functools.cache
def _style() -> dict[str, object]:
    raw = (
        importlib.resources.files("her_desktop.llm")
        .joinpath("data/reply_style.toml")
        .read_text(encoding="utf-8")
    )
    return tomllib.loads(raw)


@functools.cache
def _trouble() -> re.Pattern[str]:
    words = _style()["trouble"]
    assert isinstance(words, list)
    return re.compile(r"\b(?:" + "|".join(str(w) for w in words) + r")", re.IGNORECASE)


def troubled(text: str) -> bool:
    """The message tells of a hard moment in words (loss, illness, failure, worry, a bad day)."""
    return _trouble().search(text) is not None and _RELIEF.search(text) is None


def worried_question(text: str) -> bool:
    """``text`` is a worried question about themselves ("what if they don't like me")."""
    return _WORRY_QUESTION.search(text) is not None


def feeling_of(label: str | None) -> Feeling:
    """The feeling an acknowledgement answers for an affect label (anything else: "hard")."""
    return _LABEL_FEELING.get(label or "", "hard")


def hard_turn(
    text: str,
    label: str | None = None,
    valence: float = 0.0,
    confidence: float = 0.0,
) -> Feeling | None:
    """The feeling of a message that tells of a hard moment, or None.

    Hard: the words say so (:func:`troubled`), or the affect estimate of the turn (``label``,
    ``valence``, ``confidence``) reads sad, worried or angry, sure and negative enough, about
    the user's own life (a first-person message; "people who put pineapple on pizza" is an
    opinion asked, not news). Good news ("out of hospital", "the scan came back clear") is
    never hard."""
    flat = " ".join(text.split())
    if not flat or _RELIEF.search(flat):
        return None
    negative = (
        label in _LABEL_FEELING
        and confidence >= MIN_CONFIDENCE
        and valence <= MAX_VALENCE
        and _FIRST_PERSON.search(flat) is not None
    )
    if negative:
        return feeling_of(label)
    if _trouble().search(flat) is not None:
        return feeling_of(label) if label in _LABEL_FEELING and valence < 0 else "hard"
    if worried_question(flat):
        return "worried"
    return None


def acknowledges(sentence: str) -> bool:
    """``sentence`` opens by acknowledging what they said or how they seem."""
    return _ACK.search(sentence.replace("’", "'")) is not None


def good_news(text: str) -> bool:
    """The message tells of relief or good news (out of hospital, got the job, finally) with
    no word of trouble."""
    flat = " ".join(text.split())
    return _RELIEF.search(flat) is not None and _trouble().search(flat) is None


def condoles(sentence: str) -> bool:
    """``sentence`` condoles, as to bad news."""
    return _CONDOLENCE.search(sentence.replace("’", "'")) is not None


def glad_line(recent_replies: Sequence[str] = ()) -> str:
    """A short line of gladness for good news, not one of ``recent_replies`` holds."""
    table = _style()["acknowledgements"]
    assert isinstance(table, dict)
    lines = [str(x) for x in table["glad"]]
    said = [_words(r) for r in recent_replies]
    return next(
        (line for line in lines if not any(_words(line) in s for s in said)),
        lines[len(said) % len(lines)],
    )


def cheers(sentence: str) -> bool:
    """``sentence`` celebrates (good news, congratulations, "I'm so excited")."""
    return _CHEER.search(sentence.replace("’", "'")) is not None


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z']+", text.lower().replace("’", "'")))


def acknowledgement(feeling: Feeling, recent_replies: Sequence[str] = ()) -> str:
    """A short acknowledgement for ``feeling``: the first of its lines (then the general
    ones) that none of ``recent_replies`` contains, so it is not said twice in a row."""
    table = _style()["acknowledgements"]
    assert isinstance(table, dict)
    lines = [str(x) for x in table.get(feeling, [])] + [str(x) for x in table["hard"]]
    said = [_words(r) for r in recent_replies]
    for line in lines:
        key = _words(line)
        if not any(key in s for s in said):
            return line
    return lines[len(said) % len(lines)]
