"""What a question about the user's life asks, and which memory answers it.

"What's my dog called?", "Where does my sister live?", "what does dmitri do for a living":
``is_self_question`` and ``asks_about_told`` tell such a question from a request for advice
or a question about the world; ``answers`` says whether a memory answers it (shared words,
the thing asked after "my", the slot asked for: a name, a place, a time, a job, an age);
``shared`` how much of it a memory holds. ``MemoryService.notes_for`` puts the answering
notes first and tells her when none answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Final

from her_desktop.memory.grounding import FUNCTION_WORDS, stem, words
from her_desktop.memory.kinds import MEMBERS, kinds_named
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.rules import OCCUPATIONS
from her_desktop.memory.rules.vocabulary import _REL, PETS
from her_desktop.memory.slots import ended
from her_desktop.memory.whom import names_asked
from her_desktop.memory.words import QUESTION_WORDS, WANTS

SELF_WORDS: Final = re.compile(
    r"\b(my|i|me|mine|i'm|i've|myself|am i|do i|did i|our|ours|we|us|we're|we've)\b", re.I
)
"""the user (or the user with their own: "when's our gig", "what pet do we have now")"""
PHATIC: Final = re.compile(r"^\s*how (?:are|am) (?:we|you|i)\b", re.IGNORECASE)
"""a greeting shaped like a question ("how are we doing today?")"""
ASKING: Final = re.compile(
    r"\?\s*$|^(what|whats|where|wheres|who|whos|when|whens|which|how|hows|"
    r"do you (remember|know)|can you remember|"
    r"remind me|tell me)\b",
    re.IGNORECASE,
)
ADVICE: Final = re.compile(
    r"\b(should|shall|could|can|would|might|must) (i|we)\b|\bhow (do|can|would) (i|we)\b|"
    r"\b(do|would) (i|we) need\b|\b(suggest|recommend|ideas?|tips?|advice)\b|"
    r"\bwhat (do|would) you\b|\bwhat's (a|an|some) (good|nice|quick|easy)\b",
    re.IGNORECASE,
)
IRREALIS: Final = re.compile(
    rf"\b(?:{WANTS}|hoping for|hoping to|planning to|saving for|need|needs)\b[^.,;]*",
    re.IGNORECASE,
)
"""what a note wants or looks for, not what the user has ("I'm looking for a new job" does not
answer "What's my new job?")"""


def is_self_question(text: str) -> bool:
    """ "What's my dog called?", "Where does my sister live?", "Do you remember what I'm
    learning?": the user asks about themselves."""
    text = text.strip()
    if ADVICE.search(text):  # "What should I cook?": a request, not a question about them
        return False
    if PHATIC.search(text):
        return False
    return bool(ASKING.search(text) and SELF_WORDS.search(text))


def asks_about_told(text: str, records: Sequence[MemoryRecord]) -> bool:
    """ "What's the name of the venue?", "Who is Bea marrying?": a question about something in
    the user's life (a name of what was told, or someone the notes name), not about the world."""
    text = text.strip()
    if not ASKING.search(text) or ADVICE.search(text):  # "what should I get Theo?": advice
        return False
    if re.search(
        r"\b((?:name|title) of (the|his|her|their)|(the|his|her|their) [\w ]{1,30} called)\b",
        text,
        re.I,
    ):
        return True
    if names_asked(text, [r.text for r in records]):  # "what does dmitri do for a living"
        return True
    names = {
        n.removesuffix("'s")  # "Theo's fiancée": Theo
        for n in re.findall(r"(?<=\s)(?-i:[A-Z])[\w'-]+", " " + text[1:].replace("’", "'"))
    }
    told = " ".join(r.text for r in records)
    if any(re.search(rf"\b{re.escape(n)}\b", told) for n in names):
        return True
    # "what's dmitri's surname" typed in lower case: someone's thing, someone the notes name
    owners = {
        o.lower()
        for o in re.findall(r"\b([a-z][\w-]+)'s(?=\s+[a-z])", text.replace("’", "'"), re.I)
        if o.lower() not in QUESTION_WORDS | FUNCTION_WORDS | {"it", "that", "there", "here", "let"}
    }
    return any(re.search(rf"\b{re.escape(o)}\b", told, re.I) for o in owners)


_NOT_OWNERS: Final = frozenset(
    {"it", "that", "there", "here", "let", "today", "tonight", "tomorrow"}
)
"""words before "'s" that own nothing ("what's", "let's", "today's date")"""


