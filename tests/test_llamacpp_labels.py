"""``LlamaCppEngine.score_labels``: the one-pass label scorer on its side context.

Mechanics on the tiny random GGUF (its scores are noise); the default model, marked slow, for
meaning: implicit situations read right, and the conversation's cache left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from her_desktop.affect.base import EMOTIONS
from her_desktop.affect.lm_label import LMLabeler
from her_desktop.events import EmotionLabel
from her_desktop.llm.base import BusyError, Message
from her_desktop.llm.llamacpp import LlamaCppEngine
from tests.tiny_gguf import chat

LABELS = ["joy", "sadness", "anger", "fear", "surprise", "neutral"]


async def test_scores_are_log_probabilities_and_repeatable(tiny_engine: LlamaCppEngine) -> None:
    messages = [Message("system", "Name the feeling."), Message("user", "hello there")]
    first = await tiny_engine.score_labels(messages, LABELS)
    assert set(first) == set(LABELS)
    assert all(math.isfinite(v) and v <= 0.0 for v in first.values())
    assert sum(math.exp(v) for v in first.values()) <= 1.0 + 1e-6
    again = await tiny_engine.score_labels(messages, LABELS)
    assert again == pytest.approx(first, abs=1e-4)  # from the cached prefix, same answer
    assert await tiny_engine.score_labels(messages, []) == {}


async def test_a_label_of_several_tokens_is_scored_whole(tiny_engine: LlamaCppEngine) -> None:
    """One token per character in the tiny vocabulary: log P("ab") = log P("a") +
    log P("b" | "a"), the second read on a side sequence, leaving the prompt's cache as it was."""
    messages = [Message("user", "hello there")]
    whole = await tiny_engine.score_labels(messages, ["ab", "a", "c"])
    again = await tiny_engine.score_labels(messages, ["c", "ab", "a"])
    assert again == pytest.approx(whole, abs=1e-4)
    # the same figures from the main context, token by token
    _, prompt = tiny_engine.formatted_prompt(messages)
    loaded = tiny_engine._loaded
    assert loaded is not None
    llm = loaded.llm
    a, b = (int(llm.tokenize(x.encode(), add_bos=False, special=False)[0]) for x in "ab")

    n_vocab = int(llm._model.n_vocab())

    def log_probs(tokens: list[int]) -> npt.NDArray[np.float64]:
        llm.reset()
        llm._ctx.kv_cache_clear()
        llm.eval(tokens)
        raw = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(n_vocab,))
        logits: npt.NDArray[np.float64] = raw.astype(np.float64)
        top = float(logits.max())
        out: npt.NDArray[np.float64] = logits - top - np.log(np.exp(logits - top).sum())
        return out

    first = log_probs(prompt)
    second = log_probs([*prompt, a])
    # the random tiny model's logits are very peaked: two contexts differ by a few tenths
    assert whole["a"] == pytest.approx(first[a], abs=0.5)
    assert whole["ab"] - whole["a"] == pytest.approx(second[b], abs=2e-2)


async def test_the_fixed_prefix_stays_cached_and_the_conversation_too(
    tiny_engine: LlamaCppEngine,
) -> None:
    conversation = [Message("system", "You are Sam."), Message("user", "hi, how are you")]
    reply, _ = await chat(tiny_engine, conversation)
    turn2 = [*conversation, Message("assistant", reply), Message("user", "and now?")]
    _, unscored = await chat(tiny_engine, turn2)
    await chat(tiny_engine, conversation)
    fixed = [Message("system", "Name the feeling in one word."), Message("user", "ok")]
    await tiny_engine.score_labels([*fixed, Message("user", "first message")], LABELS)
    scorer = tiny_engine._sides.scorer
    assert scorer is not None
    evaluated: list[int] = []
    real_set_batch = scorer.batch.set_batch

    def counting(batch: list[int], n_past: int, logits_all: bool) -> None:
        evaluated.append(len(batch))
        real_set_batch(batch, n_past, logits_all)

    scorer.batch.set_batch = counting
    second = [*fixed, Message("user", "second one")]
    await tiny_engine.score_labels(second, LABELS)
    _, all_tokens = tiny_engine.formatted_prompt(second)
    _, prefix_tokens = tiny_engine.formatted_prompt(fixed)
    assert len(prefix_tokens) > 30
    # only the new message (and the template's tail) was read
    assert 0 < sum(evaluated) <= len(all_tokens) - len(prefix_tokens) + 8
    # the conversation's own cache was not touched by the scoring
    _, scored = await chat(tiny_engine, turn2)
    assert scored.cached_tokens == unscored.cached_tokens > 0


