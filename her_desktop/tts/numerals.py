"""Numbers in text, read as words: money, percentages, times, dates, phone numbers, units,
decades, ordinals, ranges, fractions, versions and plain numbers (see ``normalize.py``).

Two passes, because abbreviations sit between them (``No. 5`` must become "number 5" before
the number is read, and ``3 p.m.`` must be read as a time before "p.m." is expanded):
:func:`read_amounts_and_dates` first, then :func:`read_numbers`. Both are linear in the text's
length: every pattern is anchored by a look-behind and uses possessive repeats where a
backtrack could otherwise rescan a long run of digits.
"""

from __future__ import annotations

import re

from her_desktop.tts import numwords as nw

__all__ = ["read_amounts_and_dates", "read_numbers"]

_NUM = r"(?:\d{1,3}(?:,\d{3})++|\d++)(?:\.\d++)?"
_SCALE = {
    "hundred": "hundred",
    "thousand": "thousand",
    "million": "million",
    "billion": "billion",
    "trillion": "trillion",
    "k": "thousand",
    "K": "thousand",
    "m": "million",
    "M": "million",
    "mn": "million",
    "b": "billion",
    "B": "billion",
    "bn": "billion",
    "tn": "trillion",
}
_CURRENCY = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", "", ""),
    "₹": ("rupee", "rupees", "paisa", "paise"),
}
_CUR = "[$€£¥₹]"
_MONEY = re.compile(
    rf"(-)?({_CUR})\s?(-)?({_NUM})(?:\s?(hundred|thousand|million|billion|trillion|bn|mn|tn|[kKmMbB])\b)?"
)
_MONEY_AFTER = re.compile(rf"(?<![\w.,])(-)?({_NUM})\s?([€£¥₹])")
_CENTS = re.compile(rf"(?<![\w.,])({_NUM})\s?¢")
_PERCENT_RANGE = re.compile(rf"(?<![\w.,])({_NUM})\s?[-–]\s?({_NUM})\s?%")
_PERCENT = re.compile(rf"(?<![\w.,])([-−+])?({_NUM})\s?%")
_TIME_AMPM = re.compile(
    r"(?<![\w:.])(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s?([AaPp])\.?\s?[Mm]\.?(?![A-Za-z])"
)
_TIME_24 = re.compile(r"(?<![\w:.])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:]|\.\d)")

_MONTHS = {
    "jan": "January",
    "feb": "February",
    "mar": "March",
    "apr": "April",
    "may": "May",
    "jun": "June",
    "jul": "July",
    "aug": "August",
    "sep": "September",
    "sept": "September",
    "oct": "October",
    "nov": "November",
    "dec": "December",
}
_MONTH_NAMES = list(dict.fromkeys(_MONTHS.values()))
_MONTH_ALT = "|".join(
    sorted(
        [*_MONTH_NAMES, *(m.capitalize() for m in _MONTHS)],
        key=len,
        reverse=True,
    )
)
_MONTH_DAY = re.compile(
    rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?![\d:%.,]\d)(?:(,?\s+)(\d{{4}})\b)?"
)
_DAY_MONTH = re.compile(
    rf"(?:\b[Tt]he\s+)?\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_ALT})\b"
)
_DATE_ISO = re.compile(r"(?<![\w.-])(\d{4})-(\d{2})-(\d{2})(?![\w-])")
_DATE_SLASH = re.compile(r"(?<![\w./])(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?![\w/])")
_PHONE = re.compile(
    r"(?<![\w.+-])(\+\s?\d{1,3}[\s.-]?)?(\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w.-]*\d)"
)
_PHONE_SHORT = re.compile(r"(?<![\w.-])\d{3}-\d{4}(?![\w-])")

