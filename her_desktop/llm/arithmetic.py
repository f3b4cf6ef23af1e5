"""Arithmetic questions, worked out exactly in Python instead of by the LM.

The small default LM gets sums wrong ("fifteen percent of eighty is seventy-five"). A question
that asks for a sum is turned into an expression over exact fractions and evaluated here (a
small evaluator over the parsed tree: numbers and + - * / and small powers, nothing else):

- a spoken expression, digits or English number words: "twelve times four", "9 times 8 plus
  3", "1,250 minus 375", "seven squared", "two and a half times 4";
- "15 percent of 240", "half of 350", "double 17", "the square root of 81";
- "add 38 and 47", "subtract 5 from 20", "multiply 6 by 7", "divide 300 by 12";
- a discount, a tip, a rise ("80 with 25% off", "a 20 percent tip on 45", "40 plus 10%");
- sharing ("split 96 between four people"), what is left ("I have 200 and spend 65, how much
  is left?");
- units of time, weight, length (metric, and inches, feet, yards, miles) and volume ("how many
  seconds in an hour", "how many grams in 2.5 kilograms", "how many minutes is two and a half
  hours", "an hour and a half");
- a rate over a time ("12 pounds an hour … how much for 8 hours").

Only a question (a sentence ending in "?" or starting with what/how/calculate/add …, or such a
clause ending a longer sentence: "my brain is fried, what's 84 over 7?") is read,
and the numbers must all be accounted for, so a sentence that merely contains numbers ("I
have 2 kids and 3 dogs", "my rent went up 15 percent") is never hijacked: ``None`` leaves the
turn to the LM. When the sum is the whole message it is answered directly (``exact_answer``);
when it is one sentence of a longer message ("I'm going mad with these accounts. What's 1,250
minus 375?") the dialogue has the LM reply with the computed answer given to it, and says the
answer itself if the reply leaves it out (``find_sum``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Sum", "evaluate", "exact_answer", "find_sum", "spoken_number"]

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_W = "|".join(sorted([*_UNITS, *_SCALES], key=len, reverse=True))
_AFTER_SCALE = "(?:(?<=hundred)|(?<=thousand)|(?<=million))"
_WORD_RUN = re.compile(
    rf"\b(?:an?\s+(?=hundred|thousand|million))?(?:{_W})"
    rf"(?:(?:[\s-]+|{_AFTER_SCALE}\s+and\s+)(?:{_W}))*\b"
)
_HALF_MORE = re.compile(r"(\d+(?:\.\d+)?) and (?:a )?half\b")
_NUM = r"\d+(?:\.\d+)?"
_N = rf"(?P<{{}}>{_NUM})"
_CUR = r"(?:£|\$|€)?"
_MONEY = r"(?:\s*(?:pounds?|quid|dollars?|bucks|euros?|p|pence|cents?))?"
MAX_POWER = 12
"""The largest exponent the evaluator allows ("to the power of" beyond this is left alone)."""
MAX_ABS = Fraction(10) ** 15
"""Results beyond this (in size) are not said: the question was probably not a sum."""

_BIN_OPS = {
    "plus": "+", "+": "+", "added to": "+", "and": "+",
    "minus": "-", "-": "-", "take away": "-", "less": "-",
    "times": "*", "multiplied by": "*", "x": "*", "*": "*", "×": "*",
    "divided by": "/", "/": "/", "over": "/", "÷": "/",
    "to the power of": "**", "^": "**",
    "percent of": "/100*",
}  # fmt: skip
_OP = "|".join(re.escape(op) for op in sorted(_BIN_OPS, key=len, reverse=True))
_POSTFIX = {"squared": "**2", "cubed": "**3"}
_EXPR = re.compile(
    rf"(?:the square root of )?{_CUR}{_NUM}{_MONEY}(?: (?:squared|cubed))?"
    rf"(?:\s*(?:{_OP})\s*(?:the square root of )?{_CUR}{_NUM}{_MONEY}(?: (?:squared|cubed))?)*"
)
_LEAD = re.compile(
    r"^(?:(?:so|ok|okay|hey|and|um|well|right|quick question|quick (?:one|1)|random question|"
    r"(?:one|1) more|another (?:one|1)|real quick|oh|erm|hmm|also|now|please)[,\s]+)*"
    r"(?:what do (?:you|i|we) get (?:if|when) (?:you|i|we) |"
    r"(?:can|could|would) you (?:please )?(?:tell me |work out |calculate |figure out |do )?"
    r"|do you know |tell me |please |i (?:need|want|'d like|would like) to know |i wonder )?"
    r"(?:what(?:'?s| is| are| would be| will be| does| do)?|how much (?:is|are|would be|will be)"
    r"|calculate|compute|work out|figure out)?\s*"
)
_TAIL = re.compile(
    r"(?:,? please)?\s*(?:equals?|makes?|comes? to|is|are|would be|will be|gives? (?:you|me|us))?"
    r"(?:,? please| for me)?\s*[?.!]*\s*$"
)
_CLAUSE = re.compile(r"(?:[,;:]|\s[-–—]|\sbut\b|\sand\b|\sso\b)\s*")
"""Where a question may begin inside a sentence ("my brain is fried, what's 84 over 7?")."""
"""The end of a sum's question: "… equal?", and the inverted "tell me what 6 times 7 is"."""
_QUESTION = re.compile(
    r"(?:\?\s*$|^(?:(?:so|ok|okay|hey|and|um|well|now|please|quick (?:one|1)|quick question|"
    r"random question|(?:one|1) more|another (?:one|1)|real quick|oh|erm|hmm)[,\s]+)*"
    r"(?:what|how|calculate|"
    r"compute|work out|figure out|add|subtract|multiply|divide|split|convert|(?:can|could|would) "
    r"you|tell me|is|if|i (?:need|want|'d like|would like) to know|i wonder))"
)

