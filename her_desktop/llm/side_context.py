"""Side contexts: second llama.cpp contexts on the same weights, for work beside the reply.

Label scoring (``score_labels``: the affect detector's one-pass classifier) and background
generation (``background_generate``: memory consolidation) each get their own small KV cache,
so they never evict the conversation's cached prompt from the main context, and each keeps the
longest common prefix of its last prompt (a fixed instruction is read once).

Both give way: ``stop`` is checked between compute chunks and, through the context's abort
callback, inside each one; a decode cut short raises :class:`BusyError`. Every function here
runs on the engine's owner thread (``her_desktop.native_calls``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from her_desktop.llm.base import BusyError, LLMError
from her_desktop.llm.kv_reuse import cached_prefix
from her_desktop.llm.llamacpp_native import check_grammar, is_end_token, log_softmax, token_piece

SCORE_CTX = 1024
"""Context of the label-scoring side context (a short classification prompt)."""
BACKGROUND_CTX = 2048
"""Context of the background-generation side context (memory consolidation: a fixed
instruction, one message and a short JSON answer)."""
SCORE_SEQS = 16
"""Sequences of the scoring context: the prompt, and one per multi-token label."""


@dataclass(slots=True)
class SideContext:
    """A context of its own on the engine's weights, with what its KV cache holds."""

    ctx: Any  # llama_cpp._internals.LlamaContext
    batch: Any  # llama_cpp._internals.LlamaBatch
    abort_callback: Any  # keeps the ctypes callback alive while llama.cpp holds it
    tokens: list[int] = field(default_factory=list)
    stop: Callable[[], bool] = lambda: False

    def close(self) -> None:
        import llama_cpp

        llama_cpp.llama_set_abort_callback(self.ctx.ctx, llama_cpp.ggml_abort_callback(), None)
        self.batch.close()
        self.ctx.close()


def make_side_context(
    model: Any, *, n_ctx: int, n_seq: int, n_batch: int, n_ubatch: int, n_threads: int
) -> SideContext:
    """A new side context on ``model`` (``llama_cpp._internals.LlamaModel``)."""
    import llama_cpp
    from llama_cpp import _internals

    params = llama_cpp.llama_context_default_params()
    params.n_ctx = n_ctx
    params.n_batch = n_batch
    params.n_ubatch = n_ubatch
    params.n_threads = n_threads
    params.n_threads_batch = n_threads
    params.no_perf = True
    params.n_seq_max = n_seq
    params.kv_unified = True  # label continuations share the prompt's cells
    try:
        ctx = _internals.LlamaContext(model=model, params=params, verbose=False)
    except ValueError as exc:
        raise LLMError(f"llama.cpp could not make a scoring context ({exc}).") from None
    batch = _internals.LlamaBatch(n_tokens=n_batch, embd=0, n_seq_max=1, verbose=False)
    holder: list[SideContext] = []

    def should_abort(_data: Any) -> bool:
        return bool(holder) and holder[0].stop()

    callback = llama_cpp.ggml_abort_callback(should_abort)
    llama_cpp.llama_set_abort_callback(ctx.ctx, callback, None)
    side = SideContext(ctx=ctx, batch=batch, abort_callback=callback)
    holder.append(side)
    return side


def decode(side: SideContext, stop: Callable[[], bool]) -> None:
    """Run the side context's batch; a decode cut short by ``stop`` is a :class:`BusyError`."""
    try:
        side.ctx.decode(side.batch)
    except RuntimeError:
        side.ctx.kv_cache_seq_rm(0, len(side.tokens), -1)
        if stop():
            raise BusyError("Background work gave way to a reply.") from None
        raise LLMError("llama.cpp could not evaluate the background prompt.") from None


def read_prompt(side: SideContext, prompt: list[int], step: int, stop: Callable[[], bool]) -> None:
    """Make the side context hold ``prompt``: keep the cached common prefix, read the rest in
    chunks of ``step`` tokens (a cut-short read keeps its finished chunks). The last token is
    always read again: its logits are what comes next."""
    keep = cached_prefix(side.tokens, prompt)
    side.ctx.kv_cache_seq_rm(0, keep, -1)
    del side.tokens[keep:]
    for start in range(keep, len(prompt), step):
        chunk = prompt[start : start + step]
        side.batch.set_batch(chunk, n_past=start, logits_all=False)
        decode(side, stop)
        side.tokens.extend(chunk)


