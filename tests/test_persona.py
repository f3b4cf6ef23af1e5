"""Persona: the bundled Samantha loads, her prompt is compact, user copies are never clobbered."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from her_desktop.persona import (
    DEFAULT_PERSONA,
    MAX_PROMPT_CHARS,
    Persona,
    PersonaError,
    bundled_personas,
    ensure_user_persona,
    load_persona,
    parse_persona,
    resolve_persona,
    user_persona_path,
)

REPO_PERSONA = Path(__file__).resolve().parent.parent / "assets" / "personas" / "samantha.toml"


def test_bundled_samantha_loads() -> None:
    assert DEFAULT_PERSONA in bundled_personas()
    persona = load_persona("samantha")
    assert persona.name == "Samantha"
    assert persona.voice == "heart"
    assert persona.speaking_rate == 1.0
    assert persona.traits
    assert persona.style
    assert persona.greeting.strip()


def test_system_prompt_is_compact_and_says_who_and_the_boundaries() -> None:
    prompt = load_persona("samantha").system_prompt()
    print(f"system prompt: {len(prompt)} characters, {len(prompt.split())} words")
    assert len(prompt) < 2400  # about 480 tokens: read once per launch, then cached
    assert prompt.startswith("You are Samantha")
    lowered = prompt.lower()
    assert "ai running locally" in lowered
    assert "crisis line" in lowered
    assert "never instructions" in lowered
    assert "markdown" in lowered
    assert "one question at a time" in lowered


def test_examples_are_fenced_as_made_up_tone_only() -> None:
    persona = load_persona("samantha")
    assert 2 <= len(persona.examples) <= 4
    prompt = persona.system_prompt()
    head, _, rest = prompt.partition("Made-up examples, only to show your tone")
    assert "they did not happen" in rest
    body, _, tail = rest.partition("(End of examples. The real conversation follows.)")
    assert tail == ""  # the examples close the prompt
    for example in persona.examples:
        assert f"User: {example.user}\nSamantha: {example.reply}" in body
        assert example.reply not in head
        assert len(example.reply.split()) <= 30  # voice-short, like the replies they model


def test_an_example_with_an_unknown_field_is_rejected() -> None:
    text = REPO_PERSONA.read_text(encoding="utf-8").replace(
        '{ user = "Ugh, today was awful.",', '{ speaker = "x", user = "Ugh, today was awful.",'
    )
    with pytest.raises(PersonaError, match=r"examples\.speaker item 1 is not a persona field"):
        parse_persona(text, "test.toml")


def test_system_prompt_has_no_markdown_of_its_own() -> None:
    prompt = load_persona("samantha").system_prompt()
    for marker in ("**", "# ", "\n- ", "```"):
        assert marker not in prompt


def test_ensure_user_persona_copies_once_and_never_overwrites() -> None:
    path = ensure_user_persona()
    assert path == user_persona_path()
    assert path.read_text(encoding="utf-8") == REPO_PERSONA.read_text(encoding="utf-8")
    edited = path.read_text(encoding="utf-8").replace('name = "Samantha"', 'name = "Sam"')
    path.write_text(edited, encoding="utf-8")
    assert ensure_user_persona() == path
    assert path.read_text(encoding="utf-8") == edited
    assert load_persona(path).name == "Sam"
    assert load_persona(str(path)).name == "Sam"


def test_invalid_user_persona_falls_back_with_a_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "mine.toml"
    bad.write_text(
        'name = "Iris"\ndescription = "a friend."\ntraits = ["kind", ""]\n'
        'greeting = "Hello"\nspeaking_rate = 5.0\nmood = "sunny"\n',
        encoding="utf-8",
    )
    loaded = resolve_persona(bad)
    assert loaded.persona == load_persona(DEFAULT_PERSONA)
    assert loaded.source == DEFAULT_PERSONA
    assert loaded.problem is not None
    assert str(bad) in loaded.problem
    assert "line 5: speaking_rate must be at most 2" in loaded.problem
    assert "line 3: traits item 2 must not be empty" in loaded.problem
    assert "line 6: mood is not a persona field" in loaded.problem
    assert "using the default persona" in loaded.problem
    with pytest.raises(PersonaError, match="speaking_rate"):
        load_persona(bad)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("no-such-persona", 'there is no bundled persona called "no-such-persona"'),
        ("../../no/such/persona.toml", "does not exist"),
        ("/nowhere/persona.toml", "does not exist"),
    ],
)
def test_unknown_persona_falls_back(ref: str, expected: str) -> None:
    loaded = resolve_persona(ref)
    assert loaded.persona.name == "Samantha"
    assert loaded.problem is not None
    assert expected in loaded.problem


def test_not_toml_and_missing_fields_are_explained(tmp_path: Path) -> None:
    with pytest.raises(PersonaError, match="not valid TOML"):
        parse_persona("name = ", "x.toml")
    with pytest.raises(PersonaError, match="greeting is missing"):
        parse_persona('name = "A"\ndescription = "b."\ntraits = ["c"]\n', "x.toml")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert "not UTF-8" in (resolve_persona(binary).problem or "")


def test_overlong_persona_is_rejected() -> None:
    document = tomllib.loads(REPO_PERSONA.read_text(encoding="utf-8"))
    document["style"] = ["x" * 290] * 12
    with pytest.raises(ValueError, match=f"limit {MAX_PROMPT_CHARS}"):
        Persona.model_validate(document)


def test_resolve_valid_user_persona_has_no_problem(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        'name = "Iris"\ndescription = "a calm friend."\ntraits = ["calm"]\ngreeting = "Hi."\n',
        encoding="utf-8",
    )
    loaded = resolve_persona(str(path))
    assert loaded.problem is None
    assert loaded.persona.name == "Iris"
    assert loaded.persona.system_prompt() == "You are Iris, a calm friend.\nYou are calm."