_UNITS = {
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "mph": ("mile per hour", "miles per hour"),
    "m/s": ("meter per second", "meters per second"),
    "km": ("kilometer", "kilometers"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "m": ("meter", "meters"),
    "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"),
    "g": ("gram", "grams"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "mi": ("mile", "miles"),
    "ft": ("foot", "feet"),
    "yd": ("yard", "yards"),
    "ml": ("milliliter", "milliliters"),
    "mL": ("milliliter", "milliliters"),
    "l": ("liter", "liters"),
    "L": ("liter", "liters"),
    "h": ("hour", "hours"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "sec": ("second", "seconds"),
    "secs": ("second", "seconds"),
    "ms": ("millisecond", "milliseconds"),
    "KB": ("kilobyte", "kilobytes"),
    "kB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
    "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"),
    "W": ("watt", "watts"),
    "kW": ("kilowatt", "kilowatts"),
    "kWh": ("kilowatt hour", "kilowatt hours"),
    "mAh": ("milliamp hour", "milliamp hours"),
    "V": ("volt", "volts"),
    "kcal": ("calorie", "calories"),
}
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_UNIT = re.compile(rf"(?<![\w.,])([-−])?({_NUM})\s?({_UNIT_ALT})(?![\w/])")
_DEGREES = re.compile(rf"(?<![\w.,])([-−])?({_NUM})\s?°\s?([CF](?![A-Za-z]))?")
_DECADE = re.compile(r"(?<![\w.'’])(?:(1[0-9]|20)(\d)|['’]?([1-9]))0s\b")
_ORDINAL = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:st|nd|rd|th)\b")
_VERSION = re.compile(r"(?<![\w.])[vV]?(\d+(?:\.\d+){2,})(?![\w.]*\d)")
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_RANGE = re.compile(rf"(?<![\w.,-])({_NUM})(?:-|\s?[–—]\s?)({_NUM})(?![\w.,]*\d)")
_FRACTION = re.compile(r"(?<![\w./])(\d{1,3})/(\d{1,3})(?![\w/]|\.\d)")
_ARITH = re.compile(r"(?<=\d)\s?([+=<>])\s?(?=[-−]?\d)")
_NEGATIVE = re.compile(r"(?<![\w.,])[-−](?=\d)")
_NUMBER_TOKEN = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+")
_ANY_DIGIT = re.compile(r"\d+")


def _number_words(text: str) -> str:
    """One numeral token (``"42"``, ``"1,000"``, ``"3.5"``, ``"007"``, ``"1999"``) in words."""
    if "." in text:
        return nw.decimal(text)
    if "," in text:
        return nw.cardinal_text(text)
    if len(text) > 15:
        return nw.digits(text)
    n = int(text)
    if len(text) > 1 and text[0] == "0":
        return nw.digits(text)
    if len(text) >= 7 and not text.endswith("000"):
        return nw.digits(text)
    if len(text) == 4 and 1000 <= n <= 2099:
        return nw.year(n)
    return nw.cardinal(n)


def _is_one(text: str) -> bool:
    return text.replace(",", "") in ("1", "01")


def _grouped_digits(text: str) -> str:
    groups = re.findall(r"\d+", text)
    return ", ".join(nw.digits(g) for g in groups)


def _money(m: re.Match[str]) -> str:
    minus = "minus " if (m.group(1) or m.group(3)) else ""
    one, many, sub_one, sub_many = _CURRENCY[m.group(2)]
    amount, scale = m.group(4), m.group(5)
    if scale:
        return f"{minus}{nw.decimal(amount)} {_SCALE[scale]} {many}"
    return minus + _amount(amount, one, many, sub_one, sub_many)


def _amount(amount: str, one: str, many: str, sub_one: str, sub_many: str) -> str:
    whole_text, _, frac = amount.replace(",", "").partition(".")
    if len(whole_text) > 15 or (frac and (len(frac) != 2 or not sub_one)):
        return f"{nw.decimal(amount)} {many}"
    whole = int(whole_text)
    cents = int(frac) if frac else 0
    main = f"{nw.cardinal(whole)} {one if whole == 1 else many}"
    if not cents:
        return main
    sub = f"{nw.cardinal(cents)} {sub_one if cents == 1 else sub_many}"
    return sub if whole == 0 else f"{main} and {sub}"


