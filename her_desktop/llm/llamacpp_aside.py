"""Work beside the conversation: label scoring and background generation, each in a side
context of its own (:mod:`~her_desktop.llm.side_context`), so neither evicts the conversation's
cache. Both give way to a waiting reply through ``stop``.

Everything here runs on the engine's owner thread (``her_desktop.native_calls``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from her_desktop.llm import side_context
from her_desktop.llm.base import GenerationParams, LLMError, Message
from her_desktop.llm.llamacpp_model import LoadedModel
from her_desktop.llm.side_context import BACKGROUND_CTX, SCORE_CTX, SCORE_SEQS, SideContext


class SideWork:
    """The engine's two side contexts, made on first use: ``scorer`` for ``score_labels``,
    ``background`` for ``background_generate`` (its own KV cache: the labels' fixed prompt and
    the conversation's both stay cached)."""

    def __init__(self, *, n_batch: int, n_threads: int) -> None:
        self._n_batch = n_batch
        self._n_threads = n_threads
        self.scorer: SideContext | None = None
        self.background: SideContext | None = None

    def context(self, loaded: LoadedModel, *, background: bool = False) -> SideContext:
        """The scoring context (or, ``background``, the background-generation one)."""
        side = self.background if background else self.scorer
        if side is None:
            side = side_context.make_side_context(
                loaded.llm._model,
                n_ctx=BACKGROUND_CTX if background else SCORE_CTX,
                n_seq=1 if background else SCORE_SEQS,
                n_batch=self._n_batch,
                n_ubatch=loaded.step,
                n_threads=self._n_threads,
            )
            if background:
                self.background = side
            else:
                self.scorer = side
        return side

    def score(
        self,
        loaded: LoadedModel,
        messages: Sequence[Message],
        labels: Sequence[str],
        stop: Callable[[], bool],
    ) -> dict[str, float]:
        """Each label's log-probability after ``messages``, in one forward pass."""
        prompt = loaded.prompt_tokens(messages)
        tokenized: dict[str, list[int]] = {}
        for label in labels:
            tokenized[label] = loaded.tokenize(label.encode("utf-8"))
            if not tokenized[label]:
                raise LLMError(f"The label {label!r} has no tokens.")
        tails = [t for t in tokenized.values() if len(t) > 1]
        if len(tails) >= SCORE_SEQS or sum(len(t) - 1 for t in tails) > self._n_batch:
            raise LLMError("Too many or too long labels to score at once.")
        if len(prompt) + max(map(len, tokenized.values())) >= SCORE_CTX:
            raise LLMError(f"The prompt ({len(prompt)} tokens) is too long to score.")
        return side_context.score(
            self.context(loaded),
            prompt,
            tokenized,
            n_vocab=loaded.n_vocab,
            step=loaded.step,  # a cut-short pass keeps its chunks
            stop=stop,
        )

    def generate(
        self,
        loaded: LoadedModel,
        messages: Sequence[Message],
        params: GenerationParams,
        stop: Callable[[], bool],
        logprobs: list[float] | None,
    ) -> str:
        """Greedy decoding of a reply to ``messages`` (each chosen token's log-probability
        appended to ``logprobs`` when it is a list)."""
        prompt = loaded.prompt_tokens(messages)
        if len(prompt) + max(1, params.max_tokens) >= BACKGROUND_CTX:
            raise LLMError(f"The prompt ({len(prompt)} tokens) is too long for the background.")
        return side_context.generate_greedy(
            self.context(loaded, background=True),
            loaded.llm._model.vocab,
            prompt,
            grammar=params.grammar or "",
            max_tokens=params.max_tokens,
            step=loaded.step,
            stop=stop,
            logprobs=logprobs,
            n_vocab=loaded.n_vocab,
        )

    def close(self) -> None:
        """Free both contexts (the model stays); the next use makes them again."""
        sides = (self.scorer, self.background)
        self.scorer = self.background = None
        for side in sides:
            if side is not None:
                side.close()
