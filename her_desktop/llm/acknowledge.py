"""A hard moment is answered with an acknowledgement first — made sure of in Python.

The small default LM often opens a reply to bad news with advice, a question or a restatement
("The doctor seems worried…"), and which it does moves with every change of the prompt (the
mood note's label, the turn guide). So the rule is kept outside the LM's free text:

- :func:`hard_turn` decides from the user's words (the ``trouble``, ``loss`` and ``illness``
  lists of ``data/reply_style.toml``: failure, worry, a death or its anniversary told without a
  word of feeling, a serious illness told plainly; a loss reads as sadness) and from the
  affect estimate of the turn (a sad, worried or angry reading — its top label sure enough,
  or the negative emotions together holding most of it — negative enough, of a message about
  the user's own life)
  whether the turn tells of a hard moment, and which feeling it shows; a message that is only
  a flat word ("meh") is a low mood;
- :func:`acknowledges` says whether a sentence acknowledges what they said or how they seem
  ("Oh no", "I'm sorry", "That sounds…", "You sound…", "What a…");
- :func:`cheers` says whether a sentence celebrates: the dialogue leaves such a sentence out
  of a reply to a hard moment ("Three years! I'm so excited." to a mother's anniversary);
- :func:`good_news` and :func:`condoles`: good news is never condoled with ("Oh no, I'm sorry.
  … What happened?" to a student loan paid off); :func:`glad_line` is said instead;
- :func:`acknowledgement` says a short line for the feeling in the user's own words where a
  short clause of theirs can be taken (:func:`their_words`, framed by ``echo_acknowledgements``:
  "I'm so sorry that your cat had to be put to sleep yesterday."), else a line of
  ``acknowledgements`` in the same file; either way with wording none of her recent replies
  holds (the dialogue says it first when the reply's first kept sentence does not acknowledge,
  and when the model ran out of time before a sentence).

Pure functions on text; fast (regular expressions).
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import tomllib
from collections.abc import Sequence
from typing import Literal

from her_desktop.memory.retrieval import second_person

__all__ = [
    "Feeling",
    "acknowledgement",
    "acknowledges",
    "bereaved",
    "cheers",
    "condoles",
    "feeling_of",
    "glad_line",
    "good_news",
    "hard_turn",
    "low_mood",
    "their_words",
    "troubled",
    "worried_question",
]

Feeling = Literal["sad", "worried", "frustrated", "hard", "low"]

MIN_CONFIDENCE = 0.35
"""An affect reading at least this sure makes a turn hard (with :data:`MAX_VALENCE`)."""
MAX_VALENCE = -0.2
"""… when its valence is at most this (the fast detector's readings of good news that it
labels 'fear' or 'sadness' sit above it: "The scan came back clear." -0.17)."""

NEGATIVE_SHARE = 0.45
"""… or when the negative emotions together (sadness, fear, anger) hold at least this share of
the reading, whatever its top label, with the same valence: "um so yeah i keep waking up at
like 3am and my heart is just kind of racing" reads fear 0.34 on top but 0.49 negative in all
(dev2 k04); good news sits well below (the readings of the dev sets' good news: at most 0.45
with a valence above -0.1)."""
MAX_ECHO_WORDS = 12
"""The most of the user's words an acknowledgement says back to them."""
MIN_ECHO_WORDS = 2

_LABEL_FEELING: dict[str, Feeling] = {"sadness": "sad", "fear": "worried", "anger": "frustrated"}

