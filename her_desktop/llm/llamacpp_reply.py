"""One reply of the llama.cpp engine, generated on its owner thread.

- **What reaches the caller.** The reply stops on any end-of-generation or control token, and
  its text goes through :class:`~her_desktop.llm.control_tokens.ControlTokenFilter` (defence in
  depth: it stops on turn tags and the model's control-token texts spelled out as plain text,
  and on ``params.stop``), so none of them ever reach the caller. Text and the end go to the
  event loop through :attr:`Reply.emit`.
- **Caps and cancellation.** Generation stops on the token cap (``length``), the deadline
  (``deadline``), or when the consumer goes away (``cancelled``): the abort flag is checked
  between tokens *and* by llama.cpp's abort callback inside a running decode, so even a long
  prompt evaluation stops within milliseconds.
- **KV-cache reuse** (:mod:`~her_desktop.llm.kv_reuse`): the context keeps the last prompt and
  reply; the next prompt of a growing conversation shares that prefix and only the new tail is
  evaluated (``cached_tokens``); turns after a left-out block are moved up, not read again.
"""

from __future__ import annotations

import codecs
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from her_desktop.events import FinishReason
from her_desktop.llm.base import GenerationParams, GenerationStats, LLMError, Message
from her_desktop.llm.control_tokens import ControlTokenFilter
from her_desktop.llm.kv_reuse import cached_prefix, shift_reuse
from her_desktop.llm.llamacpp_model import LoadedModel
from her_desktop.llm.llamacpp_native import check_grammar, is_end_token, token_piece

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Reply:
    """One generation request: what to answer, where its text goes (``emit`` from the owner
    thread), and when to stop. The abort callback and the owner both read it."""

    messages: list[Message]
    params: GenerationParams
    stats: GenerationStats
    emit: Callable[[str, Any], None]
    started: float
    """``time.monotonic()`` when the request arrived; the deadline counts from here."""
    deadline: float = field(init=False)
    abort: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.deadline = self.started + max(0.0, self.params.deadline_s)

    def should_stop(self) -> bool:
        return self.abort.is_set() or time.monotonic() >= self.deadline


def opener_ban(llm: Any, words: Sequence[str], prompt_length: int) -> Any:
    """A logits processor that keeps each of ``words`` that is a single token (with or
    without a leading space) from being the reply's first token; None when there is none."""
    import llama_cpp
    import numpy as np

    banned: set[int] = set()
    for word in words:
        for variant in (word, " " + word):
            tokens = llm.tokenize(variant.encode("utf-8"), add_bos=False, special=False)
            if len(tokens) == 1:
                banned.add(int(tokens[0]))
    if not banned:
        return None
    ids = np.fromiter(sorted(banned), dtype=np.intc)

    def ban_first(input_ids: Any, scores: Any) -> Any:
        if len(input_ids) == prompt_length:  # choosing the reply's first token
            scores[ids] = -np.inf
        return scores

    return llama_cpp.LogitsProcessorList([ban_first])


def serve_reply(job: Reply, loaded: LoadedModel | None, *, n_ctx: int, seed: int) -> None:
    """Generate ``job`` on the owner thread; its text, then its end (``done`` with the finish
    reason, or ``error`` with an ``LLMError``), go to ``job.emit``."""
    stats, emit = job.stats, job.emit
    try:
        if job.should_stop():  # cancelled, or out of time while another reply ran
            reason: FinishReason = "cancelled" if job.abort.is_set() else "deadline"
            stats.finish_reason = reason
            emit("done", reason)
            return
        reason = _run(job, loaded, n_ctx=n_ctx, seed=seed)
        stats.finish_reason = reason
        stats.total_s = time.monotonic() - job.started
        emit("done", reason)
    except LLMError as exc:
        stats.finish_reason = "error"
        emit("error", exc)
    except Exception as exc:
        log.exception("llama.cpp generation failed")
        stats.finish_reason = "error"
        emit("error", LLMError(f"The language model failed while answering ({exc})."))


def _run(job: Reply, loaded: LoadedModel | None, *, n_ctx: int, seed: int) -> FinishReason:
    from llama_cpp.llama_grammar import LlamaGrammar

    params, stats = job.params, job.stats

    if job.abort.is_set():
        return "cancelled"
    if loaded is None:
        raise LLMError("The model was closed before the reply started.")
    llm = loaded.llm
    prompt = loaded.prompt_tokens(job.messages)
    stats.prompt_tokens = len(prompt)
    if len(prompt) >= n_ctx:
        raise LLMError(
            f"The conversation ({len(prompt)} tokens) is longer than the model's context "
            f"({n_ctx} tokens). Start a new conversation or raise the context size "
            "in Settings."
        )
    shift_reuse(llm, prompt)
    stats.cached_tokens = cached_prefix(list(llm._input_ids), prompt)
    if params.max_tokens <= 0:
        return "length"
    grammar = None
    if params.grammar:
        check_grammar(llm._model.vocab, params.grammar)
        grammar = LlamaGrammar.from_string(params.grammar, verbose=False)
    llm.set_seed(params.seed if params.seed is not None else seed)
    vocab = llm._model.vocab
    text_out = ControlTokenFilter(
        (*loaded.chat.stop_texts, *params.stop),
        strip_leading_space=True,
        keep_partial_at_end=True,
    )
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    budget = min(params.max_tokens, n_ctx - len(prompt))

    def flush(chunk: str) -> None:
        if chunk:
            if stats.first_token_s is None:
                stats.first_token_s = time.monotonic() - job.started
            job.emit("text", chunk)

    generator = llm.generate(
        prompt,
        logits_processor=opener_ban(llm, params.banned_openers, len(prompt)),
        temp=max(0.0, params.temperature),
        top_p=params.top_p,
        min_p=params.min_p,
        repeat_penalty=params.repeat_penalty,
        presence_penalty=params.presence_penalty,
        frequency_penalty=params.frequency_penalty,
        grammar=grammar,
    )
    reason: FinishReason | None = None
    try:
        while reason is None:
            if job.should_stop():
                break
            try:
                token = next(generator)
            except StopIteration:
                reason = "stop"
                break
            except RuntimeError:
                if job.should_stop():  # llama_decode aborted by our callback
                    break
                raise
            stats.tokens += 1
            if is_end_token(vocab, token):
                reason = "stop"
                break
            piece = token_piece(vocab, token)
            flush(text_out.feed(decoder.decode(piece)))
            if text_out.stopped:
                reason = "stop"
            elif stats.tokens >= budget:
                reason = "length"
    finally:
        generator.close()
    if reason is None:
        reason = "cancelled" if job.abort.is_set() else "deadline"
    if reason != "cancelled" and not text_out.stopped:
        flush(text_out.feed(decoder.decode(b"", final=True)) + text_out.flush())
    return reason
