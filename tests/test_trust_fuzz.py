"""Fuzz the untrusted-text paths not fuzzed elsewhere.

Already fuzzed (not repeated): the sentence splitter (``test_sentences.py``), settings files
(``test_config.py::test_fuzz_*``), the LM's JSON for memories (``test_memory_extraction.py``)
(affect asks the LM for label scores only, no text: ``test_affect_lm_label.py``),
control-token filtering (``test_control_tokens.py``), SSE parsing (``test_remote.py``), any text
through llama.cpp (``test_llamacpp.py``).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from her_desktop.config import ENV_PREFIX, Settings, load_settings
from her_desktop.dialogue import clean_user_text
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.retrieval import HEADER, format_notes, quote

_fuzz = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_KEYS = st.sampled_from(
    [
        "LLM__N_CTX",
        "LLM__ENGINE",
        "LLM__REMOTE__URL",
        "LLM__MAX_TOKENS",
        "PRIVACY__MEMORY_ENABLED",
        "PERSONA",
        "LOG_LEVEL",
        "LLM",
        "LLM__",
        "__",
        "NOPE__X",
        "TTS__SPEED",
    ]
)


@_fuzz
@given(st.dictionaries(_KEYS, st.text(max_size=30), max_size=4))
def test_env_overrides_never_raise(env: dict[str, str]) -> None:
    clean = {k: v for k, v in env.items() if "\x00" not in v}
    saved = {k: os.environ.get(ENV_PREFIX + k) for k in clean}
    try:
        for key, value in clean.items():
            os.environ[ENV_PREFIX + key] = value
        loaded = load_settings()
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(ENV_PREFIX + key, None)
            else:
                os.environ[ENV_PREFIX + key] = old
    assert isinstance(loaded.settings, Settings)
    Settings.model_validate(loaded.settings.model_dump())  # always a valid configuration


@_fuzz
@given(st.text())
def test_quote_is_one_line_that_cannot_close_its_quotation(text: str) -> None:
    quoted = quote(text)
    assert "\n" not in quoted
    assert "\r" not in quoted
    assert not set(quoted) & set('"<>[]')
    assert len(quoted) <= 300


@_fuzz
@given(st.lists(st.text(min_size=1), min_size=1, max_size=5))
def test_notes_are_always_a_header_and_one_line_per_memory(texts: list[str]) -> None:
    records = [
        MemoryRecord(i, "fact", None, t, 0.0, 0.0, None, 0.0, None, 0.5, 0.5)
        for i, t in enumerate(texts)
    ]
    notes = format_notes(records, now=1.0, budget_tokens=100_000)
    assert notes is not None
    lines = notes.split("\n")
    assert lines[0] == HEADER
    assert len(lines) == 1 + len(texts)
    assert all(line.startswith('- "') for line in lines[1:])


@_fuzz
@given(st.text())
def test_clean_user_text_drops_controls_and_is_idempotent(text: str) -> None:
    import unicodedata

    cleaned = clean_user_text(text)
    assert cleaned == clean_user_text(cleaned)
    assert all(ch in "\n\t\u200d" or not unicodedata.category(ch).startswith("C") for ch in cleaned)


@pytest.mark.parametrize("text", ["", " ", "\x00\x01", "\u202e\u202c"])
def test_clean_user_text_of_nothing_is_empty(text: str) -> None:
    assert clean_user_text(text) == ""