def _money_after(m: re.Match[str]) -> str:
    minus = "minus " if m.group(1) else ""
    return minus + _amount(m.group(2), *_CURRENCY[m.group(3)])


def _cents(m: re.Match[str]) -> str:
    return f"{nw.decimal(m.group(1))} {'cent' if _is_one(m.group(1)) else 'cents'}"


def _percent(m: re.Match[str]) -> str:
    sign = {"-": "minus ", "−": "minus ", "+": "plus "}.get(m.group(1) or "", "")
    return f"{sign}{nw.decimal(m.group(2))} percent"


def _clock(hour: int, minute: int, second: int | None, suffix: str) -> str:
    words = nw.cardinal(hour)
    if minute == 0:
        words += "" if suffix else " o'clock"
    elif minute < 10:
        words += " oh " + nw.cardinal(minute)
    else:
        words += " " + nw.cardinal(minute)
    if second:
        words += f" and {nw.cardinal(second)} {'second' if second == 1 else 'seconds'}"
    return words + (f" {suffix}" if suffix else "")


def _time_ampm(m: re.Match[str]) -> str:
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    second = int(m.group(3)) if m.group(3) else None
    if not 1 <= hour <= 12 or minute > 59 or (second is not None and second > 59):
        return m.group(0)
    return _clock(hour, minute, second, "AM" if m.group(4) in "Aa" else "PM")


def _time_24(m: re.Match[str]) -> str:
    hour, minute = int(m.group(1)), int(m.group(2))
    second = int(m.group(3)) if m.group(3) else None
    if hour > 24 or minute > 59 or (second is not None and second > 59):
        return m.group(0)
    suffix = ""
    if hour >= 13 or hour == 0 or hour == 24:
        suffix = "PM" if 12 <= hour < 24 else "AM"
        hour = hour - 12 if hour > 12 else 12
    return _clock(hour, minute, second, suffix)


def _month(name: str) -> str:
    return _MONTHS.get(name.lower()[:3], name)


def _date_words(month: int, day: int, year_text: str | None) -> str:
    words = f"{_MONTH_NAMES[month - 1]} {nw.ordinal(day)}"
    if year_text:
        year = int(year_text)
        if len(year_text) == 2:
            return f"{words}, {nw.digits(year_text) if year < 10 else nw.cardinal(year)}"
        words += f", {nw.year(year)}"
    return words


def _month_day(m: re.Match[str]) -> str:
    day = int(m.group(2))
    if not 1 <= day <= 31:
        return m.group(0)
    words = f"{_month(m.group(1))} {nw.ordinal(day)}"
    if m.group(4):
        words += f"{',' if ',' in m.group(3) else ''} {nw.year(int(m.group(4)))}"
    return words


def _day_month(m: re.Match[str]) -> str:
    day = int(m.group(1))
    if not 1 <= day <= 31:
        return m.group(0)
    return f"the {nw.ordinal(day)} of {_month(m.group(2))}"