def score(
    side: SideContext,
    prompt: list[int],
    labels: dict[str, list[int]],
    *,
    n_vocab: int,
    step: int,
    stop: Callable[[], bool],
) -> dict[str, float]:
    """Log-probability of each label (its tokens) continuing ``prompt``, in one pass."""
    tails = [t for t in labels.values() if len(t) > 1]
    side.stop = stop
    try:
        read_prompt(side, prompt, step, stop)
        first = log_softmax(side.ctx.get_logits_ith(-1), n_vocab)
        rest = _score_tails(side, tails, len(prompt), n_vocab, stop)
    finally:
        side.stop = lambda: False
    return {
        label: float(first[tokens[0]]) + rest.get(tuple(tokens), 0.0)
        for label, tokens in labels.items()
    }


def _score_tails(
    side: SideContext,
    tails: list[list[int]],
    n_past: int,
    n_vocab: int,
    stop: Callable[[], bool],
) -> dict[tuple[int, ...], float]:
    """Log-probability of each multi-token label's later tokens, all in one decode: each
    label continues the prompt on its own sequence (sharing the prompt's cache cells)."""
    if not tails:
        return {}
    batch = side.batch.batch
    count = 0
    for seq, tokens in enumerate(tails, start=1):
        side.ctx.kv_cache_seq_cp(0, seq, -1, -1)
        for j, token in enumerate(tokens[:-1]):
            batch.token[count] = token
            batch.pos[count] = n_past + j
            batch.n_seq_id[count] = 1
            batch.seq_id[count][0] = seq
            batch.logits[count] = True
            count += 1
    batch.n_tokens = count
    try:
        decode(side, stop)
        out: dict[tuple[int, ...], float] = {}
        index = 0
        for tokens in tails:
            total = 0.0
            for token in tokens[1:]:
                total += float(log_softmax(side.ctx.get_logits_ith(index), n_vocab)[token])
                index += 1
            out[tuple(tokens)] = total
        return out
    finally:
        for seq in range(1, len(tails) + 1):
            side.ctx.kv_cache_seq_rm(seq, -1, -1)


def generate_greedy(
    side: SideContext,
    vocab: Any,
    prompt: list[int],
    *,
    grammar: str,
    max_tokens: int,
    step: int,
    stop: Callable[[], bool],
    logprobs: list[float] | None = None,
    n_vocab: int = 0,
) -> str:
    """Greedy decoding after ``prompt`` (constrained by the GBNF ``grammar`` when given), up to
    ``max_tokens`` or an end token. With ``logprobs`` (and the vocabulary's size ``n_vocab``),
    the log-probability of each chosen token is appended to it."""
    import llama_cpp

    sampler = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
    try:
        if grammar:
            check_grammar(vocab, grammar)
            constraint = llama_cpp.llama_sampler_init_grammar(
                vocab, grammar.encode("utf-8"), b"root"
            )
            llama_cpp.llama_sampler_chain_add(sampler, constraint)
        llama_cpp.llama_sampler_chain_add(sampler, llama_cpp.llama_sampler_init_greedy())
        side.stop = stop
        out: list[int] = []
        try:
            read_prompt(side, prompt, step, stop)
            while len(out) < max_tokens:
                if stop():
                    raise BusyError("Background work gave way to a reply.")
                token = int(llama_cpp.llama_sampler_sample(sampler, side.ctx.ctx, -1))
                if is_end_token(vocab, token):
                    break
                if logprobs is not None:
                    row = log_softmax(side.ctx.get_logits_ith(-1), n_vocab)
                    logprobs.append(float(row[token]))
                out.append(token)
                side.batch.set_batch([token], n_past=len(side.tokens), logits_all=True)
                decode(side, stop)
                side.tokens.append(token)
        finally:
            side.stop = lambda: False
        return b"".join(token_piece(vocab, t) for t in out).decode("utf-8", "replace")
    finally:
        llama_cpp.llama_sampler_free(sampler)  # the chain frees its grammar and greedy
