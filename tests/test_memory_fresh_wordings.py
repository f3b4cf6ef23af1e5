"""The rules on wordings they were not written for (fresh sets written outside the project):
constraints said anywhere in a sentence (memory/rules/constraints_said.py); sentences kept in
the user's words though they do not start with "I"; a pronoun with whom it names; question
marks for emphasis; run-on speech; someone's thing asked in lower case; spelt names."""

from __future__ import annotations

import pytest

from her_desktop.memory.constraints import constraints_from, offended
from her_desktop.memory.questions import answers, asks_about_told
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.retrieval import second_person
from her_desktop.memory.rules.constraints_said import said_constraints
from her_desktop.memory.rules.extractor import RuleExtractor
from her_desktop.memory.rules.text import _split_sentences


@pytest.mark.parametrize(
    ("said", "subject"),
    [
        ("found out the hard way i'm allergic to shellfish, had tacos", "health.allergy.shellfish"),
        ("so yeah turns out I have a nut allergy", "health.allergy.nut"),
        ("the doctor confirmed an allergy to sesame last week", "health.allergy.sesame"),
        ("ugh and I'm lactose intolerant so no milkshakes for me", "health.allergy.lactose"),
        ("my doctor says no more fizzy drinks, cola was my weakness", "avoids.fizzy_drinks"),
        ("the dentist told me to cut out sugar", "avoids.sugar"),
        ("I went vegan in march", "avoids.meat"),
        ("since january i've given up alcohol", "avoids.alcohol"),
        ("honestly I can't eat gluten, it wrecks me", "avoids.gluten"),
        ("oh and I don't drink, never have", "avoids.alcohol"),
        ("trying to sort my health out, i've been diagnosed coeliac", "health.allergy.gluten"),
        ("so no gluten at all, ever", "avoids.gluten"),
        ("turns out i'm allergic to pine nuts?? at 34??", "health.allergy.pine_nuts"),
        ("the allergy clinic confirmed amara's allergic to egg", "health.allergy.amara.egg"),
        ("my blood pressure is too high. No more salt, he says.", "avoids.salt"),
        ("type 2 diabetes. no more sweet things for me", "avoids.sweet_things"),
        ("i have really bad claustrophobia btw, i take the stairs", "avoids.claustrophobia"),
        ("I had my knee replaced so I can't do long walks", "avoids.long_walks"),
    ],
)  # fmt: skip
def test_a_constraint_is_found_wherever_it_stands(said: str, subject: str) -> None:
    assert subject in [c.subject for c in said_constraints(said)]
    assert subject in [c.subject for c in RuleExtractor().extract(said)]


@pytest.mark.parametrize(
    "said",
    [
        "I'm not allergic to peanuts",
        "we thought I was allergic to cats but I'm not",  # the sentence says it does not hold
        "my sister is allergic to cats",
        "no more late nights for me",
        "no problem at all",
        "no idea at all, ever",
        "doctor said stay away from all of it",
        "I'm not vegan anymore",
        "I don't drink coffee after noon",
        "no more lessons, the cello's gone",
    ],
)
def test_what_is_not_a_constraint_of_theirs_is_not_kept(said: str) -> None:
    subjects = [c.subject for c in said_constraints(said)]
    assert not [s for s in subjects if s in ("health.allergy.cats", "health.allergy.peanuts")]
    wrongs = ("avoids.it", "avoids.late_nights", "avoids.meat", "avoids.alcohol", "avoids.idea")
    assert "avoids.lessons" not in subjects
    for wrong in (*wrongs, "avoids.problem"):
        assert wrong not in subjects


def test_a_found_constraint_guards_her_suggestions() -> None:
    found = said_constraints("my doctor says no more fizzy drinks, cola was my weakness")
    records = [
        MemoryRecord(i, "preference", c.subject, c.text, 0.0, 0.0, None, c.valence, None, 0.6, 0.8)
        for i, c in enumerate(found)
    ]
    constraints = constraints_from(records)
    assert offended("How about an ice-cold cola with lunch?", constraints) is not None
    assert offended("How about sparkling water with lime?", constraints) is None


@pytest.mark.parametrize(
    ("said", "suggestion"),
    [
        ("oh and luca doesn't drink, hasn't for years", "Toast him with a glass of prosecco!"),
        ("my wife is vegan", "You could cook her a steak."),
        ("my husband is teetotal", "Bring him a nice bottle of wine."),
        ("my son is allergic to peanuts", "Pack some satay skewers for him."),
        ("i've been told to cut out caffeine", "Grab an espresso on the way."),
        ("i'm off sugar for lent", "Treat yourself to a chocolate cake."),
        ("i'm lactose intolerant", "A strawberry milkshake would be lovely."),
    ],
)
def test_a_constraint_of_theirs_or_someone_elses_guards_a_suggestion(
    said: str, suggestion: str
) -> None:
    """Someone else's ("luca doesn't drink", "my wife is vegan"), and a thing the constraint
    is in ("caffeine": espresso; "lactose": milkshake)."""
    records = [
        MemoryRecord(i, "preference", c.subject, c.text, 0.0, 0.0, None, c.valence, None, 0.6, 0.8)
        for i, c in enumerate(said_constraints(said))
    ]
    assert offended(suggestion, constraints_from(records)) is not None


