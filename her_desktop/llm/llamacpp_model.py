"""The llama.cpp model of one engine: its settings, loading it, its prompt tokens, freeing it.

- **Checked load.** :func:`load_model` checks the file first (missing, empty, not GGUF,
  truncated: each a plain message naming the file and the fix), then loads it with the abort
  callback set, so a running decode can be stopped. ``n_gpu_layers="auto"`` offloads every
  layer when the build supports GPU offload.
- **The model's own chat template** (:mod:`~her_desktop.llm.chat_template`), BOS added exactly
  once (:meth:`LoadedModel.prompt_tokens`).
- **Tokenizing beside a decode.** ``llama_tokenize`` only reads the vocabulary, immutable once
  loaded, and is thread-safe (llama.cpp keeps it so: ggml-org/llama.cpp#9369; llama-server
  tokenizes from its HTTP threads while decoding), so the engine tokenizes on a second thread
  (``llamacpp-tokenize``), which also frees the model (:meth:`LoadedModel.free`) after the
  owner has closed the contexts: a tokenize never meets a freed vocabulary.

Loading and closing run on the engine's owner thread (``her_desktop.native_calls``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from her_desktop.llm.base import LLMError, Message, ModelLoadError
from her_desktop.llm.chat_template import ChatTemplate
from her_desktop.llm.llamacpp_native import native_logs, token_piece
from her_desktop.models.gguf_file import FIX_HINT, GGUFFileError, check_gguf_file

CPU_UBATCH = 64
"""Default compute chunk on CPU: see :meth:`LlamaSettings.ubatch`."""


@dataclass(frozen=True, slots=True)
class LlamaSettings:
    """How the engine runs its model (fixed for the engine's life)."""

    model_path: Path
    n_ctx: int
    n_gpu_layers: int | Literal["auto"]
    n_threads: int
    n_batch: int
    n_ubatch: int | None
    seed: int
    verbose: bool

    def ubatch(self, gpu: bool) -> int:
        """Tokens computed per graph run. The abort callback runs between graph nodes and a
        node's time grows with this, so on CPU it is kept small (cancel within ~30 ms on two
        cores, for ~20 % slower prompt evaluation); with GPU offload the whole batch."""
        if self.n_ubatch is not None:
            return max(1, min(self.n_ubatch, self.n_batch))
        return self.n_batch if gpu else min(CPU_UBATCH, self.n_batch)

    def planned_gpu_layers(self, gpu_supported: bool) -> int:
        if self.n_gpu_layers == "auto":
            return -1 if gpu_supported else 0
        return int(self.n_gpu_layers) if gpu_supported else 0


@dataclass(slots=True)
class LoadedModel:
    """A loaded model with what the engine needs to prompt it."""

    llm: Any  # llama_cpp.Llama
    closed: bool
    chat: ChatTemplate
    bos_id: int
    add_bos: bool
    gpu_layers: int
    n_layers: int
    step: int
    """tokens per compute chunk (:meth:`LlamaSettings.ubatch` for this offload)"""
    abort_callback: Any  # keeps the ctypes callback alive while llama.cpp holds it

    @property
    def n_vocab(self) -> int:
        return int(self.llm._model.n_vocab())

    def tokenize(self, raw: bytes) -> list[int]:
        """On the owner or the tokenizer thread (the model is freed on the latter)."""
        if self.closed:
            raise LLMError("The model was closed.")
        if not raw:
            return []
        return list(self.llm._model.tokenize(raw, False, True))

    def detokenize(self, tokens: Sequence[int]) -> str:
        if self.closed:
            raise LLMError("The model was closed.")
        vocab = self.llm._model.vocab
        raw = b"".join(token_piece(vocab, t, special=True) for t in tokens)
        return raw.decode("utf-8", "replace")

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """``messages`` in the model's chat template, tokenized, BOS added exactly once."""
        text, had_bos = self.chat.render(messages)
        tokens = self.tokenize(text.encode("utf-8", "replace"))
        if had_bos or self.add_bos:
            tokens.insert(0, self.bos_id)
        return tokens

    def detach_abort(self) -> None:
        """On the owner thread, before its contexts close: llama.cpp stops calling back."""
        import llama_cpp

        llama_cpp.llama_set_abort_callback(self.llm.ctx, llama_cpp.ggml_abort_callback(), None)

    def free(self) -> None:
        """On the tokenizer thread, after every tokenize queued before it."""
        self.closed = True
        self.llm.close()
        self.abort_callback = None


def load_model(settings: LlamaSettings, should_abort: Callable[[], bool]) -> LoadedModel:
    """Check and load the model file (``ModelLoadError`` in plain words when it cannot be);
    ``should_abort`` is asked inside every decode whether to stop it."""
    import llama_cpp

    try:
        check_gguf_file(settings.model_path)
    except GGUFFileError as exc:
        raise ModelLoadError(str(exc)) from None
    if not settings.verbose:
        native_logs.install()
    gpu_layers = settings.planned_gpu_layers(bool(llama_cpp.llama_supports_gpu_offload()))
    name = str(settings.model_path)
    try:
        llm = llama_cpp.Llama(
            model_path=name,
            n_ctx=settings.n_ctx,
            n_batch=settings.n_batch,
            n_ubatch=settings.ubatch(gpu_layers != 0),
            n_threads=settings.n_threads,
            n_threads_batch=settings.n_threads,
            n_gpu_layers=gpu_layers,
            seed=settings.seed,
            verbose=settings.verbose,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelLoadError(
            f"llama.cpp could not load the model file {name} ({exc}). It may be damaged, "
            f"too new for this version, or too large for the free memory. {FIX_HINT}"
        ) from None
    try:
        return _prepare(llm, settings, gpu_layers, should_abort)
    except Exception as exc:
        llm.close()
        raise ModelLoadError(
            f"llama.cpp loaded {name} but it is not usable as a chat model ({exc}). {FIX_HINT}"
        ) from None


def _prepare(
    llm: Any, settings: LlamaSettings, gpu_layers: int, should_abort: Callable[[], bool]
) -> LoadedModel:
    import llama_cpp

    model = llm._model
    chat = ChatTemplate.of(llm, settings.model_path.name)
    bos_id = int(model.token_bos())
    callback = llama_cpp.ggml_abort_callback(lambda _data: should_abort())
    llama_cpp.llama_set_abort_callback(llm.ctx, callback, None)
    return LoadedModel(
        llm=llm,
        closed=False,
        chat=chat,
        bos_id=bos_id,
        add_bos=bool(model.add_bos_token()) and bos_id >= 0,
        gpu_layers=gpu_layers,
        n_layers=int(llama_cpp.llama_model_n_layer(llm.model)),
        step=settings.ubatch(gpu_layers != 0),
        abort_callback=callback,
    )
