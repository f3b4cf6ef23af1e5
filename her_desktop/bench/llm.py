"""``her-desktop bench llm``: the LM's speed on this machine, as medians over several runs.

Per run: a fresh engine is loaded (load time), then a two-turn conversation: the first turn's
first-token latency (``cold``: the persona prefix is not in the KV cache yet), the second turn's
(``cached``: the conversation prefix is reused), the decode rate in tokens/s, and how long a
cancel takes to stop a running generation. Writes JSON (and a short table to stderr).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from her_desktop.bench.common import machine_info, summarize, write_report
from her_desktop.llm.base import GenerationParams, GenerationStats, LLMEngine, Message

QUESTIONS = (
    "Hi! I just got home from a long day at work.",
    "Can you tell me something calming to think about before bed?",
)
CANCEL_PROMPT = "Please tell me a long story about a lighthouse keeper and the sea."


async def _turn(
    engine: LLMEngine, messages: list[Message], params: GenerationParams
) -> tuple[str, GenerationStats]:
    stats = GenerationStats()
    pieces = [piece async for piece in engine.stream(messages, params, stats)]
    return "".join(pieces), stats


async def _cancel_latency(engine: LLMEngine, system: str, params: GenerationParams) -> float:
    """Seconds from cancelling a generation (after its 5th piece) to the stream being done."""
    seen = asyncio.Event()
    count = 0

    async def consume() -> None:
        nonlocal count
        messages = [Message("system", system), Message("user", CANCEL_PROMPT)]
        async for _ in engine.stream(messages, params):
            count += 1
            if count >= 5:
                seen.set()

    task = asyncio.create_task(consume())
    waiter = asyncio.create_task(seen.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    start = time.perf_counter()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return time.perf_counter() - start


async def _one_run(make_engine: Any, system: str, params: GenerationParams) -> dict[str, float]:
    engine: LLMEngine = make_engine()
    t0 = time.perf_counter()
    await engine.load()
    load_s = time.perf_counter() - t0
    messages = [Message("system", system), Message("user", QUESTIONS[0])]
    reply, first = await _turn(engine, messages, params)
    messages += [Message("assistant", reply), Message("user", QUESTIONS[1])]
    _, second = await _turn(engine, messages, params)
    decode_s = second.total_s - (second.first_token_s or 0.0)
    tokens_per_s = (second.tokens - 1) / decode_s if second.tokens > 1 and decode_s > 0 else 0.0
    cancel_s = await _cancel_latency(engine, system, params)
    await engine.close()
    return {
        "load_s": load_s,
        "first_token_cold_s": first.first_token_s or float("nan"),
        "first_token_cached_s": second.first_token_s or float("nan"),
        "prompt_tokens_cached_turn": float(second.prompt_tokens),
        "cached_tokens_cached_turn": float(second.cached_tokens),
        "tokens_per_s": tokens_per_s,
        "cancel_s": cancel_s,
    }


def run_llm_bench(*, runs: int = 5, model: str | None = None, out: Path | None = None) -> int:
    from her_desktop.app import generation_params, make_llm
    from her_desktop.cli.common import load_config_and_persona, prepare_default_model

    settings, persona = load_config_and_persona()
    if model:
        settings.llm.model = model
    if settings.llm.engine == "llamacpp":
        prepare_default_model(settings.llm.model)
    params = generation_params(settings)
    params = GenerationParams(
        max_tokens=min(params.max_tokens, 64), temperature=0.0, top_p=1.0, deadline_s=120, seed=1
    )
    system = persona.system_prompt()

    async def main() -> dict[str, Any]:
        samples: list[dict[str, float]] = []
        for i in range(runs):
            result = await _one_run(lambda: make_llm(settings), system, params)
            samples.append(result)
            print(
                f"run {i + 1}/{runs}: " + ", ".join(f"{k}={v:.3f}" for k, v in result.items()),
                file=sys.stderr,
            )
        probe = make_llm(settings)
        return {
            "bench": "llm",
            "machine": machine_info(),
            "engine": probe.info().engine,
            "model": probe.info().model,
            "context_size": probe.context_size,
            "max_tokens": params.max_tokens,
            "runs": runs,
            "metrics": summarize(samples),
            "samples": samples,
        }

    report = asyncio.run(main())
    write_report(report, out)
    for name, m in report["metrics"].items():
        print(f"{name:28s} median {m['median']:.3f}  p90 {m['p90']:.3f}", file=sys.stderr)
    return 0
