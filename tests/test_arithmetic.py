"""Plain sums answered exactly; everything else left to the LM."""

from __future__ import annotations

import pytest

from her_desktop.llm.arithmetic import exact_answer


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("what's 12 times 12", "That's 144."),
        ("what's 250 minus 87", "That's 163."),
        ("what's fifteen percent of eighty", "That's 12."),
        ("What is 15% of 80?", "That's 12."),
        ("how much is one hundred and twenty divided by eight", "That's 15."),
        ("7 / 2", "That's 3.5."),
        ("What's 3 x 4?", "That's 12."),
        ("whats 2+2", "That's 4."),
        ("what is twenty-five plus seventeen", "That's 42."),
        ("what's 1,250 minus 87.5", "That's 1,162.5."),
        ("10 divided by 0", "That can't be done: nothing can be divided by zero."),
    ],
)
def test_sums_are_computed(question: str, answer: str) -> None:
    assert exact_answer(question) == answer


@pytest.mark.parametrize(
    "text",
    [
        "I have 2 kids and 3 dogs",
        "What's the capital of France?",
        "How many days are there in a leap year?",
        "My rent went up 15 percent of my pay and I'm scared",
        "one hundred and five",
        "",
    ],
)
def test_anything_else_goes_to_the_lm(text: str) -> None:
    assert exact_answer(text) is None
