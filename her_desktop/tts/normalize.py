"""Turn LM text into words a speech engine reads well. Runs in front of every engine.

Policy (``normalize_for_speech`` never raises, is linear in the input's length, and returns
``""`` when nothing speakable is left):

- Cleanup: control characters, zero-width and bidi marks, soft hyphens are removed; Unicode
  digits become ASCII; NFKC folds full-width forms and ligatures (``²``/``³`` are read as
  "squared"/"cubed" first).
- Code: a fenced block becomes :data:`CODE_PLACEHOLDER`; inline code keeps its text when short
  (up to 40 characters), else the placeholder. Markdown marks (``* _ ~ #``, bullets, quotes,
  rules, table pipes, links, images, HTML tags) are stripped, keeping the words.
- Emoji are dropped (a person does not read out "smiling face"); emoticons such as ``:)`` ``:-(``
  ``;)`` ``:D`` ``<3`` are dropped too, never read as "colon".
- Links: a URL or bare domain is read as its host ("example dot com"; the path is dropped);
  e-mail addresses as "name at example dot com".
- Money ``$ € £ ¥ ¢``, percentages, times (``3:30pm`` → "three thirty PM", ``15:45`` → "three
  forty-five PM"), dates (``Jan. 5``, ``January 5th, 2024``, ``2024-03-05``, ``3/5/2024`` as US
  month/day), phone numbers (digit by digit), titles and Latin abbreviations (Dr. Mr. Mrs. St.
  e.g. etc. vs. …), units after a number (km, kg, °C, GB, mph …), decades, ordinals, ranges,
  fractions, versions, and plain numbers: four-digit numbers 1000–2099 read as years; integers
  with a leading zero or of seven or more digits (unless round, like ``1000000``) read digit by
  digit; everything else as a cardinal or decimal.
"""

from __future__ import annotations

import re
import unicodedata

from her_desktop.tts.numerals import read_amounts_and_dates, read_numbers

__all__ = ["CODE_PLACEHOLDER", "normalize_for_speech"]

CODE_PLACEHOLDER = "(code shown on screen)"
"""Spoken instead of a code block."""

_INLINE_CODE_MAX = 40


# ------------------------------------------------------------------------------------ cleanup

_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5"
    "\u180e\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\U0001d173-\U0001d17a\U000e0001]"
)
_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r"\s*\n\s*")

# --------------------------------------------------------------------------- code, markdown

_FENCE = re.compile(
    r"^[ \t]*(`{3,}|~{3,})[^\n]*(?:\n.*?)??(?:\n[ \t]*\1[ \t]*(?=\n|\Z)|\Z)", re.M | re.S
)
_INLINE_CODE = re.compile(r"(`+)([^`\n]+?)\1")
_LINK_TARGET = r"\((?:[^()\[\]\s]|\([^()\[\]\s]*\)){0,2000}+(?:\s+\"[^\"\n]{0,200}\")?\)"
_IMAGE = re.compile(r"!\[([^\[\]\n]{0,200})\]" + _LINK_TARGET)
_LINK = re.compile(r"\[([^\[\]\n]{1,200})\]" + _LINK_TARGET)
_HEADING = re.compile(r"^[ \t]*#{1,6}(?:[ \t]+|$)", re.M)
_QUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+", re.M)
_RULE = re.compile(r"^[ \t]*([-*_=])(?:[ \t]*\1){2,}[ \t]*$", re.M)
_TABLE_RULE = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-{2,}:?[ \t]*\|)+(?:[ \t]*:?-{2,}:?[ \t]*)?$", re.M)
_TABLE_EDGE = re.compile(r"^[ \t]*\||\|[ \t]*$", re.M)
_TABLE_PIPE = re.compile(r"[ \t]*\|[ \t]*")
_BULLET = re.compile(r"^[ \t]*(?:[-+•·▪‣◦▸►–—](?:[ \t]+|$))+", re.M)
_TASK_BOX = re.compile(r"^\[[ xX]\][ \t]+", re.M)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]{0,20}(?:\s[^<>\n]{0,200})?/?>")
_EMPHASIS_UNDERSCORE = re.compile(r"(?<!\w)_{1,3}(?=\S)([^_\n]{1,500}?)(?<=\S)_{1,3}(?!\w)")
_TIMES_STAR = re.compile(r"(?<=\d)[ \t]*[*×][ \t]*(?=\d)")
_BY = re.compile(r"(?<=\d)[ \t]?x[ \t]?(?=\d)")
_MARKS = re.compile(r"\*+|~~|`+|(?<!\w)_+|_+(?!\w)")

# ------------------------------------------------------------------------------ emoji etc.

