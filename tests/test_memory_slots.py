"""Slots: a newer value of the same relation of the same one supersedes the older, whatever
words the change was told in and whatever key each memory was stored under (``slots``)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from her_desktop.bus import Bus
from her_desktop.events import Event, MemoryForgotten
from her_desktop.memory.embeddings import HashingEmbedder
from her_desktop.memory.records import MemoryRecord, NewMemory
from her_desktop.memory.service import MemoryService
from her_desktop.memory.slots import Held, Slot, changing, current, ended, slot_of, supersedes
from her_desktop.memory.store import MemoryStore
from tests.memory_dialogue import say

PLACES = ("Glasgow", "Dundee", "Porto", "Leeds", "Kyoto", "Austin", "Ripon", "Málaga")


@pytest.mark.parametrize(
    ("subject", "text", "slot"),
    [
        ("user.home", "I live in Porto.", Slot("user", "home")),
        ("pet.dog.name", "My dog is called Rex.", Slot("pet.dog", "name")),
        ("people.named.mira.home", "Mira lives in Berlin.", Slot("people.named.mira", "home")),
        ("user.learning.drums", "I'm learning the drums.", Slot("user", "learning")),
        ("likes.olives", "I like olives.", None),
        (None, "I used to live in Glasgow.", Slot("user", "home")),
        (None, "We relocated to Kyoto last spring.", Slot("user", "home")),
        (None, "My sister moved back to Leeds.", Slot("people.sister", "home")),
        (None, "the puppy is called Pepper now", Slot("pet.dog", "name")),
        (None, "I don't work there anymore.", Slot("user", "work")),
        (None, "I've been taking guitar lessons.", Slot("user", "learning")),
        (None, "We adopted a greyhound called Biscuit.", None),  # not the user's name
        (None, "We moved the sofa.", None),  # no place: not a home
        (None, "I'm looking for a new job.", None),  # wanted, not held
        (None, "I'm thinking of moving to Leeds.", None),
        (None, "It rained all day.", None),
    ],
)  # fmt: skip
def test_a_memory_s_slot_is_read_from_its_key_or_its_words(
    subject: str | None, text: str, slot: Slot | None
) -> None:
    assert slot_of(subject, text) == slot


def test_work_in_general_matches_the_workplace_and_the_job() -> None:
    work = Slot("user", "work")
    assert work.matches(Slot("user", "workplace"))
    assert work.matches(Slot("user", "job"))
    assert not Slot("user", "job").matches(Slot("user", "workplace"))
    assert not work.matches(Slot("people.sister", "work"))


@pytest.mark.parametrize(
    ("new", "old", "same_turn", "change_told", "expected"),
    [
        # a current value replaces an ended one, even when told in the same breath
        (Held("user.home", "I live in Dundee."), Held(None, "I used to live in Glasgow."),
         True, True, True),
        # a single-valued relation keeps one value, under whatever key
        (Held("user.home", "I live in Porto."), Held(None, "We live in Lyon near the river."),
         False, False, True),
        (Held("pet.dog.name", "My dog is called Maple."),
         Held(None, "the dog is called Bruno"), False, False, True),
        # told together: a job and a workplace do not replace each other
        (Held("user.job", "I'm a nurse."), Held(None, "I work at St Mary's."),
         True, False, False),
        # what may hold several is replaced only when the turn says it changed
        (Held("user.learning.drums", "I'm learning the drums."),
         Held("user.learning.guitar", "I'm learning guitar."), False, True, True),
        (Held("user.learning.drums", "I'm learning the drums."),
         Held("user.learning.guitar", "I'm learning guitar."), False, False, False),
        # an ended value replaces the one it names, not another
        (Held(None, "I don't work at the bank anymore."), Held("user.workplace",
         "I work at the bank."), False, True, True),
        (Held(None, "I don't work at the bank anymore."), Held("user.workplace",
         "I work at Contoso."), False, True, False),
        (Held(None, "I don't work there anymore."), Held("user.workplace",
         "I work at Contoso."), False, True, True),
        # someone else's home is another slot
        (Held("people.sister.home", "My sister lives in York."), Held("user.home",
         "I live in Leeds."), False, True, False),
        # the same key is the store's to update
        (Held("user.home", "I live in Porto."), Held("user.home", "I live in Lyon."),
         False, True, False),
    ],
)  # fmt: skip
def test_what_supersedes_what(
    new: Held, old: Held, same_turn: bool, change_told: bool, expected: bool
) -> None:
    assert supersedes(new, old, same_turn=same_turn, change_told=change_told) is expected


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("I'm learning the drums now", True),
        ("actually I've switched to the cello", True),
        ("turns out I prefer Italian", True),
        ("I'm learning Spanish too", False),  # added, not changed
        ("we changed the band name, static pigeons was too cringe", True),  # "too" + adjective
        ("i've been transferred to the maternity ward", True),
        ("I'm also learning the drums", False),
        ("I'm learning the drums", False),
    ],
)
def test_a_turn_that_says_a_value_changed(said: str, expected: bool) -> None:
    assert changing(said) is expected


@given(
    old=st.sampled_from(PLACES),
    new=st.sampled_from(PLACES),
    old_said=st.sampled_from(
        (
            "I used to live in {}.",
            "I lived in {} for years.",
            "I don't live in {} anymore.",
            "We no longer live in {}.",
        )
    ),
)
def test_any_wording_of_a_past_home_gives_way_to_the_current_one(
    old: str, new: str, old_said: str
) -> None:
    past = Held(None, old_said.format(old))
    assert slot_of(past.subject, past.text) == Slot("user", "home")
    assert ended(past.text) or "lived" in past.text
    current = Held("user.home", f"I live in {new}.")
    if ended(past.text):
        assert supersedes(current, past, same_turn=True, change_told=False)
    assert supersedes(current, past, same_turn=False, change_told=False)


# -- the store and the service ---------------------------------------------------------------


def test_the_store_moves_the_old_memory_and_its_history_into_the_new_one(
    store: MemoryStore,
) -> None:
    with store.turn() as tx:
        old = tx.upsert_memory(
            NewMemory("fact", "I live in Bath.", "user.home"), source_message_id=None
        ).id
        tx.upsert_memory(NewMemory("fact", "I live in Leeds.", "user.home"), source_message_id=None)
        ep = tx.upsert_memory(NewMemory("episode", "I moved to Porto."), source_message_id=None).id
    with store.turn() as tx:
        assert tx.supersede(old, ep)
        assert not tx.supersede(old, ep)  # gone already
    assert store.get(old) is None
    assert [h.text for h in store.history(ep)] == ["I live in Bath.", "I live in Leeds."]
    assert store.history(old) == []


@pytest.fixture
def service(rules_memory: MemoryService) -> MemoryService:
    return rules_memory


@pytest.mark.parametrize(
    ("told", "asked", "now", "was"),
    [
        (["I used to live in Glasgow but now I'm in Dundee"], "Where do I live?", "Dundee",
         "Glasgow"),
        (["hey", "I've been learning guitar for a year"],
         "What instrument am I learning?", "drums", "guitar"),
        (["I live in Bath, in a flat near the river"], "Where do I live?", "Porto", "Bath"),
    ],
)  # fmt: skip
async def test_the_notes_hold_the_current_value_only(
    service: MemoryService, told: list[str], asked: str, now: str, was: str
) -> None:
    later = {
        "Glasgow": [],
        "guitar": ["I quit guitar, I'm learning the drums now"],
        "Bath": ["big news, we've relocated to Porto"],
    }[was]
    await say(service, *told, *later)
    notes = service.notes_for(asked) or ""
    assert now in notes
    assert was not in notes


async def test_a_superseded_memory_leaves_the_index_and_the_view(service: MemoryService) -> None:
    forgotten: list[int | None] = []

    async def on_forgotten(event: Event) -> None:
        if isinstance(event, MemoryForgotten):
            forgotten.append(event.memory_id)

    service.bus.subscribe(MemoryForgotten, on_forgotten, name="test")
    await say(service, "I used to live in Glasgow.")
    [old] = service.store.memories()
    await say(service, "I live in Dundee now.")
    for _ in range(5):  # the subscriber's worker runs
        await asyncio.sleep(0)
    [current] = service.store.memories()
    assert current.text == "I live in Dundee."
    assert [h.text for h in service.store.history(current.id)] == ["I used to live in Glasgow."]
    assert old.id not in set(service.index().view().ids.tolist())
    assert forgotten == [old.id]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    old=st.sampled_from(PLACES[:4]),
    new=st.sampled_from(PLACES[4:]),
    first=st.sampled_from(("I live in {}.", "we're living in {} at the moment", "I'm based in {}")),
    then=st.sampled_from(
        (
            "I moved to {}.",
            "we've relocated to {}",
            "I live in {} now",
            "I've been living in {} since the spring",
        )
    ),
)
def test_any_wording_of_a_move_leaves_one_home(old: str, new: str, first: str, then: str) -> None:
    async def run(path: Path) -> list[str]:
        bus = Bus()
        store = MemoryStore.open(path)
        service = MemoryService(bus, store, HashingEmbedder(), engine=None, enabled=True)
        try:
            await say(service, first.format(old), then.format(new))
            return [r.text for r in store.memories()]
        finally:
            await service.close()
            store.close()
            await bus.close()

    with tempfile.TemporaryDirectory() as tmp:
        texts = asyncio.run(run(Path(tmp) / "memory.sqlite3"))
    homes = [t for t in texts if old in t or new in t]
    assert len(homes) == 1, texts
    assert new in homes[0]


@pytest.mark.parametrize(
    ("text", "slot"),
    [
        ("finally settled in leeds after the move.", Slot("user", "home")),
        ("sold the fiat, it was dying.", None),  # no relation said
        ("just moved to cork.", Slot("user", "home")),
    ],
)
def test_a_clause_without_its_subject_is_the_user_s(text: str, slot: Slot | None) -> None:
    assert slot_of(None, text) == slot


@pytest.mark.parametrize(
    "said",
    [
        "the new flat's in headingley, really nice, loads of cafes",
        "priyanka's teaching chemistry, first year undergrads",
        "juniper passed away on thursday, she was eight",
    ],
)
def test_a_statement_typed_in_lower_case_is_kept(said: str) -> None:
    from her_desktop.memory.rules import RuleExtractor

    [kept] = RuleExtractor().extract(said)
    assert kept.kind == "episode"
    assert kept.text.rstrip(".").lower() == said.lower()


@pytest.mark.parametrize(
    "said", ["anyway how are you doing today", "sorry that was a lot", "so um big news"]
)
def test_small_talk_in_lower_case_is_not_kept(said: str) -> None:
    from her_desktop.memory.rules import RuleExtractor

    assert RuleExtractor().extract(said) == []


def _record(i: int, text: str, updated: float, subject: str | None = None) -> MemoryRecord:
    return MemoryRecord(i, "episode", subject, text, updated, updated, None, 0.0, None, 0.5, 0.5)


def _answers(question: str, record: MemoryRecord) -> bool:
    return "bakery" in record.text and "bakery" in question


@pytest.mark.parametrize(
    ("question", "notes", "kept"),
    [
        # an older note on the topic of a newer change is history
        ("what night is running club?",
         [(1, "I run with the harriers club on tuesdays.", 1.0),
          (2, "the harriers moved club night to thursdays.", 2.0)], [2]),
        # what ended gives way to what changed, told in the same turn
        ("what car do i drive now?",
         [(1, "sold the fiat, it was dying.", 2.0),
          (2, "got a second hand mazda instead.", 2.0)], [2]),
        # a question about the past keeps everything
        ("what car did i drive before?",
         [(1, "sold the fiat, it was dying.", 2.0),
          (2, "got a second hand mazda instead.", 2.0)], [1, 2]),
        # an ended note that answers the question is its answer
        ("do i still work at the bakery?",
         [(1, "I no longer work at the bakery.", 1.0),
          (2, "I'm starting a new course now.", 2.0)], [1, 2]),
        # a wish changes nothing
        ("where do i work?",
         [(1, "I work at the bank.", 1.0), (2, "I'm looking for a new job now.", 2.0)], [1, 2]),
        # an addition is not a change
        ("what am i learning?",
         [(1, "I'm learning guitar.", 1.0), (2, "I'm learning piano too.", 2.0)], [1, 2]),
        # who a change is about is not its topic: the rest of what was told of them stands
        ("what does rafa do for work",
         [(1, "ten years married to rafa; he's a sound engineer.", 1.0),
          (2, "rafa's sister inés might join us.", 1.0),
          (3, "rafa says it's his favourite bowl now.", 2.0)], [1, 2, 3]),
        # a change about the same thing of theirs still wins
        ("what does rafa do for work",
         [(1, "rafa's sister inés works at the bank.", 1.0),
          (2, "inés works at the museum now.", 2.0)], [2]),
        # a short word names a topic ("gig"), a question word does not
        ("when's our gig",
         [(1, "our first gig is friday the 14th at the youth club.", 1.0),
          (2, "the gig got moved to saturday the 21st.", 2.0)], [2]),
        # a plan is a value ("going to be"), a wish is not
        ("what colour are we doing the nursery",
         [(1, "rhys is painting the nursery yellow.", 1.0),
          (2, "rhys changed his mind, the nursery's going to be sage green.", 2.0)], [2]),
        # another of the same kind about the one asked about: a diet, a position
        ("what diet is hamid on",
         [(1, "my partner hamid is vegetarian.", 1.0),
          (2, "hamid's gone fully vegan now.", 2.0)], [2]),
        ("what position does arjun play",
         [(1, "arjun plays in defence.", 1.0),
          (2, "arjun's a striker now.", 2.0)], [2]),
    ],
)  # fmt: skip
def test_at_answer_time_the_most_recent_change_wins(
    question: str, notes: list[tuple[int, str, float]], kept: list[int]
) -> None:
    records = [_record(i, text, when) for i, text, when in notes]
    assert [r.id for r in current(records, question, _answers)] == kept


def test_a_change_that_ends_a_value_and_answers_is_the_answer() -> None:
    """ "not bristol after all, it's cardiff": a place shared with the older note is the
    change's topic (whom the question asks about is not)."""
    old = _record(1, "Kwabena rang, he's moving to Bristol with his girlfriend.", 1.0)
    new = _record(2, "Kwabena's not going to Bristol after all, it's Cardiff.", 2.0)
    both = [old, new]
    assert current(both, "where's kwabena moving to", lambda q, r: True) == [new]
    # an ending that does not answer the question changes nothing of it
    assert current(both, "where's kwabena moving to", lambda q, r: r is old) == both


def test_a_change_never_hides_a_constraint() -> None:
    allergy = _record(1, "I'm allergic to peanuts.", 1.0, "health.allergy.peanuts")
    change = _record(2, "turns out the peanuts thing is worse now.", 2.0)
    assert current([allergy, change], "what am i allergic to?", _answers) == [allergy, change]
