"""llama.cpp below the engine: its log lines, its threads, and the token-level helpers that
llama-cpp-python leaves to its callers (a token's bytes, a grammar check, a log-softmax).

Nothing here holds a lock; what touches a context runs on the engine's owner thread.
"""

from __future__ import annotations

import ctypes
import logging
import os
from typing import Any

native_log = logging.getLogger("her_desktop.llama_cpp")
"""llama.cpp's own messages. Its warnings are mostly expected noise for us (e.g. the KV entries
it drops after an aborted decode) and its errors become ``LLMError``s, so they are logged one
level lower than llama.cpp rates them and never printed on their own."""

# ggml_log_level (ggml.h): 1 debug, 2 info, 3 warn, 4 error, 5 continue the previous message.
_NATIVE_LEVELS = {1: logging.DEBUG, 2: logging.DEBUG, 3: logging.INFO, 4: logging.WARNING}

# What llama.cpp logs when a decode is aborted through the abort callback on purpose.
_ABORT_ECHOES = (
    "failed to decode, ret = 2",
    "failed to compute graph, compute status: 1",
    "graph_compute_async failed with error 1",
)


def physical_cores() -> int:
    """Physical CPU cores (llama.cpp is slower on hyper-threads), else logical ones."""
    try:
        import psutil

        cores = psutil.cpu_count(logical=False)
    except ImportError:
        cores = None
    return max(1, int(cores or os.cpu_count() or 1))


class NativeLogRouter:
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


native_logs = NativeLogRouter()
"""The process's one router (llama.cpp's log callback is global)."""


def log_softmax(pointer: Any, n_vocab: int) -> Any:
    """The log-softmax (float64 numpy array) of one row of llama.cpp logits."""
    import numpy as np

    logits = np.ctypeslib.as_array(pointer, shape=(n_vocab,)).astype(np.float64)
    top = float(logits.max())
    return logits - (top + float(np.log(np.exp(logits - top).sum())))


def check_grammar(vocab: Any, grammar: str) -> None:
    """Raise ``LLMError`` unless llama.cpp parses ``grammar``.

    llama-cpp-python 0.3.36 does not check: an invalid grammar crashes the process at the first
    sampled token. Runs on the engine's owner thread.
    """
    import llama_cpp

    from her_desktop.llm.base import LLMError

    sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
    if not sampler:
        raise LLMError("The output grammar is not valid GBNF (llama.cpp could not parse it).")
    llama_cpp.llama_sampler_free(sampler)


def token_piece(vocab: Any, token: int, *, special: bool = False) -> bytes:
    """The UTF-8 bytes of one token (control tokens give ``b""`` unless ``special``)."""
    import llama_cpp

    size = 64
    while True:
        buffer = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_token_to_piece(vocab, token, buffer, size, 0, special)
        if n >= 0:
            return buffer.raw[:n]
        size = -n


def is_end_token(vocab: Any, token: int) -> bool:
    """An end-of-generation or control token: a reply stops there."""
    import llama_cpp

    return bool(
        llama_cpp.llama_vocab_is_eog(vocab, token)
        or (llama_cpp.llama_vocab_get_attr(vocab, token) & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL)
    )
