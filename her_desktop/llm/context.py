"""The context budget: make a chat fit the model's context window before it is sent.

Policy, in order:

1. **Cap single messages first.** Any user/assistant message longer than ``max_message_chars``
   (default: ``8 × budget_tokens``, i.e. twice the usual upper bound of ~4 characters per token)
   is cut to its beginning and end around a marker ``[… N characters omitted …]`` *before*
   anything is tokenized, so a 1 MB paste never gets tokenized whole. A system message that long
   cannot fit at all and is refused (see 5) without being tokenized.
2. **Always keep** the system message(s) and the latest user message (and anything after it).
3. **Drop the oldest history first, whole exchanges only**: an exchange is one user message and
   the assistant message(s) that answered it (a leading assistant greeting is an exchange of its
   own). Never half of an exchange, so the model never sees an answer without its question.
4. If the system prompt and the latest user message alone still do not fit, the latest user
   message is **truncated, keeping its beginning and its end** around the marker.
5. If even the system prompt with an empty user message does not fit, ``LLMError`` says so in
   plain words: nothing else can be dropped.

The result always satisfies ``count(result) <= budget_tokens``. Token counts come from the
caller's ``count`` (the engine's exact counter, or an estimate that never undercounts); the search
for the cut points is a binary search, so ``count`` runs O(log n) times. No input other than an
impossible budget makes this raise (checked with hypothesis).

Summarising dropped turns instead of forgetting them is left to the memory stage: it can pass a
summary as part of the system message; ``FitResult.dropped_turns`` tells it how many went.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from her_desktop.llm.base import LLMError, Message

CHARS_PER_TOKEN_BOUND = 4
"""Usual upper bound of characters per token; the single-message cap is twice that per token."""

Counter = Callable[[Sequence[Message]], int]


@dataclass(frozen=True, slots=True)
class FitResult:
    messages: tuple[Message, ...]
    dropped_turns: int
    """Whole exchanges dropped from the start of the history."""
    truncated: bool
    """Whether any message text was shortened (the single-message cap or the latest message)."""


def omission_marker(n_chars: int) -> str:
    return f"[… {n_chars} characters omitted …]"


def truncate_middle(text: str, keep_chars: int) -> str:
    """``text`` cut to ``keep_chars`` characters (its beginning and end) around a marker.

    Text already that short, or too short for the marker to save anything, is returned
    unchanged: the result is never longer than ``text``.
    """
    keep_chars = max(0, keep_chars)
    if len(text) <= keep_chars:
        return text
    head = (keep_chars + 1) // 2
    tail = keep_chars - head
    omitted = len(text) - keep_chars
    end = text[len(text) - tail :] if tail else ""
    cut = f"{text[:head]}\n{omission_marker(omitted)}\n{end}"
    return cut if len(cut) < len(text) else text


def default_max_message_chars(budget_tokens: int) -> int:
    return max(1, budget_tokens) * CHARS_PER_TOKEN_BOUND * 2


def _system_too_large(budget_tokens: int) -> LLMError:
    return LLMError(
        f"The system prompt alone is larger than the model's context ({budget_tokens} tokens "
        "for the prompt). Shorten the persona in Settings or choose a model with a larger "
        "context."
    )


def _split(
    messages: Sequence[Message],
) -> tuple[list[Message], list[list[Message]], list[Message]]:
    """System messages, history exchanges (oldest first), and the tail from the latest user
    message on. Only system messages that come before the tail are kept in front."""
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    head = messages if last_user is None else messages[:last_user]
    tail = [] if last_user is None else list(messages[last_user:])
    system = [m for m in head if m.role == "system"]
    exchanges: list[list[Message]] = []
    for message in head:
        if message.role == "system":
            continue
        if message.role == "user" or not exchanges:
            exchanges.append([message])
        else:
            exchanges[-1].append(message)
    return system, exchanges, tail


def _assemble(
    system: list[Message], exchanges: list[list[Message]], tail: list[Message]
) -> tuple[Message, ...]:
    return (*system, *(m for ex in exchanges for m in ex), *tail)


def fit_messages(
    messages: Sequence[Message],
    *,
    budget_tokens: int,
    count: Counter,
    max_message_chars: int | None = None,
) -> FitResult:
    """Return ``messages`` shortened by the module's policy so that ``count`` ≤ the budget."""
    if budget_tokens <= 0:
        raise _system_too_large(budget_tokens)
    cap = (
        max_message_chars
        if max_message_chars is not None
        else (default_max_message_chars(budget_tokens))
    )
    cap = max(1, cap)

    truncated = False
    capped: list[Message] = []
    for message in messages:
        if len(message.content) > cap and message.role == "system":
            raise _system_too_large(budget_tokens)
        short = truncate_middle(message.content, cap)
        if short != message.content:
            capped.append(Message(message.role, short))
            truncated = True
        else:
            capped.append(message)

    system, exchanges, tail = _split(capped)

    def fits(candidate: Sequence[Message]) -> bool:
        return count(candidate) <= budget_tokens

    full = _assemble(system, exchanges, tail)
    if fits(full):
        return FitResult(full, 0, truncated)

    # Binary search the fewest oldest exchanges to drop (fewer messages never count more).
    lo, hi = 1, len(exchanges)
    if exchanges and fits(_assemble(system, [], tail)):
        while lo < hi:
            mid = (lo + hi) // 2
            if fits(_assemble(system, exchanges[mid:], tail)):
                hi = mid
            else:
                lo = mid + 1
        return FitResult(_assemble(system, exchanges[lo:], tail), lo, truncated)

    # History is gone and it still does not fit: shorten the latest user message.
    dropped = len(exchanges)
    if not tail:
        raise _system_too_large(budget_tokens)
    latest, after = tail[0], tail[1:]

    def with_latest(keep: int) -> tuple[Message, ...]:
        shortened = Message(latest.role, truncate_middle(latest.content, keep))
        return _assemble(system, [], [shortened, *after])

    if not fits(with_latest(0)):
        raise _system_too_large(budget_tokens)
    lo, hi = 0, len(latest.content)  # invariant: with_latest(lo) fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(with_latest(mid)):
            lo = mid
        else:
            hi = mid - 1
    return FitResult(with_latest(lo), dropped, True)
