"""Reusing llama.cpp's KV cache: what the next prompt can skip reading.

- :func:`cached_prefix`: the tokens a new prompt shares with what the context holds (a growing
  conversation reads only its new tail).
- :func:`shift_reuse`: a prompt that leaves out a block of old turns (a full context) still
  finds the turns after that block further on in the cache; they are moved up over it.
- The persona's fixed prefix is saved to a state file once (:func:`save_prefix_state`) and
  restored by the next launch (:func:`restore_prefix_state`) instead of being read again.

Every function that touches a context runs on the engine's owner thread
(``her_desktop.native_calls``).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from her_desktop import paths

log = logging.getLogger(__name__)

SHIFT_MIN_TOKENS = 32
"""Cached tokens after a left-out block are reused only when at least this many match."""


def cached_prefix(previous: list[int], prompt: list[int]) -> int:
    """Prompt tokens llama-cpp-python will reuse from the KV cache (it re-evaluates at least
    the last one to get fresh logits)."""
    n = 0
    for a, b in zip(previous, prompt, strict=False):
        if a != b:
            break
        n += 1
    return min(n, max(0, len(prompt) - 1))


def shift_reuse(llm: Any, prompt: list[int]) -> int:
    """Reuse the cache past a block the prompt leaves out; returns the tokens moved up.

    The cache holds ``P + X + Y`` and the prompt is ``P + Y + Z`` (old turns ``X`` left out
    to fit the context): ``X`` is removed from the cache and ``Y`` is shifted into its place,
    so only ``Z`` is read. The moved part keeps what it was read with (it saw ``X`` before
    it), as llama-server's cache reuse does: close to a fresh read, at none of its cost."""
    import llama_cpp

    old = list(llm._input_ids)
    n = 0
    for a, b in zip(old, prompt, strict=False):
        if a != b:
            break
        n += 1
    if n >= len(old) or len(prompt) - n < SHIFT_MIN_TOKENS:
        return 0
    key = prompt[n : n + SHIFT_MIN_TOKENS]
    start = next(
        (
            j
            for j in range(n + 1, len(old) - SHIFT_MIN_TOKENS + 1)
            if old[j] == key[0] and old[j : j + SHIFT_MIN_TOKENS] == key
        ),
        None,
    )
    ctx = llm._ctx
    if start is None or ctx.memory is None or not llama_cpp.llama_memory_can_shift(ctx.memory):
        return 0
    m = 0
    for a, b in zip(old[start:], prompt[n:], strict=False):
        if a != b:
            break
        m += 1
    m = min(m, len(prompt) - 1 - n)  # the last prompt token is always evaluated afresh
    if m < SHIFT_MIN_TOKENS:
        return 0
    if not (ctx.kv_cache_seq_rm(0, start + m, -1) and ctx.kv_cache_seq_rm(0, n, start)):
        ctx.kv_cache_seq_rm(0, n, -1)  # keep what is sure: the common prefix
        llm.n_tokens = n
        return 0
    ctx.kv_cache_seq_shift(0, start, start + m, n - start)
    llm.input_ids[n : n + m] = old[start : start + m]
    llm.n_tokens = n + m
    return m


def prefix_state_path(model_path: Path, n_ctx: int, gpu_layers: int, tokens: Sequence[int]) -> Path:
    """Where the state of exactly these prompt tokens is kept, keyed by the model file and the
    settings that shape the cache."""
    import llama_cpp

    stat = model_path.stat()
    key = hashlib.sha256()
    for part in (
        str(model_path.resolve()),
        stat.st_size,
        stat.st_mtime_ns,
        n_ctx,
        gpu_layers,
        llama_cpp.__version__,
        ",".join(map(str, tokens)),
    ):
        key.update(f"{part}\n".encode())
    return paths.cache_dir() / "llm-prefix" / f"{key.hexdigest()[:32]}.state"


def restore_prefix_state(llm: Any, path: Path, tokens: list[int], n_ctx: int) -> bool:
    """Load a saved state into ``llm``'s context; a state that does not fit is deleted and the
    context cleared (False)."""
    import llama_cpp

    if not path.is_file():
        return False
    buffer = (llama_cpp.llama_token * n_ctx)()
    count = ctypes.c_size_t(0)
    ok = llama_cpp.llama_state_load_file(
        llm.ctx, str(path).encode(), buffer, n_ctx, ctypes.byref(count)
    )
    n = int(count.value)
    if not ok or n == 0 or list(buffer[: min(n, len(tokens))]) != tokens[:n]:
        log.info("llama.cpp: the saved prompt state does not fit; reading the prompt")
        path.unlink(missing_ok=True)
        llm.reset()
        llm._ctx.kv_cache_clear()
        return False
    llm.input_ids[:n] = buffer[:n]
    llm.n_tokens = n
    return True


def save_prefix_state(llm: Any, path: Path, tokens: list[int]) -> None:
    """Keep the state of ``tokens`` (owner-only), when the context read all of them."""
    import llama_cpp

    n = cached_prefix(list(llm._input_ids), tokens)
    if n < len(tokens) - 1:
        return  # the prompt was not read completely (cancelled): nothing to keep
    try:
        paths.ensure_private_dir(path.parent)
        partial = path.with_suffix(".partial")
        saved = (llama_cpp.llama_token * n)(*llm._input_ids[:n])
        if not llama_cpp.llama_state_save_file(llm.ctx, str(partial).encode(), saved, n):
            partial.unlink(missing_ok=True)
            return
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    except OSError as exc:  # a full or read-only cache only costs speed
        log.info("llama.cpp: could not keep the prompt state: %s", exc)
