"""Her answer to a question about the user holds only what the user told her.

The small default LM, asked "Which hotel did I book in Kyoto?", answers "You booked the Hyatt
Regency" — a hotel never mentioned; asked where the user works after they changed jobs, it
says the old workplace. When the user asks about themselves (``Asked``: built in the worker
thread with the turn's notes, checked on the loop in microseconds), each sentence of her reply
is checked before it is spoken (``MemoryService.reply_problem`` calls ``check``):

- a sentence *about the user* (it says "you"/"your", shares a word with the question, or names
  something: a capitalised word, a number) asserts its content words. Each must be *known*:
  in a note recalled for this turn (what is stored, not outdated), or in the user's own words
  in this conversation (their messages, this question included). Words of talk ("remember",
  "mentioned", "sounds") and function words assert nothing;
- a word of a replaced value ("bank" after "I left the bank, now I teach") is not known from
  the user's earlier words: only a current note holding it, or the sentence saying it is past
  ("used to", "left", "no longer"), lets it be said;
- a sentence asserting what is not known is not spoken: where a recalled note answers the
  question she says that note in the second person (``Asked.answer``; also in place of her
  "I don't know yet"), else that she does not know it yet and asks (``dont_know``: "I don't
  know yet. Which hotel did you book in Kyoto?"); once something was answered, a later such
  sentence ends the reply instead (``MemoryService.reply_problem``);
- her sentences that say she doesn't know pass, with the user's things said back as theirs
  ("I don't know when my birthday is." → "I don't know when your birthday is.").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from her_desktop.memory.grounding import FUNCTION_WORDS, stem, words
from her_desktop.memory.questions import fits_slots_text
from her_desktop.memory.whom import about_someone_else, says_the_user_does, the_users_own
from her_desktop.memory.words import ASKING_VERBS

__all__ = ["Asked", "Verdict", "asked", "bare", "check", "dont_know", "theirs"]

_TALK: Final = (
    "you you're youre you've youve you'd you'll your yours yourself yourselves oh yes yeah no "
    "not well okay ok sure of course great lovely nice wonderful good glad happy sorry hope "
    "sound sounds like love think remember recall know knew mention mentioned told tell said "
    "say shared share heard hear right now currently still these days day moment actually "
    "again yet think thought guess believe seem seems ask asked exciting fun interesting "
    "amazing fantastic awesome cool what's where's who's when's that's there's it's let's "
    "let me us more detail details anything something thing things"
)
TALK_WORDS: Final = frozenset(_TALK.split())
"""words of talk, not of a fact about the user"""
_PLACE_KINDS: Final = (
    "school primary academy college university uni hospital clinic surgery practice centre "
    "center office offices company firm bank agency studio lab laboratory library museum "
    "shop store cafe café restaurant bar pub bakery hotel gym club park street road avenue "
    "lane square station airport church theatre theater hall house farm factory"
)
PLACE_KINDS: Final = frozenset(_PLACE_KINDS.split())
"""what follows a place's name ("Hillside School") without saying anything of its own"""
_SECOND: Final = re.compile(r"\b(you|your|you're|yours|yourself|you've|you'd)\b", re.IGNORECASE)
_NAMED: Final = re.compile(r"(?<![\w'])(?-i:[A-Z])[\w'-]*|\d")
PAST: Final = re.compile(
    r"\b(used to|left|leaving|quit|former|formerly|previous|previously|before|no longer|"
    r"anymore|any more|not any|stopped|moved (?:away |out )?from|was|were|ex)\b",
    re.IGNORECASE,
)
_PAST_OR_NOT: Final = re.compile(
    PAST.pattern + r"|\b(not|never|no|don't|doesn't|didn't|isn't|aren't|"
    r"wasn't|haven't|hasn't|won't|can't|cannot)\b|n't\b",
    re.IGNORECASE,
)
"""a sentence that says something is past or does not hold"""
DONT_KNOW: Final = re.compile(
    r"\b(don't|do not|didn't|did not|haven't|have not|never) (know|remember|recall|think you|"
    r"told|tell|mentioned|mention|said|say|shared|share)\b|\bnot sure\b|\bno idea\b|"
    r"\bnot (yet )?(told|mentioned|said)\b|\bcan't (say|tell|remember)\b",
    re.IGNORECASE,
)
"""a sentence of hers that says she does not know (or was not told)"""
_MY: Final = re.compile(r"\b(my|mine|our)\s+([\w'-]+)", re.IGNORECASE)
_ASKING_PREFIX: Final = re.compile(
    r"^\s*(?:(?:hey|so|and|ok|okay|um|hmm)[, ]+)*(?:(?:do|can|could|would) you (?:remember|"
    r"recall|know|tell me)|remind me|tell me|any idea|you know)\b[, ]*",
    re.IGNORECASE,
)
_DIRECT: Final = re.compile(
    r"^(what|what's|whats|where|where's|who|who's|when|when's|which|how|why|whose|do|does|"
    r"did|is|are|was|were|have|has|am|can|will)\b",
    re.IGNORECASE,
)
_YOURS: Final = {
    "i": "you", "i'm": "you're", "im": "you're", "i've": "you've", "i'd": "you'd",
    "i'll": "you'll", "me": "you", "my": "your", "mine": "yours", "myself": "yourself",
    "am": "are", "we": "you", "we're": "you're", "our": "your", "us": "you",
}  # fmt: skip
_YOURS_RE: Final = re.compile(
    r"(?<![\w'])(" + "|".join(re.escape(k) for k in sorted(_YOURS, key=len, reverse=True)) + r")"
    r"(?![\w'])",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Asked:
    """A question the user asked about themselves, and what her answer may say."""

    question: str
    known: frozenset[str]
    """stems (and words) of the recalled notes and of the user's own words"""
    current: frozenset[str]
    """stems of the recalled notes that are current (not outdated)"""
    stale: frozenset[str]
    """stems of replaced values that no current note holds, and of what a current note says
    no longer holds or does not ("I left the bank": bank) — the question's own words aside"""
    asked: frozenset[str]
    """stems of the question's content words"""
    theirs: frozenset[str]
    """stems of the words after "my" in the question ("my birthday": birthday)"""
    unknown: bool
    """no note answers the question"""
    answer: str | None = None
    """the newest note that answers it, in the second person"""
    whom: frozenset[str] = frozenset()
    """the people the question asks about other than the user (``whom.asked_about``)"""
    notes: tuple[tuple[frozenset[str], bool], ...] = ()
    """each current note's stems, and whether it is the user's own (``whom.the_users_own``)"""


Verdict = Literal["ok", "answer", "dont_know", "invented", "replaced"]


def _stems(texts: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for text in texts:
        for w in words(text):
            out.add(w)
            out.add(stem(w))
    return out


def asked(
    question: str,
    notes: Iterable[str],
    heard: Iterable[str],
    stale: Iterable[str],
    *,
    unknown: bool,
    answer: str | None = None,
    whom: frozenset[str] = frozenset(),
) -> Asked:
    """The check for ``question``: ``notes`` are the texts of the current notes recalled for
    it, ``heard`` the user's messages in this conversation, ``stale`` the stems of replaced
    values."""
    notes = list(notes)
    current = _stems(notes)
    said = _stems([*heard, question])
    plain = _stems(n for n in notes if not _PAST_OR_NOT.search(n))
    negated = _stems(n for n in notes if _PAST_OR_NOT.search(n)) - plain
    question_stems = {
        stem(w) for w in words(question) if w not in FUNCTION_WORDS | ASKING_VERBS | TALK_WORDS
    }
    gone = ({s for s in stale if s not in plain} | negated) - question_stems - FUNCTION_WORDS
    return Asked(
        question=question,
        known=frozenset(current | said),
        current=frozenset(current),
        stale=frozenset(gone),
        asked=frozenset(question_stems),
        theirs=frozenset(stem(m.group(2).lower()) for m in _MY.finditer(question)),
        unknown=unknown,
        answer=answer,
        whom=whom,
        notes=tuple((frozenset(_stems([n])), the_users_own(n)) for n in notes),
    )


def _held(word: str, known: frozenset[str]) -> bool:
    s = stem(word)
    if word in known or s in known:
        return True
    # "nursing" and "nurse", "hospital's" and "hospital": a shared start of 5+ letters
    return len(s) >= 5 and any(len(k) >= 5 and (k.startswith(s) or s.startswith(k)) for k in known)


def _about_user(sentence: str, a: Asked) -> bool:
    if _SECOND.search(sentence):
        return True
    plain = FUNCTION_WORDS | TALK_WORDS | ASKING_VERBS
    if any(
        m.group(0)[0].isdigit() or m.group(0).lower() not in plain
        for m in _NAMED.finditer(sentence)
    ):
        return True  # "Pepper.", "Anna is coming", "in 2019"
    return bool({stem(w) for w in words(sentence)} & a.asked)


def unsupported(sentence: str, a: Asked) -> list[str]:
    """The words ``sentence`` asserts about the user that are not known (module docstring).
    A kind of place right after a known name adds nothing ("Hillside School" for "Hillside",
    "St. Mary's Hospital" for "St. Mary's"); alone ("a school") it is asserted like any word."""
    if not _about_user(sentence, a):
        return []
    out: list[str] = []
    named = False  # the word before is a known name (or a kind of place after one)
    for w in words(sentence):
        held = _held(w, a.known)
        if w in PLACE_KINDS and named:
            continue
        named = held and w not in FUNCTION_WORDS
        if not held and w not in FUNCTION_WORDS | TALK_WORDS:
            out.append(w)
    return out


def replaced(sentence: str, a: Asked) -> list[str]:
    """The words of replaced or negated values ``sentence`` states as holding now."""
    if not a.stale or _PAST_OR_NOT.search(sentence) or not _about_user(sentence, a):
        return []
    return [w for w in words(sentence) if w not in FUNCTION_WORDS and stem(w) in a.stale]


def check(sentence: str, a: Asked) -> Verdict:
    """What ``sentence`` of her reply to ``a`` is: ``ok`` (nothing asserted, or a question),
    ``answer`` (it asserts only what is known), ``dont_know`` (she says she does not know),
    ``invented`` (it asserts what is not known, or the question has no answer and it is no
    question nor a "don't know"), ``replaced`` (it states a replaced value as current)."""
    flat = sentence.strip()
    if not flat:
        return "ok"
    if DONT_KNOW.search(flat):
        return "dont_know"
    if flat.endswith("?"):
        return "ok"
    if a.unknown:
        if not _asserts(flat, a):
            return "ok"
        return "answer" if _told_anyway(flat, a) else "invented"
    if about_someone_else(flat, a.whom) and _asserts(flat, a):  # asked where Greta lives:
        # "You live in Tacoma." answers about the user (not "…, you said.")
        return "invented"
    if unsupported(flat, a):
        return "invented"
    if replaced(flat, a):
        return "replaced"
    return "answer" if _asserts(flat, a) else "ok"


def _told_anyway(sentence: str, a: Asked) -> bool:
    """No recalled note was found to answer the question, yet ``sentence`` says only what a
    current note says: each content word not in the question is in one current note (one of
    the user's own when the sentence says what the user does: "You are from Galway." is not
    told by "Jonno's fiancée is from Galway."), one word is not in the question (it says
    something), it is the kind of thing asked (a name for "called", a place for "where":
    ``fits_slots_text``), it is not about someone else and states no replaced value. ("What's
    my dog called?" with the note "We call the new puppy Biscuit": "Your puppy is called
    Biscuit." is an answer, "Your dog is called Rex." is not.)"""
    if about_someone_else(sentence, a.whom) or replaced(sentence, a):
        return False
    content = [w for w in words(sentence) if w not in FUNCTION_WORDS | TALK_WORDS]
    if not content or all(stem(w) in a.asked for w in content):
        return False
    users = says_the_user_does(sentence) and not a.whom  # "You are from …": a note of theirs
    if not any(
        all(stem(w) in a.asked or _held(w, note) for w in content) and (own or not users)
        for note, own in a.notes
    ):
        return False
    return fits_slots_text(a.question, sentence)


def _asserts(sentence: str, a: Asked) -> bool:
    """True when ``sentence`` says something about the user (not only "Of course!")."""
    if not _about_user(sentence, a):
        return False
    return any(w not in FUNCTION_WORDS | TALK_WORDS for w in words(sentence))


_BARE_WORDS: Final = (
    "i i'm im don't dont do not know yet that it this sorry afraid really just oh hmm well no "
    "idea sure am the answer"
)
_BARE: Final = frozenset(_BARE_WORDS.split())


def bare(sentence: str) -> bool:
    """ "I don't know yet.", "Sorry, I don't know that.": a "don't know" that says nothing of
    what (said again in a later reply, the reply filter drops it as a repeat)."""
    return all(w in _BARE for w in words(sentence))


def theirs(sentence: str, a: Asked) -> str:
    """``sentence`` with the user's things said as theirs: "my birthday" → "your birthday"
    when the question asked about "my birthday"."""

    def swap(m: re.Match[str]) -> str:
        if stem(m.group(2).lower()) not in a.theirs:
            return m.group(0)
        word = "your" if m.group(1).lower() in ("my", "our") else "yours"
        return (word.capitalize() if m.group(1)[0].isupper() else word) + m.group(0)[
            len(m.group(1)) :
        ]

    return _MY.sub(swap, sentence) if a.theirs else sentence


def dont_know(question: str) -> str:
    """She does not know it yet, and asks: the user's question in the second person ("Which
    hotel did I book?" → "I don't know yet. Which hotel did you book?")."""
    q = " ".join(question.replace("’", "'").split()).rstrip(" ?.!")
    rest = _ASKING_PREFIX.sub("", q)
    yours = _YOURS_RE.sub(lambda m: _YOURS.get(m.group(1).lower(), m.group(1)), rest)
    if rest and _DIRECT.match(rest) and rest == q:
        return f"I don't know yet. {yours[:1].upper()}{yours[1:]}?"
    if rest and _DIRECT.match(rest):  # "Do you remember where I work": an indirect question
        return f"I don't know yet {yours[:1].lower()}{yours[1:]}. Will you tell me?"
    return "I don't know that yet. Will you tell me?"
