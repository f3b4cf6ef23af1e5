"""A reply sentence that says the user's own words back in their first person is put in the
second person — she never speaks as the user.

The small default LM, restating what the user said, often keeps their pronouns: "the doctor
wants more tests and won't tell me why" came back as "The doctor … is not telling me why
yet." :func:`as_said_to_user` finds each run of three or more words the sentence shares with
the user's message that holds the user's "me", "my", "our" … (or "my"/"our" and the word after
it: "my car") and says that run to them ("… is not telling you why yet"). Her own first person
is left alone: a run must be the user's words, and "I" (her "I'm sorry", "I know") is never
changed; nor is an invitation ("tell me", "let me"). Pure and fast.
"""

from __future__ import annotations

import re

from her_desktop.memory.retrieval import second_person

__all__ = ["as_said_to_user"]

MIN_RUN = 3
"""Words in a row the sentence must share with the user's message."""

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_USERS = frozenset({"me", "my", "mine", "myself", "our", "ours", "us", "we're", "we've"})
_POSSESSIVE = frozenset({"my", "our"})
_INVITATION = re.compile(r"\b(?:let|tell|talk to|show|give|ask|with) me\b", re.IGNORECASE)


def _key(word: str) -> str:
    return word.lower().replace("’", "'")


def as_said_to_user(sentence: str, user_text: str) -> str:
    """``sentence`` with each of the user's first-person runs in the second person (the same
    sentence when there is none)."""
    user = [_key(m.group()) for m in _TOKEN.finditer(user_text)]
    if len(user) < MIN_RUN or not _USERS.intersection(user):
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
    out: list[str] = []
    end = 0
    for k, token in enumerate(tokens):
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