_UNIT_FACTORS = {
    # time, in seconds
    "second": (Fraction(1), "time"), "minute": (Fraction(60), "time"),
    "hour": (Fraction(3600), "time"), "day": (Fraction(86400), "time"),
    "week": (Fraction(604800), "time"), "fortnight": (Fraction(1209600), "time"),
    # weight, in grams
    "milligram": (Fraction(1, 1000), "mass"), "gram": (Fraction(1), "mass"),
    "kilogram": (Fraction(1000), "mass"), "kilo": (Fraction(1000), "mass"),
    "tonne": (Fraction(1_000_000), "mass"),
    # length, in metres
    "millimetre": (Fraction(1, 1000), "length"), "millimeter": (Fraction(1, 1000), "length"),
    "centimetre": (Fraction(1, 100), "length"), "centimeter": (Fraction(1, 100), "length"),
    "metre": (Fraction(1), "length"), "meter": (Fraction(1), "length"),
    "kilometre": (Fraction(1000), "length"), "kilometer": (Fraction(1000), "length"),
    "inch": (Fraction(254, 10000), "length"), "inches": (Fraction(254, 10000), "length"),
    "foot": (Fraction(3048, 10000), "length"), "feet": (Fraction(3048, 10000), "length"),
    "yard": (Fraction(9144, 10000), "length"), "mile": (Fraction(1609344, 1000), "length"),
    # volume, in litres
    "millilitre": (Fraction(1, 1000), "volume"), "milliliter": (Fraction(1, 1000), "volume"),
    "litre": (Fraction(1), "volume"), "liter": (Fraction(1), "volume"),
}  # fmt: skip
_UNIT = "|".join(sorted(_UNIT_FACTORS, key=len, reverse=True))
_UNIT_Q = [
    re.compile(
        rf"^how many (?P<to>{_UNIT})s? (?:are |is )?(?:there )?(?:in|make|make up) "
        rf"(?:an? |one |(?P<n>{_NUM}) )?(?P<frm>{_UNIT})s?$"
    ),
    re.compile(
        rf"^how many (?P<to>{_UNIT})s? (?:is|are|does it take for|do|in) (?P<n>{_NUM}) "
        rf"(?P<frm>{_UNIT})s?(?: make)?$"
    ),
    re.compile(
        rf"^(?:convert )?(?P<n>{_NUM}) (?P<frm>{_UNIT})s? (?:in|to|into) (?P<to>{_UNIT})s?$"
    ),
]
_ZERO_DIVISION = re.compile(rf"{_NUM} (?:divided by|over|/|÷) 0(?:\.0+)?|divide {_NUM} by 0")
_PRICE = rf"(?:costs?|price(?: is| of)?|priced at|was|is) {_CUR}({_NUM})"
_BILL = rf"(?:on|of|for|bill (?:is|was|of|comes to)) (?:a |the )?{_CUR}({_NUM})"
_PERIOD = r"(?:hour|day|week|month|year|night|shift)"


@dataclass(frozen=True, slots=True)
class Sum:
    """A sum found in a message: its exact value, and whether it was the whole message."""

    value: Fraction | None
    """None: a division by zero."""
    whole: bool

    @property
    def spoken(self) -> str:
        return "" if self.value is None else spoken_number(self.value)

    @property
    def answer(self) -> str:
        if self.value is None:
            return "That can't be done: nothing can be divided by zero."
        return f"That's {self.spoken}."