_SAYS_WHICH: Final = frozenset(
    [
        "favourite",
        "favorite",
        "best",
        "worst",
        "biggest",
        "first",
        "last",
        "middle",
        "maiden",
        "least",
        "most",
    ]
)
"""words before the thing asked for that say which one ("my favourite pizza"): kept"""


def asked_phrase(question: str) -> list[str]:
    """The content words of what the user asks about after "my" ("my best marathon time" →
    best, marathon, time; "my grandmother's surname" → grandmother, surname): a note must hold
    them all."""
    m = re.search(
        r"\bmy ((?:[\w-]+(?:'s)? ){0,4}?[\w-]+(?:'s)?)(?=\s+(?:called|named|do|does|did|is|"
        r"are|was|were|live|lives|have|has|had|going|doing|coming|start|starts|now)\b|"
        r"\s*[?.!]|\s*$)",
        question.replace("’", "'"),
        re.I,
    )
    of = re.search(
        r"\bthe (title|colour|color|price|address|number|date|size|make|model|brand|breed|"
        r"surname|venue|score|result) of\b",
        question,
        re.I,
    )
    named = [
        n
        for n in re.finditer(  # overlapping: "What's Theo's fiancée" has "Theo's fiancée"
            r"(?=\b([\w-]+)'s (?:(?:new|old|best|little|big|favourite|favorite|first|last|"
            r"current|younger|older|eldest|youngest) )?([\w-]+)\b)",
            question.replace("’", "'"),
        )
        if n.group(1).lower() not in QUESTION_WORDS | FUNCTION_WORDS | _NOT_OWNERS
    ]
    if m is None and named:  # "What's Theo's fiancée called?", "dmitri's surname": that thing
        return [named[0].group(2).lower()]
    if m is None:
        return [of.group(1).lower()] if of else []
    phrase = m.group(1).lower().split() + ([of.group(1).lower()] if of else [])
    # "grandmother's surname": the grandmother and the surname, both (the user's own job does
    # not answer "my sister's job")
    # the words before the thing itself only describe it ("my sourdough starter": the
    # starter, "my best marathon time": the time); an owner ("grandmother's") is kept
    words_ = [p for p in phrase if p.removesuffix("'s") not in FUNCTION_WORDS | QUESTION_WORDS]
    kept = [
        p
        for i, p in enumerate(words_)
        if p.endswith("'s") or i == len(words_) - 1 or p in _SAYS_WHICH
    ]
    return [p.removesuffix("'s") for p in kept]


def answers(question: str, record: MemoryRecord) -> bool:
    """True when the memory shares a content word (a crude stem) with the question, counting
    the words of its subject key (``pet.dog.name`` answers "my dog"), and holds every word of
    what is asked about after "my" (``asked_phrase``); a word is held by a longer word that
    ends with it ("shop" by "bookshop")."""
    held = _holder(record)
    if not _count_held(question, held) and not (
        JOB_QUESTION.search(question) and _tells_a_job(record)
    ):  # "what do I do for a living?" and "I'm a florist." share no word
        return False
    if not all(held(stem(w)) for w in asked_phrase(question)):
        return False
    if not identifies(question, IRREALIS.sub(" ", record.text)):
        return False
    return fits_slots(question, record)


def fits_slots(question: str, record: MemoryRecord) -> bool:
    """``record`` is the kind of thing ``question`` asks for (``SLOTS``): a name for "what's
    … called", a number for "how old", a place for "where", a time for "when"."""
    return all(fits(record) for asks, fits in SLOTS if asks.search(question))


def fits_slots_text(question: str, text: str) -> bool:
    """``fits_slots`` for a sentence (her reply's) rather than a stored note."""
    return fits_slots(
        question, MemoryRecord(0, "episode", None, text, 0.0, 0.0, None, 0.0, None, 0.0, 0.0)
    )


def shared(question: str, record: MemoryRecord) -> int:
    """How many content words of ``question`` the memory holds (``answers``)."""
    return _count_held(question, _holder(record))


def _count_held(question: str, held: Callable[[str], bool]) -> int:
    asked = {stem(w) for w in words(question) if w not in FUNCTION_WORDS | QUESTION_WORDS}
    return sum(held(w) for w in asked)