async def test_it_gives_way_to_a_waiting_reply_and_to_its_deadline(
    tiny_engine: LlamaCppEngine,
) -> None:
    await tiny_engine.load()
    messages = [Message("user", "hello")]
    with tiny_engine._calls.urgent_coming(), pytest.raises(BusyError):  # a reply is on its way
        await tiny_engine.score_labels(messages, LABELS)
    with pytest.raises(BusyError):
        await tiny_engine.score_labels(messages, LABELS, deadline_s=0.0)
    assert await tiny_engine.score_labels(messages, LABELS)  # free again


async def test_a_reply_during_scoring_is_not_kept_waiting(tiny_gguf: Path) -> None:
    tiny_engine = LlamaCppEngine(tiny_gguf, n_ctx=2048, n_threads=1)
    await tiny_engine.load()
    long = [Message("user", "abcdefghij" * 95)]  # ~950 tokens to read on the side context
    scoring = asyncio.create_task(tiny_engine.score_labels(long, LABELS, deadline_s=60.0))
    await asyncio.sleep(0.02)
    started = time.monotonic()
    _, stats = await chat(tiny_engine, [Message("user", "hi")])
    waited = time.monotonic() - started
    assert stats.finish_reason in ("stop", "length")
    with contextlib.suppress(BusyError):  # it gave way (usually), or it had finished first
        await scoring
    print(f"\nreply while scoring: {waited * 1000:.0f} ms")
    await tiny_engine.close()


async def test_close_frees_the_side_context_and_scoring_works_after_reload(
    tiny_engine: LlamaCppEngine,
) -> None:
    await tiny_engine.score_labels([Message("user", "hi")], LABELS)
    await tiny_engine.close()
    assert tiny_engine._sides.scorer is None
    assert await tiny_engine.score_labels([Message("user", "hi")], LABELS)


# -- the real default model (slow) --------------------------------------------------------------


@pytest.fixture(scope="module")
def real_engine(default_gguf: Path) -> Iterator[LlamaCppEngine]:
    eng = LlamaCppEngine(default_gguf, n_ctx=4096)
    asyncio.run(eng.load())
    yield eng
    asyncio.run(eng.close())


@pytest.mark.slow
def test_real_model_reads_implicit_situations(real_engine: LlamaCppEngine) -> None:
    cases = {
        "we signed the papers today, the flat is finally ours": "joy",
        "the vet called, there's nothing more they can do for our old dog": "sadness",
        "my boss took credit for my report in front of everyone again": "anger",
        "the doctor wants me back in for another scan on monday": "fear",
        "can you set a timer for twenty minutes": "neutral",
    }

    async def run() -> tuple[dict[str, EmotionLabel], float]:
        labeler = LMLabeler(real_engine, deadline_s=600.0)
        await labeler.warm(deadline_s=600.0)
        got = {}
        for text in cases:
            probs = await labeler.probabilities(text)
            got[text] = max(EMOTIONS, key=lambda e: probs[e])
        started = time.monotonic()
        await labeler.probabilities("no way, my brother won the village raffle")
        took = time.monotonic() - started
        return got, took

    got, took = asyncio.run(run())
    print(f"\nreal labeler: {got}; one message after the prefix: {took:.2f} s")
    assert sum(got[t] == want for t, want in cases.items()) >= 4