@pytest.mark.parametrize(
    "said",
    [
        "the dog doesn't drink enough water",
        "my wife isn't vegan",
        "she doesn't drink",
        "i'm off work today",
        "im off to the shops",
    ],
)
def test_what_is_nobody_s_constraint_is_not_kept(said: str) -> None:
    assert said_constraints(said) == []


@pytest.mark.parametrize(
    "said",
    [
        "that leave is for a trip to hanoi, flying out the 3rd of may",
        "priyanka's teaching chemistry, first year undergrads",
        "the wedding's in galway, his fiancee's from there",
    ],
)
def test_a_sentence_that_tells_something_is_kept_in_their_words(said: str) -> None:
    texts = [c.text.lower() for c in RuleExtractor().extract(said)]
    assert any(said.split(",")[0] in t for t in texts), texts


@pytest.mark.parametrize("said", ["it's so cold today lol", "long day", "haha yeah"])
def test_small_talk_is_not_kept(said: str) -> None:
    assert RuleExtractor().extract(said) == []


@pytest.mark.parametrize(
    "said",
    [
        "My new manager is called Katrin. She's German actually, from Bremen.",
        "our new neighbour katrin came round. she's from bremen, lovely woman",
    ],
)
def test_a_sentence_led_by_a_pronoun_keeps_whom_it_is_about(said: str) -> None:
    texts = [c.text for c in RuleExtractor().extract(said)]
    assert any(
        "bremen" in t.lower() and ("katrin" in t.lower() or "manager" in t) for t in texts
    ), texts


@pytest.mark.parametrize(
    ("question", "about_told"),
    [
        ("what's dmitri's surname?", True),
        ("What's Dmitri's surname?", True),
        ("how's dmitri's new job going", True),
        ("what's the capital of france?", False),
        ("what's today's date?", False),
        ("what's jonno's fiancée called?", False),  # nobody the notes name
    ],
)
def test_a_question_about_someone_the_notes_name_is_about_their_life(
    question: str, about_told: bool
) -> None:
    told = "my boyfriend dmitri is on nights this week, he's a paramedic"
    records = [MemoryRecord(1, "episode", None, told, 0.0, 0.0, None, 0.0, None, 0.5, 0.6)]
    assert asks_about_told(question, records) is about_told


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        ("her name's katrin, k a t r i n, i got it wrong", "Her name's katrin, k a t r i n, you"),
        ("I think I am tired", "You think you are tired"),
        ("i spelled it k, i, m", "You spelled it k, i, m"),
    ],
)
def test_a_spelt_letter_i_is_not_the_user(mine: str, theirs: str) -> None:
    assert second_person(mine).startswith(theirs)


@pytest.mark.parametrize(
    ("said", "parts"),
    [
        ("i went vegan in march, did i tell you?", ["i went vegan in march"]),
        ("allergic to pine nuts?? at 34??", ["allergic to pine nuts", "at 34"]),
        ("so you think i should quit?", ["so you think i should quit?"]),
        ("where do i work?", ["where do i work?"]),
    ],
)  # fmt: skip
def test_question_marks_for_emphasis_do_not_make_a_question(said: str, parts: list[str]) -> None:
    assert _split_sentences(said) == parts


def test_a_run_on_sentence_is_cut_at_its_joints_and_nothing_is_lost() -> None:
    said = (
        "hey so um i had the weirdest day, like i went to get coffee and the barista was someone "
        "i went to school with, and we got chatting and it turns out she's making this podcast "
        "about ghosts, and i was like wow, and then i totally forgot i'd parked in a two hour "
        "zone and got a ticket, forty quid, and then on the way home my car made this noise"
    )
    parts = _split_sentences(said)
    assert len(parts) > 1
    assert all(len(p) <= 200 for p in parts)
    assert any("forty quid" in p for p in parts)
    kept = " ".join(c.text for c in RuleExtractor().extract(said))
    assert "forty quid" in kept


def test_a_filler_at_the_end_is_not_part_of_the_value() -> None:
    got = RuleExtractor().extract("i'm a florist by the way, i own a little shop")
    assert ("user.job", "I'm a florist.") in [(c.subject, c.text) for c in got]


