"""How fast a language model writes on this computer: measured once, then remembered.

The model manager shows each model's speed *here* (tokens per second), not a figure from a
web page: :func:`measure_speed` loads the file in the real engine, writes a short reply
(:data:`MEASURE_TOKENS` tokens, at most :data:`MEASURE_DEADLINE_S`) and times the tokens
after the first (the writing speed; the first token also pays for reading the prompt). The
result is kept in ``cache_dir() / "model_speed.json"`` under the file's path, size,
modification time and GPU setting, so a changed file or setting is measured again.

It is blocking work (seconds to a minute): call it from a worker thread, never the event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from her_desktop.paths import atomic_write_text, cache_dir

__all__ = ["SpeedResult", "cached_speed", "measure_speed", "speed_cache_path"]

SPEED_FILENAME = "model_speed.json"
MEASURE_TOKENS = 32
MEASURE_DEADLINE_S = 60.0
MEASURE_PROMPT = "Tell me, in two or three sentences, what makes an evening walk pleasant."


@dataclass(frozen=True, slots=True)
class SpeedResult:
    tokens_per_s: float
    first_token_s: float
    tokens: int
    cached: bool = False
    complete: bool = True
    """False when the reply was cut by the deadline (then it is not remembered)."""
    busy: float = 0.0
    """The computer's load per CPU while measuring (above 1: other work slowed it down)."""

    @property
    def text(self) -> str:
        """ "11.8 tokens/s here", with a word when the computer was busy."""
        note = " (measured while the computer was busy)" if self.busy > 1.0 else ""
        return f"{self.tokens_per_s:.1f} tokens/s here{note}"


def speed_cache_path() -> Path:
    return cache_dir() / SPEED_FILENAME


def _key(path: Path, gpu_layers: int | Literal["auto"]) -> str | None:
    try:
        stat = path.stat()
        resolved = path.resolve()
    except OSError:
        return None
    return f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}|gpu={gpu_layers}"


def _load_cache() -> dict[str, dict[str, float]]:
    try:
        data = json.loads(speed_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached_speed(path: Path, gpu_layers: int | Literal["auto"] = "auto") -> SpeedResult | None:
    """The remembered measurement of ``path`` with this GPU setting, or None."""
    key = _key(path, gpu_layers)
    entry = _load_cache().get(key or "")
    if not isinstance(entry, dict):
        return None
    try:
        return SpeedResult(
            float(entry["tokens_per_s"]),
            float(entry["first_token_s"]),
            int(entry["tokens"]),
            cached=True,
            busy=float(entry.get("busy", 0.0)),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _remember(path: Path, gpu_layers: int | Literal["auto"], result: SpeedResult) -> None:
    key = _key(path, gpu_layers)
    if key is None:
        return
    data = _load_cache()
    data[key] = {
        "tokens_per_s": round(result.tokens_per_s, 2),
        "first_token_s": round(result.first_token_s, 3),
        "tokens": result.tokens,
        "busy": round(result.busy, 2),
    }
    atomic_write_text(speed_cache_path(), json.dumps(data, indent=1, sort_keys=True))


def measure_speed(
    path: Path,
    *,
    gpu_layers: int | Literal["auto"] = "auto",
    n_threads: int | None = None,
    tokens: int = MEASURE_TOKENS,
    deadline_s: float = MEASURE_DEADLINE_S,
    refresh: bool = False,
) -> SpeedResult:
    """Tokens per second of ``path`` on this computer (remembered; ``refresh`` measures again).
    Raises ``LLMError`` with a plain message when the model cannot be loaded or run."""
    if not refresh:
        known = cached_speed(path, gpu_layers)
        if known is not None:
            return known
    result = asyncio.run(_measure(path, gpu_layers, n_threads, tokens, deadline_s))
    if result.complete:  # a reply cut by the deadline measured a busy moment, not the model
        _remember(path, gpu_layers, result)
    return result


async def _measure(
    path: Path,
    gpu_layers: int | Literal["auto"],
    n_threads: int | None,
    tokens: int,
    deadline_s: float,
) -> SpeedResult:
    from her_desktop.llm.base import GenerationParams, GenerationStats, LLMError, Message
    from her_desktop.llm.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(path, n_ctx=512, n_gpu_layers=gpu_layers, n_threads=n_threads)
    try:
        await engine.load()
        stats = GenerationStats()
        params = GenerationParams(max_tokens=tokens, temperature=0.0, deadline_s=deadline_s, seed=0)
        async for _ in engine.stream([Message("user", MEASURE_PROMPT)], params, stats):
            pass
    finally:
        await engine.close()
    first = stats.first_token_s
    if first is None or stats.tokens < 2:
        raise LLMError(f"{path.name} wrote nothing to measure its speed by.")
    writing = max(stats.total_s - first, 1e-6)
    return SpeedResult(
        (stats.tokens - 1) / writing,
        first,
        stats.tokens,
        complete=stats.finish_reason != "deadline",
        busy=_load_per_cpu(),
    )


def _load_per_cpu() -> float:
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except (OSError, AttributeError):  # Windows has no load average
        return 0.0
