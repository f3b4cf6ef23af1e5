"""English number words for speech: cardinals, ordinals, years, decimals, digit strings.

Compact and dependency-free (``num2words`` is not a dependency). American style: no "and"
after hundred (``105`` → "one hundred five"). Integers of 10**15 and above are read digit by
digit: nobody says "four quadrillion ..." aloud and such strings are usually IDs.
"""

from __future__ import annotations

__all__ = ["cardinal", "cardinal_text", "decimal", "digits", "ordinal", "plural_words", "year"]

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_LIMIT = 10**15
_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def digits(text: str) -> str:
    """Each digit as a word: ``"007"`` → "zero zero seven" (non-digits are skipped)."""
    return " ".join(_ONES[int(ch)] for ch in text if "0" <= ch <= "9")


def cardinal(n: int) -> str:
    """``42`` → "forty-two"; negative numbers get "minus"; huge ones are read digit by digit."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n >= _LIMIT:
        return digits(str(n))
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("-" + _ONES[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + (" " + cardinal(rest) if rest else "")
    for value, name in _SCALES:
        if n >= value:
            high, rest = divmod(n, value)
            return cardinal(high) + " " + name + (" " + cardinal(rest) if rest else "")
    raise AssertionError("unreachable")  # pragma: no cover


def cardinal_text(text: str) -> str:
    """A numeral string (``"1,000,000"``; digits and commas) as a cardinal; any length is safe."""
    plain = text.replace(",", "")
    if not plain.isdigit():
        return digits(plain)
    return cardinal(int(plain)) if len(plain) <= 15 else digits(plain)


def _ordinal_word(word: str) -> str:
    if word in _ORDINAL_IRREGULAR:
        return _ORDINAL_IRREGULAR[word]
    if word.endswith("y"):
        return word[:-1] + "ieth"
    return word + "th"


def ordinal(n: int) -> str:
    """``21`` → "twenty-first"."""
    words = cardinal(n)
    if n >= _LIMIT or n < 0:
        return words
    head, sep, last = max(
        (words.rpartition(" "), words.rpartition("-")), key=lambda parts: len(parts[0])
    )
    return head + sep + _ordinal_word(last)


def year(n: int) -> str:
    """``1999`` → "nineteen ninety-nine", ``2005`` → "two thousand five", ``1900`` → "nineteen
    hundred", ``1905`` → "nineteen oh five". Only meant for 1000..2099; others fall back."""
    if not 1000 <= n <= 2099 or 2000 <= n <= 2009:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return cardinal(high) + " hundred"
    if low < 10:
        return cardinal(high) + " oh " + _ONES[low]
    return cardinal(high) + " " + cardinal(low)


def decimal(text: str) -> str:
    """A plain decimal numeral (``"3.5"``, ``"1,000.25"``, ``".5"``) in words."""
    whole, _, frac = text.replace(",", "").partition(".")
    head = cardinal_text(whole) if whole else "zero"
    return head + (" point " + digits(frac) if frac else "")


def plural_words(words: str) -> str:
    """The plural of a number word, for decades: "nineteen ninety" → "nineteen nineties"."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    if words.endswith("x"):
        return words + "es"
    return words + "s"