_EMOTICON = re.compile(
    r"(?<!\S)(?:"
    r"[:;=][-'^o]?[()\[\]DPpOo3/\\|*$@xX]+(?![A-Za-z0-9])"  # :) :-( ;) :D :P :/ :* :'(
    r"|:'[-]?[()]"
    r"|[xX][Dd](?![A-Za-z0-9])"  # xD
    r"|<3+|</3"
    r"|\^_*\^|[Tt]_[Tt]|-_-|[oO]_[oO]|;_;|>_<|\(:|\):"
    r")(?=\s|$|[.,!?])"
)
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff\u25a0-\u27bf\u2900-\u297f"
    "\u2b00-\u2bff\u3030\u303d\u3297\u3299\ufe0e\ufe0f\u200d\u20e3\U000e0020-\U000e007f]+"
)
_EMOJI_BETWEEN_SENTENCES = re.compile(rf"(?<=[^\W_])[ \t]*(?:{_EMOJI.pattern})[ \t]+(?=[A-Z])")

# ------------------------------------------------------------------------------------- links

_TLDS = (
    "com|org|net|io|dev|ai|app|edu|gov|co|uk|de|fr|us|ca|au|me|info|ly|tv|gg|xyz|biz|eu|ch|nl|"
    "se|no|es|it|jp|in|ru|cn|br|mx|nz|ie|be|at|dk|fi|pl|pt|cz|gr|il|kr|sg|hk|tw|za|blog|shop|tech"
)
_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-]{1,64})@((?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24})\b")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>()\[\]{}\"']{1,2000}", re.I)
_DOMAIN = re.compile(
    rf"(?<![\w@.-])((?:[A-Za-z0-9][A-Za-z0-9-]{{0,62}}\.)+(?:{_TLDS}))\b(/[^\s<>()\[\]{{}}\"']{{0,2000}})?"
)
_URL_TAIL = re.compile(r"[.,;:!?)'\"]+$")

_TITLE_WORDS = {
    "Dr": "Doctor",
    "Mr": "Mister",
    "Mrs": "Missus",
    "Ms": "Miz",
    "Prof": "Professor",
    "Jr": "Junior",
    "Sr": "Senior",
    "Mt": "Mount",
    "Ft": "Fort",
    "Capt": "Captain",
    "Gen": "General",
    "Sgt": "Sergeant",
    "Rev": "Reverend",
}
_AMPM_WORD = re.compile(r"(?<![\w.])([ap])\.m\.(?=\W|$)", re.I)
_TITLE = re.compile(r"\b(Dr|Mr|Mrs|Ms)\.?(?=\s+[A-Z])")
_TITLE_DOT = re.compile(r"\b(" + "|".join(_TITLE_WORDS) + r")\.(?=\s|$)")
_STREET = re.compile(r"\b([A-Z][a-z]+)[ \t]+(St|Dr)\.(?!\s+[A-Z][a-z])")
_SAINT = re.compile(r"\bSt\.?(?=\s+[A-Z])")
_ABBREVIATIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<![\w.])e\.\s?g\.(?:,)?", re.I), "for example,"),
    (re.compile(r"(?<![\w.])i\.\s?e\.(?:,)?", re.I), "that is,"),
    (re.compile(r"(?<![\w.])etc\.(?=\s*$|\s+[A-Z])"), "et cetera."),
    (re.compile(r"(?<![\w.])etc\.?(?!\w)"), "et cetera"),
    (re.compile(r"(?<![\w.])vs\.?(?=\s)", re.I), "versus"),
    (re.compile(r"(?<![\w.])approx\.?(?=\s)", re.I), "approximately"),
    (re.compile(r"(?<![\w.])cf\.(?=\s)"), "compare"),
    (re.compile(r"(?<![\w.])Ave\.(?=\s|$)"), "Avenue"),
    (re.compile(r"(?<![\w.])Blvd\.(?=\s|$)"), "Boulevard"),
    (re.compile(r"(?<![\w.])(?:No|no|Nr|nr)\.\s?(?=\d)"), "number "),
    (re.compile(r"(?<![\w&])#(?=\d)"), "number "),
    (re.compile(r"(?<![\w.])(?:Nos)\.\s?(?=\d)"), "numbers "),
)


_SYMBOLS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b([CF])(?:\+\+)"), r"\1 plus plus"),
    (re.compile(r"[ \t]*[•·][ \t]*"), ", "),
    (re.compile(r"[ \t]*&[ \t]*"), " and "),
    (re.compile(r"(?<=\s)@(?=\s)"), "at"),
    (re.compile(r"[ \t]*%"), " percent"),
    (re.compile(r"°"), " degrees"),
    (re.compile(r"(?<![\w.])~\s?(?=\w)"), "about "),
    (re.compile(r"(?<=\w)/(?=\w)"), " "),
    (re.compile(r"[\\^<>{}=+@~/#_]+"), " "),
    (re.compile(r"\([ \t]*\)|\[[ \t]*\]"), " "),
)
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.;:!?)\]])")
_REPEATED_COMMAS = re.compile(r"(?:,[ \t]*){2,}")
_LEADING_PUNCT = re.compile(r"^[\s,;:.]+", re.M)
_SPEAKABLE = re.compile(r"[^\W_]")
_HAS_DIGIT = re.compile(r"\d")
_VULGAR = re.compile(r"(\d?) ?([\u00bc-\u00be\u2150-\u215e])")


# ------------------------------------------------------------------------------ passes


