"""RemoteEngine against a fake OpenAI-compatible server on loopback, and against a real one.

The fake server runs in a thread on 127.0.0.1 (a free port). Each scenario has its own base URL,
``http://127.0.0.1:PORT/<scenario>/v1``, so one server plays every kind of good and bad server.
The real-server tests start ``python -m llama_cpp.server`` on the tiny test GGUF.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from her_desktop.llm.base import (
    EndpointError,
    GenerationParams,
    GenerationStats,
    LLMEngine,
    Message,
)
from her_desktop.llm.endpoint import parse_base_url
from her_desktop.llm.remote import RemoteEngine
from her_desktop.llm.sse import SSELineParser
from her_desktop.llm.token_estimate import (
    MESSAGE_OVERHEAD_TOKENS,
    REPLY_PRIMING_TOKENS,
    estimate_tokens,
)

MESSAGES = (Message("system", "You are kind."), Message("user", "Say hello."))
STREAM_BOUND_S = 20.0
"""No fake stream runs longer than this, whatever the client does."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ---------------------------------------------------------------------------------------------
# The fake server
# ---------------------------------------------------------------------------------------------


@dataclass
class Seen:
    """One request the fake server received."""

    scenario: str
    endpoint: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    closed: threading.Event = field(default_factory=threading.Event)
    closed_at: float | None = None