def _date_iso(m: re.Match[str]) -> str:
    month, day = int(m.group(2)), int(m.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    return _date_words(month, day, m.group(1))


def _date_slash(m: re.Match[str]) -> str:
    first, second = int(m.group(1)), int(m.group(2))
    month, day = (first, second) if first <= 12 else (second, first)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    return _date_words(month, day, m.group(3))


def _dates(text: str) -> str:
    text = _DATE_ISO.sub(_date_iso, text)
    text = _DATE_SLASH.sub(_date_slash, text)
    text = _MONTH_DAY.sub(_month_day, text)
    return _DAY_MONTH.sub(_day_month, text)


def _phone(m: re.Match[str]) -> str:
    whole = m.group(0)
    plus = "plus " if whole.lstrip().startswith("+") else ""
    return plus + _grouped_digits(whole)


def _unit(m: re.Match[str]) -> str:
    minus = "minus " if m.group(1) else ""
    one, many = _UNITS[m.group(3)]
    return f"{minus}{nw.decimal(m.group(2))} {one if _is_one(m.group(2)) else many}"


def _degrees(m: re.Match[str]) -> str:
    minus = "minus " if m.group(1) else ""
    scale = {"C": " Celsius", "F": " Fahrenheit"}.get(m.group(3) or "", "")
    unit = "degree" if _is_one(m.group(2)) else "degrees"
    return f"{minus}{nw.decimal(m.group(2))} {unit}{scale}"


def _decade(m: re.Match[str]) -> str:
    if m.group(1):
        return nw.plural_words(nw.year(int(m.group(1) + m.group(2) + "0")))
    return nw.plural_words(nw.cardinal(int(m.group(3) + "0")))


def _ordinal(m: re.Match[str]) -> str:
    number = m.group(1).replace(",", "")
    return nw.ordinal(int(number)) if len(number) <= 15 else nw.digits(number)


def _version(m: re.Match[str]) -> str:
    return " point ".join(_number_words(p) for p in m.group(1).split("."))


def _range(m: re.Match[str]) -> str:
    return f"{_number_words(m.group(1))} to {_number_words(m.group(2))}"


_FRACTION_NAMES = {2: ("half", "halves"), 4: ("quarter", "quarters")}


def _fraction(m: re.Match[str]) -> str:
    top, bottom = int(m.group(1)), int(m.group(2))
    if (top, bottom) == (24, 7):
        return "twenty-four seven"
    if bottom <= 1 or bottom > 10 or top > 10:
        return f"{nw.cardinal(top)} over {nw.cardinal(bottom)}"
    one, many = _FRACTION_NAMES.get(bottom, (nw.ordinal(bottom), nw.ordinal(bottom) + "s"))
    return f"{nw.cardinal(top)} {one if top == 1 else many}"


def _arith(m: re.Match[str]) -> str:
    return {"+": " plus ", "=": " equals ", "<": " is less than ", ">": " is more than "}[
        m.group(1)
    ]


def _numbers(text: str) -> str:
    text = _DECADE.sub(_decade, text)
    text = _ORDINAL.sub(_ordinal, text)
    text = _VERSION.sub(_version, text)
    text = _LETTER_DIGIT.sub(" ", text)
    text = _RANGE.sub(_range, text)
    text = _FRACTION.sub(_fraction, text)
    text = _ARITH.sub(_arith, text)
    text = _NEGATIVE.sub("minus ", text)
    text = _NUMBER_TOKEN.sub(lambda m: _number_words(m.group(0)), text)
    return _ANY_DIGIT.sub(lambda m: nw.digits(m.group(0)), text)


def read_amounts_and_dates(text: str) -> str:
    """Money, percentages, times, dates and phone numbers in ``text`` as words."""
    text = _MONEY.sub(_money, text)
    text = _MONEY_AFTER.sub(_money_after, text)
    text = _CENTS.sub(_cents, text)
    text = _PERCENT_RANGE.sub(
        lambda m: f"{nw.decimal(m.group(1))} to {nw.decimal(m.group(2))} percent", text
    )
    text = _PERCENT.sub(_percent, text)
    text = _TIME_AMPM.sub(_time_ampm, text)
    text = _TIME_24.sub(_time_24, text)
    text = _dates(text)
    text = _PHONE.sub(_phone, text)
    return _PHONE_SHORT.sub(_phone, text)


def read_numbers(text: str) -> str:
    """Every other number in ``text`` as words (after abbreviations are expanded)."""
    text = _DEGREES.sub(_degrees, text)
    text = _UNIT.sub(_unit, text)
    return _numbers(text)
