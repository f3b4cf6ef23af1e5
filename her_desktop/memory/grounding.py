"""Nothing stored that the user did not say: a Python check of the LM's proposals.

The small default LM paraphrases, and sometimes copies an example from its prompt or adds what it
guesses ("I'm learning the piano" stored under ``likes.jazz``). Before a proposal is kept,
``grounded`` checks it against the user's own message (the source turn):

- every content word of its ``text`` and of its ``value`` (the words the user used for it)
  appears in the message (compared by a crude stem: case, plural ``s``, ``-ing``/``-ed`` and a
  possessive ``'s`` are ignored); only function words and the words of the memory sentences'
  frames ("my", "is", "called", "name"…) are exempt — feelings ("love", "hate"), "allergic",
  "afraid" are not, so a like cannot become an allergy;
- the words of its subject key after the first part (``likes.jazz`` → "jazz"), except the keys'
  own vocabulary (``name``, ``job``, ``pet``, the animal and relation words the rules use…),
  appear in the message too;
- a placeholder (``<name>``: the prompt's examples use them) is never a memory;
- a sentence of the message that negates ("I don't…", "not", "never", "anymore") cannot give
  a memory on the same words that states them without a negation.

The rules (``rules``) need no check: their values are the user's words by construction.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from her_desktop.memory.extraction import Candidate

_FUNCTION_WORDS: Final = (
    "a an the and or but of to in on at for with from by as about into than then so too very "
    "really just also my mine me i im i'm i've ive i'd id i'll ill your you yours our ours we "
    "us their theirs they them his him her hers he she it its it's this that these those is "
    "am are was were be been being has have had do does did will would can could should shall "
    "may might must there here some any all one called named name names s user user's"
)
FUNCTION_WORDS: Final = frozenset(_FUNCTION_WORDS.split())
_KEY_WORDS: Final = (
    "user name job home hometown workplace age birthday likes like dislikes favorite "
    "favourite pet pets people person health allergy allergies fears fear learning is plans "
    "plan worries worry family relation relationship work lives live location city dog cat "
    "hamster rabbit parrot bird horse fish turtle tortoise snake lizard guinea pig ferret "
    "sister brother mother father wife husband partner girlfriend boyfriend son daughter best "
    "friend boss grandmother grandfather aunt uncle cousin roommate therapist fiance niece "
    "nephew teacher coach hobby hobbies instrument"
)
KEY_WORDS: Final = frozenset(_KEY_WORDS.split())
NEGATIONS: Final = re.compile(
    r"\b(not|no|never|don't|dont|doesn't|didn't|isn't|aren't|wasn't|won't|can't|cannot|"
    r"anymore|no longer)\b",
    re.IGNORECASE,
)
_WORD: Final = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def stem(word: str) -> str:
    """A crude stem, enough to match "nights" to "night", "working" to "work" and "lives" to
    "live" and "living"."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "ches", "shes", "xes", "zes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    return w[:-1] if w.endswith("e") and len(w) > 3 else w


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text.replace("’", "'"))]


def ungrounded_words(text: str, source: str, exempt: frozenset[str] = FUNCTION_WORDS) -> list[str]:
    """The content words of ``text`` that the user's ``source`` message does not contain."""
    have = {stem(w) for w in words(source)} | set(words(source))
    return [w for w in words(text) if w not in exempt and stem(w) not in have and w not in have]


def grounded(candidate: Candidate, source: str) -> bool:
    """True when the user's ``source`` message supports ``candidate`` (module docstring)."""
    text = candidate.text
    if "<" in text or ">" in text or (candidate.value and "<" in candidate.value):
        return False
    if ungrounded_words(text, source):
        return False
    if candidate.value is not None and ungrounded_words(candidate.value, source):
        return False
    if candidate.subject is not None:
        leaf = " ".join(candidate.subject.replace("_", " ").split(".")[1:])
        if ungrounded_words(leaf, source, FUNCTION_WORDS | KEY_WORDS):
            return False
    if NEGATIONS.search(text):
        return True
    content = {stem(w) for w in words(text) if w not in FUNCTION_WORDS}
    for sentence in re.split(r"(?<=[.!?;])\s+|\n+|,\s*but\s+", source):
        said = {stem(w) for w in words(sentence)}
        if content & said and NEGATIONS.search(sentence):
            return False  # "I don't eat meat" never becomes "I eat meat"
    return True
