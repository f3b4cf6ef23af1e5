"""A reply sentence that says the user's own words back in their first person is put in the
second person — she never speaks as the user.

The small default LM, restating what the user said, often keeps their pronouns: "the doctor
wants more tests and won't tell me why" came back as "The doctor … is not telling me why
yet." :func:`as_said_to_user` finds each run of three or more words the sentence shares with
the user's message that holds the user's "me", "my", "our" … (or "my"/"our" and the word after
it: "my car") and says that run to them ("… is not telling you why yet"). A run that opens
with the user's "I" and goes on in their words ("I spilled coffee all over …") is said to them
too ("You spilled coffee all over …"). Her own first person is left alone: a run must be the
user's words, and her own openings ("I'm sorry", "I know", "I don't know") are never changed;
nor is an invitation ("tell me", "let me").

:func:`says_their_state` finds a sentence that gives the user's state as hers: "I'm so bored"
to "I'm so bored, it's raining" (the small LM mirrors the user). Turned to them ("I'm nervous
for you") or one of her own feelings ("I'm sorry", "I'm so happy for you") it is hers to say;
the reply filter drops the rest. Pure and fast.
"""

from __future__ import annotations

import re

from her_desktop.memory.retrieval import second_person

__all__ = ["as_said_to_user", "says_their_state"]

MIN_RUN = 3
"""Words in a row the sentence must share with the user's message."""

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_USERS = frozenset({"me", "my", "mine", "myself", "our", "ours", "us", "we're", "we've"})
_POSSESSIVE = frozenset({"my", "our"})
_INVITATION = re.compile(r"\b(?:let|tell|talk to|show|give|ask|with) me\b", re.IGNORECASE)
_SUBJECTS = frozenset({"i", "i'm", "i've", "i'd", "i'll", "we", "we're", "we've"})
"""The user's "I": said to them only at the start of a run of their words."""
_BE = {"was": "were", "am": "are"}
_OWN_OPENINGS = frozenset(
    {
        "sorry", "so", "know", "think", "hope", "understand", "can", "don't", "do", "glad",
        "here", "not", "wonder", "love", "really", "just", "believe", "guess", "bet", "see",
        "hear", "get", "feel", "imagine", "mean", "agree", "would", "could", "happy",
    }
)  # fmt: skip
"""Words after "I" that open her own sentences ("I'm sorry", "I know", "I don't know"): a
run of the user's words starting so is hers as much as theirs — when it is short: a run of
:data:`LONG_RUN` or more of their words is theirs unless it opens with one of her own
phrases (:data:`_OWN_PHRASE`): "I don't see the point of anything" after "Honestly I don't
see the point of anything at the moment", "I just stood there" are the user's words."""
LONG_RUN = 4
_EITHERS = frozenset({"feel", "just", "really", "so", "don't", "do", "get", "not", "can", "here"})
"""Of those, the words after "I" that open the user's sentences as often as hers ("I feel
sick", "I just stood there"): her own only in one of her phrases, however short the run."""
_OWN_PHRASE = re.compile(
    r"^(?:i'm (?:so |really |very )?(?:sorry|glad|happy|here|not sure)|i (?:really |do )?"
    r"(?:know|think|hope|understand|wonder|believe|guess|bet|agree|mean|love|see|hear)\b|"
    r"i can (?:imagine|tell|see|hear|only)|i don't (?:know|think)|i'd love|i just (?:want|wish)|"
    r"i feel (?:for|so sorry|bad for)|we (?:can|could|should)\b)"
)
_STATE = re.compile(
    r"\bi(?:'m feeling| am feeling|'ve been| have been|'m| am| feel| felt| was)"
    r"((?: (?:so|really|very|a bit|kind of|kinda|pretty|quite|totally|just|a little|"
    r"literally|completely|absolutely|too|also|still))*) ([a-z][a-z'-]*)",
    re.IGNORECASE,
)
_HER_FEELINGS = frozenset(
    {
        "sorry", "glad", "happy", "excited", "thrilled", "proud", "sad", "curious", "here",
        "listening", "sure", "not", "touched", "moved", "delighted", "rooting", "with",
        "honoured", "honored", "worried", "afraid", "thinking", "wondering", "hoping",
        "an", "a", "the", "in", "all", "always", "going", "able", "unable", "sending",
    }
)  # fmt: skip
"""After "I'm …": her own feelings about their news, her presence, or no state at all."""
_FOR_THEM = re.compile(
    r"^\W*(?:for (?:you|both|all|them)|to hear|that you|about (?:you|your|it|this|that)|with you|"
    r"you\b|on your|of you|by (?:what )?you)",
    re.IGNORECASE,
)


def _key(word: str) -> str:
    return word.lower().replace("’", "'")


def _shares(run: list[str], user: list[str]) -> bool:
    """``run`` of words is said in ``user``'s words, in a row."""
    n = len(run)
    return any(user[k : k + n] == run for k in range(len(user) - n + 1))


