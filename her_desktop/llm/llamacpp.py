"""The in-process llama.cpp engine (llama-cpp-python), with GPU offload where the build has it.

Policy:

- **Lazy, checked load.** ``load()`` (or the first ``stream()``) checks the file first
  (missing, empty, not GGUF, truncated: each a plain message naming the file and the fix) and
  then loads it in a worker thread. A failed load leaves the engine unloaded and usable for a
  retry. ``n_gpu_layers="auto"`` offloads every layer when the build supports GPU offload.
- **One owner thread, no lock.** llama.cpp is not thread-safe: every call on the model's
  contexts (load, prompt evaluation, sampling, prefix state, close) is a job for the engine's
  own thread (:class:`~her_desktop.native_calls.NativeCalls` ``llamacpp``), and concurrent
  streams are served one after the other. A reply's job is urgent: it runs before queued
  background work, and background work that is running sees it waiting and gives way at its
  next token or compute chunk. Every wait has a bound; a call that runs far past it leaves
  the engine saying in plain words that the model stopped responding (:data:`STUCK`).
- **Tokenizing beside a decode.** ``llama_tokenize`` only reads the vocabulary, immutable once
  loaded, and is thread-safe (llama.cpp keeps it so: ggml-org/llama.cpp#9369; llama-server
  tokenizes from its HTTP threads while decoding), so ``count_tokens`` hands it to a second
  thread (``llamacpp-tokenize``) and never waits for a running reply; that thread also frees
  the model at ``close``, after the owner has closed the contexts, so a tokenize never meets
  a freed vocabulary.
- **The model's own chat template** (:mod:`~her_desktop.llm.chat_template`), BOS added
  exactly once. The reply stops on any end-of-generation or control token, and its text goes
  through :class:`~her_desktop.llm.control_tokens.ControlTokenFilter` (defence in depth: it
  stops on turn tags and the model's control-token texts spelled out as plain text, and on
  ``params.stop``), so none of them ever reach the caller.
- **Caps and cancellation.** Generation runs in a worker thread that hands text to the event
  loop through a queue. It stops on the token cap (``length``), the deadline (``deadline``), or
  when the consumer goes away (task cancelled, loop broken, generator closed): an abort flag is
  checked between tokens *and* by llama.cpp's abort callback inside a running decode, so even a
  long prompt evaluation stops within milliseconds. The generator's ``finally`` waits (bounded)
  for the worker, so the engine is free again when the cancelled task finishes.
- **KV-cache reuse** (:mod:`~her_desktop.llm.kv_reuse`). The context keeps the last prompt and
  reply; the next prompt of a growing conversation shares that prefix and only the new tail is
  evaluated (``cached_tokens``); turns after a left-out block are moved up, not read again; the
  persona's fixed prefix is restored from the last launch.
- **Side contexts** (:mod:`~her_desktop.llm.side_context`) for label scoring and background
  generation, so neither evicts the conversation's cache; they give way to a waiting reply.
  llama.cpp's log lines and token helpers: :mod:`~her_desktop.llm.llamacpp_native`.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar

from her_desktop.events import FinishReason
from her_desktop.llm import side_context
from her_desktop.llm.base import (
    BusyError,
    EngineInfo,
    GenerationParams,
    GenerationStats,
    LLMEngine,
    LLMError,
    Message,
    ModelLoadError,
)
from her_desktop.llm.chat_template import ChatTemplate
from her_desktop.llm.control_tokens import ControlTokenFilter
from her_desktop.llm.kv_reuse import (
    cached_prefix,
    prefix_state_path,
    restore_prefix_state,
    save_prefix_state,
    shift_reuse,
)
from her_desktop.llm.llamacpp_native import (
    check_grammar,
    is_end_token,
    native_logs,
    physical_cores,
    token_piece,
)
from her_desktop.llm.side_context import BACKGROUND_CTX, SCORE_CTX, SCORE_SEQS, SideContext
from her_desktop.models.gguf_file import FIX_HINT, GGUFFileError, check_gguf_file
from her_desktop.native_calls import (
    BACKGROUND,
    NORMAL,
    URGENT,
    NativeCalls,
    NativeJob,
    NativeTimeout,
    wait_async,
)

log = logging.getLogger(__name__)
CPU_UBATCH = 64
"""Default compute chunk on CPU: see ``LlamaCppEngine._ubatch``."""
T = TypeVar("T")
CANCEL_WAIT_S = 5.0
"""How long a cancelled stream waits for its job to stop (it normally takes ms); also the
grace a job gets past its deadline before the engine counts it as hung."""
LOAD_LIMIT_S = 600.0
"""Bound on loading the model (seconds on a laptop; a slow disk and a large file, minutes)."""
STATE_LIMIT_S = 120.0
"""Bound on saving or restoring the prefix state, and on ``close`` (the queued replies first)."""
TOKENIZE_LIMIT_S = 5.0
"""Bound on a tokenizer call (milliseconds; ``count_tokens`` answers with its upper bound)."""
STUCK = (
    "The language model stopped responding: a call into llama.cpp ran far past its time "
    "limit. Restart her_desktop to use it again."
)
HUGE_PROMPT_BYTES_PER_CTX = 32
"""``count_tokens`` returns the byte count (an upper bound) instead of tokenizing a prompt
longer than this many bytes per context token: a 1 MB paste is not tokenized on the loop."""


@dataclass(slots=True)
class _Reply:
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


@dataclass(slots=True)
class _Loaded:
    llm: Any  # llama_cpp.Llama
    closed: bool
    chat: ChatTemplate
    bos_id: int
    add_bos: bool
    gpu_layers: int
    n_layers: int
    abort_callback: Any  # keeps the ctypes callback alive while llama.cpp holds it


def _opener_ban(llm: Any, words: Sequence[str], prompt_length: int) -> Any:
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
        self._n_ctx = n_ctx
        self._n_gpu_layers = n_gpu_layers
        self._n_threads = n_threads or physical_cores()
        self._n_batch = max(1, min(n_batch, n_ctx))
        self._n_ubatch = n_ubatch
        self._seed = seed
        self._verbose = verbose
        self._calls = NativeCalls("llamacpp", restart_after_hang=False)
        """The owner thread: every call on the model's contexts is a job here."""
        self._vocab_calls = NativeCalls("llamacpp-tokenize", restart_after_hang=False)
        """Tokenizing beside a decode, and freeing the model after ``close``."""
        self._loaded: _Loaded | None = None
        self._reply: _Reply | None = None
        self._scorer: SideContext | None = None
        self._background: SideContext | None = None
        """the side context of ``background_generate`` (its own KV cache: the labels' fixed
        prompt and the conversation's both stay cached)"""
        self._system_info = ""
        self.prefix_restored = False
        """The last ``warm`` restored the prompt state saved by an earlier launch."""

    # -- LLMEngine -------------------------------------------------------------------------

    @property
    def context_size(self) -> int:
        return self._n_ctx

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    @property
    def busy(self) -> bool:
        """The owner thread is running a job now (a reply, scoring, background work)."""
        return self._calls.busy

    async def load(self) -> None:
        if self._loaded is None:
            await self._owner(self._load_blocking, limit_s=LOAD_LIMIT_S)

    async def _owner(self, fn: Callable[[], T], *, limit_s: float, priority: int = URGENT) -> T:
        """Run ``fn`` on the owner thread, waiting at most ``limit_s``."""
        try:
            return await self._calls.acall(fn, limit_s=limit_s, priority=priority)
        except NativeTimeout:
            raise LLMError(STUCK) from None

    def info(self) -> EngineInfo:
        import llama_cpp

        loaded = self._loaded
        gpu = bool(llama_cpp.llama_supports_gpu_offload())
        gpu_layers = loaded.gpu_layers if loaded is not None else self._planned_gpu_layers(gpu)
        if not self._system_info:
            self._system_info = llama_cpp.llama_print_system_info().decode(errors="replace")
        extra = {
            "system_info": self._system_info.strip(),
            "llama_cpp_python": str(getattr(llama_cpp, "__version__", "?")),
            "n_batch": str(self._n_batch),
            "n_ubatch": str(self._ubatch(gpu_layers != 0)),
            "loaded": str(loaded is not None).lower(),
        }
        if loaded is not None:
            extra["chat_template"] = loaded.chat.source
            extra["n_layers"] = str(loaded.n_layers)
        return EngineInfo(
            engine=self.name,
            model=str(self.model_path),
            context_size=self._n_ctx,
            gpu_offload_supported=gpu,
            gpu_layers=gpu_layers,
            threads=self._n_threads,
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
        if len(raw) > HUGE_PROMPT_BYTES_PER_CTX * self._n_ctx:
            return len(raw) + extra_bos
        try:
            count = self._vocab_calls.call(
                lambda: len(self._tokenize(loaded, raw)), timeout=TOKENIZE_LIMIT_S
            )
        except (LLMError, NativeTimeout):  # closed meanwhile, or the tokenizer stopped answering
            return len(raw) + extra_bos
        return count + extra_bos

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

        reply = _Reply(list(messages), params, stats, emit, started)
        job = self._calls.start(lambda: self._generate_blocking(reply), priority=URGENT)
        if job.cancelled:
            raise LLMError(STUCK)
        finished = False
        limit = reply.deadline  # then a grace, before a job that does not stop counts as hung
        try:
            while True:
                try:
                    async with asyncio.timeout(max(0.0, limit - time.monotonic())):
                        kind, value = await queue.get()
                except TimeoutError:
                    if self._calls.cancel(job):  # still queued behind another reply
                        stats.finish_reason = "deadline"
                        finished = True
                        return
                    if limit == reply.deadline:
                        limit += CANCEL_WAIT_S
                        continue
                    reply.abort.set()
                    stats.finish_reason = "error"
                    finished = True
                    self._abandon(job, limit - started)
                if kind == "text":
                    yield value
                elif kind == "done":
                    finished = True
                    return
                else:
                    finished = True
                    raise value
        finally:
            if not finished:
                reply.abort.set()
            await self._wait_for(job)
            if not finished:
                stats.finish_reason = "cancelled"
            stats.total_s = time.monotonic() - started

    async def warm(self, messages: Sequence[Message], params: GenerationParams) -> None:
        """Read the conversation's fixed prefix, or restore it from the last launch.

        The KV cache of ``messages`` (the persona's system prompt and a probe; never anything
        the user said) is saved once in the cache dir, keyed by the model file, the settings
        that shape the cache and the exact tokens. The next launch loads it in a fraction of
        a second instead of reading the prompt again (seconds on a small CPU). A state that
        does not fit is deleted and the prompt is read as usual."""
        await self.load()
        self.prefix_restored = await self._owner(
            lambda: self._restore_prefix(messages), limit_s=STATE_LIMIT_S, priority=NORMAL
        )
        if not self.prefix_restored:
            await super().warm(messages, params)
            await self._owner(
                lambda: self._save_prefix(messages), limit_s=STATE_LIMIT_S, priority=NORMAL
            )

    def _restore_prefix(self, messages: Sequence[Message]) -> bool:
        loaded = self._loaded
        if loaded is None:
            return False
        tokens = self._prompt_tokens(loaded, messages)
        path = prefix_state_path(self.model_path, self._n_ctx, loaded.gpu_layers, tokens)
        return restore_prefix_state(loaded.llm, path, tokens, self._n_ctx)

    def _save_prefix(self, messages: Sequence[Message]) -> None:
        loaded = self._loaded
        if loaded is None:
            return
        tokens = self._prompt_tokens(loaded, messages)
        path = prefix_state_path(self.model_path, self._n_ctx, loaded.gpu_layers, tokens)
        save_prefix_state(loaded.llm, path, tokens)

    async def score_labels(
        self, messages: Sequence[Message], labels: Sequence[str], *, deadline_s: float = 5.0
    ) -> dict[str, float]:
        """See ``LLMEngine.score_labels``: one forward pass in a side context (``_Scorer``);
        its KV cache keeps the longest common prefix of the last scored prompt, so a fixed
        system prompt is read once and only the new message is evaluated. Gives way within
        one compute chunk when a reply asks for the model."""
        if not labels:
            return {}
        await self.load()
        deadline = time.monotonic() + max(0.0, deadline_s)
        cancelled = threading.Event()
        messages, labels = list(messages), list(labels)
        return await self._aside(
            lambda: self._score_blocking(messages, labels, deadline, cancelled),
            deadline,
            cancelled,
            "The model is busy; the labels were not scored.",
        )

    async def _aside(
        self, fn: Callable[[], T], deadline: float, cancelled: threading.Event, busy: str
    ) -> T:
        """Run background work ``fn`` on the owner thread after any queued reply. It stops at
        ``deadline`` (``BusyError`` with ``busy`` when it never started); one that runs on
        past it by ``CANCEL_WAIT_S`` is hung."""
        job = self._calls.start(fn, priority=BACKGROUND)
        try:
            if not await wait_async(job, max(0.0, deadline - time.monotonic())):
                if self._calls.cancel(job):
                    raise BusyError(busy)
                if not await wait_async(job, CANCEL_WAIT_S):  # its stop check sees the deadline
                    self._abandon(job, CANCEL_WAIT_S + deadline - time.monotonic())
        except asyncio.CancelledError:
            cancelled.set()
            self._calls.cancel(job)
            raise
        try:
            return job.outcome()
        except NativeTimeout:  # the engine had stopped responding before
            raise LLMError(STUCK) from None

    def _abandon(self, job: NativeJob[Any], waited: float) -> NoReturn:
        """The owner thread is stuck in ``job``: leave it behind, the engine says so."""
        with contextlib.suppress(NativeTimeout):
            self._calls.abandon(job, waited)
        raise LLMError(STUCK)

    def _score_blocking(
        self,
        messages: list[Message],
        labels: list[str],
        deadline: float,
        cancelled: threading.Event,
    ) -> dict[str, float]:
        def stop() -> bool:
            return (
                self._calls.urgent_waiting() or cancelled.is_set() or time.monotonic() >= deadline
            )

        if stop():
            raise BusyError("The model is busy; the labels were not scored.")
        loaded = self._loaded
        if loaded is None:
            raise LLMError("The model was closed.")
        prompt = self._prompt_tokens(loaded, messages)
        tokenized: dict[str, list[int]] = {}
        for label in labels:
            tokenized[label] = self._tokenize(loaded, label.encode("utf-8"))
            if not tokenized[label]:
                raise LLMError(f"The label {label!r} has no tokens.")
        tails = [t for t in tokenized.values() if len(t) > 1]
        if len(tails) >= SCORE_SEQS or sum(len(t) - 1 for t in tails) > self._n_batch:
            raise LLMError("Too many or too long labels to score at once.")
        if len(prompt) + max(map(len, tokenized.values())) >= SCORE_CTX:
            raise LLMError(f"The prompt ({len(prompt)} tokens) is too long to score.")
        return side_context.score(
            self._side_context(loaded),
            prompt,
            tokenized,
            n_vocab=int(loaded.llm._model.n_vocab()),
            step=self._ubatch(loaded.gpu_layers != 0),  # a cut-short pass keeps its chunks
            stop=stop,
        )

    async def background_generate(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        *,
        yield_to: Callable[[], bool] = lambda: False,
    ) -> str:
        """See ``LLMEngine.background_generate``: greedy decoding in a second side context
        (made like the scoring one, ``_side_context``) that keeps the longest common prefix of
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
        text = await self._aside(
            lambda: self._background_blocking(
                messages, params, deadline, cancelled, yield_to, logprobs
            ),
            deadline,
            cancelled,
            "The model is busy; the background work waits.",
        )
        return text, logprobs or []

    def _background_blocking(
        self,
        messages: list[Message],
        params: GenerationParams,
        deadline: float,
        cancelled: threading.Event,
        yield_to: Callable[[], bool],
        logprobs: list[float] | None = None,
    ) -> str:
        def stop() -> bool:
            return (
                self._calls.urgent_waiting()
                or cancelled.is_set()
                or yield_to()
                or time.monotonic() >= deadline
            )

        if stop():
            raise BusyError("The model is busy; the background work waits.")
        loaded = self._loaded
        if loaded is None:
            raise LLMError("The model was closed.")
        prompt = self._prompt_tokens(loaded, messages)
        if len(prompt) + max(1, params.max_tokens) >= BACKGROUND_CTX:
            raise LLMError(f"The prompt ({len(prompt)} tokens) is too long for the background.")
        return side_context.generate_greedy(
            self._side_context(loaded, background=True),
            loaded.llm._model.vocab,
            prompt,
            grammar=params.grammar or "",
            max_tokens=params.max_tokens,
            step=self._ubatch(loaded.gpu_layers != 0),
            stop=stop,
            logprobs=logprobs,
            n_vocab=int(loaded.llm._model.n_vocab()),
        )

    def _side_context(self, loaded: _Loaded, *, background: bool = False) -> SideContext:
        """The scoring context (or, ``background``, the background-generation one), made on
        first use. Runs on the owner thread."""
        side = self._background if background else self._scorer
        if side is None:
            side = side_context.make_side_context(
                loaded.llm._model,
                n_ctx=BACKGROUND_CTX if background else SCORE_CTX,
                n_seq=1 if background else SCORE_SEQS,
                n_batch=self._n_batch,
                n_ubatch=self._ubatch(loaded.gpu_layers != 0),
                n_threads=self._n_threads,
            )
            if background:
                self._background = side
            else:
                self._scorer = side
        return side

    async def close(self) -> None:
        """Stop the running reply, close the contexts on the owner thread (after the replies
        queued before), then free the model on the tokenizer thread (after its queued work).
        A hung engine is left as it is (its stuck thread may still be inside the model)."""
        reply = self._reply
        if reply is not None:
            reply.abort.set()
        try:
            loaded = await self._owner(self._close_contexts, limit_s=STATE_LIMIT_S)
        except LLMError:  # hung: the stuck thread may still be inside the model
            log.warning("llama.cpp stopped responding; the model is left as it is")
            return
        if loaded is not None:
            try:
                await self._vocab_calls.acall(
                    lambda: self._free(loaded), limit_s=STATE_LIMIT_S, priority=NORMAL
                )
            except NativeTimeout:
                log.warning("llama.cpp's tokenizer thread did not answer; the model is not freed")

    # -- loading ---------------------------------------------------------------------------

    def _ubatch(self, gpu: bool) -> int:
        """Tokens computed per graph run. The abort callback runs between graph nodes and a
        node's time grows with this, so on CPU it is kept small (cancel within ~30 ms on two
        cores, for ~20 % slower prompt evaluation); with GPU offload the whole batch."""
        if self._n_ubatch is not None:
            return max(1, min(self._n_ubatch, self._n_batch))
        return self._n_batch if gpu else min(CPU_UBATCH, self._n_batch)

    def _planned_gpu_layers(self, gpu_supported: bool) -> int:
        if self._n_gpu_layers == "auto":
            return -1 if gpu_supported else 0
        return int(self._n_gpu_layers) if gpu_supported else 0

    def _load_blocking(self) -> None:
        if self._loaded is not None:
            return
        try:
            check_gguf_file(self.model_path)
        except GGUFFileError as exc:
            raise ModelLoadError(str(exc)) from None
        self._loaded = self._load_model()

    def _load_model(self) -> _Loaded:
        import llama_cpp

        if not self._verbose:
            native_logs.install()
        gpu_layers = self._planned_gpu_layers(bool(llama_cpp.llama_supports_gpu_offload()))
        name = str(self.model_path)
        try:
            llm = llama_cpp.Llama(
                model_path=name,
                n_ctx=self._n_ctx,
                n_batch=self._n_batch,
                n_ubatch=self._ubatch(gpu_layers != 0),
                n_threads=self._n_threads,
                n_threads_batch=self._n_threads,
                n_gpu_layers=gpu_layers,
                seed=self._seed,
                verbose=self._verbose,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(
                f"llama.cpp could not load the model file {name} ({exc}). It may be damaged, "
                f"too new for this version, or too large for the free memory. {FIX_HINT}"
            ) from None
        try:
            return self._prepare(llm, gpu_layers)
        except Exception as exc:
            llm.close()
            raise ModelLoadError(
                f"llama.cpp loaded {name} but it is not usable as a chat model ({exc}). {FIX_HINT}"
            ) from None

    def _prepare(self, llm: Any, gpu_layers: int) -> _Loaded:
        import llama_cpp

        model = llm._model
        chat = ChatTemplate.of(llm, self.model_path.name)
        bos_id = int(model.token_bos())
        engine = self

        def should_abort(_data: Any) -> bool:
            reply = engine._reply
            return reply is not None and reply.should_stop()

        callback = llama_cpp.ggml_abort_callback(should_abort)
        llama_cpp.llama_set_abort_callback(llm.ctx, callback, None)
        return _Loaded(
            llm=llm,
            closed=False,
            chat=chat,
            bos_id=bos_id,
            add_bos=bool(model.add_bos_token()) and bos_id >= 0,
            gpu_layers=gpu_layers,
            n_layers=int(llama_cpp.llama_model_n_layer(llm.model)),
            abort_callback=callback,
        )

    def _close_contexts(self) -> _Loaded | None:
        """On the owner thread: the contexts are closed; the model is freed by ``_free``."""
        loaded, self._loaded = self._loaded, None
        if loaded is None:
            return None
        import llama_cpp

        llama_cpp.llama_set_abort_callback(loaded.llm.ctx, llama_cpp.ggml_abort_callback(), None)
        sides = (self._scorer, self._background)
        self._scorer = self._background = None
        for side in sides:
            if side is not None:
                side.close()
        return loaded

    @staticmethod
    def _free(loaded: _Loaded) -> None:
        """On the tokenizer thread, after every tokenize queued before it."""
        loaded.closed = True
        loaded.llm.close()
        loaded.abort_callback = None

    # -- prompt ----------------------------------------------------------------------------

    @staticmethod
    def _tokenize(loaded: _Loaded, raw: bytes) -> list[int]:
        """On the owner or the tokenizer thread (the model is freed on the latter)."""
        if loaded.closed:
            raise LLMError("The model was closed.")
        if not raw:
            return []
        return list(loaded.llm._model.tokenize(raw, False, True))

    @staticmethod
    def _detokenize(loaded: _Loaded, tokens: Sequence[int]) -> str:
        if loaded.closed:
            raise LLMError("The model was closed.")
        vocab = loaded.llm._model.vocab
        raw = b"".join(token_piece(vocab, t, special=True) for t in tokens)
        return raw.decode("utf-8", "replace")

    def _prompt_tokens(self, loaded: _Loaded, messages: Sequence[Message]) -> list[int]:
        text, had_bos = loaded.chat.render(messages)
        tokens = self._tokenize(loaded, text.encode("utf-8", "replace"))
        if had_bos or loaded.add_bos:
            tokens.insert(0, loaded.bos_id)
        return tokens

    def formatted_prompt(self, messages: Sequence[Message]) -> tuple[str, list[int]]:
        """The prompt text exactly as the model sees it (with BOS text) and its tokens.

        For tests and diagnostics; the model must be loaded.
        """
        loaded = self._loaded
        if loaded is None:
            raise LLMError("The model is not loaded yet.")

        def formatted() -> tuple[str, list[int]]:
            tokens = self._prompt_tokens(loaded, messages)
            return self._detokenize(loaded, tokens), tokens

        try:
            return self._vocab_calls.call(formatted, timeout=TOKENIZE_LIMIT_S)
        except NativeTimeout:
            raise LLMError(STUCK) from None

    # -- generation (owner thread) ---------------------------------------------------------

    async def _wait_for(self, job: NativeJob[None]) -> None:
        """A stopped stream's job: off the queue, or finished within ``CANCEL_WAIT_S``."""
        if job.done.is_set() or self._calls.cancel(job):
            return
        if not await wait_async(job, CANCEL_WAIT_S):
            log.warning("llama.cpp did not stop the reply within %.1f s", CANCEL_WAIT_S)

    def _generate_blocking(self, job: _Reply) -> None:
        stats, emit = job.stats, job.emit
        try:
            if job.should_stop():  # cancelled, or out of time while another reply ran
                reason: FinishReason = "cancelled" if job.abort.is_set() else "deadline"
                stats.finish_reason = reason
                emit("done", reason)
                return
            self._reply = job
            try:
                reason = self._run(job)
            finally:
                self._reply = None
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

    def _run(self, job: _Reply) -> FinishReason:
        from llama_cpp.llama_grammar import LlamaGrammar

        params, stats = job.params, job.stats

        if job.abort.is_set():
            return "cancelled"
        loaded = self._loaded
        if loaded is None:
            raise LLMError("The model was closed before the reply started.")
        llm = loaded.llm
        prompt = self._prompt_tokens(loaded, job.messages)
        stats.prompt_tokens = len(prompt)
        if len(prompt) >= self._n_ctx:
            raise LLMError(
                f"The conversation ({len(prompt)} tokens) is longer than the model's context "
                f"({self._n_ctx} tokens). Start a new conversation or raise the context size "
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
        llm.set_seed(params.seed if params.seed is not None else self._seed)
        vocab = llm._model.vocab
        text_out = ControlTokenFilter(
            (*loaded.chat.stop_texts, *params.stop),
            strip_leading_space=True,
            keep_partial_at_end=True,
        )
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        budget = min(params.max_tokens, self._n_ctx - len(prompt))

        def flush(chunk: str) -> None:
            if chunk:
                if stats.first_token_s is None:
                    stats.first_token_s = time.monotonic() - job.started
                job.emit("text", chunk)

        generator = llm.generate(
            prompt,
            logits_processor=_opener_ban(llm, params.banned_openers, len(prompt)),
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


__all__ = ["LlamaCppEngine", "physical_cores"]
