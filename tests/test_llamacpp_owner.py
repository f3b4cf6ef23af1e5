"""``LlamaCppEngine``'s owner thread (``her_desktop.native_calls``), on the real llama.cpp with the
tiny GGUF: no lock is held across a native call, a reply goes before background work, and a call
that hangs ends in a plain-words error while the app keeps running.

Where a test needs the owner thread held (as a long decode would hold it), it queues a job that
blocks on an event: the fake part is only that one job; everything else is llama.cpp. The stuck
tests' twins are the fake-owner ones in ``test_native_calls.py``. Bounds only catch hangs.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from her_desktop.llm import llamacpp_owner, llamacpp_reply
from her_desktop.llm.base import BusyError, GenerationParams, LLMError, Message
from her_desktop.llm.llamacpp import STUCK, LlamaCppEngine
from tests.tiny_gguf import chat

BOUND_S = 30.0
HELLO = [Message("system", "You are Sam."), Message("user", "hello there")]


def hold_owner(engine: LlamaCppEngine) -> threading.Event:
    """Hold the engine's owner thread (as a long decode would) until the event is set."""
    release, inside = threading.Event(), threading.Event()

    def long_native_call() -> None:
        inside.set()
        release.wait(BOUND_S)

    engine._calls.submit(long_native_call)
    assert inside.wait(BOUND_S)
    return release


async def test_count_tokens_never_waits_behind_the_owner(tiny_engine: LlamaCppEngine) -> None:
    """``count_tokens`` (on the loop) tokenizes on the tokenizer thread: exact, while the owner
    is busy; formatted_prompt too."""
    await tiny_engine.load()
    exact = tiny_engine.count_tokens(HELLO)
    release = hold_owner(tiny_engine)
    try:
        assert tiny_engine.busy
        assert tiny_engine.count_tokens(HELLO) == exact
        text, tokens = tiny_engine.formatted_prompt(HELLO)
        assert len(tokens) == exact < len(text.encode())  # tokenized, not the byte fallback
    finally:
        release.set()


async def test_a_queued_reply_goes_before_queued_background_work(
    tiny_engine: LlamaCppEngine,
) -> None:
    await tiny_engine.load()
    order: list[str] = []
    real_generate, real_background = (
        tiny_engine._generate_blocking,
        tiny_engine._background_blocking,
    )

    def generate(*args: object) -> None:
        order.append("reply")
        real_generate(*args)  # type: ignore[arg-type]

    def background(*args: object) -> str:
        order.append("background")
        return real_background(*args)  # type: ignore[arg-type]

    tiny_engine._generate_blocking = generate  # type: ignore[method-assign]
    tiny_engine._background_blocking = background  # type: ignore[method-assign]
    release = hold_owner(tiny_engine)
    params = GenerationParams(max_tokens=4, temperature=0.0, deadline_s=BOUND_S)
    aside = asyncio.create_task(tiny_engine.background_generate(HELLO, params))
    await asyncio.sleep(0.05)  # queued first
    reply = asyncio.create_task(chat(tiny_engine, HELLO))
    await asyncio.sleep(0.05)
    assert tiny_engine._calls.urgent_waiting()
    release.set()
    _, stats = await asyncio.wait_for(reply, BOUND_S)
    assert stats.finish_reason in ("stop", "length")
    assert isinstance(await asyncio.wait_for(aside, BOUND_S), str)  # it ran after the reply
    assert order == ["reply", "background"]


async def test_running_background_work_gives_way_at_its_next_token(
    tiny_engine: LlamaCppEngine,
) -> None:
    """Counted in stop checks (tokens and compute chunks), not milliseconds: after the reply
    is queued, the background pass stops at the next check (the one it may be inside)."""
    await tiny_engine.load()
    checks_seen_waiting: list[bool] = []
    running = asyncio.Event()
    loop = asyncio.get_running_loop()

    def yield_to() -> bool:  # called at each stop check the reply did not already end
        checks_seen_waiting.append(tiny_engine._calls.urgent_waiting())
        loop.call_soon_threadsafe(running.set)
        return False

    params = GenerationParams(max_tokens=400, temperature=0.0, deadline_s=BOUND_S)
    aside = asyncio.create_task(tiny_engine.background_generate(HELLO, params, yield_to=yield_to))
    await asyncio.wait_for(running.wait(), BOUND_S)
    _, stats = await chat(tiny_engine, HELLO)
    assert stats.finish_reason in ("stop", "length")
    with pytest.raises(BusyError):
        await asyncio.wait_for(aside, BOUND_S)
    assert checks_seen_waiting.count(True) <= 1


