"""A token count without a tokenizer: a deliberately high estimate for a remote model.

Policy: ``LLMEngine.count_tokens`` is synchronous, so an engine whose tokenizer lives on a
server cannot ask it; it estimates instead, erring high so that a prompt fitted to the context
budget with this count still fits (ordinary text; not a bound for adversarial strings).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from her_desktop.llm.base import Message

MESSAGE_OVERHEAD_TOKENS: Final = 8
"""Per message: role header and end-of-turn markers of common chat templates, rounded up."""
REPLY_PRIMING_TOKENS: Final = 8
"""The ``<|im_start|>assistant\\n``-style header that opens the reply."""


def estimate_tokens(text: str) -> int:
    """A deliberately high estimate of the tokens ``text`` takes in a typical BPE vocabulary.

    ASCII letters and punctuation: one token per 3 characters (English averages ~4); digits:
    one token each (many vocabularies split numbers into digits); non-ASCII: one token per
    2 UTF-8 bytes (CJK ~1.5 per character, emoji 2). Real tokenizers come out lower on
    ordinary text.
    """
    if not text:
        return 0
    ascii_only = text.encode("ascii", "ignore").decode("ascii")
    n_ascii = len(ascii_only)
    n_digits = sum(c.isdigit() for c in ascii_only)
    non_ascii_bytes = len(text.encode("utf-8", "surrogatepass")) - n_ascii
    return n_digits + math.ceil((n_ascii - n_digits) / 3) + math.ceil(non_ascii_bytes / 2)


def estimate_prompt_tokens(messages: Sequence[Message]) -> int:
    """The estimated tokens of a chat prompt: every message with its template overhead, plus
    the header that opens the reply."""
    return REPLY_PRIMING_TOKENS + sum(
        MESSAGE_OVERHEAD_TOKENS + estimate_tokens(m.content) for m in messages
    )
