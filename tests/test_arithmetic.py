"""Plain sums answered exactly; everything else left to the LM."""

from __future__ import annotations

import pytest

from her_desktop.llm.arithmetic import evaluate, exact_answer, find_sum


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("what's 12 times 12", "That's 144."),
        # wordings seen in fresh task turns
        ("what do you get if you multiply 14 by 6?", "That's 84."),
        ("if I have 200 pounds and spend 65, how much is left?", "That's 135."),
        ("I had 50 quid and spent 18, how much do I have left?", "That's 32."),
        ("how many kilometres is 10 miles?", "That's 16.0934."),
        ("how many feet in a mile?", "That's 5,280."),
        ("how many minutes in an hour and a half", "That's 90."),
        ("how many seconds in half a minute", "That's 30."),
        ("what's 3/4 of 200", "That's 150."),
        ("how much do I pay if a 60 pound jacket is 20 percent off?", "That's 48."),
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
        # number words, precedence, powers and roots
        ("what is eleven times six", "That's 66."),
        ("what's 6 times 7 minus 2?", "That's 40."),
        ("what's five cubed", "That's 125."),
        ("What's the square root of 144?", "That's 12."),
        ("how much is two and a half times four", "That's 10."),
        ("what's 3 to the power of 4", "That's 81."),
        # worded sums
        ("add 19 and 23", "That's 42."),
        ("subtract 8 from 50", "That's 42."),
        ("multiply 14 by 3", "That's 42."),
        ("divide 84 by 2", "That's 42."),
        ("what's a quarter of 200?", "That's 50."),
        ("double 21", "That's 42."),
        # percentages: of, off, a tip, a rise
        ("what's 30 percent off 70?", "That's 49."),
        ("What's a 15 percent tip on 60 pounds?", "That's 9."),
        ("what's 200 plus 10%", "That's 220."),
        ("A jacket costs 120 and it's 50% off. How much is it now?", "That's 60."),
        ("If it costs 50 and there's a 10 percent discount, what do I pay?", "That's 45."),
        # sharing, units, a rate
        ("we're splitting 150 between 6 people, how much each?", "That's 25."),
        ("how many minutes are in a day?", "That's 1,440."),
        ("how many hours is 3 days?", "That's 72."),
        ("how many metres in 3.5 kilometres?", "That's 3,500."),
        ("how many millilitres are there in two litres?", "That's 2,000."),
        ("I save 30 pounds a week. How much is that over 10 weeks?", "That's 300."),
        # the inverted question: "tell me what X is"
        ("can you tell me what 96 divided by 8 is?", "That's 12."),
        ("do you know what 15% of 60 is", "That's 9."),
        ("tell me what 3 plus 4 equals, please", "That's 7."),
        ("can you work out 18 times 7 for me?", "That's 126."),
        # a filler opening is not a clause of its own
        ("quick one, what's 7 times 8?", "That's 56."),
        ("random question, what's 9 times 9?", "That's 81."),
        ("another one, what's 6 plus 7?", "That's 13."),
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
        "add thirty",
        "I walked 5 miles in 2 hours",
        "We have 3 cats. What's your favourite animal?",
        "How many people live in Rome?",
        "how many kilograms in 3 metres?",
        "what's 2 to the power of 99",
        "Is 7 a lucky number?",
        "I got 20 percent off my shoes today!",
        "what time is it",
        "my score went from 50 to 75, what do you think?",
        "I ran 5 km, then 3 km, so 8 km in all",
        "we were 4 and then 2 left, so what now?",
        "what is 5",
        "I had 3 coffees and have 2 left",
        "I spent 20 minutes on it and 5 are left, what do you think?",
    ],
)
def test_anything_else_goes_to_the_lm(text: str) -> None:
    assert exact_answer(text) is None
    assert find_sum(text) is None


def test_a_sum_inside_a_longer_message_is_found_but_not_answered_alone() -> None:
    text = "Work has been a nightmare all week. What's 2,400 minus 650?"
    found = find_sum(text)
    assert found is not None
    assert (found.spoken, found.whole) == ("1,750", False)
    assert exact_answer(text) is None  # the LM replies, with the answer in its guide


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ugh, my brain is fried, what is 84 divided by 7?", "12"),
        ("I can't think straight today — what's 13 times 3?", "39"),
        ("quick one: 15 times 3?", "45"),
        ("sorry to bother you but what is 45 plus 38", "83"),
        ("honestly I'm so tired and I need to know what 56 minus 19 is", "37"),
    ],
)
def test_a_sum_asked_at_the_end_of_a_longer_sentence_is_found(text: str, value: str) -> None:
    found = find_sum(text)
    assert found is not None
    assert (found.spoken, found.whole) == (value, False)


@pytest.mark.parametrize(
    "expression", ["__import__('os')", "2 ** 1000", "len('x')", "1 / 0", "(1).real", "'a' * 3"]
)
def test_the_evaluator_takes_only_plain_arithmetic(expression: str) -> None:
    assert evaluate(expression) is None


def test_the_evaluator_is_exact() -> None:
    assert evaluate("0.1 + 0.2") == evaluate("3 / 10")
    assert evaluate("-(2 + 3) * 4") == -20
