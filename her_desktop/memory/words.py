"""The words questions and wishes are told in, written once for the memory's readers.

``WH_WORDS`` are the words a question is asked with; each reader adds what it also passes over
(``questions``: the words of asking someone to remember; ``answered``: the verbs a question
is phrased with). ``WANTS`` is what a wish is said with: ``slots`` adds "hoping" and what may only
happen ("might", "if"), ``questions`` "hoping for/to" and what is only needed or planned.
"""

from __future__ import annotations

from typing import Final

_WH_WORDS: Final = (
    "what whats what's where wheres where's who whos who's when whens when's which how how's "
    "why whose whom"
)
WH_WORDS: Final = frozenset(_WH_WORDS.split())
"""the words a question is asked with ("where's", "whose"), not a topic"""

_ASKING_TO_REMEMBER: Final = (
    "remember recall know tell again called name do does did you think still right guess kind "
    "type ever anything something now"
)
QUESTION_WORDS: Final = WH_WORDS | frozenset(_ASKING_TO_REMEMBER.split())
"""a question about the user's life says these besides what it asks about ("do you remember
what my dog is called now?")"""

_ASKING_VERBS: Final = "do does did go going goes come coming get got make doing"
ASKING_VERBS: Final = WH_WORDS | frozenset(_ASKING_VERBS.split())
"""a question's words with the verbs it is phrased with ("where does my sister go to school")"""

WANTS: Final = (
    r"looking for|look for|searching for|want|wants|wanted|would love|'d love|would like|"
    r"'d like|hope to|wish|dream of|thinking of|thinking about"
)
"""what a wish is said with (a regular expression's alternatives): what someone wants or looks
for, not a value they hold"""
