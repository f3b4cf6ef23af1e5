"""The in-process llama.cpp engine (llama-cpp-python), with GPU offload where the build has it.

Policy:

- **Lazy, checked load.** ``load()`` (or the first ``stream()``) checks the file first
  (missing, empty, not GGUF, truncated: each a plain message naming the file and the fix) and
  then loads it in a worker thread. A failed load leaves the engine unloaded and usable for a
  retry. ``n_gpu_layers="auto"`` offloads every layer when the build supports GPU offload.
- **One inference lock.** llama.cpp is not thread-safe: every call on the context (load,
  prompt evaluation, sampling, close) holds one ``threading.Lock``, and concurrent streams are
  served one after the other. Tokenizing only reads the vocabulary, which is immutable once
  loaded (llama-server tokenizes from its HTTP threads while decoding the same way), so it
  takes a second, tokenizer lock instead: ``count_tokens`` on the event loop never waits
  seconds for a running reply. ``close`` takes both.
- **The model's own chat template.** The prompt is the GGUF's ``tokenizer.chat_template``
  rendered with Jinja (ChatML when a file has none). BOS is added exactly once: when the
  template writes it or the model asks for it, never both. Control-token texts inside message
  contents (``<|im_start|>`` …) are defused so text can never forge a role tag; the reply stops
  on any end-of-generation or control token, and its text goes through
  :class:`~her_desktop.llm.control_tokens.ControlTokenFilter` (defence in depth: it stops on
  turn tags and the model's control-token texts spelled out as plain text, and on
  ``params.stop``), so none of them ever reach the caller.
- **Caps and cancellation.** Generation runs in a worker thread that hands text to the event
  loop through a queue. It stops on the token cap (``length``), the deadline (``deadline``), or
  when the consumer goes away (task cancelled, loop broken, generator closed): an abort flag is
  checked between tokens *and* by llama.cpp's abort callback inside a running decode, so even a
  long prompt evaluation stops within milliseconds. The generator's ``finally`` waits (bounded)
  for the worker, so the engine is free again when the cancelled task finishes.
- **KV-cache reuse.** The context keeps the last prompt and reply; the next prompt of a growing
  conversation shares that prefix and only the new tail is evaluated (``cached_tokens``). When a
  prompt leaves out a block of old turns (a full context), the turns after that block are
  still in the cache further on: they are moved up over the left-out block (llama.cpp shifts
  their positions) instead of being read again (``_shift_reuse``).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import ctypes
import hashlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from her_desktop import paths
from her_desktop.events import FinishReason
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
from her_desktop.llm.control_tokens import ControlTokenFilter
from her_desktop.models.gguf_file import FIX_HINT, GGUFFileError, check_gguf_file

log = logging.getLogger(__name__)
native_log = logging.getLogger("her_desktop.llama_cpp")
"""llama.cpp's own messages. Its warnings are mostly expected noise for us (e.g. the KV entries
it drops after an aborted decode) and its errors become ``LLMError``s, so they are logged one
level lower than llama.cpp rates them and never printed on their own."""

# ggml_log_level (ggml.h): 1 debug, 2 info, 3 warn, 4 error, 5 continue the previous message.
_NATIVE_LEVELS = {1: logging.DEBUG, 2: logging.DEBUG, 3: logging.INFO, 4: logging.WARNING}

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

CPU_UBATCH = 64
"""Default compute chunk on CPU: see ``LlamaCppEngine._ubatch``."""
LOCK_POLL_S = 0.01
"""A queued request re-checks its abort flag and deadline this often while it waits."""
CANCEL_WAIT_S = 5.0
"""How long a cancelled stream waits for its worker before giving up (it normally takes ms)."""
SCORE_CTX = 1024
"""Context of the label-scoring side context (a short classification prompt)."""
BACKGROUND_CTX = 2048
"""Context of the background-generation side context (memory consolidation: a fixed
instruction, one message and a short JSON answer)."""
SCORE_SEQS = 16
"""Sequences of the scoring context: the prompt, and one per multi-token label."""
SHIFT_MIN_TOKENS = 32
"""Cached tokens after a left-out block are reused only when at least this many match."""
HUGE_PROMPT_BYTES_PER_CTX = 32
"""``count_tokens`` returns the byte count (an upper bound) instead of tokenizing a prompt
longer than this many bytes per context token: a 1 MB paste is not tokenized on the loop."""


def physical_cores() -> int:
    """Physical CPU cores (llama.cpp is slower on hyper-threads), else logical ones."""
    try:
        import psutil

        cores = psutil.cpu_count(logical=False)
    except ImportError:
        cores = None
    return max(1, int(cores or os.cpu_count() or 1))


# What llama.cpp logs when a decode is aborted through the abort callback on purpose.
_ABORT_ECHOES = (
    "failed to decode, ret = 2",
    "failed to compute graph, compute status: 1",
    "graph_compute_async failed with error 1",
)


class _NativeLogRouter:
    """Sends llama.cpp's log lines to :data:`native_log` instead of stderr.

    llama-cpp-python 0.3.36 maps ggml's log levels off by one and prints warnings on stderr
    even with ``verbose=False``; this replaces its callback (process-wide, set once).
    """

    def __init__(self) -> None:
        self.installed = False
        self.level = logging.DEBUG
        self.callback: Any = None

    def install(self) -> None:
        if self.installed:
            return
        import llama_cpp

        def on_log(level: int, text: bytes | None, _data: Any) -> None:
            if level != 5:
                self.level = _NATIVE_LEVELS.get(level, logging.DEBUG)
            message = (text or b"").decode("utf-8", "replace").rstrip()
            if message:
                level_now = self.level
                if any(marker in message for marker in _ABORT_ECHOES):
                    level_now = logging.DEBUG  # our own abort (cancel, deadline), not a fault
                native_log.log(level_now, "%s", message)

        self.callback = llama_cpp.llama_log_callback(on_log)
        llama_cpp.llama_log_set(self.callback, ctypes.c_void_p(0))
        self.installed = True


_native_logs = _NativeLogRouter()


@dataclass(slots=True)
class _Job:
    """One generation request: what to answer, where its text goes (``emit`` from the worker
    thread), and when to stop. The abort callback and the worker both read it."""

    messages: list[Message]
    params: GenerationParams
    stats: GenerationStats
    emit: Callable[[str, Any], None]
    started: float
    """``time.monotonic()`` when the request arrived; the deadline counts from here."""
    deadline: float = field(init=False)
    abort: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.deadline = self.started + max(0.0, self.params.deadline_s)

    def should_stop(self) -> bool:
        return self.abort.is_set() or time.monotonic() >= self.deadline


@dataclass(slots=True)
class _Loaded:
    llm: Any  # llama_cpp.Llama
    closed: bool
    template: Any  # jinja2 Template
    template_source: str
    bos_text: str
    eos_text: str
    bos_id: int
    add_bos: bool
    control_texts: tuple[str, ...]
    stop_texts: tuple[str, ...]
    gpu_layers: int
    n_layers: int
    abort_callback: Any  # keeps the ctypes callback alive while llama.cpp holds it


@dataclass(slots=True)
class _Scorer:
    """A second llama.cpp context on the same weights for ``score_labels``: its own small KV
    cache (its fixed prompt stays cached there), so classification never evicts the
    conversation's cached prefix from the main context."""

    ctx: Any  # llama_cpp._internals.LlamaContext
    batch: Any  # llama_cpp._internals.LlamaBatch
    abort_callback: Any
    tokens: list[int] = field(default_factory=list)
    stop: Callable[[], bool] = lambda: False


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
        self._lock = threading.Lock()
        self._tokenizer_lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._job: _Job | None = None
        self._scorer: _Scorer | None = None
        self._background: _Scorer | None = None
        """the side context of ``background_generate`` (its own KV cache: the labels' fixed
        prompt and the conversation's both stay cached)"""
        self._waiting: set[int] = set()
        """Replies waiting for the lock: background scoring gives way to them."""
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

    async def load(self) -> None:
        if self._loaded is None:
            await asyncio.to_thread(self._load_blocking)

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
            extra["chat_template"] = loaded.template_source
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
        text, had_bos = self._render(loaded, messages)
        raw = text.encode("utf-8", "replace")
        extra_bos = int(had_bos or loaded.add_bos)
        if len(raw) > HUGE_PROMPT_BYTES_PER_CTX * self._n_ctx:
            return len(raw) + extra_bos
        try:
            return len(self._tokenize(loaded, raw)) + extra_bos
        except LLMError:  # closed meanwhile
            return len(raw) + extra_bos

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

        job = _Job(list(messages), params, stats, emit, started)
        worker = threading.Thread(
            target=self._generate_blocking,
            args=(job,),
            name="llamacpp-generate",
            daemon=True,
        )
        worker.start()
        finished = False
        try:
            while True:
                kind, value = await queue.get()
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
                job.abort.set()
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
        self.prefix_restored = await asyncio.to_thread(self._restore_prefix, messages)
        if not self.prefix_restored:
            await super().warm(messages, params)
            await asyncio.to_thread(self._save_prefix, messages)

    def _prefix_file(self, loaded: _Loaded, tokens: Sequence[int]) -> Path:
        import llama_cpp

        stat = self.model_path.stat()
        key = hashlib.sha256()
        for part in (
            str(self.model_path.resolve()),
            stat.st_size,
            stat.st_mtime_ns,
            self._n_ctx,
            loaded.gpu_layers,
            llama_cpp.__version__,
            ",".join(map(str, tokens)),
        ):
            key.update(f"{part}\n".encode())
        return paths.cache_dir() / "llm-prefix" / f"{key.hexdigest()[:32]}.state"

    def _restore_prefix(self, messages: Sequence[Message]) -> bool:
        import llama_cpp

        with self._lock:
            loaded = self._loaded
            if loaded is None:
                return False
            llm = loaded.llm
            tokens = self._prompt_tokens(loaded, messages)
            path = self._prefix_file(loaded, tokens)
            if not path.is_file():
                return False
            buffer = (llama_cpp.llama_token * self._n_ctx)()
            count = ctypes.c_size_t(0)
            ok = llama_cpp.llama_state_load_file(
                llm.ctx, str(path).encode(), buffer, self._n_ctx, ctypes.byref(count)
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

    def _save_prefix(self, messages: Sequence[Message]) -> None:
        import llama_cpp

        with self._lock:
            loaded = self._loaded
            if loaded is None:
                return
            llm = loaded.llm
            tokens = self._prompt_tokens(loaded, messages)
            n = _cached_prefix(list(llm._input_ids), tokens)
            if n < len(tokens) - 1:
                return  # the prompt was not read completely (cancelled): nothing to keep
            path = self._prefix_file(loaded, tokens)
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
        try:
            return await asyncio.to_thread(
                self._score_blocking, list(messages), list(labels), deadline, cancelled
            )
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def _score_blocking(
        self,
        messages: list[Message],
        labels: list[str],
        deadline: float,
        cancelled: threading.Event,
    ) -> dict[str, float]:
        def stop() -> bool:
            return bool(self._waiting) or cancelled.is_set() or time.monotonic() >= deadline

        while not self._lock.acquire(timeout=LOCK_POLL_S):
            if stop():
                raise BusyError("The model is busy; the labels were not scored.")
        try:
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
            scorer = self._side_context(loaded)
            if len(prompt) + max(map(len, tokenized.values())) >= SCORE_CTX:
                raise LLMError(f"The prompt ({len(prompt)} tokens) is too long to score.")
            keep = _cached_prefix(scorer.tokens, prompt)
            scorer.ctx.kv_cache_seq_rm(0, keep, -1)
            del scorer.tokens[keep:]
            scorer.stop = stop
            try:
                step = self._ubatch(loaded.gpu_layers != 0)  # a cut-short pass keeps its chunks
                for start in range(keep, len(prompt), step):
                    chunk = prompt[start : start + step]
                    scorer.batch.set_batch(chunk, n_past=start, logits_all=False)
                    self._score_decode(scorer, stop)
                    scorer.tokens.extend(chunk)
                n_vocab = int(loaded.llm._model.n_vocab())
                first = _log_softmax(scorer.ctx.get_logits_ith(-1), n_vocab)
                rest = self._score_tails(scorer, tails, len(prompt), n_vocab, stop)
            finally:
                scorer.stop = lambda: False
            return {
                label: float(first[tokens[0]]) + rest.get(tuple(tokens), 0.0)
                for label, tokens in tokenized.items()
            }
        finally:
            self._lock.release()

    @staticmethod
    def _score_decode(scorer: _Scorer, stop: Callable[[], bool]) -> None:
        try:
            scorer.ctx.decode(scorer.batch)
        except RuntimeError:
            scorer.ctx.kv_cache_seq_rm(0, len(scorer.tokens), -1)
            if stop():
                raise BusyError("Background work gave way to a reply.") from None
            raise LLMError("llama.cpp could not evaluate the background prompt.") from None

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
        await self.load()
        deadline = time.monotonic() + max(0.0, params.deadline_s)
        cancelled = threading.Event()
        try:
            return await asyncio.to_thread(
                self._background_blocking, list(messages), params, deadline, cancelled, yield_to
            )
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def _background_blocking(
        self,
        messages: list[Message],
        params: GenerationParams,
        deadline: float,
        cancelled: threading.Event,
        yield_to: Callable[[], bool],
    ) -> str:
        import llama_cpp

        def stop() -> bool:
            return (
                bool(self._waiting)
                or cancelled.is_set()
                or yield_to()
                or time.monotonic() >= deadline
            )

        while not self._lock.acquire(timeout=LOCK_POLL_S):
            if stop():
                raise BusyError("The model is busy; the background work waits.")
        sampler: Any = None
        try:
            if stop():
                raise BusyError("The model is busy; the background work waits.")
            loaded = self._loaded
            if loaded is None:
                raise LLMError("The model was closed.")
            prompt = self._prompt_tokens(loaded, messages)
            if len(prompt) + max(1, params.max_tokens) >= BACKGROUND_CTX:
                raise LLMError(f"The prompt ({len(prompt)} tokens) is too long for the background.")
            vocab = loaded.llm._model.vocab
            sampler = llama_cpp.llama_sampler_chain_init(
                llama_cpp.llama_sampler_chain_default_params()
            )
            if params.grammar:
                _check_grammar(vocab, params.grammar)
                grammar = llama_cpp.llama_sampler_init_grammar(
                    vocab, params.grammar.encode("utf-8"), b"root"
                )
                llama_cpp.llama_sampler_chain_add(sampler, grammar)
            llama_cpp.llama_sampler_chain_add(sampler, llama_cpp.llama_sampler_init_greedy())
            side = self._side_context(loaded, background=True)
            keep = min(_cached_prefix(side.tokens, prompt), len(prompt) - 1)  # logits of the last
            side.ctx.kv_cache_seq_rm(0, keep, -1)
            del side.tokens[keep:]
            side.stop = stop
            out: list[int] = []
            try:
                step = self._ubatch(loaded.gpu_layers != 0)
                for start in range(keep, len(prompt), step):
                    chunk = prompt[start : start + step]
                    side.batch.set_batch(chunk, n_past=start, logits_all=False)
                    self._score_decode(side, stop)
                    side.tokens.extend(chunk)
                while len(out) < params.max_tokens:
                    if stop():
                        raise BusyError("Background work gave way to a reply.")
                    token = int(llama_cpp.llama_sampler_sample(sampler, side.ctx.ctx, -1))
                    if llama_cpp.llama_vocab_is_eog(vocab, token) or (
                        llama_cpp.llama_vocab_get_attr(vocab, token)
                        & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL
                    ):
                        break
                    out.append(token)
                    side.batch.set_batch([token], n_past=len(side.tokens), logits_all=True)
                    self._score_decode(side, stop)
                    side.tokens.append(token)
            finally:
                side.stop = lambda: False
            return b"".join(_token_piece(vocab, t) for t in out).decode("utf-8", "replace")
        finally:
            if sampler is not None:
                llama_cpp.llama_sampler_free(sampler)  # the chain frees its grammar and greedy
            self._lock.release()

    def _score_tails(
        self,
        scorer: _Scorer,
        tails: list[list[int]],
        n_past: int,
        n_vocab: int,
        stop: Callable[[], bool],
    ) -> dict[tuple[int, ...], float]:
        """Log-probability of each multi-token label's later tokens, all in one decode: each
        label continues the prompt on its own sequence (sharing the prompt's cache cells)."""
        if not tails:
            return {}
        batch = scorer.batch.batch
        count = 0
        for seq, tokens in enumerate(tails, start=1):
            scorer.ctx.kv_cache_seq_cp(0, seq, -1, -1)
            for j, token in enumerate(tokens[:-1]):
                batch.token[count] = token
                batch.pos[count] = n_past + j
                batch.n_seq_id[count] = 1
                batch.seq_id[count][0] = seq
                batch.logits[count] = True
                count += 1
        batch.n_tokens = count
        try:
            self._score_decode(scorer, stop)
            out: dict[tuple[int, ...], float] = {}
            index = 0
            for tokens in tails:
                total = 0.0
                for token in tokens[1:]:
                    total += float(_log_softmax(scorer.ctx.get_logits_ith(index), n_vocab)[token])
                    index += 1
                out[tuple(tokens)] = total
            return out
        finally:
            for seq in range(1, len(tails) + 1):
                scorer.ctx.kv_cache_seq_rm(seq, -1, -1)

    def _side_context(self, loaded: _Loaded, *, background: bool = False) -> _Scorer:
        """The scoring context (or, ``background``, the background-generation one), made on
        first use. Caller holds the inference lock."""
        if not background and self._scorer is not None:
            return self._scorer
        if background and self._background is not None:
            return self._background
        import llama_cpp
        from llama_cpp import _internals

        params = llama_cpp.llama_context_default_params()
        params.n_ctx = BACKGROUND_CTX if background else SCORE_CTX
        params.n_batch = self._n_batch
        params.n_ubatch = self._ubatch(loaded.gpu_layers != 0)
        params.n_threads = self._n_threads
        params.n_threads_batch = self._n_threads
        params.no_perf = True
        params.n_seq_max = 1 if background else SCORE_SEQS
        params.kv_unified = True  # label continuations share the prompt's cells
        try:
            ctx = _internals.LlamaContext(model=loaded.llm._model, params=params, verbose=False)
        except ValueError as exc:
            raise LLMError(f"llama.cpp could not make a scoring context ({exc}).") from None
        batch = _internals.LlamaBatch(n_tokens=self._n_batch, embd=0, n_seq_max=1, verbose=False)
        holder: list[_Scorer] = []

        def should_abort(_data: Any) -> bool:
            return bool(holder) and holder[0].stop()

        callback = llama_cpp.ggml_abort_callback(should_abort)
        llama_cpp.llama_set_abort_callback(ctx.ctx, callback, None)
        scorer = _Scorer(ctx=ctx, batch=batch, abort_callback=callback)
        holder.append(scorer)
        if background:
            self._background = scorer
        else:
            self._scorer = scorer
        return scorer

    async def close(self) -> None:
        job = self._job
        if job is not None:
            job.abort.set()
        await asyncio.to_thread(self._close_blocking)

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
        with self._lock:
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
            _native_logs.install()
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
        import jinja2
        import llama_cpp
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        model = llm._model
        vocab = model.vocab
        source = "gguf"
        template_text = llm.metadata.get("tokenizer.chat_template")
        if not template_text:
            template_text, source = CHATML_TEMPLATE, "fallback chatml"
        env = ImmutableSandboxedEnvironment(
            loader=jinja2.BaseLoader(),
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.loopcontrols"],
        )
        template = env.from_string(template_text)

        control: list[str] = []
        for token in range(model.n_vocab()):
            if llama_cpp.llama_vocab_get_attr(vocab, token) & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL:
                text = model.token_get_text(token)
                if text.strip():
                    control.append(text)
        bos_id = int(model.token_bos())
        eos_id = int(model.token_eos())
        bos_text = model.token_get_text(bos_id) if bos_id >= 0 else ""
        eos_text = model.token_get_text(eos_id) if eos_id >= 0 else ""
        stop_texts = tuple(dict.fromkeys(c for c in control if len(c) >= 3))

        job_ref = self

        def should_abort(_data: Any) -> bool:
            job = job_ref._job
            return job is not None and job.should_stop()

        callback = llama_cpp.ggml_abort_callback(should_abort)
        llama_cpp.llama_set_abort_callback(llm.ctx, callback, None)
        return _Loaded(
            llm=llm,
            closed=False,
            template=template,
            template_source=source,
            bos_text=bos_text,
            eos_text=eos_text,
            bos_id=bos_id,
            add_bos=bool(model.add_bos_token()) and bos_id >= 0,
            control_texts=tuple(sorted(set(control), key=len, reverse=True)),
            stop_texts=stop_texts,
            gpu_layers=gpu_layers,
            n_layers=int(llama_cpp.llama_model_n_layer(llm.model)),
            abort_callback=callback,
        )

    def _close_blocking(self) -> None:
        with self._lock:
            loaded, self._loaded = self._loaded, None
            if loaded is None:
                return
            import llama_cpp

            llama_cpp.llama_set_abort_callback(
                loaded.llm.ctx, llama_cpp.ggml_abort_callback(), None
            )
            sides = (self._scorer, self._background)
            self._scorer = self._background = None
            for scorer in sides:
                if scorer is not None:
                    llama_cpp.llama_set_abort_callback(
                        scorer.ctx.ctx, llama_cpp.ggml_abort_callback(), None
                    )
                    scorer.batch.close()
                    scorer.ctx.close()
            with self._tokenizer_lock:
                loaded.closed = True
                loaded.llm.close()
            loaded.abort_callback = None

    # -- prompt ----------------------------------------------------------------------------

    def _defuse(self, loaded: _Loaded, text: str) -> str:
        """Message text with control-token texts broken up, so it can never forge a tag."""
        for tag in loaded.control_texts:
            if tag in text:
                text = text.replace(tag, tag[0] + "\u200b" + tag[1:])
        return text

    def _render(self, loaded: _Loaded, messages: Sequence[Message]) -> tuple[str, bool]:
        """The formatted prompt without a leading BOS text, and whether the template wrote one.

        A template that rejects a system role (some do) gets the system text merged into the
        first user message instead.
        """
        items = [{"role": m.role, "content": self._defuse(loaded, m.content)} for m in messages]

        def unusable(exc: Exception) -> LLMError:
            return LLMError(
                f"The chat template of {self.model_path.name} cannot format this "
                f"conversation ({exc}). Choose another model in Settings."
            )

        try:
            text = self._render_items(loaded, items)
        except Exception as first_error:
            merged = _merge_system(items)
            if merged == items:
                raise unusable(first_error) from None
            try:
                text = self._render_items(loaded, merged)
            except Exception as exc:
                raise unusable(exc) from None
        had_bos = False
        while loaded.bos_text and text.startswith(loaded.bos_text):
            text = text[len(loaded.bos_text) :]
            had_bos = True
        return text, had_bos

    @staticmethod
    def _render_items(loaded: _Loaded, items: list[dict[str, str]]) -> str:
        def raise_exception(message: str) -> None:
            raise ValueError(message)

        return str(
            loaded.template.render(
                messages=items,
                bos_token=loaded.bos_text,
                eos_token=loaded.eos_text,
                add_generation_prompt=True,
                raise_exception=raise_exception,
                strftime_now=lambda fmt: datetime.now().strftime(fmt),
            )
        )

    def _tokenize(self, loaded: _Loaded, raw: bytes) -> list[int]:
        with self._tokenizer_lock:
            if loaded.closed:
                raise LLMError("The model was closed.")
            if not raw:
                return []
            return list(loaded.llm._model.tokenize(raw, False, True))

    def _detokenize(self, loaded: _Loaded, tokens: Sequence[int]) -> str:
        with self._tokenizer_lock:
            if loaded.closed:
                raise LLMError("The model was closed.")
            vocab = loaded.llm._model.vocab
            raw = b"".join(_token_piece(vocab, t, special=True) for t in tokens)
        return raw.decode("utf-8", "replace")

    def _prompt_tokens(self, loaded: _Loaded, messages: Sequence[Message]) -> list[int]:
        text, had_bos = self._render(loaded, messages)
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
        tokens = self._prompt_tokens(loaded, messages)
        return self._detokenize(loaded, tokens), tokens

    # -- generation (worker thread) --------------------------------------------------------

    async def _wait_for(self, job: _Job) -> None:
        if job.done.is_set():
            return
        waited = await asyncio.to_thread(job.done.wait, CANCEL_WAIT_S)
        if not waited:
            log.warning("llama.cpp worker did not stop within %.1f s", CANCEL_WAIT_S)

    def _generate_blocking(self, job: _Job) -> None:
        stats, emit = job.stats, job.emit
        try:
            # Wait for the model, but give up at once when this request is cancelled or its
            # deadline passes while another reply is still running. Background label scoring
            # sees the request waiting and gives way.
            self._waiting.add(id(job))
            try:
                while not self._lock.acquire(timeout=LOCK_POLL_S):
                    if job.should_stop():
                        reason: FinishReason = "cancelled" if job.abort.is_set() else "deadline"
                        stats.finish_reason = reason
                        emit("done", reason)
                        return
            finally:
                self._waiting.discard(id(job))
            try:
                self._job = job
                reason = self._run(job)
            finally:
                self._job = None
                self._lock.release()
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
        finally:
            job.done.set()

    def _run(self, job: _Job) -> FinishReason:
        import llama_cpp
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
        _shift_reuse(llm, prompt)
        stats.cached_tokens = _cached_prefix(list(llm._input_ids), prompt)
        if params.max_tokens <= 0:
            return "length"
        grammar = None
        if params.grammar:
            _check_grammar(llm._model.vocab, params.grammar)
            grammar = LlamaGrammar.from_string(params.grammar, verbose=False)
        llm.set_seed(params.seed if params.seed is not None else self._seed)
        vocab = llm._model.vocab
        text_out = ControlTokenFilter(
            (*loaded.stop_texts, *params.stop), strip_leading_space=True, keep_partial_at_end=True
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
                if llama_cpp.llama_vocab_is_eog(vocab, token) or (
                    llama_cpp.llama_vocab_get_attr(vocab, token)
                    & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL
                ):
                    reason = "stop"
                    break
                piece = _token_piece(vocab, token)
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


def _log_softmax(pointer: Any, n_vocab: int) -> Any:
    """The log-softmax (float64 numpy array) of one row of llama.cpp logits."""
    import numpy as np

    logits = np.ctypeslib.as_array(pointer, shape=(n_vocab,)).astype(np.float64)
    top = float(logits.max())
    return logits - (top + float(np.log(np.exp(logits - top).sum())))


def _check_grammar(vocab: Any, grammar: str) -> None:
    """Raise ``LLMError`` unless llama.cpp parses ``grammar``.

    llama-cpp-python 0.3.36 does not check: an invalid grammar crashes the process at the first
    sampled token. Caller holds the inference lock.
    """
    import llama_cpp

    sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
    if not sampler:
        raise LLMError("The output grammar is not valid GBNF (llama.cpp could not parse it).")
    llama_cpp.llama_sampler_free(sampler)


def _token_piece(vocab: Any, token: int, *, special: bool = False) -> bytes:
    """The UTF-8 bytes of one token (control tokens give ``b""`` unless ``special``)."""
    import llama_cpp

    size = 64
    while True:
        buffer = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_token_to_piece(vocab, token, buffer, size, 0, special)
        if n >= 0:
            return buffer.raw[:n]
        size = -n


def _cached_prefix(previous: list[int], prompt: list[int]) -> int:
    """Prompt tokens llama-cpp-python will reuse from the KV cache (it re-evaluates at least
    the last one to get fresh logits)."""
    n = 0
    for a, b in zip(previous, prompt, strict=False):
        if a != b:
            break
        n += 1
    return min(n, max(0, len(prompt) - 1))


def _shift_reuse(llm: Any, prompt: list[int]) -> int:
    """Reuse the cache past a block the prompt leaves out; returns the tokens moved up.

    The cache holds ``P + X + Y`` and the prompt is ``P + Y + Z`` (old turns ``X`` left out
    to fit the context): ``X`` is removed from the cache and ``Y`` is shifted into its place,
    so only ``Z`` is read. The moved part keeps what it was read with (it saw ``X`` before
    it), as llama-server's cache reuse does: close to a fresh read, at none of its cost.
    Caller holds the inference lock."""
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


def _merge_system(items: list[dict[str, str]]) -> list[dict[str, str]]:
    system = "\n\n".join(i["content"] for i in items if i["role"] == "system")
    rest = [dict(i) for i in items if i["role"] != "system"]
    if not system:
        return items
    for item in rest:
        if item["role"] == "user":
            item["content"] = f"{system}\n\n{item['content']}"
            return rest
    return [{"role": "user", "content": system}, *rest]


__all__ = ["LlamaCppEngine", "physical_cores"]