_ACK = re.compile(
    r"^\W*(?:(?:oh|ah|aw+|oof|ugh|ouch|hey|well|gosh|oh my|i see|hmm+|mm+|okay|ok|right)\b"
    r"[\s,.!…-]*)*"
    r"(?:oh no|oh dear|ugh|oof|aw+|ouch|"
    r"(?:i'm |i am )?(?:so |really |very |truly )?sorry|"
    r"(?:that |this |it )?sounds (?!like (?:you (?:should|need|could|might|have to)|"
    r"a (?:good|great) (?:idea|plan)))|that (?:must|seems)|this must|"
    r"(?:that|this|it)(?:'s| is| was) (?:(?:so|really|such|a|an|very|just|truly|completely|"
    r"absolutely|incredibly|awfully|quite|a really|a very|such an?) )*(?:not (?:fair|ok|okay|"
    r"easy)|awful|hard|rough|tough|terrible|horrible|sad|heartbreaking|frustrating|scary|unfair|"
    r"rotten|painful|lonely|exhausting|stressful|worrying|upsetting|brutal|heavy|understandable|"
    r"devastating|crushing|gutting|rubbish|lot|shame|pity|nightmare|blow|mess|worry|difficult|"
    r"draining|maddening|infuriating|annoying|disappointing|upsetting|big|huge)\b|"
    r"you (?:sound|seem|must (?:be|have|feel))|(?:it |that )?must (?:be|have|feel)|"
    r"what an? (?!(?:good|great|nice|lovely|interesting) (?:idea|question|plan))|"
    r"how (?:awful|hard|horrible|frustrating|scary|sad|painful|lonely|stressful|"
    r"rotten|unfair|worrying|tough)|"
    r"i can (?:imagine|only imagine|hear|tell|see)|i hear you|no wonder|of course you|"
    r"i (?:can |completely |totally |really |do )?(?:understand|get) (?:how|why|what|that(?! "
    r"you should)|it\b|the feeling)|"
    r"poor you|my heart|i'm with you|i'm here (?:for|with) you|losing )",
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
    r"truly )?sorry\b(?!,? (?:but|i (?:don't|do not|can't|cannot|didn't|couldn't)))|"
    r"that sounds (?:really |so |very )?(?:draining|awful|hard|rough|tough|"
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
LOW = re.compile(
    r"^\W*(?:meh+|blah+|bleh+|ugh+|urgh+|hmph+|sigh+|whatever|not great|not good|could be better|"
    r"(?:i'?ve )?been better|so-so|same old|nah|not really|don't ask|dunno)\W*$",
    re.IGNORECASE,
)
"""A message that is only a low, flat word ("meh"): a mood to notice, not a topic."""
_LOW_MOOD = re.compile(
    r"^\W*(?:meh+|blah+|bleh+|ugh+|urgh+|sigh+|not great|not good|could be better|"
    r"(?:i'?ve )?been better|so-so|don't ask)\W*$",
    re.IGNORECASE,
)
"""Of those, the ones that say how they are ("meh", "been better"), not an answer to her
question ("nah", "not really", "whatever"): a low mood, acknowledged first."""
_FILLER = re.compile(
    r"^(?:(?:um+|uh+|erm|er|so|yeah|ok|okay|well|like|honestly|anyway|basically|ugh+|urgh|"
    r"argh+|oh|god|man|sigh|i (?:dunno|guess|mean)|you know|to be honest|guess what)\b[\s,.!…-]*)+",
    re.IGNORECASE,
)
"""Words that open a message without saying anything of it ("um so yeah i dunno like")."""
_ASKED = re.compile(
    r"(?:,\s*|\s+(?:and|but|so)\s+)(?:what|what's|how|why|who|where|when|which|can|could|would|"
    r"will|is|are|do|does|did)\b.*$",
    re.IGNORECASE,
)
"""The rest of a message from where it asks her something ("I'm so stressed, what's 15% of
240"): not part of what happened to them."""
_CLAUSE = re.compile(
    r",\s+|\s+(?:and|but|so|because|cos|even though|though|then|which|while|when)\s+|"
    r"\s+[-–—]\s+|;\s*",
    re.IGNORECASE,
)
_TO_HER = re.compile(r"\b(?:you|your|yours|yourself|you're|you've|you'd|you'll)\b", re.I)
_RELIEF = re.compile(
    r"\b(?:out of hospital|back home|recovered|all clear|came back clear|better now|"
    r"got the job|passed (?:my|the)|got (?:in|accepted)\b|accepted|engaged|pregnant\b|"
    r"had a baby|promot|won\b(?!')|finally|(?:in|into) remission|(?:perfectly|completely) "
    r"(?:healthy|fine))",
    re.IGNORECASE,
)


_MISSED = re.compile(
    r"\b(?:not|no|never|didn't|did not|don't|wasn't|weren't|isn't|haven't|hasn't|won't|without|"
    r"passed over for|missed out on|lost out on|turned down for|instead of)\b(?:\W+\w+){0,3}\W*$",
    re.IGNORECASE,
)
"""Words just before a word of relief that undo it ("passed over for the promotion",
"wasn't accepted", "never got in")."""


def _relieved(text: str) -> bool:
    """``text`` tells of relief or good news: a word of it not undone just before."""
    return any(_MISSED.search(text, 0, m.start()) is None for m in _RELIEF.finditer(text))


@functools.cache
def _style() -> dict[str, object]:
    raw = (
        importlib.resources.files("her_desktop.llm")
        .joinpath("data/reply_style.toml")
        .read_text(encoding="utf-8")
    )
    return tomllib.loads(raw)


def _patterns(*keys: str) -> re.Pattern[str]:
    words: list[str] = []
    for key in keys:
        found = _style()[key]
        assert isinstance(found, list)
        words.extend(str(w) for w in found)
    return re.compile(r"\b(?:" + "|".join(words) + r")", re.IGNORECASE)


@functools.cache
def _trouble() -> re.Pattern[str]:
    return _patterns("trouble", "loss", "illness")


@functools.cache
def _loss() -> re.Pattern[str]:
    return _patterns("loss")


def bereaved(text: str) -> bool:
    """The message tells of a loss (a death, its anniversary, a day without them: "It's two
    years today since Grandad went."), with or without a word of feeling."""
    return _loss().search(text) is not None and not _relieved(text)


def troubled(text: str) -> bool:
    """The message tells of a hard moment in words (loss, illness, failure, worry, a bad day)."""
    return _trouble().search(text) is not None and not _relieved(text)


def worried_question(text: str) -> bool:
    """``text`` is a worried question about themselves ("what if they don't like me")."""
    return _WORRY_QUESTION.search(text) is not None


def feeling_of(label: str | None) -> Feeling:
    """The feeling an acknowledgement answers for an affect label (anything else: "hard")."""
    return _LABEL_FEELING.get(label or "", "hard")


def low_mood(text: str) -> bool:
    """``text`` is only a low, flat word ("meh", "been better"): a mood to notice."""
    return LOW.match(" ".join(text.split())) is not None


def hard_turn(
    text: str,
    label: str | None = None,
    valence: float = 0.0,
    confidence: float = 0.0,
    scores: Sequence[tuple[str, float]] = (),
) -> Feeling | None:
    """The feeling of a message that tells of a hard moment, or None.

    Hard: the words say so (:func:`troubled`), or the affect estimate of the turn (``label``,
    ``valence``, ``confidence``; ``scores``: its per-emotion probabilities) reads sad, worried
    or angry — its top label sure enough, or the negative emotions together holding most of
    it (:data:`NEGATIVE_SHARE`) — and negative enough, about the user's own life (a
    first-person message; "people who put pineapple on pizza" is an opinion asked, not news).
    A message that is only a low, flat word ("meh") is a low mood. Good news ("out of
    hospital", "the scan came back clear") is never hard."""
    flat = " ".join(text.split())
    if not flat or _relieved(flat):
        return None
    if _LOW_MOOD.match(flat):
        return "low"
    mine = _FIRST_PERSON.search(flat) is not None
    negative = (
        label in _LABEL_FEELING and confidence >= MIN_CONFIDENCE and valence <= MAX_VALENCE and mine
    )
    if negative:
        return feeling_of(label)
    share = {k: v for k, v in scores if k in _LABEL_FEELING}
    if mine and valence <= MAX_VALENCE and sum(share.values()) >= NEGATIVE_SHARE:
        return feeling_of(max(share, key=lambda k: share[k]))
    if _trouble().search(flat) is not None:
        if label in _LABEL_FEELING and valence < 0:
            return feeling_of(label)
        return "sad" if _loss().search(flat) is not None else "hard"
    if worried_question(flat):
        return "worried"
    return None


def acknowledges(sentence: str) -> bool:
    """``sentence`` opens by acknowledging what they said or how they seem."""
    return _ACK.search(sentence.replace("’", "'")) is not None


_ASKS_OF_OTHERS = re.compile(
    r"^\W*(?:(?:so|and|but|hey|um|ok|okay)\b[\s,]*)*(?:who|what|which|when|where|why|how|did|do|"
    r"does|is|are|was|were|can|could|will|would)\b(?!.*\b(?:i|i've|i'm|we|we've|my|our)\b)",
    re.IGNORECASE,
)
"""A question with no news of their own in it ("Who won the pub quiz last Tuesday?")."""


def good_news(text: str) -> bool:
    """The message tells of relief or good news (out of hospital, got the job, finally) with
    no word of trouble; a question about others ("who won the quiz?") tells no news."""
    flat = " ".join(text.split())
    if _ASKS_OF_OTHERS.search(flat):
        return False
    return _relieved(flat) and _trouble().search(flat) is None


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


_SUBJECT_WORDS = frozenset(
    {
        "i", "i'm", "i've", "i'd", "i'll", "im", "we", "we're", "we've", "my", "our", "the",
        "a", "an", "his", "her", "their", "he", "she", "they", "he's", "she's", "they're",
        "it", "it's", "its", "there", "there's", "everyone", "everybody", "nobody", "someone",
        "somebody", "this", "that", "today", "tonight", "yesterday", "all", "nothing",
        "everything", "mum", "mom", "dad", "mum's", "mom's", "dad's", "grandad", "gran",
        "nan", "grandma", "grandpa", "one", "two", "both", "none",
    }
)  # fmt: skip
"""Words a clause can open with as its subject ("my bike got nicked"): a clause without one
("failed my driving test") does not follow "I'm so sorry that …"."""


def their_words(text: str) -> str | None:
    """The first thing ``text`` says of a hard moment, short and put as she says it back to
    them ("My bike got nicked outside the library." → "your bike got nicked outside the
    library"; "um so yeah i keep waking up at 3am and my heart races" → "you keep waking up
    at 3am"), or None where no short clause with a subject can be taken: a question, a
    message that speaks to her ("you"), one too long to cut at a clause."""
    flat = " ".join(text.replace("’", "'").split())
    if not flat or "?" in flat or worried_question(flat) or LOW.match(flat):
        return None
    for sentence in re.split(r"(?<=[.!…])\s+", flat):
        body = _ASKED.sub("", _FILLER.sub("", sentence)).strip(" .!…,;:-–—\"'")
        if len(body.split()) < MIN_ECHO_WORDS:
            continue
        clause = body  # all of it when short, else up to the first clause that says enough
        if len(body.split()) > MAX_ECHO_WORDS:
            heads = (body[: b.start()] for b in _CLAUSE.finditer(body))
            clause = next((h for h in heads if len(h.split()) >= 3), "")
        words = clause.split()
        if not (MIN_ECHO_WORDS <= len(words) <= MAX_ECHO_WORDS) or _TO_HER.search(clause):
            return None
        first = words[0].lower().strip("\"'")
        # a capital word after an opening ("ugh, Tom walked out"): a name, said as written
        named = (
            words[0][:1].isupper() and first not in _SUBJECT_WORDS and not flat.startswith(words[0])
        )
        if first not in _SUBJECT_WORDS and not named and not first.endswith("'s"):
            return None
        said = second_person(clause).rstrip(" .!…,;:")
        return said if named else said[:1].lower() + said[1:]
    return None


def acknowledgement(
    feeling: Feeling, recent_replies: Sequence[str] = (), user_text: str = ""
) -> str:
    """A short acknowledgement for ``feeling``: said in the user's own words where a short
    clause of theirs can be taken (:func:`their_words`: "I'm so sorry that your cat had to be
    put to sleep yesterday."), else one of the feeling's lines (then the general ones). Of
    each, the first whose wording none of ``recent_replies`` holds, so the same words are not
    said twice in a row."""
    said = [_words(r) for r in recent_replies]
    echo = their_words(user_text) if feeling != "low" else None
    if echo is not None:
        table = _style()["echo_acknowledgements"]
        assert isinstance(table, dict)
        frames = [str(x) for x in table.get(feeling, [])] + [str(x) for x in table["hard"]]
        fresh = [f for f in frames if not any(_words(f.split("{echo}")[0]) in s for s in said)]
        frame = (fresh or frames)[0 if fresh else len(said) % len(frames)]
        return frame.replace("{echo}", echo)
    table = _style()["acknowledgements"]
    assert isinstance(table, dict)
    lines = [str(x) for x in table.get(feeling, [])] + [str(x) for x in table["hard"]]
    for line in lines:
        key = _words(line)
        if not any(key in s for s in said):
            return line
    return lines[len(said) % len(lines)]
