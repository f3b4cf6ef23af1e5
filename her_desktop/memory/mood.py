"""The affect tracker's mood history, kept in the memory database.

``StoreMoodHistory`` implements ``her_desktop.affect.history.MoodHistory`` over the store's
``mood_samples`` table, so the mood timeline survives restarts and is deleted by "forget
everything". Each ``add`` (and ``revise``: a turn's better estimate) is its own small
transaction.
"""

from __future__ import annotations

from her_desktop.affect.history import MoodSample
from her_desktop.memory.store import MemoryStore


class StoreMoodHistory:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def add(self, sample: MoodSample) -> None:
        self.store.add_mood_sample(
            sample.ts, sample.valence, sample.arousal, sample.label, sample.turn_id
        )

    def revise(self, sample: MoodSample) -> bool:
        return self.store.revise_mood_sample(
            sample.ts, sample.valence, sample.arousal, sample.label, sample.turn_id
        )

    def samples(self, since: float) -> list[MoodSample]:
        return [
            MoodSample(r.ts, r.valence, r.arousal, r.label, r.turn_id)
            for r in self.store.mood_samples(since)
        ]
