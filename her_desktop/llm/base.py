"""The one small interface every language-model engine implements.

An engine streams the reply to a chat as text pieces. It always honours a token cap
(``max_tokens``) and a wall-clock deadline (``deadline_s``), and it stops promptly when the
consuming task is cancelled (barge-in, stop button): cancelling the ``async for`` over
``stream()`` must stop generation within tens of milliseconds and release the model.

Blocking inference never runs on the event loop: implementations run it in a worker thread.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from her_desktop.events import FinishReason

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class GenerationParams:
    max_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.9
    min_p: float = 0.05
    """Drop tokens less likely than ``min_p`` times the most likely one (cuts the odd word
    off-topic without flattening the likely ones as a low temperature would)."""
    repeat_penalty: float = 1.1
    """Multiplicative penalty (1 = off) on tokens of the last 64 generated (llama.cpp)."""
    presence_penalty: float = 0.0
    """Additive penalty on any token already generated (0 = off; OpenAI-style servers too)."""
    frequency_penalty: float = 0.0
    """Additive penalty per earlier use of a token (0 = off)."""
    deadline_s: float = 60.0
    stop: tuple[str, ...] = ()
    grammar: str | None = None
    """A GBNF grammar that constrains the output (structured JSON for memory/affect)."""
    seed: int | None = None
    banned_openers: tuple[str, ...] = ()
    """Words the reply may not start with: help-desk openers ("Certainly") that the reply
    filter would drop, so the first sound would wait for them (llama.cpp: each word that is
    one token gets no chance as the first token; other engines ignore it)."""


@dataclass(slots=True)
class GenerationStats:
    """Filled in by the engine while it streams; read it after the loop ends."""

    finish_reason: FinishReason | None = None
    tokens: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    first_token_s: float | None = None
    total_s: float = 0.0


@dataclass(frozen=True, slots=True)
class EngineInfo:
    engine: str
    model: str
    context_size: int
    gpu_offload_supported: bool = False
    gpu_layers: int = 0
    threads: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


class LLMError(Exception):
    """An LM failure with a message for people: what happened and the fix, in plain words."""


class ModelLoadError(LLMError):
    """The model file is missing, truncated or not a usable GGUF."""


class EndpointError(LLMError):
    """The remote LM server is down, slow, or answered something that is not a chat stream."""


class NotSupportedError(LLMError):
    """This engine cannot do what was asked (e.g. score labels); callers fall back."""


class BusyError(LLMError):
    """Optional background work gave way to a reply (or ran out of time); try again later."""


class LLMEngine(abc.ABC):
    """A chat language model. Load lazily; ``stream`` loads on first use."""

    name: str = "llm"
    speculation_ok: bool = False
    """Requests begun ahead of time and thrown away cost only local compute, and a shared
    prompt prefix is served from a cache (the dialogue's speculative replies use it)."""

    @property
    @abc.abstractmethod
    def context_size(self) -> int:
        """Tokens the model can attend to (prompt + reply)."""

    @abc.abstractmethod
    async def load(self) -> None:
        """Load the model (idempotent). Raises ``ModelLoadError`` / ``EndpointError``."""

    @abc.abstractmethod
    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens the formatted prompt of ``messages`` takes (an estimate where exactness is
        not available; never an underestimate by design of the implementation)."""

    @abc.abstractmethod
    def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        stats: GenerationStats | None = None,
    ) -> AsyncIterator[str]:
        """Stream the assistant's reply to ``messages``.

        Ends normally on a stop token, the token cap (reason ``length``) or the deadline
        (reason ``deadline``). Cancelling the consuming task stops generation promptly.
        Raises ``LLMError`` for failures people can act on.
        """

    @abc.abstractmethod
    def info(self) -> EngineInfo: ...

    async def warm(self, messages: Sequence[Message], params: GenerationParams) -> None:
        """Load the model and read ``messages`` (the conversation's fixed prefix: system
        prompt and a probe turn), so the first real turn starts from a warm cache. Engines
        that can keep that work across launches do so (see ``LlamaCppEngine``)."""
        await self.load()
        probe = dataclasses.replace(params, max_tokens=1, temperature=0.0)
        async for _ in self.stream(messages, probe):
            pass

    async def score_labels(
        self, messages: Sequence[Message], labels: Sequence[str], *, deadline_s: float = 5.0
    ) -> dict[str, float]:
        """Log-probability (natural log) that the assistant's reply to ``messages`` starts with
        each of ``labels`` (the first token of each label), from one forward pass: a one-label
        classifier with no sampling. Background work: it never delays a reply (it gives way
        with ``BusyError`` when a reply is waiting or ``deadline_s`` passes), and it must not
        disturb the conversation's cached prompt. Engines that cannot do it raise
        ``NotSupportedError``."""
        raise NotSupportedError(f"The {self.name} engine cannot score labels.")

    @property
    def works_in_background(self) -> bool:
        """True when ``background_generate`` is implemented (not ``NotSupportedError``)."""
        return type(self).background_generate is not LLMEngine.background_generate

    async def background_generate(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        *,
        yield_to: Callable[[], bool] = lambda: False,
    ) -> str:
        """The whole answer to ``messages`` (greedy; ``params.grammar`` constrains it), made as
        background work the way ``score_labels`` is: in a side context, so the conversation's
        cached prompt is never evicted, and giving way with ``BusyError`` within one token (or
        one compute chunk of the prompt) when a reply is waiting, when ``yield_to()`` turns true
        (the user started speaking or typing) or when ``params.deadline_s`` passes. Engines
        that cannot do it raise ``NotSupportedError``."""
        raise NotSupportedError(f"The {self.name} engine cannot work in the background.")

    async def background_generate_scored(
        self, messages: Sequence[Message], params: GenerationParams
    ) -> tuple[str, list[float]]:
        """``background_generate`` (no ``yield_to``) that also returns the natural-log
        probability of each token it chose: how sure the model was of each piece of its
        answer (``llm.translate`` declines an unsure translation). Engines that cannot do it
        raise ``NotSupportedError``."""
        raise NotSupportedError(f"The {self.name} engine cannot score what it writes.")

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release the model."""