def _holder(record: MemoryRecord) -> Callable[[str], bool]:
    """Whether the memory holds a stem: its words and its subject key's, the words it
    answers with without saying them (``ALIKE``), work when it tells a job; a stem is held
    by a longer word that ends with it ("shop" by "bookshop")."""
    subject = " ".join(
        RELATION_ALIASES.get(part, part) for part in (record.subject or "").split(".")
    ).replace("_", " ")
    said = IRREALIS.sub(" ", record.text)
    have = {stem(w) for w in words(f"{said} {subject}") if w not in FUNCTION_WORDS}
    alike = {stem(w) for w in words(said)}  # "married": the wedding; "called": a name
    have |= {stem(w) for h in alike for w in ALIKE.get(h, ())}
    have |= {stem(kind) for kind in kinds_named(set(words(said)))}  # "pottery": a hobby
    if ((record.subject or "").endswith(".job") or _tells_a_job_text(said)) and not ended(said):
        have |= WORK_STEMS  # "where do I work?": "I'm a tester at quillfeather" (not "I'm
        # looking for a new job")
    flat = " ".join(sorted(have))

    def held(w: str) -> bool:
        return w in have or (len(w) >= 3 and re.search(rf"\w{re.escape(w)}\b", flat) is not None)

    return held


RELATION_ALIASES: Final = {"home": "home live", "workplace": "workplace work", "job": "job work"}
"""the words a question may ask a keyed relation with ("Where do I live?": ``user.home``)"""


_ALIKE: Final = {
    "married": "wedding marry", "marry": "wedding married", "marri": "wedding marry",
    "engag": "wedding", "engaged": "wedding", "fianc": "wedding", "fiance": "wedding",
    "seeing": "dating date", "see": "dating", "girlfriend": "dating date",
    "boyfriend": "dating date", "partner": "dating", "died": "dead death", "passed": "died dead",
    "uni": "university", "university": "uni", "masters": "uni university study studying",
    "degree": "uni university study studying", "phd": "uni university study studying",
    "called": "name", "named": "name", "calling": "name", "renamed": "name called",
}  # fmt: skip


ALIKE: Final[dict[str, tuple[str, ...]]] = {
    stem(k): tuple(v.split()) for k, v in _ALIKE.items()
} | {stem(breed): (kind,) for breed, kind in PETS.items() if breed != kind}
"""the words a note answers a question with without saying them: "Jonno's getting married"
tells the wedding, "a greyhound called pilot" the dog, "seeing someone new" who they date"""


WORK_STEMS: Final = frozenset(stem(w) for w in ("work", "works", "working", "job"))
"""what a note that tells a job answers ("where do I work?", "which hospital do I work at")"""


WHICH_THING: Final = re.compile(
    r"^\s*(?:what|which) (?!kind\b|sort\b|type\b)([a-z][\w-]+)\b", re.IGNORECASE
)


def identifies(question: str, said: str) -> bool:
    """ "What binoculars do I have?" asks which ones: a note naming the binoculars only as
    "my binoculars" ("my binoculars are ancient") does not say which. When the note holds
    the asked noun, it must also hold something that tells it apart: a word before the noun
    other than a determiner ("the blue Yaris", "a watercolour course"), a name, a number, or
    a colour when a colour is asked."""
    m = WHICH_THING.match(question)
    if m is None or m.group(1).lower() in FUNCTION_WORDS | QUESTION_WORDS:
        return True
    noun = stem(m.group(1).lower())
    if noun in MEMBERS:  # "What instrument am I learning?": a note naming one
        return any(w in MEMBERS[noun] or stem(w) in MEMBERS[noun] for w in words(said))
    if noun in ("day", "time", "date", "year", "month"):
        return True  # the ``SLOTS`` check when
    said_words = said.replace("’", "'").split()
    stems = [stem(re.sub(r"[^\w'-]", "", w).lower()) for w in said_words]
    if _tells_a_job_text(said):  # "which hospital do I work at": "a nurse at st columba's"
        stems += sorted(WORK_STEMS)
    if noun not in stems:  # the note may answer in other words ("I drive a blue Yaris")…
        doing = {  # …when it says what the question does ("drive"), not only where ("Kyoto")
            stem(w)
            for w in re.findall(r"(?<![\w'])(?-i:[a-z])[\w'-]+", question[m.end() :])
            if w not in FUNCTION_WORDS | QUESTION_WORDS
        }
        return not doing or bool(doing & set(stems))
    if re.search(r"\d|\s(?-i:[A-Z])[\w'-]+", " " + said[1:]):
        return True
    i = stems.index(noun)
    before = stems[i - 1] if i > 0 else ""
    return bool(before) and before not in FUNCTION_WORDS and before not in ("my", "our", "your")


def _gives_a_name(r: MemoryRecord) -> bool:
    return bool(NAMING.search(r.text) or (r.subject or "").endswith(".name"))


def _names_someone(r: MemoryRecord) -> bool:
    return (
        _gives_a_name(r)
        or re.search(r"\s(?-i:[A-Z])[\w'-]+", r.text) is not None
        or SOMEONE_NAMED.search(r.text) is not None  # "my cousin tomasz", typed in lower case
    )


