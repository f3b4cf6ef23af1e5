"""Server-Sent Events: the ``data:`` payloads of a byte stream, however it is chunked.

Policy: each ``data:`` line is one payload (every LLM server sends one JSON object per line;
this also tolerates servers that forget the blank line between events). Comments (``:…``),
blank lines and the ``event``/``id``/``retry`` fields are skipped; any other line is counted in
``junk_lines`` so the caller can tell a chat stream from garbage. Lines end in ``\\n``,
``\\r\\n`` or ``\\r``; bytes that are not UTF-8 become U+FFFD. A line longer than
``max_line_bytes`` raises ``ValueError`` (it is not a chat stream).
"""

from __future__ import annotations

import codecs
from typing import Final

MAX_LINE_BYTES: Final = 1 << 20
"""A single SSE line longer than this is not a chat stream."""


class SSELineParser:
    """Bytes in (:meth:`feed`, then :meth:`close`), ``data:`` payloads out (module policy)."""

    __slots__ = ("_buf", "_decoder", "junk_lines", "max_line_bytes")

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self.junk_lines = 0
        self.max_line_bytes = max_line_bytes

    def feed(self, chunk: bytes) -> list[str]:
        text = self._buf + self._decoder.decode(chunk)
        hold_cr = text.endswith("\r")
        if hold_cr:
            text = text[:-1]
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._buf = lines.pop() + ("\r" if hold_cr else "")
        if len(self._buf) > self.max_line_bytes:
            raise ValueError("line too long")
        return self._payloads(lines)

    def close(self) -> list[str]:
        """End of stream: the last line, even without its newline."""
        rest = self._buf + self._decoder.decode(b"", final=True)
        self._buf = ""
        return self._payloads([rest.rstrip("\r")]) if rest else []

    def _payloads(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        for line in lines:
            if not line or line.startswith(":"):
                continue
            name, colon, value = line.partition(":")
            if not colon:
                name, value = line, ""
            elif value.startswith(" "):
                value = value[1:]
            if name == "data":
                out.append(value)
            elif name not in ("event", "id", "retry"):
                self.junk_lines += 1
        return out
