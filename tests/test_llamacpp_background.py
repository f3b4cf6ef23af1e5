"""``LlamaCppEngine.background_generate``: greedy, grammar-constrained generation in a side
context (memory consolidation). Mechanics on the tiny random GGUF (its text is noise): the
grammar holds, the conversation's cached prompt is untouched, and it gives way between tokens.
The default model's twin is ``test_memory_consolidation.py``'s slow test."""

from __future__ import annotations

import json
import threading

import pytest

from her_desktop.llm.base import BusyError, GenerationParams, Message
from her_desktop.llm.llamacpp import LlamaCppEngine
from her_desktop.memory.extraction import GRAMMAR, parse_candidates
from tests.tiny_gguf import chat


async def test_the_answer_follows_the_grammar(tiny_engine: LlamaCppEngine) -> None:
    messages = [Message("system", "Answer yes or no."), Message("user", "is it raining")]
    params = GenerationParams(max_tokens=8, temperature=0.0, grammar='root ::= "yes" | "no"')
    first = await tiny_engine.background_generate(messages, params)
    assert first in ("yes", "no")
    assert await tiny_engine.background_generate(messages, params) == first  # greedy


async def test_the_memory_grammar_gives_a_json_list_or_is_cut_by_the_token_cap(
    tiny_engine: LlamaCppEngine,
) -> None:
    messages = [Message("user", "my sister lives in Porto")]
    params = GenerationParams(max_tokens=120, temperature=0.0, grammar=GRAMMAR)
    raw = await tiny_engine.background_generate(messages, params)
    assert raw.startswith("[")
    if raw.endswith("]"):
        json.loads(raw)
    parse_candidates(raw)  # never raises


async def test_the_conversation_cache_is_not_evicted(tiny_engine: LlamaCppEngine) -> None:
    conversation = [Message("system", "You are Sam."), Message("user", "hi, how are you")]
    reply, _ = await chat(tiny_engine, conversation)
    turn2 = [*conversation, Message("assistant", reply), Message("user", "and now?")]
    _, before = await chat(tiny_engine, turn2)
    await chat(tiny_engine, conversation)
    params = GenerationParams(max_tokens=20, temperature=0.0)
    await tiny_engine.background_generate([Message("user", "abcdefghij" * 20)], params)
    _, after = await chat(tiny_engine, turn2)
    assert after.cached_tokens == before.cached_tokens > 0


async def test_a_fixed_prefix_is_read_once(tiny_engine: LlamaCppEngine) -> None:
    fixed = [Message("system", "Pick out what to remember. " * 4)]
    params = GenerationParams(max_tokens=2, temperature=0.0)
    await tiny_engine.background_generate([*fixed, Message("user", "first")], params)
    side = tiny_engine._sides.background
    assert side is not None
    evaluated: list[int] = []
    real_set_batch = side.batch.set_batch

    def counting(batch: list[int], n_past: int, logits_all: bool) -> None:
        evaluated.append(len(batch))
        real_set_batch(batch, n_past, logits_all)

    side.batch.set_batch = counting
    await tiny_engine.background_generate([*fixed, Message("user", "second")], params)
    _, prefix = tiny_engine.formatted_prompt(fixed)
    _, whole = tiny_engine.formatted_prompt([*fixed, Message("user", "second")])
    assert sum(evaluated) <= len(whole) - len(prefix) + 8 + params.max_tokens


async def test_it_gives_way_to_the_user_and_to_a_waiting_reply(tiny_engine: LlamaCppEngine) -> None:
    await tiny_engine.load()
    messages = [Message("user", "hello")]
    params = GenerationParams(max_tokens=400, temperature=0.0, deadline_s=60.0)
    user = threading.Event()
    checks = 0

    def started() -> bool:
        nonlocal checks
        checks += 1
        if checks == 50:  # the user starts speaking in the middle of the answer
            user.set()
        return user.is_set()

    with pytest.raises(BusyError):
        await tiny_engine.background_generate(messages, params, yield_to=started)
    assert checks <= 52  # stopped at the next check: between tokens or inside a chunk
    with tiny_engine._calls.urgent_coming(), pytest.raises(BusyError):  # a reply is on its way
        await tiny_engine.background_generate(messages, params)
    _, stats = await chat(tiny_engine, messages)  # the engine is free again
    assert stats.finish_reason in ("stop", "length")


async def test_the_scored_answer_is_the_same_with_a_log_probability_per_token(
    tiny_engine: LlamaCppEngine,
) -> None:
    messages = [Message("system", "Translate."), Message("user", "the cat sleeps")]
    params = GenerationParams(max_tokens=6, temperature=0.0)
    text = await tiny_engine.background_generate(messages, params)
    scored, logprobs = await tiny_engine.background_generate_scored(messages, params)
    assert scored == text
    assert 1 <= len(logprobs) <= 6
    assert all(lp <= 0.0 for lp in logprobs)
