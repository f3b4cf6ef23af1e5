"""A tiny random-weight llama-architecture GGUF for tests, built in well under a second.

The model is real enough for llama.cpp to load, tokenize, sample (with or without a GBNF grammar)
and stream, and small enough (~150 KB) to build per test session. Its output is noise, so tests
assert on mechanics (finish reasons, caps, cancellation, prompt formatting), never on meaning.

Vocabulary (llama/SentencePiece style, byte fallback):

- ``<unk>`` ``<s>`` (BOS) ``</s>`` (EOS) and the ChatML tags ``<|im_start|>`` ``<|im_end|>`` as
  control tokens; llama.cpp recognises ``<|im_end|>`` as an end-of-generation token by its text.
- the 256 byte tokens ``<0x00>`` … ``<0xFF>``, so any text (CJK, emoji, NUL) tokenizes;
- single printable characters and a few two-character pieces, so plain text takes fewer tokens.

The output rows of the control tokens are zero, so a randomly initialised model rarely ends a
reply on its own: token caps and deadlines are reached reliably.

Fixtures: ``tiny_gguf`` (ChatML template, no automatic BOS, like Qwen),
``tiny_gguf_llama2_template`` (a template that writes ``{{ bos_token }}`` itself while the
model also asks for an automatic BOS, to test that the engine adds BOS exactly once) and
``tiny_engine`` (the llama.cpp engine on ``tiny_gguf``); ``chat`` streams one short reply.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import gguf
import numpy as np
import pytest

from her_desktop.llm.base import GenerationParams, GenerationStats, Message
from her_desktop.llm.llamacpp import LlamaCppEngine

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

LLAMA2_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}"
    "{{ '<<SYS>>\\n' + message['content'] + '\\n<</SYS>>\\n\\n' }}"
    "{% elif message['role'] == 'user' %}"
    "{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% else %}"
    "{{ ' ' + message['content'] + eos_token }}"
    "{% endif %}"
    "{% endfor %}"
)

CONTROL_TOKENS = ("<|im_start|>", "<|im_end|>")
BOS_ID = 1
EOS_ID = 2

N_EMBD = 64
N_HEAD = 2
N_FF = 128
N_LAYER = 2
N_CTX_TRAIN = 4096

_QUANTS = {
    "Q8_0": gguf.GGMLQuantizationType.Q8_0,
    "Q4_0": gguf.GGMLQuantizationType.Q4_0,
    "F16": gguf.GGMLQuantizationType.F16,
    "F32": gguf.GGMLQuantizationType.F32,
}
_FILE_TYPES = {"Q8_0": 7, "Q4_0": 2, "F16": 1, "F32": 0}


def _vocab() -> tuple[list[str], list[float], list[int]]:
    tokens = ["<unk>", "<s>", "</s>", *CONTROL_TOKENS]
    types = [
        gguf.TokenType.UNKNOWN,
        gguf.TokenType.CONTROL,
        gguf.TokenType.CONTROL,
        *([gguf.TokenType.CONTROL] * len(CONTROL_TOKENS)),
    ]
    for byte in range(256):
        tokens.append(f"<0x{byte:02X}>")
        types.append(gguf.TokenType.BYTE)
    chars = [chr(c) for c in range(ord("!"), ord("~") + 1)]
    pieces = ["▁", *chars, *(f"▁{c}" for c in "abcdefghijklmnopqrstuvwxyz"), "es", "no", "he"]
    pieces += ["▁y", "▁ye", "▁yes", "▁n", "▁no", "ye", "yes"]
    for piece in dict.fromkeys(pieces):
        if piece not in tokens:
            tokens.append(piece)
            types.append(gguf.TokenType.NORMAL)
    # SentencePiece merges the highest-scoring piece first: longer pieces score higher.
    scores = [
        float(len(tok)) if t == gguf.TokenType.NORMAL else 0.0
        for tok, t in zip(tokens, types, strict=True)
    ]
    return tokens, scores, [int(t) for t in types]


def build_tiny_gguf(
    path: Path,
    *,
    quant: str = "Q8_0",
    chat_template: str | None = CHATML_TEMPLATE,
    add_bos: bool = False,
    seed: int = 0,
) -> Path:
    """Write a tiny random llama GGUF to ``path`` and return ``path``."""
    qtype = _QUANTS[quant]
    rng = np.random.default_rng(seed)
    tokens, scores, types = _vocab()
    n_vocab = len(tokens)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("her-desktop tiny test model")
    writer.add_context_length(N_CTX_TRAIN)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(_FILE_TYPES[quant])

    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(BOS_ID)
    writer.add_eos_token_id(EOS_ID)
    writer.add_add_bos_token(add_bos)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(False)
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    def weight(name: str, rows: int, cols: int, scale: float = 0.2) -> None:
        data = rng.normal(0.0, scale, size=(rows, cols)).astype(np.float32)
        if name == "output.weight":
            data[:5] = 0.0  # control tokens: the noise model rarely ends on its own
        writer.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)

    def norm(name: str) -> None:
        writer.add_tensor(name, np.ones(N_EMBD, dtype=np.float32))

    weight("token_embd.weight", n_vocab, N_EMBD, scale=1.0)
    for layer in range(N_LAYER):
        prefix = f"blk.{layer}."
        norm(prefix + "attn_norm.weight")
        for part in ("attn_q", "attn_k", "attn_v", "attn_output"):
            weight(prefix + part + ".weight", N_EMBD, N_EMBD)
        norm(prefix + "ffn_norm.weight")
        weight(prefix + "ffn_gate.weight", N_FF, N_EMBD)
        weight(prefix + "ffn_up.weight", N_FF, N_EMBD)
        weight(prefix + "ffn_down.weight", N_EMBD, N_FF)
    norm("output_norm.weight")
    weight("output.weight", n_vocab, N_EMBD, scale=1.0)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny ChatML GGUF (no automatic BOS, like Qwen), built once per session."""
    return build_tiny_gguf(tmp_path_factory.mktemp("tiny_gguf") / "tiny-chatml.gguf")


@pytest.fixture(scope="session")
def tiny_gguf_llama2_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GGUF whose template writes ``{{ bos_token }}`` and which also asks for a BOS."""
    path = tmp_path_factory.mktemp("tiny_gguf") / "tiny-llama2.gguf"
    return build_tiny_gguf(path, chat_template=LLAMA2_TEMPLATE, add_bos=True)


@pytest.fixture
async def tiny_engine(tiny_gguf: Path) -> AsyncIterator[LlamaCppEngine]:
    """The llama.cpp engine on the tiny ChatML GGUF (512 tokens of context), closed after."""
    engine = LlamaCppEngine(tiny_gguf, n_ctx=512)
    yield engine
    await engine.close()


async def chat(
    engine: LlamaCppEngine, messages: list[Message], params: GenerationParams | None = None
) -> tuple[str, GenerationStats]:
    """One reply (8 greedy tokens unless ``params`` say otherwise), its text and stats."""
    stats = GenerationStats()
    params = params or GenerationParams(max_tokens=8, temperature=0.0)
    text = "".join([p async for p in engine.stream(messages, params, stats)])
    return text, stats
