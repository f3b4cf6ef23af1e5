"""``RemoteEngine``: the LM on an OpenAI-compatible chat server (llama-server, vLLM, Ollama /v1).

This is the path for people whose model does not fit their own machine, and it is the ONLY
component of her_desktop that talks to the network — and only to the URL the user configured.

Policy:

- **Where.** ``base_url`` is the API root, e.g. ``http://127.0.0.1:8080/v1`` (validated and
  normalised by :func:`~her_desktop.llm.endpoint.parse_base_url`). Chats go to
  ``{base}/chat/completions``, the reachability check to ``{base}/models``, and llama-server's
  context size is read from ``{root}/props`` (``root`` is ``base`` without its ``/v1``).
  Nothing else is contacted.
- **No surprises on the wire.** The HTTP client runs with ``trust_env=False``: ``HTTP(S)_PROXY``,
  ``ALL_PROXY``, ``.netrc`` and ``SSL_CERT_*`` from the environment are ignored, so a proxy set for
  some other program never receives the conversation. Redirects are not followed (a redirect
  would send the conversation to an address the user did not configure); the error names the
  new address instead. TLS certificates are verified with the bundled CA store.
- **Plain http.** ``http://`` to a loopback address is fine. ``http://`` to any other host is
  allowed (a home server on the LAN is a real use) but :meth:`RemoteEngine.info` marks it
  (``extra["plain_http"] == "yes"`` and ``extra["warning"]``) and recommends https.
- **Secrets.** The API key is sent as ``Authorization: Bearer …`` and never appears in
  ``info()``, ``repr()``, log lines or error messages (:mod:`~her_desktop.llm.server_errors`).
  URLs with ``user:password@`` are refused.
- **Streaming.** ``stream: true``; Server-Sent Events are parsed line by line
  (:mod:`~her_desktop.llm.sse`; every LLM server sends one JSON object per ``data:`` line;
  ``data: [DONE]`` ends the stream; what each payload says is read by
  :mod:`~her_desktop.llm.chat_answer`). Unknown fields are ignored; a few junk lines are
  skipped; a stream that is *all* junk is a clear error. A server that ignores ``stream`` and
  answers one JSON body is accepted too.
- **Bounds.** ``params.deadline_s`` bounds the whole call (load, connect, every read) → finish
  reason ``deadline``; ``timeout_s`` bounds the wait for each read (the first byte included) →
  ``EndpointError`` "did not answer within …". The server's ``finish_reason: "length"`` →
  ``length``; as a safety net the client also stops after ``max_tokens`` streamed pieces.
  Cancelling the consuming task closes the HTTP response at once (the server sees the
  disconnect and stops generating).
- **Output hygiene.** Chat-template control tokens that leak into the text (``<|im_end|>``,
  ``</s>`` …) are removed; an end-of-turn or start-of-another-turn token ends the reply
  (:class:`~her_desktop.llm.control_tokens.ControlTokenFilter`).
- **Counting.** ``count_tokens`` must be synchronous, so it cannot ask the server's
  ``/tokenize``; it returns a conservative estimate (:mod:`~her_desktop.llm.token_estimate`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Sequence
from typing import Any, Final, TypeVar

import httpx

from her_desktop.llm.base import (
    EngineInfo,
    GenerationParams,
    GenerationStats,
    LLMEngine,
    Message,
)
from her_desktop.llm.chat_answer import StreamState, from_json_body, positive_int_at, take
from her_desktop.llm.control_tokens import ControlTokenFilter
from her_desktop.llm.endpoint import parse_base_url
from her_desktop.llm.server_errors import ServerErrors, looks_like_html
from her_desktop.llm.sse import SSELineParser
from her_desktop.llm.token_estimate import estimate_prompt_tokens

log = logging.getLogger(__name__)

T = TypeVar("T")

LOAD_TIMEOUT_S: Final = 5.0
"""The reachability check in ``load()`` gives up after this long (or ``timeout_s`` if shorter)."""
MAX_JUNK_BEFORE_FIRST_CHUNK: Final = 20
"""Junk lines tolerated before the first real chunk; past that the stream is called garbage."""
MAX_BODY_BYTES: Final = 1 << 20
"""Error bodies and non-streamed JSON answers are read up to this size."""
AFTER_FINISH_GRACE_S: Final = 2.0
"""After the server's finish_reason, wait at most this long for ``[DONE]`` (usage numbers)."""


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
        self._errors = ServerErrors(self._url.base, self._api_key)
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
        """A conservative estimate (see :func:`estimate_prompt_tokens`): the method is
        synchronous, so it cannot ask the server's ``/tokenize``."""
        return estimate_prompt_tokens(messages)

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
                raise self._errors.transport(exc, timeout_s=limit_s, started=False) from None
            return None
        if not required and response.status_code != 200:
            return None
        if response.status_code != 200:
            raise self._errors.status(response, response.content)
        try:
            return json.loads(response.content)
        except ValueError:
            if not required:
                return None
            if looks_like_html(response.headers.get("content-type", ""), response.content):
                raise self._errors.html() from None
            raise self._errors.garbage("its model list is not JSON") from None

    def _pick_model(self, models: object) -> dict[str, Any] | None:
        """The entry of the configured model (or the first one, which becomes the model)."""
        data = models.get("data") if isinstance(models, dict) else None
        if not isinstance(models, dict) or (data is not None and not isinstance(data, list)):
            raise self._errors.garbage("its model list has an unexpected shape")
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
        for key in ("max_model_len", "context_length", "n_ctx"):
            if (size := positive_int_at(entry, key)) is not None:
                return size
        return None

    def _trained_cap(self, entry: dict[str, Any] | None) -> int | None:
        """llama-server's ``meta.n_ctx_train`` (the model's trained window) only lowers the
        configured size; it says nothing of the window the server actually allocated."""
        trained = positive_int_at(entry.get("meta") if entry is not None else None, "n_ctx_train")
        if trained is not None and trained < self._configured_context:
            return trained
        return None

    @staticmethod
    def _context_from_props(props: object) -> int | None:
        """llama-server: ``default_generation_settings.n_ctx`` is one slot's window."""
        if not isinstance(props, dict):
            return None
        slot = positive_int_at(props.get("default_generation_settings"), "n_ctx")
        return slot if slot is not None else positive_int_at(props, "n_ctx")

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
        # Only the OpenAI-standard penalties, and only when on: a strict server (OpenAI itself)
        # rejects fields it does not know, so min_p and repeat_penalty stay in-process only.
        if params.presence_penalty:
            body["presence_penalty"] = params.presence_penalty
        if params.frequency_penalty:
            body["frequency_penalty"] = params.frequency_penalty
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
        state = StreamState()
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
                raise self._errors.transport(
                    exc, timeout_s=self._timeout_s, started=False
                ) from None
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
        state: StreamState,
        deadline: float,
    ) -> AsyncGenerator[str, None]:
        """The visible text pieces of one response; sets ``state.finish``; raises EndpointError."""
        content_type = response.headers.get("content-type", "").lower()
        if response.status_code >= 300:
            raise self._errors.status(response, await self._read_some(response, deadline))
        if "html" in content_type:
            raise self._errors.html()
        filt = ControlTokenFilter()
        if content_type.startswith("application/json"):
            text = from_json_body(await self._read_some(response, deadline), state, self._errors)
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
                    if first and looks_like_html(content_type, data):
                        raise self._errors.html()
                    first = False
                    try:
                        payloads = parser.feed(data)
                    except ValueError:
                        raise self._errors.garbage("it sent an endless line") from None
                for payload in payloads:
                    piece = take(payload, state, self._errors)
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
                    raise self._errors.garbage("it sent lines that are not chat chunks")
                if state.finish is not None and stop_at == deadline:
                    # The reply is complete; wait briefly for [DONE] (usage numbers), no longer.
                    stop_at = min(deadline, loop.time() + AFTER_FINISH_GRACE_S)
        except httpx.HTTPError as exc:
            if state.finish is None:
                raise self._errors.transport(
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
                raise self._errors.garbage("it sent lines that are not chat chunks")
            raise self._errors.empty()
        elif state.saw_done:
            state.finish = "stop"
        else:
            raise self._errors.closed()

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
