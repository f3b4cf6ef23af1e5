"""Her own name, answered in Python: the persona knows it, the small model may not keep it.

Seen with the 1.5B default: after a user insisted "your name is Max", "What is your name?" got
"I am Max." or a reply the filter dropped whole. A question that only asks her name is answered
from the persona, never by the model."""

from __future__ import annotations

import re

_ASKS = re.compile(
    r"^\W*(?:(?:hey|hi|hello|so|and|ok(?:ay)?|sorry|wait|remind me)[,!.\s]+)*"
    r"(?:what(?:'s|\s+is)\s+your\s+(?:real\s+)?name"
    r"|what\s+(?:should|do|can|shall)\s+i\s+call\s+you"
    r"|what\s+are\s+you\s+called"
    r"|who\s+are\s+you"
    r"|(?:tell\s+me|say)\s+your\s+name"
    r"|do\s+you\s+have\s+a\s+name)"
    r"(?:\s+(?:again|now|then|really))?\s*[?.!]*\s*$",
    re.IGNORECASE,
)


def name_answer(user_text: str, name: str) -> str | None:
    """``"I'm <name>."`` for a message that only asks her name, else None."""
    if not name or len(user_text) > 120:
        return None
    return f"I'm {name}." if _ASKS.match(user_text.replace("’", "'")) else None
