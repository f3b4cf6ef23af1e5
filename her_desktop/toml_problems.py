"""A TOML file's problems in plain words: what is wrong with a value, and on which line.

``explain_error`` says what one pydantic validation error means ("must be a whole number");
``find_toml_line`` finds the line that sets a dotted key. The settings file (``config``) and
the persona files (``persona``, the persona editor) are reported with them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def explain_error(error: Mapping[str, Any]) -> str:
    """What is wrong with one value, in plain words (one pydantic error dict, e.g. for personas)."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "is not a known setting (a typo?)"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "greater_than":
        return f"must be more than {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}"
    if kind == "literal_error":
        return "must be one of " + str(ctx.get("expected", "")).replace("'", '"')
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return "must be a whole number"
    if kind in ("float_type", "float_parsing"):
        return "must be a number"
    if kind == "bool_type":
        return "must be true or false"
    if kind == "string_type":
        return 'must be text in quotes, e.g. "value"'
    if kind == "string_too_short":
        return "must not be empty"
    if kind in ("model_type", "dict_type"):
        return "must be a table (a [section] with keys under it)"
    if kind == "value_error":
        return str(ctx.get("error", error.get("msg", "is not valid")))
    return str(error.get("msg", "is not valid")).lower()


_KEY_PART = re.compile(r'\s*("(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+)\s*')


def _split_key(raw: str) -> tuple[str, ...] | None:
    """Split a TOML dotted key (``a."b.c".d``) into parts; None when it does not parse."""
    parts: list[str] = []
    pos = 0
    while True:
        match = _KEY_PART.match(raw, pos)
        if match is None:
            return None
        token = match.group(1)
        parts.append(token[1:-1] if token[:1] in "\"'" else token)
        pos = match.end()
        if pos >= len(raw):
            return tuple(parts)
        if raw[pos] != ".":
            return None
        pos += 1


def find_toml_line(text: str, dotted: tuple[str, ...]) -> int | None:
    """Best-effort 1-based line where ``dotted`` is set (a key line or a [table] header)."""
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            inner = line.lstrip("[").split("]", 1)[0]
            table = _split_key(inner) or ()
            if table == dotted:
                return number  # e.g. an unknown [section]
            continue
        if "=" not in line:
            continue
        key = _split_key(line.split("=", 1)[0])
        if key is None:
            continue
        full = table + key
        if full == dotted[: len(full)]:
            return number  # the key itself, or an inline table that contains it
    return None