def test_he_in_the_next_message_is_the_one_named_before() -> None:
    rules = RuleExtractor()
    rules.extract("my brother anders just moved to oslo for work")
    texts = [c.text for c in rules.extract("he's an architect, designing some museum there")]
    assert any("architect" in t and ("anders" in t or "brother" in t) for t in texts), texts


@pytest.mark.parametrize(
    ("question", "note", "subject"),
    [
        ("what's my sourdough starter called", "my starter's called clint yeastwood lol", None),
        ("what's the name of my shop", "i own a little shop called fern and foxglove", None),
        ("what do i do for a living", "I'm a florist.", "user.job"),
        ("what's the climbing gym called", "there's a gym called the crag near me", None),
        ("who's my cousin", "me and my cousin tomasz are going to hanoi", None),
    ],
)
def test_a_note_typed_in_lower_case_answers_the_question(
    question: str, note: str, subject: str | None
) -> None:
    record = MemoryRecord(1, "episode", subject, note, 0.0, 0.0, None, 0.0, None, 0.5, 0.6)
    assert answers(question, record)


@pytest.mark.parametrize(
    ("question", "note"),
    [
        ("what's my cat called?", "my sister called me today"),
        ("What's my favourite pizza?", "we're having pizza night on friday"),
        ("What's my best marathon time?", "I'm training for the Berlin marathon"),
    ],
)
def test_a_note_on_the_topic_is_not_an_answer(question: str, note: str) -> None:
    record = MemoryRecord(1, "episode", None, note, 0.0, 0.0, None, 0.0, None, 0.5, 0.6)
    assert not answers(question, record)


@pytest.mark.parametrize(
    ("question", "note"),
    [
        ("what's the dog's name", "I have a greyhound called pilot, he hated the car journey."),
        ("what does elodie do on saturdays", "Elodie's started ballet on saturdays now."),
        ("how old is elodie now", "Elodie turned seven yesterday, I did a unicorn cake."),
        ("how old was juniper when she died", "Juniper passed away on thursday, she was eight."),
        ("where do i work?", "I'm a software tester at quillfeather games."),
        ("which hospital do i work at", "I'm a nurse on the maternity ward at st columba's."),
        ("what month is jonno's wedding", "Jonno's getting married in august and I'm best man."),
        ("who am i dating at the moment?", "I've been seeing someone new, her name's saoirse."),
    ],
)
def test_a_note_answers_in_words_of_its_own(question: str, note: str) -> None:
    """A breed tells the dog, "called" a name, "married" the wedding, "seeing" who one dates,
    a number in words an age, a job at a place where one works."""
    record = MemoryRecord(1, "episode", None, note, 0.0, 0.0, None, 0.0, None, 0.5, 0.6)
    assert answers(question, record)


@pytest.mark.parametrize(
    ("question", "note"),
    [
        ("what do i do for work?", "I live in tacoma."),
        ("how old is my dog?", "My dog is called Rex."),
        ("who's my partner?", "I've been seeing the physio about my knee."),
        ("who am i dating?", "I went to see a film with my brother."),
    ],
)
def test_words_of_its_own_answer_only_what_they_tell(question: str, note: str) -> None:
    record = MemoryRecord(1, "episode", None, note, 0.0, 0.0, None, 0.0, None, 0.5, 0.6)
    assert not answers(question, record)


def _kept(subject: str, text: str) -> MemoryRecord:
    return MemoryRecord(1, "fact", subject, text, 0.0, 0.0, None, -0.2, None, 0.5, 0.5)


def test_someone_elses_allergy_is_to_the_thing_not_to_their_name() -> None:
    kept = constraints_from([_kept("health.allergy.amara.egg", "Amara is allergic to egg.")])
    assert offended("a good breakfast for her would be eggs and toast", kept) is not None
    assert offended("porridge with banana", kept) is None


def test_a_vegan_diet_leaves_out_fish_dairy_and_eggs_and_a_pescatarian_one_keeps_fish() -> None:
    vegan = constraints_from([_kept("avoids.meat", "I'm vegan.")])
    assert offended("cook a massive fish pie for the flat", vegan) is not None
    assert offended("a mushroom risotto with parmesan", vegan) is not None
    assert offended("a lentil and spinach curry", vegan) is None
    pescatarian = constraints_from([_kept("avoids.meat", "I'm pescatarian.")])
    assert offended("cook a massive fish pie for the flat", pescatarian) is None
    assert offended("a chicken pie", pescatarian) is not None
    vegetarian = constraints_from([_kept("avoids.meat", "Luca is vegetarian.")])
    assert offended("grilled salmon", vegetarian) is not None


def test_a_two_word_allergy_is_the_phrase_not_each_word() -> None:
    kept = constraints_from([_kept("health.allergy.pine_nuts", "I'm allergic to pine nuts.")])
    assert offended("a pesto pasta with pine nuts", kept) is not None
    assert offended("a walk in the pine forest", kept) is None
