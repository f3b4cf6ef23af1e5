"""Light markdown for replies: safe (escaped), and the few things models use."""

from __future__ import annotations

from her_desktop.gui.markdown import MarkdownStyle, render_markdown, render_plain

STYLE = MarkdownStyle(code_bg="#eeeeee", link="#aa0000")


def md(text: str) -> str:
    return render_markdown(text, STYLE)


def test_bold_italic_and_inline_code() -> None:
    html = md("a **bold** and *soft* word, `x < y` and __also__ _this_")
    assert "<b>bold</b>" in html
    assert "<i>soft</i>" in html
    assert "<b>also</b>" in html
    assert "<i>this</i>" in html
    assert "x &lt; y&#8201;</code>" in html


def test_markup_from_the_model_is_escaped() -> None:
    html = md('<img src=x onerror=alert(1)> <b>not bold</b> & "quotes"')
    assert "<img" not in html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html
    assert "&amp;" in html


def test_words_with_underscores_and_products_stay_plain() -> None:
    html = md("snake_case_name and 2*3*4")
    assert "<i>" not in html
    assert "snake_case_name" in html


def test_lists_numbered_and_bulleted() -> None:
    html = md("Try:\n- one\n- **two**\n\n1. first\n2. second")
    assert "<ul" in html
    assert "<li><b>two</b></li>" in html
    assert "<ol" in html
    assert html.count("<li>") == 4


def test_code_block_keeps_text_literal_even_while_streaming() -> None:
    done = md("```python\nif a < b:\n    print('**x**')\n```\nafter")
    assert "<pre" in done
    assert "if a &lt; b:" in done
    assert "**x**" in done  # no markdown inside code
    assert "after" in done
    streaming = md("```\nunfinished <code")
    assert "<pre" in streaming
    assert "unfinished &lt;code" in streaming


def test_links_are_rendered_but_carry_only_http_urls() -> None:
    html = md("see [the docs](https://example.org/a?b=1&c=2) or https://x.org/y.")
    assert 'href="https://example.org/a?b=1&amp;c=2"' in html
    assert ">the docs</a>" in html
    assert 'href="https://x.org/y"' in html
    assert "href" not in md("[x](javascript:alert(1))")


def test_emoji_cjk_and_rtl_pass_through() -> None:
    text = "😊 你好 مرحبا 👩‍💻"
    assert text in md(text)


def test_user_text_is_shown_exactly_as_typed() -> None:
    html = render_plain("**not bold**\n<i>x</i>")
    assert "**not bold**<br>&lt;i&gt;x&lt;/i&gt;" in html
