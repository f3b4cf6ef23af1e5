"""Updates, not duplicates: the current value supersedes the old one, kept as history."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import pytest

from her_desktop.bus import Bus
from her_desktop.cli import memory_cmd
from her_desktop.memory.embeddings import HashingEmbedder
from her_desktop.memory.service import MemoryService
from her_desktop.memory.store import MemoryStore


@pytest.fixture
async def service() -> AsyncIterator[MemoryService]:
    bus = Bus()
    store = MemoryStore.open()  # the test profile's own file (conftest), as the CLI reads it
    service = MemoryService(bus, store, HashingEmbedder(), engine=None, enabled=True)
    yield service
    await service.close()
    store.close()
    await bus.close()


_turns = iter(range(1000, 100_000))


async def _say(service: MemoryService, *turns: str) -> None:
    for said in turns:
        await service.after_reply(next(_turns), said, "I see.")


def _current(service: MemoryService, subject: str) -> tuple[str, list[str]]:
    record = service.store.get_by_subject(subject)
    assert record is not None, subject
    return record.text, [h.text for h in service.store.history(record.id)]


@pytest.mark.parametrize(
    ("first", "then", "subject", "now", "was"),
    [
        ("My puppy is called Biscuit.", "We call the puppy Pepper now.", "pet.dog.name",
         "My puppy is called Pepper.", "My puppy is called Biscuit."),
        ("I live in Leeds.", "I moved to Porto.", "user.home", "I live in Porto.",
         "I live in Leeds."),
        ("I work at St. Mary's.", "I don't work there anymore.", "user.workplace",
         "I no longer work at St. Mary's.", "I work at St. Mary's."),
        ("My sister is called Anna.", "Actually it's Ana, not Anna.", "people.sister.name",
         "My sister is called Ana.", "My sister is called Anna."),
        ("I love horror films.", "I don't like horror films anymore.", "likes.horror_films",
         "I don't like horror films.", "I love horror films."),
    ],
)  # fmt: skip
async def test_the_new_value_supersedes_the_old_which_stays_as_history(
    service: MemoryService, first: str, then: str, subject: str, now: str, was: str
) -> None:
    await _say(service, first, then)
    assert _current(service, subject) == (now, [was])
    assert sum(1 for m in service.store.memories() if m.subject == subject) == 1


async def test_a_correction_fixes_every_memory_with_the_old_word(service: MemoryService) -> None:
    await _say(service, "My sister Anna lives in Porto.", "Actually it's Ana, not Anna.")
    assert _current(service, "people.sister.name")[0] == "My sister is called Ana."
    assert all("Anna" not in m.text for m in service.store.memories())


async def test_memory_show_and_list_display_the_history(
    service: MemoryService, capsys: pytest.CaptureFixture[str]
) -> None:
    await _say(service, "My puppy is called Biscuit.", "we call the puppy Pepper now")
    record = service.store.get_by_subject("pet.dog.name")
    assert record is not None
    parser = argparse.ArgumentParser()
    memory_cmd.add_parser(parser.add_subparsers(dest="command"))
    assert memory_cmd.run(parser.parse_args(["memory", "show", str(record.id)])) == 0
    out = capsys.readouterr().out
    assert '"My puppy is called Pepper."' in out
    assert 'before (just now): "My puppy is called Biscuit."' in out
    assert memory_cmd.run(parser.parse_args(["memory", "list"])) == 0
    assert '(was: "My puppy is called Biscuit.")' in capsys.readouterr().out


async def test_an_old_episode_with_a_replaced_value_is_not_recalled(
    service: MemoryService,
) -> None:
    await _say(service, "I live in Denver.", "My friends in Denver threw me a party.")
    await _say(service, "I moved to Austin.")
    notes = await service.before_reply(50, "Where do I live now?")
    assert notes is not None
    assert "Austin" in notes
    assert "Denver" not in notes
    home = service.store.get_by_subject("user.home")
    assert home is not None
    assert [h.text for h in service.store.history(home.id)] == ["I live in Denver."]
