"""Light markdown to Qt rich text: **bold**, *italic*, `code`, fenced code blocks, lists, links.

Everything is HTML-escaped first, so model output can never inject markup. Links are rendered
as links but never opened by the view (the conversation copies them on click). An unclosed
code fence (a reply still streaming) renders the rest as code.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_FENCE = re.compile(r"^\s*```")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_HEADING = re.compile(r"^\s*#{1,6}\s+(.*)$")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_ITALIC = re.compile(
    r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])|(?<!\w)_(?=\S)([^_\n]+?)(?<=\S)_(?!\w)"
)
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)")
_BARE_URL = re.compile(r"(?<![\"'=>])\bhttps?://[^\s<]+[^\s<.,;:!?)\]'\"]")
_PLACEHOLDER = "\x00{}\x00"


@dataclass(frozen=True, slots=True)
class MarkdownStyle:
    code_bg: str
    link: str
    mono: str = "DejaVu Sans Mono, Noto Sans Mono, monospace"


def _inline(text: str, style: MarkdownStyle) -> str:
    """One line of inline markdown (already unescaped) to HTML."""
    saved: list[str] = []

    def keep(fragment: str) -> str:
        saved.append(fragment)
        return _PLACEHOLDER.format(len(saved) - 1)

    def code(match: re.Match[str]) -> str:
        return keep(
            f'<code style="background-color:{style.code_bg}; font-family:{style.mono};">'
            f"&#8201;{html.escape(match.group(1))}&#8201;</code>"
        )

    def link(match: re.Match[str]) -> str:
        url = html.escape(match.group(2), quote=True)
        label = html.escape(match.group(1))
        return keep(f'<a href="{url}" style="color:{style.link};">{label}</a>')

    def bare(match: re.Match[str]) -> str:
        url = html.escape(match.group(0), quote=True)
        return keep(f'<a href="{url}" style="color:{style.link};">{url}</a>')

    text = _INLINE_CODE.sub(code, text)
    text = _LINK.sub(link, text)
    text = _BARE_URL.sub(bare, text)
    text = html.escape(text, quote=False)
    text = _BOLD.sub(lambda m: f"<b>{m.group(1) or m.group(2)}</b>", text)
    text = _ITALIC.sub(lambda m: f"<i>{m.group(1) or m.group(2)}</i>", text)
    return re.sub("\x00(\\d+)\x00", lambda m: saved[int(m.group(1))], text)


def _code_block(lines: list[str], style: MarkdownStyle) -> str:
    body = html.escape("\n".join(lines))
    return (
        f'<pre style="background-color:{style.code_bg}; font-family:{style.mono}; '
        f'white-space:pre-wrap; margin:4px 0;">{body}</pre>'
    )


def render_markdown(text: str, style: MarkdownStyle) -> str:
    """Markdown-ish ``text`` to a Qt rich-text fragment."""
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""
    code: list[str] | None = None

    def flush_paragraph() -> None:
        if paragraph:
            out.append("<p style='margin:0 0 6px 0;'>" + "<br>".join(paragraph) + "</p>")
            paragraph.clear()

    def flush_list() -> None:
        nonlocal list_tag
        if items:
            lis = "".join(f"<li>{item}</li>" for item in items)
            out.append(f"<{list_tag} style='margin:0 0 6px 0;'>{lis}</{list_tag}>")
            items.clear()
        list_tag = ""

    for line in text.split("\n"):
        if code is not None:
            if _FENCE.match(line):
                out.append(_code_block(code, style))
                code = None
            else:
                code.append(line)
            continue
        if _FENCE.match(line):
            flush_paragraph()
            flush_list()
            code = []
            continue
        bullet = _BULLET.match(line)
        numbered = None if bullet else _NUMBERED.match(line)
        if bullet or numbered:
            flush_paragraph()
            tag = "ul" if bullet else "ol"
            if list_tag and list_tag != tag:
                flush_list()
            list_tag = tag
            match = bullet or numbered
            assert match is not None
            items.append(_inline(match.group(1), style))
            continue
        if not line.strip():
            flush_paragraph()
            flush_list()
            continue
        flush_list()
        heading = _HEADING.match(line)
        if heading:
            flush_paragraph()
            out.append(
                f"<p style='margin:2px 0 4px 0;'><b>{_inline(heading.group(1), style)}</b></p>"
            )
            continue
        paragraph.append(_inline(line, style))
    if code is not None:
        out.append(_code_block(code, style))
    flush_paragraph()
    flush_list()
    return "".join(out)


def render_plain(text: str) -> str:
    """Text shown exactly as typed (escaped; newlines kept as line breaks)."""
    return "<p style='margin:0;'>" + html.escape(text).replace("\n", "<br>") + "</p>"
