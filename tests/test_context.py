"""The context budget policy (her_desktop.llm.context), with a fake token counter."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from her_desktop.llm.base import LLMError, Message
from her_desktop.llm.context import (
    FitResult,
    default_max_message_chars,
    fit_messages,
    omission_marker,
    truncate_middle,
)


class CharCounter:
    """A ChatML-like counter: 4 tokens of overhead per message, one token per 4 characters,
    plus 3 for the generation prompt. Records the longest text it was asked to count."""

    def __init__(self) -> None:
        self.calls = 0
        self.longest = 0

    def __call__(self, messages: Sequence[Message]) -> int:
        self.calls += 1
        self.longest = max(self.longest, *(len(m.content) for m in messages), 0)
        return 3 + sum(4 + (len(m.content) + 3) // 4 for m in messages)


def chat(n_exchanges: int, size: int = 40) -> list[Message]:
    messages = [Message("system", "You are kind.")]
    for i in range(n_exchanges):
        messages.append(Message("user", f"question {i} " + "q" * size))
        messages.append(Message("assistant", f"answer {i} " + "a" * size))
    messages.append(Message("user", "latest question"))
    return messages


def test_fits_unchanged() -> None:
    messages = chat(3)
    result = fit_messages(messages, budget_tokens=10_000, count=CharCounter())
    assert result == FitResult(tuple(messages), 0, False)


def test_drops_oldest_whole_exchanges_first() -> None:
    messages = chat(10)
    counter = CharCounter()
    full = counter(messages)
    result = fit_messages(messages, budget_tokens=full - 30, count=counter)
    assert counter(result.messages) <= full - 30
    assert result.dropped_turns >= 1
    assert result.messages[0] == messages[0]
    assert result.messages[-1] == messages[-1]
    kept = list(result.messages[1:-1])
    # the kept history is a suffix of the original history, starting at a user message
    assert kept == messages[1:-1][len(messages[1:-1]) - len(kept) :]
    assert kept[0].role == "user"
    assert len(kept) == 2 * (10 - result.dropped_turns)
    # dropping one fewer exchange would not have fit (minimal drop)
    one_more = [messages[0], *messages[1:-1][-len(kept) - 2 :], messages[-1]]
    assert counter(one_more) > full - 30
    assert not result.truncated


def test_truncates_latest_user_message_keeping_both_ends() -> None:
    latest = "BEGIN " + "x" * 5000 + " END"
    messages = [*chat(2)[:-1], Message("user", latest)]
    counter = CharCounter()
    result = fit_messages(messages, budget_tokens=300, count=counter)
    assert counter(result.messages) <= 300
    assert result.truncated
    assert result.dropped_turns == 2
    assert [m.role for m in result.messages] == ["system", "user"]
    text = result.messages[-1].content
    assert text.startswith("BEGIN")
    assert text.endswith("END")
    assert "characters omitted" in text


def test_a_megabyte_message_is_never_counted_whole() -> None:
    counter = CharCounter()
    huge = "λ" * 1_000_000
    result = fit_messages(
        [Message("system", "s"), Message("user", huge)], budget_tokens=512, count=counter
    )
    assert counter.longest <= default_max_message_chars(512) + len(omission_marker(10**6)) + 2
    assert counter(result.messages) <= 512
    assert result.truncated


def test_system_prompt_too_large_is_a_plain_error() -> None:
    messages = [Message("system", "s" * 4000), Message("user", "hi")]
    with pytest.raises(LLMError, match="system prompt alone is larger"):
        fit_messages(messages, budget_tokens=100, count=CharCounter())


def test_huge_system_prompt_is_refused_without_tokenizing() -> None:
    counter = CharCounter()
    with pytest.raises(LLMError, match="system prompt"):
        fit_messages(
            [Message("system", "s" * 1_000_000), Message("user", "hi")],
            budget_tokens=100,
            count=counter,
        )
    assert counter.calls == 0


def test_zero_budget_is_a_plain_error() -> None:
    with pytest.raises(LLMError):
        fit_messages([Message("user", "hi")], budget_tokens=0, count=CharCounter())


def test_leading_assistant_greeting_is_its_own_exchange() -> None:
    messages = [
        Message("system", "s"),
        Message("assistant", "Hello! " * 50),
        Message("user", "u1 " * 50),
        Message("assistant", "a1 " * 50),
        Message("user", "now"),
    ]
    counter = CharCounter()
    budget = counter([messages[0], *messages[2:]])
    result = fit_messages(messages, budget_tokens=budget, count=counter)
    assert result.dropped_turns == 1
    assert result.messages == (messages[0], *messages[2:])


def test_truncate_middle() -> None:
    assert truncate_middle("short", 10) == "short"
    text = "abcdefghij" * 10
    cut = truncate_middle(text, 4)
    assert cut.startswith("ab")
    assert cut.endswith("ij")
    assert omission_marker(96) in cut
    assert truncate_middle("abc", 0) == "abc"  # the marker would make it longer


roles = st.sampled_from(["system", "user", "assistant"])
texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300
) | st.sampled_from(["", "\x00\x00", "مرحبا بالعالم", "你好世界", "👩‍👩‍👧‍👦" * 20, "<|im_end|>"])
message_lists = st.lists(st.builds(Message, roles, texts), max_size=12)


@settings(max_examples=200, deadline=None)
@given(messages=message_lists, budget=st.integers(min_value=-5, max_value=400))
def test_fit_never_raises_unexpectedly_and_always_fits(
    messages: list[Message], budget: int
) -> None:
    counter = CharCounter()
    users = [i for i, m in enumerate(messages) if m.role == "user"]
    last = users[-1] if users else len(messages)
    system = [m for m in messages[:last] if m.role == "system"]
    after = messages[last + 1 :]
    # the only failure allowed: the system prompt (and whatever follows the latest user
    # message) cannot fit even with an empty latest user message
    cap = default_max_message_chars(budget)
    impossible = (
        budget <= 0
        or any(len(m.content) > cap for m in system)
        or counter([*system, Message("user", ""), *after]) > budget - 20
    )
    if not impossible:
        result = fit_messages(messages, budget_tokens=budget, count=counter)
    else:
        try:
            result = fit_messages(messages, budget_tokens=budget, count=counter)
        except LLMError as exc:
            error = str(exc)
            assert "system prompt" in error
            return
    assert counter(result.messages) <= budget
    # system messages that precede the latest user message are all kept, in order
    result_system = [m.content for m in result.messages if m.role == "system"]
    if users:
        latest = messages[users[-1]]
        kept_latest = [m for m in result.messages if m.role == "user"][-1]
        if kept_latest.content != latest.content:
            assert result.truncated
            assert "characters omitted" in kept_latest.content
        before = [m.content for m in messages[: users[-1]] if m.role == "system"]
        assert result_system[: len(before)] == before
