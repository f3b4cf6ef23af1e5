"""The words questions and wishes are told in, written once for the memory's readers.

``WH_WORDS`` are the words a question is asked with; each reader adds what it also passes over
(``questions``: the words of asking someone to remember; ``answered``: the verbs a question
is phrased with). ``WANTS`` is what a wish is said with: ``slots`` adds "hoping" and what may only
happen ("might", "if"), ``questions`` "hoping for/to" and what is only needed or planned.
"""

from __future__ import annotations

from typing import Final


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


WH_WORDS: Final = _set(
    "what whats what's where wheres where's who whos who's when whens when's which how how's "
    "why whose whom"
)
"""the words a question is asked with ("where's", "whose"), not a topic"""

QUESTION_WORDS: Final = WH_WORDS | _set(
    "remember recall know tell again called name do does did you think still right guess kind "
    "type ever anything something now"
)
"""a question about the user's life says these besides what it asks about ("do you remember
what my dog is called now?")"""

ASKING_VERBS: Final = WH_WORDS | _set("do does did go going goes come coming get got make doing")
"""a question's words with the verbs it is phrased with ("where does my sister go to school")"""

WANTS: Final = (
    r"looking for|look for|searching for|want|wants|wanted|would love|'d love|would like|"
    r"'d like|hope to|wish|dream of|thinking of|thinking about"
)
"""what a wish is said with (a regular expression's alternatives): what someone wants or looks
for, not a value they hold"""