def spoken_number(value: Fraction) -> str:
    """``144``, ``1,162.5``, ``0.3333`` (at most four decimals)."""
    if value.denominator == 1:
        return f"{value.numerator:,}"
    return f"{float(value):,.4f}".rstrip("0").rstrip(".")


def _words_to_number(text: str) -> Fraction | None:
    total, current, seen = 0, 0, False
    for word in re.split(r"[\s-]+", text.strip()):
        if word in ("and", "", "a", "an"):
            if word in ("a", "an"):
                current = max(current, 1)
            continue
        if word in _UNITS:
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


def _decimal(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.6f}".rstrip("0").rstrip(".")


def normalize(text: str) -> str:
    """Lower case, digits for number words, no thousands commas, "percent" for "%"."""
    text = " ".join(text.replace("’", "'").lower().split())
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"\s*(?:%|per cent\b)", " percent", text)
    text = re.sub(r"(?<=\d)(?=[a-z])(?!st\b|nd\b|rd\b|th\b)", " ", text)  # "2kg" → "2 kg"

    def digits(match: re.Match[str]) -> str:
        value = _words_to_number(match[0])
        return match[0] if value is None else _decimal(value)

    text = _WORD_RUN.sub(digits, text)
    text = _HALF_MORE.sub(lambda m: _decimal(Fraction(m[1]) + Fraction(1, 2)), text)
    text = re.sub(rf"\b(?:an?|one) ({_UNIT}) and a half\b", r"1.5 \1", text)
    text = re.sub(rf"\bhalf an? ({_UNIT})\b", r"0.5 \1", text)
    for short, unit in (("kg", "kilogram"), ("km", "kilometre"), ("cm", "centimetre"),
                        ("mm", "millimetre"), ("ml", "millilitre"), ("g", "gram"),
                        ("mins?", "minute"), ("hrs?", "hour"), ("secs?", "second")):  # fmt: skip
        text = re.sub(rf"(?<=\d )(?:{short})\b", unit, text)
    return text


