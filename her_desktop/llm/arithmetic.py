"""Simple arithmetic questions, answered exactly in Python instead of by the LM.

The small default LM gets sums wrong ("fifteen percent of eighty is seventy-five"). A question
that is only a sum — two numbers (digits or English number words up to the thousands) and one
of plus, minus, times, divided by, or "percent of" — gets a computed answer; anything else
(``None``) goes to the LM as usual. The match is strict (the whole message, give or take a
"what's" and a question mark), so a sentence that merely contains numbers is never hijacked.
"""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["exact_answer"]

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_WORD = "|".join(sorted([*_UNITS, *_SCALES, "a", "and"], key=len, reverse=True))
_NUMBER = rf"(?:-?\d[\d,]*(?:\.\d+)?|(?:(?:{_WORD})(?:[\s-]+|(?=\W|$)))+)"
_OPS = {
    "plus": "+", "+": "+", "added to": "+",
    "minus": "-", "-": "-", "take away": "-",
    "times": "*", "multiplied by": "*", "x": "*", "*": "*", "×": "*",
    "divided by": "/", "/": "/", "over": "/", "÷": "/",
}  # fmt: skip
_OP = "|".join(re.escape(op) for op in sorted(_OPS, key=len, reverse=True))
_LEAD = r"^(?:(?:so|ok|okay|hey|and)[,\s]+)?(?:what(?:'?s| is)|how much is|calculate|compute)?\s*"
_TAIL = r"\s*[?.!]*$"
_BINARY = re.compile(rf"{_LEAD}(?P<a>{_NUMBER})\s*(?P<op>{_OP})\s*(?P<b>{_NUMBER}){_TAIL}", re.I)
_PERCENT = re.compile(
    rf"{_LEAD}(?P<a>{_NUMBER})\s*(?:percent|per cent|%)\s+of\s+(?P<b>{_NUMBER}){_TAIL}", re.I
)


def _number(text: str) -> Fraction | None:
    text = text.strip().lower()
    if not text:
        return None
    if text[0].isdigit() or text[0] == "-":
        try:
            return Fraction(text.replace(",", ""))
        except ValueError:
            return None
    total, current, seen = 0, 0, False
    for word in re.split(r"[\s-]+", text):
        if word in ("and", ""):
            continue
        if word == "a":
            current = max(current, 1)
        elif word in _UNITS:
            current += _UNITS[word]
        elif word in _SCALES:
            scale = _SCALES[word]
            if scale == 100:
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * scale
                current = 0
        else:
            return None
        seen = True
    return Fraction(total + current) if seen else None


def _spoken(value: Fraction) -> str:
    if value.denominator == 1:
        return f"{value.numerator:,}"
    return f"{float(value):,.4f}".rstrip("0").rstrip(".")


def exact_answer(question: str) -> str | None:
    """The answer to a plain sum (``"what's 12 times 12"`` → ``"That's 144."``), else None."""
    text = " ".join(question.split())
    percent = _PERCENT.match(text)
    if percent is not None:
        a, b = _number(percent["a"]), _number(percent["b"])
        if a is None or b is None:
            return None
        return f"That's {_spoken(a * b / 100)}."
    binary = _BINARY.match(text)
    if binary is None:
        return None
    a, b = _number(binary["a"]), _number(binary["b"])
    if a is None or b is None:
        return None
    op = _OPS[binary["op"].lower()]
    if op == "+":
        result = a + b
    elif op == "-":
        result = a - b
    elif op == "*":
        result = a * b
    elif b == 0:
        return "That can't be done: nothing can be divided by zero."
    else:
        result = a / b
    return f"That's {_spoken(result)}."