async def test_a_hung_reply_is_a_plain_error_and_the_app_keeps_running(
    tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decode that ignores its deadline and abort (a wedged backend): the real llama.cpp
    generates on and on with the stop check switched off. The stream ends with the plain
    message one grace period after its deadline; later calls fail at once; the loop and
    ``count_tokens`` keep working."""
    engine = LlamaCppEngine(tiny_gguf, n_ctx=16384)
    await engine.load()
    monkeypatch.setattr(llamacpp_owner, "CANCEL_WAIT_S", 0.2)
    monkeypatch.setattr(llamacpp_reply.Reply, "should_stop", lambda self: False)
    params = GenerationParams(max_tokens=16000, temperature=0.0, deadline_s=0.2)
    with pytest.raises(LLMError) as error:
        await asyncio.wait_for(chat(engine, HELLO, params), BOUND_S)
    assert str(error.value) == STUCK
    assert "stopped responding" in STUCK
    assert "Restart her_desktop" in STUCK
    await asyncio.sleep(0)  # the loop is alive
    assert engine.count_tokens(HELLO) > 0
    with pytest.raises(LLMError, match="stopped responding"):
        await asyncio.wait_for(chat(engine, HELLO), BOUND_S)  # at once, no second thread
    with pytest.raises(LLMError, match="stopped responding"):
        await asyncio.wait_for(engine.score_labels(HELLO, ["yes", "no"]), BOUND_S)
    await asyncio.wait_for(engine.close(), BOUND_S)  # shutdown completes (the model is left)
    monkeypatch.undo()  # the left-behind thread sees its deadline and ends


async def test_hung_background_work_is_a_plain_error(
    tiny_engine: LlamaCppEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await tiny_engine.load()
    monkeypatch.setattr(llamacpp_owner, "CANCEL_WAIT_S", 0.2)
    release = threading.Event()
    monkeypatch.setattr(tiny_engine, "_score_blocking", lambda *args: release.wait(BOUND_S))
    try:
        with pytest.raises(LLMError, match="stopped responding"):
            await tiny_engine.score_labels(HELLO, ["yes"], deadline_s=0.1)
    finally:
        release.set()


async def test_queued_background_work_past_its_deadline_is_busy_not_hung(
    tiny_engine: LlamaCppEngine,
) -> None:
    await tiny_engine.load()
    release = hold_owner(tiny_engine)
    try:
        with pytest.raises(BusyError):
            await tiny_engine.score_labels(HELLO, ["yes", "no"], deadline_s=0.1)
        # a queued reply past its deadline ends as "deadline", as before
        _, stats = await chat(tiny_engine, HELLO, GenerationParams(max_tokens=4, deadline_s=0.1))
        assert stats.finish_reason == "deadline"
    finally:
        release.set()
    assert not tiny_engine._calls.hung
    assert await tiny_engine.score_labels(HELLO, ["yes", "no"])


async def test_cancelling_a_queued_reply_returns_at_once(tiny_engine: LlamaCppEngine) -> None:
    await tiny_engine.load()
    release = hold_owner(tiny_engine)
    try:
        reply = asyncio.create_task(chat(tiny_engine, HELLO))
        await asyncio.sleep(0.05)
        reply.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(reply, BOUND_S)
        assert not tiny_engine._calls.urgent_waiting()
    finally:
        release.set()
    _, stats = await chat(tiny_engine, HELLO)
    assert stats.finish_reason in ("stop", "length")