def _tells_a_job(r: MemoryRecord) -> bool:
    return (r.subject or "").endswith(".job") or _tells_a_job_text(r.text)


def _tells_a_job_text(text: str) -> bool:
    return OCCUPATION.search(text) is not None or JOB_AT.search(text) is not None


JOB_AT: Final = re.compile(
    r"\b(?:i'm|i am|im|you're|you are|he's|he is|she's|she is|they're|is) an? (?:[\w-]+ )?"
    r"[\w-]+(?:er|or|ist|ian)s? (?:at|for) (?!the moment\b|the weekend\b|night\b|heart\b)",
    re.IGNORECASE,
)
"""a job told by where it is done ("I'm a software tester at quillfeather games")"""


JOB_QUESTION: Final = re.compile(
    r"\bdo for (?:work|a living)\b|\bjob\b|\bwhat (?:does|do) [\w' ]{1,30} do"
    r"(?=\s*(?:[?.!]|$|now\b|these days\b|nowadays\b))",
    re.I,
)


NAMING: Final = re.compile(
    r"\b(?:called|named) (?!(?:a|an|it|that|this|me|him|her|us|them|you|off|for|to|in|on|"
    r"at|by|out|up|back|again|and|but|so)\b)[^\W\d_]|\b(?:name is|name's|is my)\b|"
    r"\b(?:re)?named (?:her|him|it|them) (?!(?:a|an|after|for|to|in|on|at|by)\b)[^\W\d_]|"
    r"\brenamed (?!(?:a|an|the|it|that|this|to|in|on|at|by|after)\b)[^\W\d_]",
    re.IGNORECASE,
)
"""a note that gives a name: "called Pepper", "called the crag", "her name's katrin", "they'd
named her smoke", "we've renamed her pebble" (a name typed in lower case too; not "called
me", "called off", "named her after my gran")"""


SOMEONE_NAMED: Final = re.compile(
    rf"\b(?:my|our|his|her|their) (?:{_REL}) (?!(?:is|was|and|but|so|who|has|had|will|just|"
    rf"lives|works|said|says|called|named)\b)[^\W\d_]{{3,}}",
    re.IGNORECASE,
)
"""someone named after their relation ("my cousin tomasz", "our neighbour Bea")"""


WHEN_WORDS: Final = re.compile(
    r"\d|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|"
    r"april|may|june|july|august|september|october|november|december|today|tomorrow|"
    r"tonight|week|month|year|morning|evening|weekend|spring|summer|autumn|winter)s?\b",
    re.IGNORECASE,
)


NUMBER: Final = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|hundred)\b",
    re.IGNORECASE,
)
"""a number, in digits or words ("she was eight")"""


DURATION: Final = re.compile(
    r"\b(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|few|several) "
    r"(years?|months?|weeks?|days?|hours?|minutes?)\b|\bsince\b",
    re.IGNORECASE,
)


OCCUPATION: Final = re.compile(
    r"\b(work|works|worked|working|job|jobs|teach|teaches|retired|unemployed|"
    + "|".join(sorted(OCCUPATIONS))
    + r")s?\b",
    re.IGNORECASE,
)
"""a note that says what someone does for a living"""


NAME_ASKED: Final = re.compile(r"\b(name|called)\b", re.I)
WHERE_ASKED: Final = re.compile(r"^\s*where\b|\bwhich (city|town|country|place)\b", re.I)

SLOTS: Final[tuple[tuple[re.Pattern[str], Callable[[MemoryRecord], bool]], ...]] = (
    (NAME_ASKED, _gives_a_name),
    (re.compile(r"\b(who|who's)\b", re.I), _names_someone),
    (re.compile(r"\bhow old\b|\bage\b", re.I), lambda r: NUMBER.search(r.text) is not None),
    (JOB_QUESTION, lambda r: _tells_a_job(r)),
    (re.compile(r"\bhow long\b", re.I), lambda r: DURATION.search(r.text) is not None),
    (
        WHERE_ASKED,
        lambda r: any(  # a place, not a time ("we split up in March")
            not WHEN_WORDS.match(m.group(1))
            for m in re.finditer(r"\b(?:in|at|near|from|to) (?:the |a |an )?(\S+)", r.text, re.I)
        ),
    ),
    (
        re.compile(r"^\s*when\b|\bwhat (day|time|date)\b|\bwhich day\b", re.I),
        lambda r: WHEN_WORDS.search(r.text) is not None,
    ),
)
"""What a question asks for, and what a memory needs to answer it ("What's my mum's name?"
is not answered by "My mum lives in Nairobi.")."""
