"""A GGUF model's own chat template: how a conversation becomes the text the model reads.

- The template is the file's ``tokenizer.chat_template``, rendered with Jinja in a sandbox
  (ChatML when a file has none). A template that rejects a system role (some do) gets the
  system text merged into the first user message instead.
- BOS is written exactly once: :meth:`ChatTemplate.render` strips a BOS text the template
  wrote and says so, and the engine adds the BOS token itself.
- Control-token texts inside message contents (``<|im_start|>`` …) are defused, so text can
  never forge a role tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from her_desktop.llm.base import LLMError, Message

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass(frozen=True, slots=True)
class ChatTemplate:
    template: Any  # jinja2 Template
    source: str
    """``"gguf"`` (the file's own) or ``"fallback chatml"``."""
    bos_text: str
    eos_text: str
    control_texts: tuple[str, ...]
    """The vocabulary's control-token texts, longest first (what :meth:`defuse` breaks up)."""
    stop_texts: tuple[str, ...]
    """Control-token texts of 3+ characters, in vocabulary order: a reply stops on them."""
    model_name: str

    @classmethod
    def of(cls, llm: Any, model_name: str) -> ChatTemplate:
        """The template of a loaded ``llama_cpp.Llama`` (reads its vocabulary once)."""
        import jinja2
        import llama_cpp
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        model = llm._model
        vocab = model.vocab
        source = "gguf"
        text = llm.metadata.get("tokenizer.chat_template")
        if not text:
            text, source = CHATML_TEMPLATE, "fallback chatml"
        env = ImmutableSandboxedEnvironment(
            loader=jinja2.BaseLoader(),
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=["jinja2.ext.loopcontrols"],
        )
        control: list[str] = []
        for token in range(model.n_vocab()):
            if llama_cpp.llama_vocab_get_attr(vocab, token) & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL:
                piece = model.token_get_text(token)
                if piece.strip():
                    control.append(piece)
        bos_id = int(model.token_bos())
        eos_id = int(model.token_eos())
        return cls(
            template=env.from_string(text),
            source=source,
            bos_text=model.token_get_text(bos_id) if bos_id >= 0 else "",
            eos_text=model.token_get_text(eos_id) if eos_id >= 0 else "",
            control_texts=tuple(sorted(set(control), key=len, reverse=True)),
            stop_texts=tuple(dict.fromkeys(c for c in control if len(c) >= 3)),
            model_name=model_name,
        )

    def defuse(self, text: str) -> str:
        """Message text with control-token texts broken up, so it can never forge a tag."""
        for tag in self.control_texts:
            if tag in text:
                text = text.replace(tag, tag[0] + "\u200b" + tag[1:])
        return text

    def render(self, messages: Sequence[Message]) -> tuple[str, bool]:
        """The formatted prompt without a leading BOS text, and whether the template wrote one."""
        items = [{"role": m.role, "content": self.defuse(m.content)} for m in messages]

        def unusable(exc: Exception) -> LLMError:
            return LLMError(
                f"The chat template of {self.model_name} cannot format this "
                f"conversation ({exc}). Choose another model in Settings."
            )

        try:
            text = self._render_items(items)
        except Exception as first_error:
            merged = merge_system(items)
            if merged == items:
                raise unusable(first_error) from None
            try:
                text = self._render_items(merged)
            except Exception as exc:
                raise unusable(exc) from None
        had_bos = False
        while self.bos_text and text.startswith(self.bos_text):
            text = text[len(self.bos_text) :]
            had_bos = True
        return text, had_bos

    def _render_items(self, items: list[dict[str, str]]) -> str:
        def raise_exception(message: str) -> None:
            raise ValueError(message)

        return str(
            self.template.render(
                messages=items,
                bos_token=self.bos_text,
                eos_token=self.eos_text,
                add_generation_prompt=True,
                raise_exception=raise_exception,
                strftime_now=lambda fmt: datetime.now().strftime(fmt),
            )
        )


def merge_system(items: list[dict[str, str]]) -> list[dict[str, str]]:
    """The system text moved into the first user message (for templates without a system
    role); ``items`` itself when there is no system message."""
    system = "\n\n".join(i["content"] for i in items if i["role"] == "system")
    rest = [dict(i) for i in items if i["role"] != "system"]
    if not system:
        return items
    for item in rest:
        if item["role"] == "user":
            item["content"] = f"{system}\n\n{item['content']}"
            return rest
    return [{"role": "user", "content": system}, *rest]