_ASKED_OF_SELF = re.compile(r"\b(am|was) i\b((?:\s+[\w']+){2,6})", re.IGNORECASE)
"""A question about themselves ("am I a bad parent for shouting …")."""
_ANSWERED_AS_SELF = re.compile(
    r"\b(I'm|I’m|I am|I was)((?:\s+(?:not|really|definitely|certainly|probably|never))*)"
    r"((?:\s+[\w']+){2})",
)


def answered_as_user(sentence: str, user_text: str) -> str:
    """``sentence`` answering the user's question about themselves in its own first person
    ("No, I am not a bad parent for shouting at them." to "am I a bad parent for shouting at
    them?") said to them ("No, you are not a bad parent …"); else the same sentence."""
    asked = _ASKED_OF_SELF.search(user_text.replace("’", "'"))
    if asked is None:
        return sentence
    theirs = asked.group(2).lower().split()
    pairs = {tuple(theirs[k : k + 2]) for k in range(len(theirs) - 1)}

    def turn(m: re.Match[str]) -> str:
        if tuple(m.group(3).lower().split()) not in pairs:
            return m.group()
        subject = m.group(1).replace("’", "'").lower()
        said = {"i'm": "you're", "i am": "you are", "i was": "you were"}[subject]
        said = said if m.start() > 0 else said.capitalize()
        return said + m.group(2) + m.group(3)

    return _ANSWERED_AS_SELF.sub(turn, sentence)


def as_said_to_user(sentence: str, user_text: str) -> str:
    """``sentence`` with each of the user's first-person runs in the second person (the same
    sentence when there is none)."""
    sentence = answered_as_user(sentence, user_text)
    user = [_key(m.group()) for m in _TOKEN.finditer(user_text)]
    if len(user) < MIN_RUN or not (_USERS | _SUBJECTS).intersection(user):
        return sentence
    grams = {tuple(user[i : i + MIN_RUN]) for i in range(len(user) - MIN_RUN + 1)}
    tokens = list(_TOKEN.finditer(sentence))
    words = [_key(t.group()) for t in tokens]
    marked = [False] * len(tokens)
    for i in range(len(tokens) - MIN_RUN + 1):
        if tuple(words[i : i + MIN_RUN]) in grams:
            for k in range(i, i + MIN_RUN):
                marked[k] = True
    pairs = {tuple(user[i : i + 2]) for i in range(len(user) - 1) if user[i] in _POSSESSIVE}
    for i in range(len(tokens) - 1):
        if tuple(words[i : i + 2]) in pairs:  # "my car": she has none
            marked[i] = True
        elif i + 2 < len(tokens) and (words[i], words[i + 2]) in pairs:
            marked[i] = True  # "my poor cat" after "my cat"
    subject = [False] * len(tokens)  # the user's "I" opening a run of their words
    for i in range(len(tokens) - MIN_RUN + 1):
        if words[i] not in _SUBJECTS or tuple(words[i : i + MIN_RUN]) not in grams:
            continue
        run = MIN_RUN
        while i + run < len(tokens) and _shares(words[i : i + run + 1], user):
            run += 1
        singular = words[i] in ("i", "i'm", "i've", "i'd", "i'll")
        if singular and words[i + 1] not in _OWN_OPENINGS:
            subject[i] = True
        elif run >= LONG_RUN or not singular or words[i + 1] in _EITHERS:
            subject[i] = _OWN_PHRASE.match(" ".join(words[i : i + 4])) is None
    out: list[str] = []
    end = 0
    skip = -1
    for k, token in enumerate(tokens):
        if k == skip:
            continue
        if subject[k]:
            out.append(sentence[end : token.start()])
            swapped = second_person(token.group())
            out.append(swapped if k == 0 else swapped[:1].lower() + swapped[1:])
            end = token.end()
            if words[k] == "i" and k + 1 < len(tokens) and words[k + 1] in _BE:
                out.append(sentence[end : tokens[k + 1].start()] + _BE[words[k + 1]])
                end, skip = tokens[k + 1].end(), k + 1  # "I was" → "you were"
            continue
        if not marked[k] or words[k] not in _USERS:
            continue
        before = sentence[max(0, token.start() - 10) : token.end()]
        if _INVITATION.search(before):
            continue
        out.append(sentence[end : token.start()])
        swapped = second_person(token.group())
        out.append(swapped if k == 0 else swapped[:1].lower() + swapped[1:])
        end = token.end()
    if not out:
        return sentence
    out.append(sentence[end:])
    return "".join(out)


def says_their_state(sentence: str, user_text: str) -> bool:
    """``sentence`` gives a state the user said of themselves ("I'm so bored") as hers,
    not turned to them ("… for you") and not one of her own feelings ("I'm sorry")."""
    said = sentence.replace("’", "'")
    theirs = {m.group(2).lower() for m in _STATE.finditer(user_text.replace("’", "'"))}
    if not theirs:
        return False
    for match in _STATE.finditer(said):
        state = match.group(2).lower()
        if (
            state in theirs
            and state not in _HER_FEELINGS
            and not _FOR_THEM.match(said[match.end() :])
        ):
            return True
    return False