def _vulgar(m: re.Match[str]) -> str:
    """½ → " 1/2" (read by the fraction rule); 3½ → "3 and 1/2"."""
    fraction = unicodedata.normalize("NFKC", m.group(2)).replace("⁄", "/")
    return f"{m.group(1)} and {fraction}" if m.group(1) else f" {fraction}"


def _cleanup(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _INVISIBLE.sub("", text)
    text = text.replace("²", " squared").replace("³", " cubed")
    # NFKC makes "1⁄4" (fraction slash) of ¼: turn those into the "1/4" the numbers read
    text = _VULGAR.sub(_vulgar, text)
    text = unicodedata.normalize("NFKC", text).replace("⁄", "/")
    return _NON_ASCII_DIGIT.sub(lambda m: str(unicodedata.digit(m.group(0), 0)), text)


def _code(m: re.Match[str]) -> str:
    lines = m.group(0).split("\n")[1:]
    if lines and lines[-1].strip().startswith(m.group(1)):
        lines.pop()  # the closing fence
    return f"\n{CODE_PLACEHOLDER}\n" if any(line.strip() for line in lines) else "\n"


def _inline_code(m: re.Match[str]) -> str:
    body = m.group(2).strip()
    return body if len(body) <= _INLINE_CODE_MAX else CODE_PLACEHOLDER


def _markdown(text: str) -> str:
    text = _FENCE.sub(_code, text)
    text = _INLINE_CODE.sub(_inline_code, text)
    text = _EMOTICON.sub("", text)
    text = _EMOJI_BETWEEN_SENTENCES.sub(". ", text)
    text = _EMOJI.sub(" ", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _HTML_TAG.sub(" ", text)
    text = _RULE.sub("", text)
    text = _TABLE_RULE.sub("", text)
    text = _TABLE_EDGE.sub("", text)
    text = _TABLE_PIPE.sub(", ", text)
    text = _TIMES_STAR.sub(" times ", text)
    text = _BY.sub(" by ", text)
    text = _EMPHASIS_UNDERSCORE.sub(r"\1", text)
    text = _MARKS.sub("", text)
    text = _HEADING.sub("", text)
    text = _QUOTE.sub("", text)
    text = _BULLET.sub("", text)
    return _TASK_BOX.sub("", text)


def _host(address: str) -> str:
    host = re.sub(r"^(?:https?://)?(?:www\.)?", "", address, flags=re.I)
    host = re.split(r"[/?#:]", host, maxsplit=1)[0]
    return " dot ".join(p for p in host.split(".") if p)


def _url(m: re.Match[str]) -> str:
    whole = m.group(0)
    tail = _URL_TAIL.search(whole)
    end = tail.group(0) if tail else ""
    return _host(whole[: len(whole) - len(end)]) + end


def _domain(m: re.Match[str]) -> str:
    return " dot ".join(m.group(1).split("."))


def _email(m: re.Match[str]) -> str:
    user = re.sub(r"[._+-]+", " ", m.group(1)).strip()
    return f"{user} at {_domain_words(m.group(2))}"


def _domain_words(domain: str) -> str:
    return " dot ".join(domain.split("."))


def _links(text: str) -> str:
    text = _EMAIL.sub(_email, text)
    text = _URL.sub(_url, text)
    return _DOMAIN.sub(_domain, text)


def _street(m: re.Match[str]) -> str:
    return f"{m.group(1)} {'Street' if m.group(2) == 'St' else 'Drive'}"


def _abbreviations(text: str) -> str:
    text = _STREET.sub(_street, text)
    text = _TITLE.sub(lambda m: _TITLE_WORDS[m.group(1)], text)
    text = _TITLE_DOT.sub(lambda m: _TITLE_WORDS[m.group(1)], text)
    text = _SAINT.sub("Saint", text)
    text = _STREET.sub(_street, text)
    text = _AMPM_WORD.sub(lambda m: m.group(1).upper() + "M", text)
    for pattern, words in _ABBREVIATIONS:
        text = pattern.sub(words, text)
    return text


def _symbols(text: str) -> str:
    for pattern, words in _SYMBOLS:
        text = pattern.sub(words, text)
    return text


def _tidy(text: str) -> str:
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _REPEATED_COMMAS.sub(", ", text)
    text = _NEWLINES.sub("\n", text)
    text = _LEADING_PUNCT.sub("", text)
    return text.strip()


# ---------------------------------------------------------------------------------- API


def normalize_for_speech(text: str) -> str:
    """Speakable words for ``text`` (see the module docstring); ``""`` if nothing is left."""
    if not text or text.isspace():
        return ""
    text = _cleanup(text)
    text = _markdown(text)
    text = _links(text)
    if _HAS_DIGIT.search(text):
        text = _abbreviations(read_amounts_and_dates(text))
        text = read_numbers(text)
    else:
        text = _abbreviations(text)
    text = _symbols(text)
    text = _abbreviations(_SPACES.sub(" ", text))  # again: removed symbols can join a title
    text = _tidy(text)
    return text if _SPEAKABLE.search(text) else ""
