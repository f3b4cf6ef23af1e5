"""The control-token filter both engines run their reply text through."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from her_desktop.llm.control_tokens import STOP_TAGS, ControlTokenFilter, strip_control_tokens


def in_process() -> ControlTokenFilter:
    """Configured as the llama.cpp engine configures it (without model-specific stops)."""
    return ControlTokenFilter(strip_leading_space=True, keep_partial_at_end=True)


def run(f: ControlTokenFilter, pieces: list[str]) -> str:
    return "".join(f.feed(p) for p in pieces) + f.flush()


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


@pytest.mark.parametrize(
    ("text", "visible", "stopped"),
    [
        ("Hello<|im_end|>junk", "Hello", True),
        ("<|im_start|>assistant\nHi", "", True),
        ("Hi<|eot_id|>", "Hi", True),
        ("Done.</s>more", "Done.", True),
        ("<s>Hi", "Hi", False),
        ("<|assistant|>Hi <|x|>there", "Hi there", False),
        ("a < b and c<d, <3", "a < b and c<d, <3", False),
        ("<sup>x</sup>", "<sup>x</sup>", False),
        ("ends with <|im", "ends with ", False),
        ("ends with <", "ends with <", False),
        ("Ok<end_of_turn>", "Ok", True),
        ("x<｜end▁of▁sentence｜>y", "x", True),
    ],
)
def test_control_token_filter(text: str, visible: str, stopped: bool) -> None:
    f = ControlTokenFilter()
    out = f.feed(text) + f.flush()
    assert (out, f.stopped) == (visible, stopped)
    assert strip_control_tokens(text) == visible


_TEXTS = st.lists(
    st.sampled_from(
        ["Hi", " there", "<", "<|im_end|>", "<|x|>", "|", ">", "a<b", "</s>", "é", "<s"]
    ),
    max_size=12,
).map("".join)


@given(_TEXTS, st.lists(st.integers(0, 60), max_size=6))
def test_control_token_filter_ignores_how_text_is_split(text: str, cuts: list[int]) -> None:
    f = ControlTokenFilter()
    streamed = run(f, split(text, cuts))
    assert streamed == strip_control_tokens(text)
    assert "<|im_end|>" not in streamed
    assert "</s>" not in streamed


@given(st.text(alphabet=st.characters(blacklist_characters="<"), max_size=300))
def test_control_token_filter_keeps_plain_text(text: str) -> None:
    f = ControlTokenFilter()
    assert f.feed(text) + f.flush() == text
    assert not f.stopped


@pytest.mark.parametrize("tag", [*STOP_TAGS, "<|im_start|>", "<|start_header_id|>", "<|end|>"])
def test_every_turn_tag_ends_the_reply(tag: str) -> None:
    f = ControlTokenFilter()
    assert f.feed(f"Yes.{tag}user: more") == "Yes."
    assert f.stopped
    assert f.feed("even more") + f.flush() == ""


def test_text_filter_never_emits_a_split_stop_text() -> None:
    flt = in_process()
    out = []
    for piece in ["  Hello", " there<|im", "_e", "nd|>more"]:
        out.append(flt.feed(piece))
    assert "".join(out) == "Hello there"
    assert flt.stopped


def test_text_filter_releases_a_false_alarm() -> None:
    flt = in_process()
    first = flt.feed("a <")
    assert first == "a "
    second = flt.feed("3 b")
    assert second == "<3 b"
    assert not flt.stopped
    assert flt.feed("<|") + flt.flush() == "<|"


def test_extra_stop_strings_end_the_reply_and_are_never_shown() -> None:
    f = ControlTokenFilter(["\nUser:", "<|custom_stop|>"])
    assert f.feed("Fine.\nUs") == "Fine."
    assert f.feed("er: hi") == ""
    assert f.stopped
    g = ControlTokenFilter(["\nUser:"])
    assert g.feed("Fine.\nUs") == "Fine."
    assert g.feed("e it.") == "\nUse it."
    assert g.feed("\nUse") == ""
    assert g.flush() == "\nUse"  # a held stop prefix that never completed is text
    h = ControlTokenFilter(["<|custom_stop|>"])
    assert run(h, ["a<|custom", "_stop|>b"]) == "a"
    assert h.stopped


def test_an_extra_stop_wins_over_removing_the_same_tag() -> None:
    f = ControlTokenFilter(["<s>"])
    assert f.feed("Hi<s>there") == "Hi"
    assert f.stopped
    assert strip_control_tokens("Hi<s>there") == "Hithere"


def test_leading_space_is_dropped_only_when_asked() -> None:
    assert run(in_process(), ["  ", "\n", " Hi", " there"]) == "Hi there"
    assert run(in_process(), ["<s>", " Hi"]) == "Hi"
    assert run(ControlTokenFilter(), ["  Hi"]) == "  Hi"


_WORDS = st.lists(
    st.sampled_from(
        [" ", "Hi", "\nUs", "er:", "\nUser:", "<", "<|", "im_end|>", "<|x|>", "<s>", "é", "\n"]
    ),
    max_size=12,
).map("".join)


@given(_WORDS, st.lists(st.integers(0, 60), max_size=6), st.booleans())
@example("<|<|x|>im_end|>", [], False)  # a removed tag joined "<|" and "im_end|>" into a tag
@example("<|<|x|>im_end|>", [1, 3], True)
def test_any_configuration_ignores_how_text_is_split(
    text: str, cuts: list[int], in_process_engine: bool
) -> None:
    def make() -> ControlTokenFilter:
        return ControlTokenFilter(
            ["\nUser:"],
            strip_leading_space=in_process_engine,
            keep_partial_at_end=in_process_engine,
        )

    whole = make()
    expected = run(whole, [text])
    streamed = make()
    assert run(streamed, split(text, cuts)) == expected
    assert streamed.stopped == whole.stopped
    assert "\nUser:" not in expected
    assert "<|im_end|>" not in expected