def evaluate(expression: str) -> Fraction | None:
    """The exact value of an arithmetic expression (numbers, + - * /, ** with a small whole
    exponent, brackets), else None. Nothing else in the expression is evaluated."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return None

    def value(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = value(node.operand)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp):
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div):
                if right == 0:
                    raise ZeroDivisionError
                return left / right
            if isinstance(node.op, ast.Pow):
                if right.denominator != 1 or not 0 <= right <= MAX_POWER:
                    raise ValueError("power")
                return left ** int(right)
        raise ValueError(type(node).__name__)

    try:
        result = value(tree)
    except (ValueError, ZeroDivisionError, RecursionError):
        return None
    return result if abs(result) <= MAX_ABS else None


def _sqrt(value: Fraction) -> Fraction | None:
    if value < 0:
        return None
    num, den = value.numerator, value.denominator
    root_n, root_d = round(num**0.5), round(den**0.5)
    if root_n * root_n == num and root_d * root_d == den:
        return Fraction(root_n, root_d)
    return Fraction(round(float(value) ** 0.5, 4)).limit_denominator(10_000)


def _expression(core: str) -> Fraction | None:
    """A spoken expression ("9 times 8 plus 3", "7 squared") evaluated, else None."""
    if not _EXPR.fullmatch(core):
        return None
    roots: list[Fraction] = []

    def root(match: re.Match[str]) -> str:
        inner = _sqrt(Fraction(match[1]))
        if inner is None:
            raise ValueError
        roots.append(inner)
        return f"({_decimal(inner)})" if inner.denominator == 1 else f"({inner})"

    text = re.sub(rf"{_CUR}(?={_NUM})", "", core)
    text = re.sub(r"(?<=\d)\s*(?:pounds?|quid|dollars?|bucks|euros?|p|pence|cents?)\b", "", text)
    try:
        text = re.sub(rf"the square root of ({_NUM})", root, text)
    except ValueError:
        return None
    for word, op in _POSTFIX.items():
        text = text.replace(f" {word}", op)
    parts = re.split(rf"\s*({_OP})\s*", text)
    if len(parts) < 3 and not roots and not any(op in text for op in _POSTFIX.values()):
        return None  # a lone number is not a sum
    out = []
    for i, part in enumerate(parts):
        out.append(_BIN_OPS[part] if i % 2 else part)
    return evaluate("".join(out))


def _numbers(text: str) -> list[Fraction]:
    return [Fraction(n) for n in re.findall(_NUM, text)]


def _worded(core: str) -> Fraction | None:
    """Sums said in words: "add 38 and 47", "half of 350", "20 percent off 80"."""
    n = rf"{_CUR}({_NUM}){_MONEY}"
    patterns: list[tuple[str, str]] = [
        (rf"add {n} (?:and|to) {n}", "a+b"),
        (rf"(?:the )?sum of {n} and {n}", "a+b"),
        (rf"{n} and {n} added together", "a+b"),
        (rf"subtract {n} from {n}", "b-a"),
        (rf"take {n} (?:away )?from {n}", "b-a"),
        (rf"(?:the )?difference between {n} and {n}", "abs"),
        (rf"multiply {n} (?:by|and) {n}", "a*b"),
        (rf"(?:the )?product of {n} and {n}", "a*b"),
        (rf"divide {n} by {n}", "a/b"),
        (rf"(?:the )?square root of {n}", "sqrt"),
        (rf"({_NUM}) ?/ ?({_NUM}) of {n}", "a/b*c"),
        (rf"(?:a |one )?half of {n}", "a/2"),
        (rf"(?:a |one )?third of {n}", "a/3"),
        (rf"(?:a |one )?quarter of {n}", "a/4"),
        (rf"(?:double|twice) {n}", "a*2"),
        (rf"{n} doubled", "a*2"),
        (rf"{n} halved", "a/2"),
        (rf"(?:triple|three times) {n}", "a*3"),
        (rf"({_NUM}) percent off {n}", "b-b*a/100"),
        (rf"{n} (?:with|less|minus|after) (?:a )?({_NUM}) percent (?:off|discount)?", "a-a*b/100"),
        (rf"{n} (?:plus|with|and|after) (?:a )?({_NUM}) percent(?: (?:on top|more|rise|increase))?",
         "a+a*b/100"),
        (rf"(?:an? )?({_NUM}) percent tip on {n}", "b*a/100"),
        (rf"(?:a |the )?tip (?:of|at) ({_NUM}) percent on {n}", "b*a/100"),
        (rf"(?:a |the )?({_NUM}) percent (?:tip|service charge) (?:on|for|of) {n}", "b*a/100"),
        (rf"{n} (?:increased|raised|up) by ({_NUM}) percent", "a+a*b/100"),
        (rf"{n} (?:decreased|reduced|down|cut) by ({_NUM}) percent", "a-a*b/100"),
        (rf"({_NUM}) as a percent(?:age)? of {n}", "a*100/b"),
    ]  # fmt: skip
    for pattern, how in patterns:
        match = re.fullmatch(pattern, core)
        if match is None:
            continue
        a = Fraction(match[1])
        b = Fraction(match[2]) if match.lastindex and match.lastindex >= 2 else Fraction(0)
        if how == "a/b*c":
            return None if b == 0 else a / b * Fraction(match[3])
        if how == "sqrt":
            return _sqrt(a)
        if how == "abs":
            return abs(a - b)
        if how in ("a/b", "a*100/b") and b == 0:
            return None
        return evaluate(how.replace("a", f"({a})").replace("b", f"({b})"))
    return None


def _units(core: str) -> Fraction | None:
    """ "how many seconds in an hour", "2.5 kilograms in grams"."""
    for pattern in _UNIT_Q:
        match = pattern.fullmatch(core)
        if match is None:
            continue
        to, kind_to = _UNIT_FACTORS[match["to"]]
        frm, kind_from = _UNIT_FACTORS[match["frm"]]
        if kind_to != kind_from:
            return None
        amount = Fraction(match["n"]) if match["n"] else Fraction(1)
        return amount * frm / to
    return None


def _context_sum(sentence: str) -> Fraction | None:
    """Sums whose wording is spread over a sentence: what is left, a discount, a tip, sharing."""
    if re.search(r"\b(?:left|left over|remaining|remains|change)\b", sentence) and re.search(
        r"\b(?:spend|spent|spending|pay|paid|use|used|give|gave|lose|lost|eat|ate|sell|sold|"
        r"take|took|buy|bought|drink|drank|get rid of|got rid of)\b",
        sentence,
    ):  # "I have 200 and spend 65, how much is left?"
        given = _numbers(sentence)
        asked = r"\bhow (?:much|many)\b.*\b(?:left|remain|change)|\bwhat(?:'s| is) left\b"
        if not re.search(asked, sentence):
            given = []
        if len(given) == 2 and given[0] >= given[1]:
            return given[0] - given[1]
    if re.search(r"\bpercent (?:off|discount)\b|\bdiscount of \d", sentence):
        rate = re.findall(rf"({_NUM}) percent", sentence)
        price = re.findall(rf"({_NUM})(?! percent)(?![\d.])", sentence)  # the other number
        if len(price) == 1 and len(rate) == 1 and len(_numbers(sentence)) == 2:
            return Fraction(price[0]) * (1 - Fraction(rate[0]) / 100)
    if re.search(r"\btip\b", sentence):
        rate = re.findall(rf"({_NUM}) percent", sentence)
        bill = re.findall(
            rf"(?:on|of|for|bill (?:is|was|of|comes to)) (?:a |the )?{_CUR}({_NUM})", sentence
        )
        if len(rate) == 1 and len(bill) == 1 and len(_numbers(sentence)) == 2:
            return Fraction(bill[0]) * Fraction(rate[0]) / 100
    if re.search(r"\b(?:split|share|shared|divide|divided|between|among|of us)\b", sentence):
        people = re.findall(
            rf"(?:between|among|by|into) ({_NUM})(?: (?:people|persons|friends|of us|ways))?\b"
            rf"|({_NUM}) (?:people|persons|friends|of us|ways)\b",
            sentence,
        )
        if len(people) == 1 and len(_numbers(sentence)) == 2:
            count = Fraction(people[0][0] or people[0][1])
            rest = [x for x in _numbers(sentence) if x != count] or [count]
            if count > 0 and re.search(r"\b(?:each|per person|a head|everyone)\b", sentence):
                return rest[0] / count
            if count > 0 and re.search(r"\b(?:split|share|divide)\b", sentence):
                return rest[0] / count
    return None


def _rate(text: str, question: str) -> Fraction | None:
    """ "I earn 12 pounds an hour. How much is that for 8 hours?" """
    rate = re.findall(rf"{_CUR}({_NUM}){_MONEY} (?:an?|per|each) ({_PERIOD})\b", text)
    span = re.findall(rf"\b(?:for|in|over|after|across) ({_NUM}) ({_PERIOD})s?\b", question)
    if len(rate) != 1 or len(span) != 1 or rate[0][1] != span[0][1]:
        return None
    if not re.search(r"\bhow (?:much|many)\b|\btotal\b|\baltogether\b", question):
        return None
    if len(_numbers(text)) != 2:
        return None
    return Fraction(rate[0][0]) * Fraction(span[0][0])


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[?!])\s+|(?<=\.)\s+(?=\D)|(?<=[a-z])\.$", text)
    return [p.strip() for p in parts if p and p.strip()]


def _core(sentence: str) -> str:
    core = _LEAD.sub("", sentence, count=1)
    return _TAIL.sub("", core).strip(" ,")


def _clause_sum(clause: str) -> Fraction | None:
    if not _QUESTION.search(clause):
        return None
    core = _core(clause)
    return _expression(core) or _worded(core) or _units(core)


def find_sum(message: str) -> Sum | None:
    """The sum a message asks for, worked out, else None (see the module's docstring)."""
    text = normalize(message)
    if not text:
        return None
    sentences = _sentences(text)
    for i, sentence in enumerate(sentences):
        first = i  # the sentences with numbers just before the question: its givens
        while first > 0 and re.search(r"\d", sentences[first - 1]):
            first -= 1
        givens = " ".join(sentences[first : i + 1])
        if not re.search(r"\d", givens) and not sentence.startswith("how many"):
            continue
        question = _QUESTION.search(sentence) is not None or len(sentences) == 1
        if not question:
            continue
        core = _core(sentence)
        value = _expression(core) or _worded(core) or _units(core)
        clause = False
        for mark in _CLAUSE.finditer(sentence) if value is None else ():
            tail = sentence[mark.end() :]  # the sum asked at the end of a longer sentence
            if re.search(r"\d", tail) and (value := _clause_sum(tail)) is not None:
                clause = True
                break
        context = value is None
        if context:
            value = _context_sum(givens) or _rate(givens, sentence)
        zero = value is None and _ZERO_DIVISION.fullmatch(core) is not None
        if value is not None or zero:
            used = range(first, i + 1) if context else range(i, i + 1)
            whole = not clause and all(j in used for j in range(len(sentences)))
            return Sum(value, whole)
    return None


def exact_answer(question: str) -> str | None:
    """The answer to a message that is only a sum (``"what's 12 times 12"`` →
    ``"That's 144."``), else None."""
    found = find_sum(question)
    if found is None or not found.whole:
        return None
    return found.answer
