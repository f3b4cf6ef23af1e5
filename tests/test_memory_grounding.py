"""Nothing stored that the user did not say: the grounding check and the prompt's examples."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from her_desktop.bus import Bus
from her_desktop.memory.embeddings import HashingEmbedder
from her_desktop.memory.extraction import SYSTEM, Candidate, LMExtractor
from her_desktop.memory.grounding import grounded, stem
from her_desktop.memory.service import MemoryService
from her_desktop.memory.store import MemoryStore
from tests.fakes import FakeEngine


def _c(text: str, subject: str | None = None, value: str | None = None) -> Candidate:
    return Candidate("fact", text, subject, 0.9, 0.0, 0.5, value=value)


@pytest.mark.parametrize(
    ("said", "candidate"),
    [
        # the leak: the prompt's example key on another sentence
        ("I'm learning the piano.", _c("I'm learning the piano.", "likes.jazz")),
        # an invented town / instrument
        ("My sister lives near the coast.", _c("My sister lives in Lisbon.", "people.sister.home")),
        ("I'm learning an instrument.", _c("I'm learning the guitar.", "user.learning.guitar")),
        # a like is not an allergy
        ("I love peanuts.", _c("I'm allergic to peanuts.", "health.allergy.peanuts")),
        # negations
        ("I don't eat meat.", _c("I eat meat.", "food.meat")),
        ("I'm not a nurse anymore.", _c("I'm a nurse.", "user.job")),
        # placeholders from the prompt
        ("Hello there.", _c("My <relation> lives in <place>.", "people.relation.home")),
        # a value the user never said
        ("I have a dog.", _c("My dog is called Rex.", "pet.dog.name", value="Rex")),
    ],
)
def test_what_the_user_did_not_say_is_dropped(said: str, candidate: Candidate) -> None:
    assert not grounded(candidate, said)


@pytest.mark.parametrize(
    ("said", "candidate"),
    [
        ("I work nights as a nurse at St. Jude's.", _c("I work as a nurse at St. Jude's.")),
        ("I'm learning the piano.", _c("I'm learning piano.", "user.learning.piano", "piano")),
        ("My sister Ana lives in Porto.", _c("My sister lives in Porto.", "people.sister.home")),
        ("We call the puppy Pepper now.", _c("My puppy is called Pepper.", "pet.dog.name")),
        ("I'm worried about my mum's visit.", _c("I'm worried about my mum's visit.")),
        ("I don't eat meat.", _c("I don't eat meat.", "food.meat")),
        ("I love jazz but I hate techno.", _c("I love jazz.", "likes.jazz")),
    ],
)
def test_the_users_own_words_are_kept(said: str, candidate: Candidate) -> None:
    assert grounded(candidate, said)


def test_stems_match_plural_and_ing_forms() -> None:
    assert stem("nights") == stem("night")
    assert stem("working") == stem("work")
    assert stem("Mary's") == "mary"


def test_the_prompt_gives_only_placeholder_examples() -> None:
    keys = re.findall(r"\b[a-z]+\.[a-z<][a-z<>._]*", SYSTEM)
    assert keys, "the prompt should show the shape of a key"
    assert all("<" in key for key in keys), keys
    for quoted in re.findall(r'"([^"]+)"', SYSTEM):
        assert quoted.lower() in {"fact", "preference", "episode"}, quoted


async def test_an_example_of_the_prompt_never_ends_up_stored(tmp_path: Path) -> None:
    """The LM copies the prompt's examples (and an old concrete one) verbatim: none is kept."""
    examples = [
        {"kind": "fact", "subject": "pet.animal.name", "value": "<name>",
         "text": "My <animal> is called <name>.", "confidence": 0.9, "valence": 0, "salience": 0.5},
        {"kind": "fact", "subject": "people.relation.home", "value": "<place>",
         "text": "My <relation> lives in <place>.", "confidence": 0.9, "valence": 0,
         "salience": 0.5},
        {"kind": "preference", "subject": "likes.jazz", "value": "the piano",
         "text": "I'm learning the piano.", "confidence": 0.9, "valence": 0.5, "salience": 0.5},
        {"kind": "preference", "subject": "likes.jazz", "value": "jazz",
         "text": "I like jazz.", "confidence": 0.9, "valence": 0.5, "salience": 0.5},
    ]  # fmt: skip
    said = "I'm learning the piano these days."
    assert await LMExtractor(FakeEngine([json.dumps(examples)])).extract(said) == []
    bus = Bus()
    store = MemoryStore.open(tmp_path / "memory.sqlite3")
    service = MemoryService(
        bus, store, HashingEmbedder(), engine=FakeEngine([json.dumps(examples)]), enabled=True
    )
    await service.after_reply(1, said, "Lovely!")
    stored = [(m.subject, m.text) for m in store.memories()]
    assert all("jazz" not in f"{s} {t}" and "<" not in t for s, t in stored), stored
    assert ("user.learning.piano", "I'm learning the piano.") in stored  # the rules' own
    await service.close()
    store.close()
    await bus.close()
