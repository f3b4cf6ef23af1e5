"""The in-process llama.cpp engine (llama-cpp-python), with GPU offload where the build has it.

Policy:

- **Lazy load.** ``load()`` (or the first ``stream()``) loads the model on the owner thread
  (:mod:`~her_desktop.llm.llamacpp_model`: the file checked first, each problem a plain
  message). A failed load leaves the engine unloaded and usable for a retry.
- **One owner thread, no lock** (:mod:`~her_desktop.llm.llamacpp_owner`): every call on the
  model's contexts is a job for the engine's own thread, a reply's before background work;
  every wait is bounded, and a call far past its bound leaves the engine saying in plain
  words that the model stopped responding (:data:`STUCK`).
- **Tokenizing beside a decode.** ``count_tokens`` and ``formatted_prompt`` tokenize on a
  second thread (``llamacpp-tokenize``) and never wait for a running reply; that thread also
  frees the model at ``close``, after the owner has closed the contexts.
- **The reply** (:mod:`~her_desktop.llm.llamacpp_reply`) runs on the owner thread and hands
  text to the event loop through a queue; it stops on the token cap, the deadline, or when the
  consumer goes away (task cancelled, loop broken, generator closed). The generator's
  ``finally`` waits (bounded) for it, so the engine is free again when the cancelled task
  finishes.
- **KV-cache reuse** (:mod:`~her_desktop.llm.kv_reuse`): a growing conversation reads only its
  new tail, and the persona's fixed prefix is restored from the last launch (``warm``).
- **Work beside the reply** (:mod:`~her_desktop.llm.llamacpp_aside`): label scoring and
  background generation in side contexts, so neither evicts the conversation's cache; they
  give way to a waiting reply. llama.cpp's log lines and token helpers:
  :mod:`~her_desktop.llm.llamacpp_native`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from her_desktop.llm.base import (
    BusyError,
    EngineInfo,
    GenerationParams,
    GenerationStats,
    LLMEngine,
    LLMError,
    Message,
)
from her_desktop.llm.kv_reuse import prefix_state_path, restore_prefix_state, save_prefix_state
from her_desktop.llm.llamacpp_aside import SideWork
from her_desktop.llm.llamacpp_model import LlamaSettings, LoadedModel, load_model
from her_desktop.llm.llamacpp_native import physical_cores
from her_desktop.llm.llamacpp_owner import STUCK, OwnerThread
from her_desktop.llm.llamacpp_reply import Reply, serve_reply
from her_desktop.native_calls import NORMAL, NativeCalls, NativeTimeout

log = logging.getLogger(__name__)
LOAD_LIMIT_S = 600.0
"""Bound on loading the model (seconds on a laptop; a slow disk and a large file, minutes)."""
STATE_LIMIT_S = 120.0
"""Bound on saving or restoring the prefix state, and on ``close`` (the queued replies first)."""
TOKENIZE_LIMIT_S = 5.0
"""Bound on a tokenizer call (milliseconds; ``count_tokens`` answers with its upper bound)."""
HUGE_PROMPT_BYTES_PER_CTX = 32
"""``count_tokens`` returns the byte count (an upper bound) instead of tokenizing a prompt
longer than this many bytes per context token: a 1 MB paste is not tokenized on the loop."""


class LlamaCppEngine(LLMEngine):
    """A GGUF model run in-process by llama.cpp."""

    name = "llamacpp"
    speculation_ok = True

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 4096,
        n_gpu_layers: int | Literal["auto"] = "auto",
        n_threads: int | None = None,
        n_batch: int = 256,
        n_ubatch: int | None = None,
        seed: int = 0,
        verbose: bool = False,
    ) -> None:
        self.model_path = Path(model_path)
        self._settings = LlamaSettings(
            model_path=self.model_path,
            n_ctx=n_ctx,
            n_gpu_layers=n_gpu_layers,
            n_threads=n_threads or physical_cores(),
            n_batch=max(1, min(n_batch, n_ctx)),
            n_ubatch=n_ubatch,
            seed=seed,
            verbose=verbose,
        )
        self._owner = OwnerThread()
        self._calls = self._owner.calls
        """The owner thread: every call on the model's contexts is a job here."""
        self._vocab_calls = NativeCalls("llamacpp-tokenize", restart_after_hang=False)
        """Tokenizing beside a decode, and freeing the model after ``close``."""
        self._loaded: LoadedModel | None = None
        self._reply: Reply | None = None
        self._sides = SideWork(n_batch=self._settings.n_batch, n_threads=self._settings.n_threads)
        self._system_info = ""
        self.prefix_restored = False
        """The last ``warm`` restored the prompt state saved by an earlier launch."""

    # -- LLMEngine -------------------------------------------------------------------------

    @property
    def context_size(self) -> int:
        return self._settings.n_ctx

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    @property
    def busy(self) -> bool:
        """The owner thread is running a job now (a reply, scoring, background work)."""
        return self._calls.busy

    async def load(self) -> None:
        if self._loaded is None:
            await self._owner.run(self._load_blocking, limit_s=LOAD_LIMIT_S)

    def info(self) -> EngineInfo:
        import llama_cpp

        loaded, settings = self._loaded, self._settings
        gpu = bool(llama_cpp.llama_supports_gpu_offload())
        gpu_layers = loaded.gpu_layers if loaded is not None else settings.planned_gpu_layers(gpu)
        if not self._system_info:
            self._system_info = llama_cpp.llama_print_system_info().decode(errors="replace")
        extra = {
            "system_info": self._system_info.strip(),
            "llama_cpp_python": str(getattr(llama_cpp, "__version__", "?")),
            "n_batch": str(settings.n_batch),
            "n_ubatch": str(settings.ubatch(gpu_layers != 0)),
            "loaded": str(loaded is not None).lower(),
        }
        if loaded is not None:
            extra["chat_template"] = loaded.chat.source
            extra["n_layers"] = str(loaded.n_layers)
        return EngineInfo(
            engine=self.name,
            model=str(self.model_path),
            context_size=settings.n_ctx,
            gpu_offload_supported=gpu,
            gpu_layers=gpu_layers,
            threads=settings.n_threads,
            extra=extra,
        )

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Exact prompt tokens once loaded (the same formatting and tokenizer as ``stream``).

        Before the model is loaded, and for prompts too large to be worth tokenizing, it returns
        the UTF-8 byte count (+ a per-message allowance before load): never an underestimate,
        since every token covers at least one byte.
        """
        loaded = self._loaded
        if loaded is None:
            return 16 + sum(16 + len(m.content.encode("utf-8", "replace")) for m in messages)
        text, had_bos = loaded.chat.render(messages)
        raw = text.encode("utf-8", "replace")
        extra_bos = int(had_bos or loaded.add_bos)
        if len(raw) > HUGE_PROMPT_BYTES_PER_CTX * self._settings.n_ctx:
            return len(raw) + extra_bos
        try:
            count = self._vocab_calls.call(
                lambda: len(loaded.tokenize(raw)), timeout=TOKENIZE_LIMIT_S
            )
        except (LLMError, NativeTimeout):  # closed meanwhile, or the tokenizer stopped answering
            return len(raw) + extra_bos
        return count + extra_bos

    def formatted_prompt(self, messages: Sequence[Message]) -> tuple[str, list[int]]:
        """The prompt text exactly as the model sees it (with BOS text) and its tokens.

        For tests and diagnostics; the model must be loaded.
        """
        loaded = self._loaded
        if loaded is None:
            raise LLMError("The model is not loaded yet.")

        def formatted() -> tuple[str, list[int]]:
            tokens = loaded.prompt_tokens(messages)
            return loaded.detokenize(tokens), tokens

        try:
            return self._vocab_calls.call(formatted, timeout=TOKENIZE_LIMIT_S)
        except NativeTimeout:
            raise LLMError(STUCK) from None

    async def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        stats: GenerationStats | None = None,
    ) -> AsyncIterator[str]:
        stats = stats if stats is not None else GenerationStats()
        started = time.monotonic()
        await self.load()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def emit(kind: str, value: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

        reply = Reply(list(messages), params, stats, emit, started)
        pieces = self._owner.reply(lambda: self._generate_blocking(reply), reply, queue)
        try:
            async for piece in pieces:
                yield piece
        finally:  # a consumer gone away stops the job now, not when the generator is collected
            await pieces.aclose()

    async def warm(self, messages: Sequence[Message], params: GenerationParams) -> None:
        """Read the conversation's fixed prefix, or restore it from the last launch.

        The KV cache of ``messages`` (the persona's system prompt and a probe; never anything
        the user said) is saved once in the cache dir, keyed by the model file, the settings
        that shape the cache and the exact tokens. The next launch loads it in a fraction of
        a second instead of reading the prompt again (seconds on a small CPU). A state that
        does not fit is deleted and the prompt is read as usual."""
        await self.load()
        self.prefix_restored = await self._owner.run(
            lambda: self._prefix_state(messages, save=False), limit_s=STATE_LIMIT_S, priority=NORMAL
        )
        if not self.prefix_restored:
            await super().warm(messages, params)
            await self._owner.run(
                lambda: self._prefix_state(messages, save=True),
                limit_s=STATE_LIMIT_S,
                priority=NORMAL,
            )

    def _prefix_state(self, messages: Sequence[Message], *, save: bool) -> bool:
        """On the owner thread: restore the KV cache of ``messages`` from its state file
        (True when it was), or ``save`` it there."""
        loaded = self._loaded
        if loaded is None:
            return False
        n_ctx = self._settings.n_ctx
        tokens = loaded.prompt_tokens(messages)
        path = prefix_state_path(self.model_path, n_ctx, loaded.gpu_layers, tokens)
        if save:
            save_prefix_state(loaded.llm, path, tokens)
            return False
        return restore_prefix_state(loaded.llm, path, tokens, n_ctx)

    async def score_labels(
        self, messages: Sequence[Message], labels: Sequence[str], *, deadline_s: float = 5.0
    ) -> dict[str, float]:
        """See ``LLMEngine.score_labels``: one forward pass in a side context
        (``SideWork.score``); its KV cache keeps the longest common prefix of the last scored
        prompt, so a fixed system prompt is read once and only the new message is evaluated.
        Gives way within one compute chunk when a reply asks for the model."""
        if not labels:
            return {}
        await self.load()
        deadline = time.monotonic() + max(0.0, deadline_s)
        cancelled = threading.Event()
        messages, labels = list(messages), list(labels)
        return await self._owner.aside(
            lambda: self._score_blocking(messages, labels, deadline, cancelled),
            deadline,
            cancelled,
            "The model is busy; the labels were not scored.",
        )

    def _side_stop(
        self, deadline: float, cancelled: threading.Event, yield_to: Callable[[], bool]
    ) -> Callable[[], bool]:
        """The stop check of work beside the reply: a reply waiting, cancellation,
        ``yield_to``, the deadline."""

        def stop() -> bool:
            return (
                self._calls.urgent_waiting()
                or cancelled.is_set()
                or yield_to()
                or time.monotonic() >= deadline
            )

        return stop

    def _side_model(self, stop: Callable[[], bool], busy: str) -> LoadedModel:
        """On the owner thread: the model for work beside the reply, unless it must stop."""
        if stop():
            raise BusyError(busy)
        loaded = self._loaded
        if loaded is None:
            raise LLMError("The model was closed.")
        return loaded

    def _score_blocking(
        self,
        messages: list[Message],
        labels: list[str],
        deadline: float,
        cancelled: threading.Event,
    ) -> dict[str, float]:
        stop = self._side_stop(deadline, cancelled, lambda: False)
        loaded = self._side_model(stop, "The model is busy; the labels were not scored.")
        return self._sides.score(loaded, messages, labels, stop)

    def _background_blocking(
        self,
        messages: list[Message],
        params: GenerationParams,
        deadline: float,
        cancelled: threading.Event,
        yield_to: Callable[[], bool],
        logprobs: list[float] | None = None,
    ) -> str:
        stop = self._side_stop(deadline, cancelled, yield_to)
        loaded = self._side_model(stop, "The model is busy; the background work waits.")
        return self._sides.generate(loaded, messages, params, stop, logprobs)

    async def background_generate(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        *,
        yield_to: Callable[[], bool] = lambda: False,
    ) -> str:
        """See ``LLMEngine.background_generate``: greedy decoding in a second side context
        (made like the scoring one, ``SideWork``) that keeps the longest common prefix of
        its last prompt, so a fixed instruction is read once. The stop check (a reply waiting,
        ``yield_to``, cancellation, the deadline) runs between tokens and, through the abort
        callback, inside each compute chunk."""
        text, _ = await self._generate_aside(messages, params, yield_to, scored=False)
        return text

    async def background_generate_scored(
        self, messages: Sequence[Message], params: GenerationParams
    ) -> tuple[str, list[float]]:
        """See ``LLMEngine.background_generate_scored``: ``background_generate`` that also
        keeps the log-probability of each token it chose (one log-softmax per token)."""
        return await self._generate_aside(messages, params, lambda: False, scored=True)

    async def _generate_aside(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        yield_to: Callable[[], bool],
        *,
        scored: bool,
    ) -> tuple[str, list[float]]:
        await self.load()
        deadline = time.monotonic() + max(0.0, params.deadline_s)
        cancelled = threading.Event()
        logprobs: list[float] | None = [] if scored else None
        messages = list(messages)
        text = await self._owner.aside(
            lambda: self._background_blocking(
                messages, params, deadline, cancelled, yield_to, logprobs
            ),
            deadline,
            cancelled,
            "The model is busy; the background work waits.",
        )
        return text, logprobs or []

    async def close(self) -> None:
        """Stop the running reply, close the contexts on the owner thread (after the replies
        queued before), then free the model on the tokenizer thread (after its queued work).
        A hung engine is left as it is (its stuck thread may still be inside the model)."""
        reply = self._reply
        if reply is not None:
            reply.abort.set()
        try:
            loaded = await self._owner.run(self._close_contexts, limit_s=STATE_LIMIT_S)
        except LLMError:  # hung: the stuck thread may still be inside the model
            log.warning("llama.cpp stopped responding; the model is left as it is")
            return
        if loaded is not None:
            try:
                await self._vocab_calls.acall(loaded.free, limit_s=STATE_LIMIT_S, priority=NORMAL)
            except NativeTimeout:
                log.warning("llama.cpp's tokenizer thread did not answer; the model is not freed")

    # -- owner thread ----------------------------------------------------------------------

    def _load_blocking(self) -> None:
        if self._loaded is None:
            self._loaded = load_model(self._settings, self._reply_should_stop)

    def _reply_should_stop(self) -> bool:
        """Asked by llama.cpp inside a decode of the main context."""
        reply = self._reply
        return reply is not None and reply.should_stop()

    def _close_contexts(self) -> LoadedModel | None:
        """The contexts are closed; the model is freed by ``LoadedModel.free``."""
        loaded, self._loaded = self._loaded, None
        if loaded is None:
            return None
        loaded.detach_abort()
        self._sides.close()
        return loaded

    def _generate_blocking(self, job: Reply) -> None:
        self._reply = job
        try:
            serve_reply(job, self._loaded, n_ctx=self._settings.n_ctx, seed=self._settings.seed)
        finally:
            self._reply = None


__all__ = ["STUCK", "LlamaCppEngine", "physical_cores"]
