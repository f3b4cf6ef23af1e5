"""``RemoteEngine``: the LM on an OpenAI-compatible chat server (llama-server, vLLM, Ollama /v1).

This is the path for people whose model does not fit their own machine, and it is the ONLY
component of her_desktop that talks to the network — and only to the URL the user configured.

Policy:

- **Where.** ``base_url`` is the API root, e.g. ``http://127.0.0.1:8080/v1``; a bare
  ``http://host:port`` gets ``/v1`` appended. Chats go to ``{base}/chat/completions``, the
  reachability check to ``{base}/models``, and llama-server's context size is read from
  ``{root}/props`` (``root`` is ``base`` without its ``/v1``). Nothing else is contacted.
- **No surprises on the wire.** The HTTP client runs with ``trust_env=False``: ``HTTP(S)_PROXY``,
  ``ALL_PROXY``, ``.netrc`` and ``SSL_CERT_*`` from the environment are ignored, so a proxy set for
  some other program never receives the conversation. Redirects are not followed (a redirect
  would send the conversation to an address the user did not configure); the error names the
  new address instead. TLS certificates are verified with the bundled CA store.
- **Plain http.** ``http://`` to a loopback address is fine. ``http://`` to any other host is
  allowed (a home server on the LAN is a real use) but :meth:`RemoteEngine.info` marks it
  (``extra["plain_http"] == "yes"`` and ``extra["warning"]``) and recommends https.
- **Secrets.** The API key is sent as ``Authorization: Bearer …`` and never appears in
  ``info()``, ``repr()``, log lines or error messages. URLs with ``user:password@`` are refused.
- **Streaming.** ``stream: true``; Server-Sent Events are parsed line by line (every LLM server
  sends one JSON object per ``data:`` line; ``data: [DONE]`` ends the stream). Unknown fields are
  ignored; a few junk lines are skipped; a stream that is *all* junk is a clear error. A server
  that ignores ``stream`` and answers one JSON body is accepted too.
- **Bounds.** ``params.deadline_s`` bounds the whole call (load, connect, every read) → finish
  reason ``deadline``; ``timeout_s`` bounds the wait for each read (the first byte included) →
  ``EndpointError`` "did not answer within …". The server's ``finish_reason: "length"`` →
  ``length``; as a safety net the client also stops after ``max_tokens`` streamed pieces.
  Cancelling the consuming task closes the HTTP response at once (the server sees the
  disconnect and stops generating).
- **Output hygiene.** Chat-template control tokens that leak into the text (``<|im_end|>``,
  ``</s>`` …) are removed; an end-of-turn or start-of-another-turn token ends the reply
  (:class:`ControlTokenFilter`).
- **Counting.** ``count_tokens`` must be synchronous, so it cannot ask the server's
  ``/tokenize``; it returns a conservative estimate (:func:`estimate_tokens`).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import ipaddress
import json
import logging
import math
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from her_desktop.events import FinishReason
from her_desktop.llm.base import (
    EndpointError,
    EngineInfo,
    GenerationParams,
    GenerationStats,
    LLMEngine,
    Message,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

LOAD_TIMEOUT_S: Final = 5.0
"""The reachability check in ``load()`` gives up after this long (or ``timeout_s`` if shorter)."""
MAX_ERROR_CHARS: Final = 200
"""A server's error message is quoted to the user up to this many characters."""
MAX_LINE_BYTES: Final = 1 << 20
"""A single SSE line longer than this is not a chat stream."""
MAX_JUNK_BEFORE_FIRST_CHUNK: Final = 20
"""Junk lines tolerated before the first real chunk; past that the stream is called garbage."""
MAX_BODY_BYTES: Final = 1 << 20
"""Error bodies and non-streamed JSON answers are read up to this size."""
AFTER_FINISH_GRACE_S: Final = 2.0
"""After the server's finish_reason, wait at most this long for ``[DONE]`` (usage numbers)."""


