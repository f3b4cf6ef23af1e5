"""What went wrong with a remote LM server, in plain words: the messages of ``EndpointError``.

Policy: every message names the server's address, says what happened, and ends with the fix
(usually something to check or change in Settings). A server's own error text is quoted, on one
line and at most :data:`MAX_ERROR_CHARS` long; an HTML page is called "a web page" rather than
quoted. The API key never appears in a message: any copy of it (a server may echo it) becomes
``***``.
"""

from __future__ import annotations

import json
from typing import Final

import httpx

from her_desktop.llm.base import EndpointError

MAX_ERROR_CHARS: Final = 200
"""A server's error message is quoted to the user up to this many characters."""


def one_line(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` with its whitespace folded to single spaces, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def message_in(data: object) -> str:
    """The human part of a decoded error body: OpenAI ``{"error": {"message"}}``, FastAPI
    ``detail``…"""
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in ("error", "message", "detail", "msg"):
            if key in data:
                return message_in(data[key])
    if isinstance(data, list) and data:
        return message_in(data[0])
    return json.dumps(data)[:MAX_ERROR_CHARS]


def server_message(body: bytes) -> str:
    """The human part of a raw error body, on one line."""
    raw = body.decode("utf-8", "replace")
    try:
        data = json.loads(raw)
    except ValueError:
        if raw.lstrip()[:1] == "<":
            return "a web page"
        return one_line(raw) or "no details"
    return one_line(message_in(data)) or "no details"


def looks_like_html(content_type: str, first: bytes) -> bool:
    """True when a response is a web page (by its content type or its first bytes)."""
    if "html" in content_type.lower():
        return True
    head = first.lstrip()[:15].lower()
    return head.startswith((b"<!doctype", b"<html", b"<head", b"<body"))


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """True when ``kind`` is anywhere in the chain of causes of ``exc``."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


class ServerErrors:
    """Builds the ``EndpointError`` for each way the server at ``url`` can fail."""

    __slots__ = ("_secret", "url")

    def __init__(self, url: str, secret: str | None) -> None:
        self.url = url
        self._secret = secret or None

    def scrub(self, text: str) -> str:
        """``text`` with the secret (the API key) replaced by ``***``."""
        if self._secret:
            text = text.replace(self._secret, "***")
        return text

    def reported(self, error: object) -> EndpointError:
        """The server sent an ``error`` object instead of a reply."""
        return EndpointError(
            f"The LM server at {self.url} reported an error: "
            f"{self.scrub(one_line(message_in(error)))} — check the server's log."
        )

    def transport(self, exc: httpx.HTTPError, *, timeout_s: float, started: bool) -> EndpointError:
        """The request failed in transport; ``started``: some of the reply had arrived."""
        url = self.url
        reason = self.scrub(one_line(str(exc) or type(exc).__name__))
        if isinstance(exc, httpx.ConnectTimeout):
            msg = (
                f"The LM server at {url} did not accept a connection within {timeout_s:g} s — "
                "check that it is running and that the address in Settings is right."
            )
        elif isinstance(exc, httpx.ConnectError):
            if caused_by(exc, ConnectionRefusedError) or "refused" in reason.lower():
                msg = (
                    f"Nothing is listening at {url} — start your server or fix the URL in Settings."
                )
            else:
                msg = (
                    f"Could not reach the LM server at {url} ({reason}) — check the address in "
                    "Settings and that the server is running."
                )
        elif isinstance(exc, httpx.TimeoutException):
            if started:
                msg = (
                    f"The LM server at {url} stopped sending mid-reply for more than "
                    f"{timeout_s:g} s — check the server's log, or raise the timeout in Settings."
                )
            else:
                msg = (
                    f"The LM server at {url} did not answer within {timeout_s:g} s — it may be "
                    "busy or too slow for this model; try again, use a smaller model, or raise "
                    "the timeout in Settings."
                )
        elif isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            return (
                self.closed()
                if started
                else EndpointError(
                    f"The LM server at {url} closed the connection without answering ({reason}) — "
                    "check the server's log and that the URL in Settings points at it."
                )
            )
        else:
            msg = (
                f"Talking to the LM server at {url} failed ({reason}) — check the server and the "
                "URL in Settings."
            )
        return EndpointError(msg)

    def empty(self) -> EndpointError:
        """The stream ended without a single chat chunk."""
        return EndpointError(
            f"The LM server at {self.url} sent an empty reply — check the server's log."
        )

    def closed(self) -> EndpointError:
        """The connection closed before the reply was complete."""
        return EndpointError(
            f"The LM server at {self.url} closed the connection mid-reply — check the "
            "server's log (it may have crashed or run out of memory)."
        )

    def html(self) -> EndpointError:
        """The URL points at a web page, not at the API."""
        return EndpointError(
            f"The LM server at {self.url} answered with a web page, not a chat stream — "
            "the URL must point at the API (usually ending in /v1); fix it in Settings."
        )

    def garbage(self, what: str) -> EndpointError:
        """The answer is not an OpenAI-compatible chat stream (``what`` says how)."""
        return EndpointError(
            f"The LM server at {self.url} answered something that is not a chat stream "
            f"({what}) — check that it is an OpenAI-compatible server (llama-server, vLLM, "
            "Ollama) and that the URL in Settings ends in /v1."
        )

    def status(self, response: httpx.Response, body: bytes) -> EndpointError:
        """An answer with an HTTP error (or redirect) status and ``body`` (read so far)."""
        url = self.url
        status = response.status_code
        detail = self.scrub(server_message(body))
        if 300 <= status < 400:
            where = self.scrub(one_line(response.headers.get("location", "") or "elsewhere"))
            return EndpointError(
                f"The LM server at {url} redirects to {where} (HTTP {status}); it is not "
                "followed, so your conversation goes only where you said — put that address "
                "in Settings if you trust it."
            )
        if status in (401, 403):
            fix = "check the API key in Settings"
        elif status == 404:
            fix = "the URL usually ends in /v1 and the model name must exist there; fix Settings"
        elif status in (400, 413, 422):
            fix = (
                "the server rejected the request; a shorter conversation or another model may help"
            )
        elif status in (429, 503):
            fix = "the server is busy; try again in a moment"
        else:
            fix = "check the server's log"
        return EndpointError(
            f"The LM server at {url} answered with an error (HTTP {status}: {detail}) — {fix}."
        )