def chunk(content: str | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    delta: dict[str, Any] = {} if content is None else {"content": content}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing -----------------------------------------------------------------------------

    def send_json(self, status: int, obj: object, content_type: str = "application/json") -> None:
        body = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self, content_type: str = "text/event-stream") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

    def raw(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def sse(self, obj: object) -> None:
        payload = obj if isinstance(obj, str) else json.dumps(obj)
        self.raw(f"data: {payload}\n\n".encode())

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def pause(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; True when it is."""
        return self.server.stopping.wait(seconds)

    # -- routing ------------------------------------------------------------------------------

    def route(self) -> tuple[str, str]:
        parts = self.path.strip("/").split("/", 1)
        return parts[0], (parts[1] if len(parts) > 1 else "")

    def do_GET(self) -> None:
        scenario, endpoint = self.route()
        self.server.record(Seen(scenario, endpoint, dict(self.headers), None))
        if scenario == "unauthorized":
            self.send_json(401, {"error": {"message": "Invalid API Key", "type": "auth_error"}})
        elif scenario == "webui":
            self.send_json(200, b"<!DOCTYPE html><html><body>Chat UI</body></html>", "text/html")
        elif endpoint == "v1/models" and scenario == "nomodels":
            self.send_json(200, {"object": "list", "data": []})
        elif endpoint == "v1/models" and scenario == "trained":
            self.send_json(200, {"data": [{"id": "m", "meta": {"n_ctx_train": 1024}}]})
        elif endpoint == "v1/models" and scenario == "ok":
            meta = {"n_ctx_train": 32768, "n_vocab": 1000}
            self.send_json(200, {"data": [{"id": "fake-model", "meta": meta}, {"id": "b"}]})
        elif endpoint == "v1/models" and scenario == "vllm":
            self.send_json(200, {"data": [{"id": "org/big", "max_model_len": 8192}]})
        elif endpoint == "v1/models":
            self.send_json(200, {"object": "list", "data": [{"id": "fake-model"}, {"id": "b"}]})
        elif endpoint == "props" and scenario == "ok":
            self.send_json(200, {"default_generation_settings": {"n_ctx": 2048}, "total_slots": 1})
        else:
            self.send_json(404, {"error": {"message": "File Not Found", "code": 404}})

    def do_POST(self) -> None:
        scenario, endpoint = self.route()
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"null")
        seen = Seen(scenario, endpoint, dict(self.headers), body)
        self.server.record(seen)
        if endpoint != "v1/chat/completions":
            self.send_json(404, {"error": {"message": "File Not Found"}})
            return
        try:
            getattr(self, f"chat_{scenario}", self.chat_ok)()
            if scenario == "midclose":
                self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            seen.closed_at = time.perf_counter()
            seen.closed.set()
            self.close_connection = True

    # -- scenarios ----------------------------------------------------------------------------

    def chat_ok(self) -> None:
        self.start_stream()
        self.sse(chunk(None) | {"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
        for token in ("Hello", ",", " world", "!"):
            self.sse(chunk(token))
        self.sse(chunk(None, "stop"))
        self.sse({"choices": [], "usage": {"completion_tokens": 4, "prompt_tokens": 12}})
        self.sse("[DONE]")
        self.end_stream()

    chat_nomodels = chat_ok
    chat_vllm = chat_ok

    def chat_length(self) -> None:
        self.start_stream()
        for token in ("a", "b", "c"):
            self.sse(chunk(token))
        self.sse(chunk(None, "length"))
        self.sse("[DONE]")
        self.end_stream()

    def chat_forever(self) -> None:
        self.start_stream()
        end = time.monotonic() + STREAM_BOUND_S
        while time.monotonic() < end and not self.pause(0.005):
            self.sse(chunk("tick "))
        self.end_stream()

    def chat_slow(self) -> None:
        if not self.pause(3.0):
            self.chat_ok()

    def chat_stall(self) -> None:
        self.start_stream()
        self.sse(chunk("Hel"))
        if not self.pause(5.0):
            self.sse(chunk("lo", "stop"))
            self.sse("[DONE]")
            self.end_stream()

    def chat_error500(self) -> None:
        message = "model crashed: out of memory " + "x" * 500
        self.send_json(500, {"error": {"code": 500, "message": message, "type": "server_error"}})

    def chat_html(self) -> None:
        self.send_json(200, b"<!DOCTYPE html><html><body>Welcome</body></html>", "text/html")

    def chat_html_as_sse(self) -> None:
        self.start_stream()
        self.raw(b"<!DOCTYPE html>\n<html><body>oops</body></html>\n")
        self.end_stream()

    def chat_garbage(self) -> None:
        self.start_stream()
        for _ in range(5):
            self.sse("this is not json")
        self.end_stream()

    def chat_junk_forever(self) -> None:
        self.start_stream()
        end = time.monotonic() + STREAM_BOUND_S
        while time.monotonic() < end and not self.pause(0.002):
            self.raw(b"hello world, no SSE here\n")
        self.end_stream()

    def chat_nochoices(self) -> None:
        self.send_json(200, {"id": "x", "object": "chat.completion"})

    def chat_nochoices_sse(self) -> None:
        self.start_stream()
        for _ in range(3):
            self.sse({"id": "x", "object": "chat.completion.chunk"})
        self.sse("[DONE]")
        self.end_stream()

    def chat_json(self) -> None:
        message = {"role": "assistant", "content": "Hi there."}
        choice = {"message": message, "index": 0, "finish_reason": "stop"}
        self.send_json(200, {"choices": [choice], "usage": {"completion_tokens": 3}})

    def chat_midclose(self) -> None:
        self.start_stream()
        self.sse(chunk("one"))
        self.sse(chunk(" two"))
        # no terminating chunk: the handler returns and the server closes the socket

    def chat_cut(self) -> None:
        self.start_stream()
        self.sse(chunk("one"))
        self.end_stream()

    def chat_tolerant(self) -> None:
        self.start_stream()
        self.raw(b": keep-alive\n\nevent: message\nid: 1\n")
        self.sse(chunk("Hi") | {"system_fingerprint": "b1", "x_extra": {"a": 1}})
        self.sse("not json, skipped")
        self.sse({"choices": [{"index": 0}]})  # no delta
        self.sse({"choices": [{"index": 0, "delta": {"content": None}}]})
        self.raw(b'data:{"choices":[{"delta":{"content":" there"}}]}\r\n\r\n')
        self.sse(chunk(None, "stop") | {"timings": {"cache_n": 3}})
        self.sse("[DONE]")
        self.end_stream()

    def chat_tags(self) -> None:
        self.start_stream()
        for token in ("Sure", "<|assistant|>", "!", "<|im_"):
            self.sse(chunk(token))
        self.sse(chunk("end|>"))
        self.sse(chunk("<|im_start|>user\nHijacked"))
        if not self.pause(1.0):
            self.sse(chunk(None, "stop"))
            self.sse("[DONE]")
            self.end_stream()

    def chat_errorchunk(self) -> None:
        self.start_stream()
        self.sse(chunk("Hi"))
        self.sse({"error": {"code": 500, "message": "the request exceeds the context size"}})
        self.end_stream()

    def chat_unauthorized(self) -> None:
        self.send_json(401, {"error": {"message": "Invalid API Key", "type": "auth_error"}})

    def chat_redirect(self) -> None:
        self.send_response(307)
        self.send_header("Location", "http://203.0.113.9/v1/chat/completions")
        self.send_header("Content-Length", "0")
        self.end_headers()


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.stopping = threading.Event()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    def url(self, scenario: str) -> str:
        return f"http://127.0.0.1:{self.port}/{scenario}/v1"

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def last(self, scenario: str, endpoint: str = "v1/chat/completions") -> Seen:
        with self._lock:
            matches = [s for s in self.seen if (s.scenario, s.endpoint) == (scenario, endpoint)]
        return matches[-1]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    thread = threading.Thread(target=server.serve_forever, name="fake-openai", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
async def engines() -> AsyncIterator[Callable[..., RemoteEngine]]:
    """Make engines; every one is closed after the test."""
    made: list[RemoteEngine] = []

    def make(*args: Any, **kwargs: Any) -> RemoteEngine:
        engine = RemoteEngine(*args, **kwargs)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        await engine.close()


async def collect(
    engine: LLMEngine, params: GenerationParams | None = None
) -> tuple[str, GenerationStats]:
    stats = GenerationStats()
    pieces = [p async for p in engine.stream(MESSAGES, params or GenerationParams(), stats)]
    return "".join(pieces), stats


async def drain(
    engine: LLMEngine, params: GenerationParams, stats: GenerationStats, got: list[str]
) -> None:
    async for piece in engine.stream(MESSAGES, params, stats):
        got.append(piece)


async def expect_error(engine: LLMEngine, params: GenerationParams | None = None) -> str:
    stats = GenerationStats()
    with pytest.raises(EndpointError) as info:
        async for _ in engine.stream(MESSAGES, params or GenerationParams(), stats):
            pass
    assert stats.finish_reason == "error"
    return str(info.value)


# ---------------------------------------------------------------------------------------------
# Good servers
# ---------------------------------------------------------------------------------------------


async def test_streams_a_reply(fake: FakeServer, engines: Callable[..., RemoteEngine]) -> None:
    engine = engines(fake.url("ok"))
    text, stats = await collect(engine)
    assert text == "Hello, world!"
    assert stats.finish_reason == "stop"
    assert stats.tokens == 4  # from the server's usage
    assert stats.first_token_s is not None
    assert 0 <= stats.first_token_s <= stats.total_s


async def test_load_picks_model_and_context(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    engine = engines(fake.url("ok"), context_size=4096)
    await engine.load()
    await engine.load()  # idempotent
    assert engine.model == "fake-model"  # the first one the server lists
    assert engine.context_size == 2048  # llama-server's /props
    info = engine.info()
    assert (info.engine, info.model, info.context_size) == ("remote", "fake-model", 2048)
    assert info.extra["url"] == fake.url("ok")
    assert info.extra["context_source"] == "server"
    assert info.extra["plain_http"] == "no"
    assert "warning" not in info.extra
    assert sum(s.endpoint == "v1/models" for s in fake.seen if s.scenario == "ok") >= 1


async def test_context_from_vllm_and_fallback(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    vllm = engines(fake.url("vllm"), context_size=1000)
    await vllm.load()
    assert vllm.context_size == 8192
    plain = engines(fake.url("nomodels"), context_size=3000)
    await plain.load()
    assert plain.context_size == 3000
    assert plain.info().extra["context_source"] == "configured"
    trained = engines(fake.url("trained"), context_size=3000)  # no /props: the trained window caps
    await trained.load()
    assert trained.context_size == 1024
    roomy = engines(fake.url("trained"), context_size=512)
    await roomy.load()
    assert roomy.context_size == 512


async def test_request_body(fake: FakeServer, engines: Callable[..., RemoteEngine]) -> None:
    engine = engines(fake.url("ok"), model="my-model")
    params = GenerationParams(max_tokens=17, temperature=0.2, top_p=0.5, stop=("\n\n",), seed=7)
    await collect(engine, params)
    body = fake.last("ok").body
    assert body is not None
    assert body["stream"] is True
    assert body["model"] == "my-model"  # configured: not replaced by the server's first
    assert body["messages"] == [
        {"role": "system", "content": "You are kind."},
        {"role": "user", "content": "Say hello."},
    ]
    assert (body["max_tokens"], body["temperature"], body["top_p"]) == (17, 0.2, 0.5)
    assert (body["stop"], body["seed"]) == (["\n\n"], 7)
    assert "grammar" not in body
    assert "presence_penalty" not in body  # off: not sent
    assert "min_p" not in body  # not an OpenAI field

    await collect(engine, GenerationParams(presence_penalty=0.4, frequency_penalty=0.1))
    body = fake.last("ok").body
    assert body is not None
    assert (body["presence_penalty"], body["frequency_penalty"]) == (0.4, 0.1)

    grammar = 'root ::= "yes" | "no"'
    await collect(engine, GenerationParams(grammar=grammar))
    body = fake.last("ok").body
    assert body is not None
    assert body["grammar"] == grammar
    assert "stop" not in body
    assert "seed" not in body


async def test_no_model_sent_when_server_lists_none(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    engine = engines(fake.url("nomodels"))
    text, _ = await collect(engine)
    assert text == "Hello, world!"
    body = fake.last("nomodels").body
    assert body is not None
    assert "model" not in body
    assert engine.info().model == "(server default)"


async def test_api_key_sent_never_shown(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    secret = "sk-very-secret-123"
    engine = engines(fake.url("ok"), api_key=secret)
    await collect(engine)
    assert fake.last("ok").headers["Authorization"] == f"Bearer {secret}"
    assert secret not in repr(engine)
    assert secret not in repr(engine.info())
    no_key = engines(fake.url("ok"))
    await collect(no_key)
    assert "Authorization" not in fake.last("ok").headers


async def test_server_length_finish(fake: FakeServer, engines: Callable[..., RemoteEngine]) -> None:
    text, stats = await collect(engines(fake.url("length")))
    assert (text, stats.finish_reason, stats.tokens) == ("abc", "length", 3)


async def test_client_side_token_cap(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    """The server ignores max_tokens: the client stops after max_tokens pieces anyway."""
    text, stats = await collect(engines(fake.url("forever")), GenerationParams(max_tokens=5))
    assert text == "tick " * 5
    assert (stats.finish_reason, stats.tokens) == ("length", 5)
    seen = fake.last("forever")
    assert await asyncio.to_thread(seen.closed.wait, 10), "the server kept streaming"


async def test_tolerates_unknown_fields_and_junk(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    text, stats = await collect(engines(fake.url("tolerant")))
    assert text == "Hi there"
    assert stats.finish_reason == "stop"


async def test_accepts_a_non_streamed_answer(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    text, stats = await collect(engines(fake.url("json")))
    assert (text, stats.finish_reason, stats.tokens) == ("Hi there.", "stop", 3)


async def test_control_tokens_stripped_and_end_the_turn(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    text, stats = await collect(engines(fake.url("tags")))
    assert text == "Sure!"
    assert stats.finish_reason == "stop"


async def test_ignores_proxy_environment(
    fake: FakeServer, engines: Callable[..., RemoteEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """trust_env=False: a proxy set for other programs never sees the conversation."""
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, dead_proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    text, _ = await collect(engines(fake.url("ok")))
    assert text == "Hello, world!"
    # the same environment does reroute a default httpx client: the guard above is real
    async with httpx.AsyncClient() as default_client:
        with pytest.raises(httpx.ConnectError):  # it tried the dead proxy
            await default_client.get(fake.url("ok") + "/models")


# ---------------------------------------------------------------------------------------------
# Deadline and cancellation
# ---------------------------------------------------------------------------------------------


async def test_deadline_bounds_the_stream(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    engine = engines(fake.url("forever"))
    await engine.load()
    t0 = time.perf_counter()
    text, stats = await collect(engine, GenerationParams(max_tokens=100_000, deadline_s=0.3))
    elapsed = time.perf_counter() - t0
    print(f"deadline 0.3 s: stream ended after {elapsed * 1000:.0f} ms")
    assert stats.finish_reason == "deadline"
    assert text.startswith("tick ")
    assert elapsed < 5.0
    seen = fake.last("forever")
    assert await asyncio.to_thread(seen.closed.wait, 10), "the response was not closed"


async def test_deadline_before_first_byte(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    """A deadline shorter than the timeout ends the reply as 'deadline', not as an error."""
    engine = engines(fake.url("slow"), timeout_s=30)
    await engine.load()
    text, stats = await collect(engine, GenerationParams(deadline_s=0.2))
    assert (text, stats.finish_reason) == ("", "deadline")


async def test_cancel_closes_the_response_fast(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    engine = engines(fake.url("forever"))
    stats = GenerationStats()
    got: list[str] = []
    streaming = asyncio.Event()

    async def consume() -> None:
        params = GenerationParams(max_tokens=100_000, deadline_s=60)
        async for piece in engine.stream(MESSAGES, params, stats):
            got.append(piece)
            if len(got) == 3:
                streaming.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(streaming.wait(), 10)
    t0 = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cancel_s = time.perf_counter() - t0
    seen = fake.last("forever")
    assert await asyncio.to_thread(seen.closed.wait, 10), "the server kept streaming"
    assert seen.closed_at is not None
    server_s = seen.closed_at - t0
    print(f"cancel: task done in {cancel_s * 1e3:.1f} ms, server saw it in {server_s * 1e3:.1f} ms")
    assert stats.finish_reason == "cancelled"
    assert cancel_s < 1.0  # the target is < 50 ms; a generous bound against a loaded machine


async def test_breaking_out_with_aclosing_closes_the_response(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    engine = engines(fake.url("forever"))
    stats = GenerationStats()
    params = GenerationParams(max_tokens=100_000)
    stream = engine.stream(MESSAGES, params, stats)
    assert isinstance(stream, AsyncGenerator)
    async with contextlib.aclosing(stream) as pieces:
        async for _ in pieces:
            break
    assert stats.finish_reason == "cancelled"
    seen = fake.last("forever")
    assert await asyncio.to_thread(seen.closed.wait, 10)


# ---------------------------------------------------------------------------------------------
# Bad servers: every failure is an EndpointError naming the URL and the fix
# ---------------------------------------------------------------------------------------------


async def test_endpoint_down(engines: Callable[..., RemoteEngine]) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    engine = engines(url)
    with pytest.raises(EndpointError) as info:
        await engine.load()
    expected = f"Nothing is listening at {url} — start your server or fix the URL in Settings."
    assert str(info.value) == expected
    assert await expect_error(engine) == expected


async def test_slow_first_byte(fake: FakeServer, engines: Callable[..., RemoteEngine]) -> None:
    engine = engines(fake.url("slow"), timeout_s=0.3)
    t0 = time.perf_counter()
    message = await expect_error(engine, GenerationParams(deadline_s=30))
    print(f"timeout 0.3 s: error after {(time.perf_counter() - t0) * 1000:.0f} ms")
    assert message.startswith(f"The LM server at {fake.url('slow')} did not answer within 0.3 s")
    assert "raise the timeout in Settings" in message


async def test_stall_mid_reply(fake: FakeServer, engines: Callable[..., RemoteEngine]) -> None:
    engine = engines(fake.url("stall"), timeout_s=1.0)
    stats = GenerationStats()
    got: list[str] = []
    with pytest.raises(EndpointError, match=r"stopped sending mid-reply for more than 1 s"):
        await drain(engine, GenerationParams(), stats, got)
    assert got == ["Hel"]
    assert stats.finish_reason == "error"


async def test_http_500_quotes_the_server(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    message = await expect_error(engines(fake.url("error500")))
    assert message.startswith(
        f"The LM server at {fake.url('error500')} answered with an error "
        "(HTTP 500: model crashed: out of memory xxx"
    )
    assert message.endswith("…) — check the server's log.")
    assert len(message) < 400  # the server's message is truncated


async def test_http_401_points_at_the_key(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    engine = engines(fake.url("unauthorized"), api_key="sk-abc")
    with pytest.raises(EndpointError) as info:
        await engine.load()
    message = str(info.value)
    assert "HTTP 401: Invalid API Key" in message
    assert message.endswith("check the API key in Settings.")
    assert "sk-abc" not in message


async def test_html_page(fake: FakeServer, engines: Callable[..., RemoteEngine]) -> None:
    for scenario in ("html", "html_as_sse"):
        message = await expect_error(engines(fake.url(scenario)))
        assert message == (
            f"The LM server at {fake.url(scenario)} answered with a web page, not a chat stream "
            "— the URL must point at the API (usually ending in /v1); fix it in Settings."
        )
    with pytest.raises(EndpointError, match="answered with a web page"):
        await engines(fake.url("webui")).load()


@pytest.mark.parametrize(
    ("scenario", "what"),
    [
        ("garbage", "it sent lines that are not chat chunks"),
        ("junk_forever", "it sent lines that are not chat chunks"),
        ("nochoices", "its JSON answer has no reply in it (no 'choices')"),
        ("nochoices_sse", "it sent lines that are not chat chunks"),
    ],
)
async def test_garbage(
    fake: FakeServer, engines: Callable[..., RemoteEngine], scenario: str, what: str
) -> None:
    t0 = time.perf_counter()
    message = await expect_error(engines(fake.url(scenario)), GenerationParams(deadline_s=30))
    assert time.perf_counter() - t0 < 10  # an endless junk stream is refused early
    assert message == (
        f"The LM server at {fake.url(scenario)} answered something that is not a chat stream "
        f"({what}) — check that it is an OpenAI-compatible server (llama-server, vLLM, Ollama) "
        "and that the URL in Settings ends in /v1."
    )


@pytest.mark.parametrize("scenario", ["midclose", "cut"])
async def test_connection_closed_mid_reply(
    fake: FakeServer, engines: Callable[..., RemoteEngine], scenario: str
) -> None:
    engine = engines(fake.url(scenario))
    got: list[str] = []
    with pytest.raises(EndpointError) as info:
        await drain(engine, GenerationParams(), GenerationStats(), got)
    assert got[0] == "one"
    assert str(info.value) == (
        f"The LM server at {fake.url(scenario)} closed the connection mid-reply — check the "
        "server's log (it may have crashed or run out of memory)."
    )


async def test_error_chunk(fake: FakeServer, engines: Callable[..., RemoteEngine]) -> None:
    message = await expect_error(engines(fake.url("errorchunk")))
    assert message == (
        f"The LM server at {fake.url('errorchunk')} reported an error: the request exceeds the "
        "context size — check the server's log."
    )


async def test_redirect_is_not_followed(
    fake: FakeServer, engines: Callable[..., RemoteEngine]
) -> None:
    message = await expect_error(engines(fake.url("redirect")))
    assert "redirects to http://203.0.113.9/v1/chat/completions (HTTP 307)" in message
    assert "put that address in Settings if you trust it" in message


async def test_wrong_path_404(fake: FakeServer, engines: Callable[..., RemoteEngine]) -> None:
    engine = engines(f"http://127.0.0.1:{fake.port}/nothing-here")
    with pytest.raises(EndpointError) as info:
        await engine.load()
    assert "HTTP 404: File Not Found" in str(info.value)
    assert "the URL usually ends in /v1" in str(info.value)


# ---------------------------------------------------------------------------------------------
# URL policy
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("localhost:8080/v1", "it must start with http:// or https://"),
        ("127.0.0.1:8080", "it must start with http:// or https://"),
        ("ftp://host/v1", "it must start with http:// or https://"),
        ("http://", "it has no host name"),
        ("http://:8080/v1", "it has no host name"),
        ("http://user:pw@host/v1", "it must not contain a user name or password"),
        ("http://host:99999/v1", "it cannot be read"),
        ("http://host/v1?key=1", "it must not contain '?' or '#'"),
        ("http://my host/v1", "it must not contain spaces"),
    ],
)
def test_invalid_urls(url: str, why: str) -> None:
    with pytest.raises(EndpointError) as info:
        RemoteEngine(url)
    message = str(info.value)
    assert why in message
    assert message.endswith("— fix it in Settings.")
    assert "e.g. http://127.0.0.1:8080/v1" in message


@pytest.mark.parametrize(
    ("url", "base", "root", "plain_remote"),
    [
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080", False),
        ("http://localhost:8080", "http://localhost:8080/v1", "http://localhost:8080", False),
        (
            "HTTP://LocalHost:11434/v1/",
            "http://localhost:11434/v1",
            "http://localhost:11434",
            False,
        ),
        ("http://[::1]:8000/v1", "http://[::1]:8000/v1", "http://[::1]:8000", False),
        (
            "https://llm.example.org/v1",
            "https://llm.example.org/v1",
            "https://llm.example.org",
            False,
        ),
        (
            "http://192.168.1.20:8080/v1",
            "http://192.168.1.20:8080/v1",
            "http://192.168.1.20:8080",
            True,
        ),
        ("http://box.lan/llm/v1", "http://box.lan/llm/v1", "http://box.lan/llm", True),
    ],
)
def test_url_normalisation(url: str, base: str, root: str, plain_remote: bool) -> None:
    parsed = parse_base_url(url)
    assert (parsed.base, parsed.root, parsed.plain_http_remote) == (base, root, plain_remote)


def test_plain_http_to_another_machine_is_marked() -> None:
    engine = RemoteEngine("http://192.168.1.20:8080/v1")  # nothing is contacted here
    info = engine.info()
    assert info.extra["plain_http"] == "yes"
    assert engine.warning is not None
    assert info.extra["warning"] == engine.warning
    assert "unencrypted" in engine.warning
    assert "https://" in engine.warning
    for safe in ("https://192.168.1.20/v1", "http://127.0.0.1:8080/v1", "http://localhost/v1"):
        assert RemoteEngine(safe).warning is None
        assert RemoteEngine(safe).info().extra["plain_http"] == "no"


def test_bad_numbers_rejected() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        RemoteEngine("http://127.0.0.1/v1", timeout_s=0)
    with pytest.raises(ValueError, match="context_size"):
        RemoteEngine("http://127.0.0.1/v1", context_size=0)


# ---------------------------------------------------------------------------------------------
# Pure helpers: token estimate, SSE parser (the control-token filter: test_control_tokens.py)
# ---------------------------------------------------------------------------------------------


def test_count_tokens_is_a_generous_estimate() -> None:
    engine = RemoteEngine("http://127.0.0.1:1/v1")
    assert engine.count_tokens([]) == REPLY_PRIMING_TOKENS
    one = engine.count_tokens([Message("user", "")])
    assert one == REPLY_PRIMING_TOKENS + MESSAGE_OVERHEAD_TOKENS
    english = "The quick brown fox jumps over the lazy dog. " * 10
    assert estimate_tokens(english) >= len(english) / 3.5  # real tokenizers: ~len / 4.5
    assert estimate_tokens("2024-06-01") >= 8  # digits count one each
    assert estimate_tokens("こんにちは") >= 5  # CJK: at least one per character
    assert estimate_tokens("😀") >= 2


@given(st.lists(st.text(max_size=200), max_size=6), st.text(max_size=200))
def test_count_tokens_grows_with_the_prompt(texts: list[str], more: str) -> None:
    engine = RemoteEngine("http://127.0.0.1:1/v1")
    messages = [Message("user", t) for t in texts]
    base = engine.count_tokens(messages)
    assert base >= REPLY_PRIMING_TOKENS + MESSAGE_OVERHEAD_TOKENS * len(messages)
    assert engine.count_tokens([*messages, Message("assistant", more)]) > base
    assert base >= sum(len(t.encode()) for t in texts) / 4


_PAYLOADS = st.lists(
    st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"])),
    max_size=8,
)


@settings(max_examples=200)
@given(_PAYLOADS, st.sampled_from(["\n", "\r\n", "\r"]), st.lists(st.integers(0, 400), max_size=8))
def test_sse_parser_ignores_chunking(payloads: list[str], eol: str, cuts: list[int]) -> None:
    stream = "".join(f": ping{eol}event: message{eol}data: {p}{eol}{eol}" for p in payloads)
    data = stream.encode()
    points = sorted({min(c, len(data)) for c in cuts})
    parser = SSELineParser()
    out: list[str] = []
    for a, b in zip([0, *points], [*points, len(data)], strict=True):
        out.extend(parser.feed(data[a:b]))
    out.extend(parser.close())
    assert out == payloads
    assert parser.junk_lines == 0


def test_sse_parser_counts_junk_and_limits_lines() -> None:
    parser = SSELineParser(max_line_bytes=100)
    assert parser.feed(b'hello\n{"a": 1}\ndata:x\n') == ["x"]
    assert parser.junk_lines == 2
    assert parser.feed(b"data: last") == []
    assert parser.close() == ["last"]
    with pytest.raises(ValueError, match="too long"):
        parser.feed(b"x" * 101)


# ---------------------------------------------------------------------------------------------
# A real OpenAI-compatible server: llama_cpp.server on the tiny test model
# ---------------------------------------------------------------------------------------------


@dataclass
class RealServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def real_server(tiny_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed")
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(tiny_gguf),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "256", "--n_threads", "1",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server not ready in 120 s: {log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/models", timeout=1, trust_env=False).status_code == 200:
                    break
            time.sleep(0.2)
        yield RealServer(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


async def test_real_server_streams_a_reply(
    real_server: RealServer, engines: Callable[..., RemoteEngine]
) -> None:
    engine = engines(real_server.url)
    await engine.load()
    assert engine.model  # llama_cpp.server lists its model
    text, stats = await collect(engine, GenerationParams(max_tokens=12, seed=1, deadline_s=60))
    print(f"real server: {stats.tokens} tokens, first after {stats.first_token_s}s: {text!r}")
    assert stats.finish_reason in ("stop", "length")
    assert stats.tokens > 0
    assert text


async def test_real_server_grammar(
    real_server: RealServer, engines: Callable[..., RemoteEngine]
) -> None:
    engine = engines(real_server.url)
    params = GenerationParams(max_tokens=8, grammar='root ::= "yes" | "no"', seed=3)
    text, stats = await collect(engine, params)
    assert text in ("yes", "no"), f"grammar ignored by the server: {text!r}"
    assert stats.finish_reason == "stop"


async def test_real_server_survives_cancel(
    real_server: RealServer, engines: Callable[..., RemoteEngine]
) -> None:
    engine = engines(real_server.url)
    streaming = asyncio.Event()

    async def consume() -> None:
        # llama_cpp.server finishes a request whose client left before it serves the next
        # (llama-server proper stops at once): keep the abandoned request short.
        params = GenerationParams(max_tokens=40, deadline_s=60)
        async for _ in engine.stream(MESSAGES, params):
            streaming.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(streaming.wait(), 60)
    t0 = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    print(f"real server cancel: {(time.perf_counter() - t0) * 1000:.1f} ms")
    _, stats = await collect(engine, GenerationParams(max_tokens=4, deadline_s=60))
    assert stats.finish_reason in ("stop", "length")