# ---------------------------------------------------------------------------------------------
# URL policy
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointURL:
    """A validated server address: ``base`` (ends in the API root, e.g. ``/v1``) and ``root``."""

    base: str
    root: str
    host: str
    https: bool

    @property
    def loopback(self) -> bool:
        return is_loopback_host(self.host)

    @property
    def plain_http_remote(self) -> bool:
        """True when the conversation would cross the network unencrypted."""
        return not self.https and not self.loopback


def is_loopback_host(host: str) -> bool:
    """``localhost`` (and ``*.localhost``) or a loopback IP (127.0.0.0/8, ::1)."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_base_url(url: str) -> EndpointURL:
    """Validate the configured server URL, or raise ``EndpointError`` saying how to fix it."""
    text = url.strip()
    example = "e.g. http://127.0.0.1:8080/v1"

    def bad(why: str) -> EndpointError:
        return EndpointError(
            f"The LM server URL {text!r} is not valid: {why} ({example}) — fix it in Settings."
        )

    if not text:
        raise bad("it is empty")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise bad(f"it cannot be read ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not text.lower().startswith(scheme + "://"):
        raise bad("it must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise bad("it must not contain a user name or password; put the key in API key")
    host = parts.hostname or ""
    if not host:
        raise bad("it has no host name")
    if parts.query or parts.fragment:
        raise bad("it must not contain '?' or '#'")
    if any(c.isspace() for c in text):
        raise bad("it must not contain spaces")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    if not path:
        path = "/v1"
    root_path = path[: -len("/v1")] if path.endswith("/v1") else ""
    base = urlunsplit((scheme, netloc, path, "", ""))
    root = urlunsplit((scheme, netloc, root_path, "", ""))
    return EndpointURL(base=base, root=root, host=host, https=scheme == "https")


# ---------------------------------------------------------------------------------------------
# Text helpers (movable: a shared module may take them later)
# ---------------------------------------------------------------------------------------------

_TAG = re.compile(r"<[|｜][^<>|｜\s]{1,48}[|｜]>|</?s>|<(?:start|end)_of_turn>")
_PARTIAL_PIPE_TAG = re.compile(r"<[|｜][^<>|｜\s]{0,48}[|｜]?\Z")
_PLAIN_TAGS: Final = ("</s>", "<s>", "<start_of_turn>", "<end_of_turn>")
_STOP_NAMES: Final = frozenset(
    {
        "im_end",
        "im_start",
        "eot_id",
        "end_of_text",
        "endoftext",
        "end",
        "user",
        "system",
        "end▁of▁sentence",
        "begin▁of▁sentence",
        "User",
        "eom_id",
    }
)


def _is_stop_tag(tag: str) -> bool:
    if tag in ("</s>", "<start_of_turn>", "<end_of_turn>"):
        return True
    if tag.startswith(("<|", "<｜")):
        return tag[2:-2] in _STOP_NAMES
    return False


def _could_start_tag(tail: str) -> bool:
    """True when ``tail`` (starting with ``<``) may still grow into a control token."""
    return bool(_PARTIAL_PIPE_TAG.match(tail)) or any(t.startswith(tail) for t in _PLAIN_TAGS)


class ControlTokenFilter:
    """Removes chat-template control tokens from streamed text, even when split across pieces.

    Policy: ``<|…|>``-style tokens, ``<s>``/``</s>`` and Gemma's turn tags never reach the user.
    End-of-turn tokens (``<|im_end|>``, ``<|eot_id|>``, ``</s>`` …) and start-of-another-turn
    tokens (``<|im_start|>``, ``<|user|>`` …) end the reply: ``stopped`` becomes True and later
    text is dropped. A ``<`` that might begin a token is held back until the next piece
    decides; :meth:`flush` releases it at the end (a dangling ``<|…`` is dropped).
    """

    __slots__ = ("_held", "stopped")

    def __init__(self) -> None:
        self._held = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        text = self._held + piece
        out: list[str] = []
        while (m := _TAG.search(text)) is not None:
            out.append(text[: m.start()])
            text = text[m.end() :]
            if _is_stop_tag(m.group()):
                self.stopped = True
                self._held = ""
                return "".join(out)
        cut = text.rfind("<")
        if cut >= 0 and _could_start_tag(text[cut:]):
            out.append(text[:cut])
            self._held = text[cut:]
        else:
            out.append(text)
            self._held = ""
        return "".join(out)

    def flush(self) -> str:
        held, self._held = self._held, ""
        if self.stopped or held.startswith(("<|", "<｜")):
            return ""
        return held


def strip_control_tokens(text: str) -> str:
    """One-shot form of :class:`ControlTokenFilter` for a complete text."""
    f = ControlTokenFilter()
    return f.feed(text) + f.flush()


MESSAGE_OVERHEAD_TOKENS: Final = 8
"""Per message: role header and end-of-turn markers of common chat templates, rounded up."""
REPLY_PRIMING_TOKENS: Final = 8
"""The ``<|im_start|>assistant\\n``-style header that opens the reply."""


def estimate_tokens(text: str) -> int:
    """A deliberately high estimate of the tokens ``text`` takes in a typical BPE vocabulary.

    ASCII letters and punctuation: one token per 3 characters (English averages ~4); digits:
    one token each (many vocabularies split numbers into digits); non-ASCII: one token per
    2 UTF-8 bytes (CJK ~1.5 per character, emoji 2). Real tokenizers come out lower on
    ordinary text; it is an estimate, not a bound for adversarial strings.
    """
    if not text:
        return 0
    ascii_only = text.encode("ascii", "ignore").decode("ascii")
    n_ascii = len(ascii_only)
    n_digits = sum(c.isdigit() for c in ascii_only)
    non_ascii_bytes = len(text.encode("utf-8", "surrogatepass")) - n_ascii
    return n_digits + math.ceil((n_ascii - n_digits) / 3) + math.ceil(non_ascii_bytes / 2)


# ---------------------------------------------------------------------------------------------
# Server-Sent Events
# ---------------------------------------------------------------------------------------------


class SSELineParser:
    """Bytes in, ``data:`` payloads out, robust to any chunking of the byte stream.

    Each ``data:`` line is one payload (every LLM server sends one JSON object per line; this
    also tolerates servers that forget the blank line between events). Comments (``:…``),
    blank lines and the ``event``/``id``/``retry`` fields are skipped; any other line is counted
    in ``junk_lines``. A line longer than ``max_line_bytes`` raises ``ValueError``.
    """

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


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------

_SERVER_FINISH: Final[dict[str, FinishReason]] = {
    "stop": "stop",
    "eos": "stop",
    "length": "length",
    "max_tokens": "length",
    "model_length": "length",
}


class _Deadline:
    """Sentinel: the deadline passed while waiting."""


_DEADLINE: Final = _Deadline()


async def _before(deadline: float, aw: Awaitable[T]) -> T | _Deadline:
    """Await ``aw`` unless the loop clock reaches ``deadline`` first."""
    try:
        async with asyncio.timeout_at(deadline):
            return await aw
    except TimeoutError:
        return _DEADLINE


def _one_line(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _server_message(body: bytes) -> str:
    """The human part of an error body: OpenAI ``{"error": {"message"}}``, FastAPI ``detail``…"""
    raw = body.decode("utf-8", "replace")
    try:
        data = json.loads(raw)
    except ValueError:
        if raw.lstrip()[:1] == "<":
            return "a web page"
        return _one_line(raw) or "no details"
    return _one_line(_message_in(data)) or "no details"


def _message_in(data: object) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in ("error", "message", "detail", "msg"):
            if key in data:
                return _message_in(data[key])
    if isinstance(data, list) and data:
        return _message_in(data[0])
    return json.dumps(data)[:MAX_ERROR_CHARS]


def _looks_like_html(content_type: str, first: bytes) -> bool:
    if "html" in content_type.lower():
        return True
    head = first.lstrip()[:15].lower()
    return head.startswith((b"<!doctype", b"<html", b"<head", b"<body"))


@dataclass(slots=True)
class _StreamState:
    """Bookkeeping of one streamed reply."""

    pieces: int = 0
    chunks: int = 0
    junk: int = 0
    saw_done: bool = False
    finish: FinishReason | None = None
    usage_tokens: int | None = None


class RemoteEngine(LLMEngine):
    """An OpenAI-compatible chat server as an :class:`LLMEngine` (see the module docstring)."""

    name = "remote"

    def __init__(
        self,
        base_url: str,
        model: str = "",
        api_key: str | None = None,
        timeout_s: float = 30.0,
        context_size: int = 4096,
    ) -> None:
        if not timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        if context_size < 1:
            raise ValueError("context_size must be positive")
        self._url = parse_base_url(base_url)
        self._model = model.strip()
        self._api_key = api_key or None
        self._timeout_s = float(timeout_s)
        self._configured_context = context_size
        self._context_size = context_size
        self._context_source = "configured"
        self._loaded = False
        self._load_lock: asyncio.Lock | None = None
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    # -- small public facts -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._url.base

    @property
    def model(self) -> str:
        """The model name sent to the server ("" = none: the server's default)."""
        return self._model

    @property
    def context_size(self) -> int:
        return self._context_size

    @property
    def warning(self) -> str | None:
        """A privacy warning for people, or None."""
        if self._url.plain_http_remote:
            return (
                f"{self._url.base} is plain http to another machine: your conversation crosses "
                "the network unencrypted — use https:// if the server supports it."
            )
        return None

    def __repr__(self) -> str:
        key = ", api_key=***" if self._api_key else ""
        return f"RemoteEngine({self._url.base!r}, model={self._model!r}{key})"

    def info(self) -> EngineInfo:
        extra = {
            "url": self._url.base,
            "plain_http": "yes" if self._url.plain_http_remote else "no",
            "context_source": self._context_source,
        }
        if (w := self.warning) is not None:
            extra["warning"] = w
        return EngineInfo(
            engine="remote",
            model=self._model or "(server default)",
            context_size=self._context_size,
            extra=extra,
        )

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """A conservative estimate (see :func:`estimate_tokens`): the method is synchronous, so
        it cannot ask the server's ``/tokenize``."""
        return REPLY_PRIMING_TOKENS + sum(
            MESSAGE_OVERHEAD_TOKENS + estimate_tokens(m.content) for m in messages
        )

    # -- lifecycle ----------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        """One client per event loop (connections are bound to the loop that opened them)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop or self._client.is_closed:
            headers = {"Accept": "text/event-stream, application/json"}
            if self._api_key:
                headers["Authorization"] = f"Bearer {self._api_key}"
            self._client = httpx.AsyncClient(
                trust_env=False,
                follow_redirects=False,
                timeout=httpx.Timeout(self._timeout_s),
                headers=headers,
            )
            self._client_loop = loop
        return self._client

    async def load(self) -> None:
        """Check the server answers ``GET {base}/models`` (short timeout); pick the model when
        none is configured; discover the context size. Idempotent."""
        if self._loaded:
            return
        if self._load_lock is None:
            self._load_lock = asyncio.Lock()
        async with self._load_lock:
            if not self._loaded:
                await self._discover()
                self._loaded = True

    async def _discover(self) -> None:
        limit_s = min(LOAD_TIMEOUT_S, self._timeout_s)
        models = await self._get_json(f"{self._url.base}/models", limit_s, required=True)
        entry = self._pick_model(models)
        discovered = self._context_from_models(entry)
        if discovered is None:
            props = await self._get_json(f"{self._url.root}/props", limit_s, required=False)
            discovered = self._context_from_props(props)
        if discovered is None:
            discovered = self._trained_cap(entry)
        if discovered is not None:
            self._context_size = discovered
            self._context_source = "server"
        log.info(
            "remote LM at %s: model %r, context %d (%s)",
            self._url.base,
            self._model or "(server default)",
            self._context_size,
            self._context_source,
        )

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._client_loop is asyncio.get_running_loop():
            await client.aclose()
        self._client_loop = None

    async def _get_json(self, url: str, limit_s: float, *, required: bool) -> object:
        try:
            response = await self._http().get(url, timeout=limit_s)
        except httpx.HTTPError as exc:
            if required:
                raise self._transport_error(exc, timeout_s=limit_s, started=False) from None
            return None
        if not required and response.status_code != 200:
            return None
        if response.status_code != 200:
            raise self._status_error(response.status_code, response.content, response)
        try:
            return json.loads(response.content)
        except ValueError:
            if not required:
                return None
            if _looks_like_html(response.headers.get("content-type", ""), response.content):
                raise self._html_error() from None
            raise self._garbage_error("its model list is not JSON") from None

    def _pick_model(self, models: object) -> dict[str, Any] | None:
        """The entry of the configured model (or the first one, which becomes the model)."""
        data = models.get("data") if isinstance(models, dict) else None
        if not isinstance(models, dict) or (data is not None and not isinstance(data, list)):
            raise self._garbage_error("its model list has an unexpected shape")
        entries = [e for e in (data or []) if isinstance(e, dict)]
        if self._model:
            return next((e for e in entries if e.get("id") == self._model), None)
        if entries and isinstance(entries[0].get("id"), str) and entries[0]["id"]:
            self._model = entries[0]["id"]
            return entries[0]
        return None

    @staticmethod
    def _context_from_models(entry: dict[str, Any] | None) -> int | None:
        """vLLM reports the served window as ``max_model_len``."""
        if entry is None:
            return None
        for key in ("max_model_len", "context_length", "n_ctx"):
            if _positive_int(entry.get(key)):
                return int(entry[key])
        return None

    def _trained_cap(self, entry: dict[str, Any] | None) -> int | None:
        """llama-server's ``meta.n_ctx_train`` (the model's trained window) only lowers the
        configured size; it says nothing of the window the server actually allocated."""
        meta = entry.get("meta") if entry is not None else None
        if isinstance(meta, dict) and _positive_int(meta.get("n_ctx_train")):
            trained = int(meta["n_ctx_train"])
            if trained < self._configured_context:
                return trained
        return None

    @staticmethod
    def _context_from_props(props: object) -> int | None:
        """llama-server: ``default_generation_settings.n_ctx`` is one slot's window."""
        if not isinstance(props, dict):
            return None
        settings = props.get("default_generation_settings")
        if isinstance(settings, dict) and _positive_int(settings.get("n_ctx")):
            return int(settings["n_ctx"])
        if _positive_int(props.get("n_ctx")):
            return int(props["n_ctx"])
        return None

    # -- streaming ----------------------------------------------------------------------------

    def _body(self, messages: Sequence[Message], params: GenerationParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if self._model:
            body["model"] = self._model
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        if params.grammar:
            body["grammar"] = params.grammar
        return body

    async def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        stats: GenerationStats | None = None,
    ) -> AsyncIterator[str]:
        """Stream the reply (see the module docstring for the bounds and error policy).

        Consumers that may stop early without cancelling should close the iterator
        (``contextlib.aclosing``) so the HTTP response is released at once.
        """
        st = stats if stats is not None else GenerationStats()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        deadline = t0 + max(0.0, params.deadline_s)
        state = _StreamState()
        st.finish_reason, st.first_token_s, st.tokens = None, None, 0
        try:
            if await _before(deadline, self.load()) is _DEADLINE:
                state.finish = "deadline"
                return
            client = self._http()
            request = client.build_request(
                "POST", f"{self._url.base}/chat/completions", json=self._body(messages, params)
            )
            try:
                response = await _before(deadline, client.send(request, stream=True))
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, timeout_s=self._timeout_s, started=False) from None
            if isinstance(response, _Deadline):
                state.finish = "deadline"
                return
            try:
                async with contextlib.aclosing(
                    self._replies(response, params, state, deadline)
                ) as replies:
                    async for text in replies:
                        if st.first_token_s is None:
                            st.first_token_s = loop.time() - t0
                        yield text
            finally:
                await response.aclose()
        except asyncio.CancelledError:
            state.finish = "cancelled"
            raise
        except GeneratorExit:
            state.finish = state.finish or "cancelled"
            raise
        except BaseException:
            state.finish = "error"
            raise
        finally:
            st.finish_reason = state.finish or "stop"
            st.tokens = state.usage_tokens if state.usage_tokens is not None else state.pieces
            st.total_s = loop.time() - t0

    async def _replies(
        self,
        response: httpx.Response,
        params: GenerationParams,
        state: _StreamState,
        deadline: float,
    ) -> AsyncGenerator[str, None]:
        """The visible text pieces of one response; sets ``state.finish``; raises EndpointError."""
        content_type = response.headers.get("content-type", "").lower()
        if response.status_code >= 300:
            raise self._status_error(
                response.status_code, await self._read_some(response, deadline), response
            )
        if "html" in content_type:
            raise self._html_error()
        filt = ControlTokenFilter()
        if content_type.startswith("application/json"):
            text = self._from_json_body(await self._read_some(response, deadline), state)
            text = filt.feed(text) + filt.flush()
            if text:
                state.pieces = max(state.pieces, 1)
                yield text
            return
        parser = SSELineParser()
        chunks = response.aiter_bytes()
        loop = asyncio.get_running_loop()
        first = True
        eof = False
        client_stop = False
        stop_at = deadline
        try:
            while not (eof or state.saw_done or client_stop) and loop.time() < stop_at:
                data = await _before(stop_at, anext(chunks, None))
                if isinstance(data, _Deadline):
                    break
                if data is None:
                    eof = True
                    payloads = parser.close()
                else:
                    if first and _looks_like_html(content_type, data):
                        raise self._html_error()
                    first = False
                    try:
                        payloads = parser.feed(data)
                    except ValueError:
                        raise self._garbage_error("it sent an endless line") from None
                for payload in payloads:
                    piece = self._take(payload, state)
                    if piece:
                        state.pieces += 1
                        visible = filt.feed(piece)
                        if visible:
                            yield visible
                        if filt.stopped:
                            state.finish, client_stop = "stop", True
                        elif state.pieces >= params.max_tokens and state.finish is None:
                            state.finish, client_stop = "length", True
                    if client_stop or state.saw_done:
                        break
                state.junk += parser.junk_lines
                parser.junk_lines = 0
                if state.chunks == 0 and state.junk > MAX_JUNK_BEFORE_FIRST_CHUNK:
                    raise self._garbage_error("it sent lines that are not chat chunks")
                if state.finish is not None and stop_at == deadline:
                    # The reply is complete; wait briefly for [DONE] (usage numbers), no longer.
                    stop_at = min(deadline, loop.time() + AFTER_FINISH_GRACE_S)
        except httpx.HTTPError as exc:
            if state.finish is None:
                raise self._transport_error(
                    exc, timeout_s=self._timeout_s, started=state.chunks > 0
                ) from None
            log.debug("remote LM: %s after the reply was complete (ignored)", type(exc).__name__)
            eof = True
        tail = filt.flush()
        if tail:
            yield tail
        if state.finish is not None:
            return
        if not (eof or state.saw_done):
            state.finish = "deadline"
        elif state.chunks == 0:
            if state.junk:
                raise self._garbage_error("it sent lines that are not chat chunks")
            raise EndpointError(
                f"The LM server at {self._url.base} sent an empty reply — check the server's log."
            )
        elif state.saw_done:
            state.finish = "stop"
        else:
            raise self._closed_error()

    def _take(self, payload: str, state: _StreamState) -> str:
        """Digest one ``data:`` payload: the content text it carries ("" for none)."""
        if payload.strip() == "[DONE]":
            state.saw_done = True
            return ""
        try:
            obj = json.loads(payload)
        except ValueError:
            state.junk += 1
            return ""
        if not isinstance(obj, dict):
            state.junk += 1
            return ""
        if "error" in obj and not obj.get("choices"):
            raise EndpointError(
                f"The LM server at {self._url.base} reported an error: "
                f"{self._scrub(_one_line(_message_in(obj['error'])))} — check the server's log."
            )
        self._take_usage(obj, state)
        choices = obj.get("choices")
        if not isinstance(choices, list):
            state.junk += 1
            return ""
        state.chunks += 1
        if not choices or not isinstance(choices[0], dict):
            return ""
        choice = choices[0]
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason and state.finish is None:
            state.finish = _SERVER_FINISH.get(reason, "stop")
        delta = choice.get("delta")
        # chat chunks carry delta.content; completion-style chunks carry text
        content = delta.get("content") if isinstance(delta, dict) else choice.get("text")
        return content if isinstance(content, str) else ""

    @staticmethod
    def _take_usage(obj: dict[str, Any], state: _StreamState) -> None:
        usage = obj.get("usage")
        if isinstance(usage, dict) and _positive_int(usage.get("completion_tokens")):
            state.usage_tokens = int(usage["completion_tokens"])

    def _from_json_body(self, body: bytes, state: _StreamState) -> str:
        """A server that ignored ``stream: true`` and sent one JSON answer."""
        try:
            obj = json.loads(body)
        except ValueError:
            raise self._garbage_error("its answer is not JSON") from None
        if isinstance(obj, dict) and "error" in obj and not obj.get("choices"):
            raise EndpointError(
                f"The LM server at {self._url.base} reported an error: "
                f"{self._scrub(_one_line(_message_in(obj['error'])))} — check the server's log."
            )
        choices = obj.get("choices") if isinstance(obj, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self._garbage_error("its JSON answer has no reply in it (no 'choices')")
        assert isinstance(obj, dict)
        self._take_usage(obj, state)
        state.chunks += 1
        choice = choices[0]
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else choice.get("text")
        reason = choice.get("finish_reason")
        state.finish = _SERVER_FINISH.get(reason, "stop") if isinstance(reason, str) else "stop"
        return content if isinstance(content, str) else ""

    async def _read_some(self, response: httpx.Response, deadline: float) -> bytes:
        """Up to ``MAX_BODY_BYTES`` of the body (error pages, JSON answers)."""
        buf = bytearray()

        async def read() -> None:
            async for chunk in response.aiter_bytes():
                buf.extend(chunk)
                if len(buf) >= MAX_BODY_BYTES:
                    break

        try:
            await _before(deadline, read())
        except httpx.HTTPError as exc:
            log.debug("remote LM: reading the body failed: %s", type(exc).__name__)
        return bytes(buf)

    # -- errors for people --------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        if self._api_key:
            text = text.replace(self._api_key, "***")
        return text

    def _transport_error(
        self, exc: httpx.HTTPError, *, timeout_s: float, started: bool
    ) -> EndpointError:
        url = self._url.base
        reason = self._scrub(_one_line(str(exc) or type(exc).__name__))
        if isinstance(exc, httpx.ConnectTimeout):
            msg = (
                f"The LM server at {url} did not accept a connection within {timeout_s:g} s — "
                "check that it is running and that the address in Settings is right."
            )
        elif isinstance(exc, httpx.ConnectError):
            if _caused_by(exc, ConnectionRefusedError) or "refused" in reason.lower():
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
                self._closed_error()
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

    def _closed_error(self) -> EndpointError:
        return EndpointError(
            f"The LM server at {self._url.base} closed the connection mid-reply — check the "
            "server's log (it may have crashed or run out of memory)."
        )

    def _html_error(self) -> EndpointError:
        return EndpointError(
            f"The LM server at {self._url.base} answered with a web page, not a chat stream — "
            "the URL must point at the API (usually ending in /v1); fix it in Settings."
        )

    def _garbage_error(self, what: str) -> EndpointError:
        return EndpointError(
            f"The LM server at {self._url.base} answered something that is not a chat stream "
            f"({what}) — check that it is an OpenAI-compatible server (llama-server, vLLM, "
            "Ollama) and that the URL in Settings ends in /v1."
        )

    def _status_error(self, status: int, body: bytes, response: httpx.Response) -> EndpointError:
        url = self._url.base
        detail = self._scrub(_server_message(body))
        if 300 <= status < 400:
            where = self._scrub(_one_line(response.headers.get("location", "") or "elsewhere"))
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


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """True when ``kind`` is anywhere in the chain of causes of ``exc``."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
