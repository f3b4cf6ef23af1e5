"""The rule-based extractor: common patterns, contradictions by subject key, and robustness."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from her_desktop.memory.rules import RuleExtractor


@pytest.mark.parametrize(
    ("said", "kind", "subject", "text"),
    [
        ("my name's ravi", "fact", "user.name", "My name is Ravi."),
        ("Call me Jo.", "fact", "user.name", "My name is Jo."),
        ("My puppy is Noodle.", "fact", "pet.dog.name", "My puppy is called Noodle."),
        ("I've got a hamster called Pip.", "fact", "pet.hamster.name",
         "My hamster is called Pip."),
        ("My brother's name is Luca and he's great.", "fact", "people.brother.name",
         "My brother is called Luca."),
        ("My favorite band is Radiohead, obviously.", "preference", "favorite.band",
         "My favourite band is Radiohead."),
        ("I really enjoy long walks by the sea.", "preference", "likes.long_walks_by_sea",
         "I enjoy long walks by the sea."),
        ("I can't stand cilantro.", "preference", "likes.cilantro", "I can't stand cilantro."),
        ("I am a software engineer.", "fact", "user.job", "I'm a software engineer."),
        ("I'm a morning person.", "fact", "user.is.morning_person", "I'm a morning person."),
        ("I work for a small bakery.", "fact", "user.workplace", "I work at a small bakery."),
        ("We live in Porto now.", "fact", "user.home", "I live in Porto."),
        ("I live in Porto now.", "fact", "user.home", "I live in Porto."),
        ("I grew up in Ghent.", "fact", "user.hometown", "I grew up in Ghent."),
        ("I am 41.", "fact", "user.age", "I'm 41 years old."),
        ("My birthday is May 2nd.", "fact", "user.birthday", "My birthday is May 2nd."),
        ("I'm terrified of heights.", "fact", "fears.heights", "I'm afraid of heights."),
        ("I'm studying law.", "fact", "user.learning.law", "I'm learning law."),
        ("We adopted a rescue greyhound last week!", "episode", None,
         "We adopted a rescue greyhound last week!"),
        ("My knee surgery is tomorrow morning.", "episode", None,
         "My knee surgery is tomorrow morning."),
    ],
)  # fmt: skip
def test_patterns(said: str, kind: str | None, subject: str | None, text: str | None) -> None:
    got = RuleExtractor().extract(said)
    if kind is None:
        assert got == []
        return
    assert len(got) == 1
    assert (got[0].kind, got[0].subject, got[0].text) == (kind, subject, text)


@pytest.mark.parametrize(
    "said",
    [
        "What is my dog called?",
        "If my name is Bob, what's yours?",
        "Do you like jazz",
        "I love you.",
        "I love it!",
        "ok",
        "",
    ],
)
def test_questions_hypotheticals_and_chatter_are_not_memories(said: str) -> None:
    assert RuleExtractor().extract(said) == []


def test_correction_by_pronoun_reuses_the_last_named_subject() -> None:
    rules = RuleExtractor()
    (first,) = rules.extract("My dog is Biscuit.")
    (second,) = rules.extract("Actually he's called Max.")
    assert first.subject == second.subject == "pet.dog.name"
    assert second.text == "My dog is called Max."
    assert RuleExtractor().extract("Actually he's called Max.") == []  # nobody to rename


def test_love_then_hate_is_the_same_subject() -> None:
    rules = RuleExtractor()
    (love,) = rules.extract("I love jazz.")
    (hate,) = rules.extract("I hate jazz, it's too noisy.")
    assert love.subject == hate.subject == "likes.jazz"
    assert love.valence > 0 > hate.valence


def test_several_sentences_give_several_memories() -> None:
    got = RuleExtractor().extract(
        "Hi! My name is Aiko. I live in Osaka. Is it raining there? I love ramen."
    )
    assert [c.subject for c in got] == ["user.name", "user.home", "likes.ramen"]


def test_heavy_episodes_are_more_salient_and_negative() -> None:
    (vet,) = RuleExtractor().extract("I took Biscuit to the vet today, he was sick.")
    (cinema,) = RuleExtractor().extract("We went to the cinema on Saturday evening.")
    assert vet.salience > cinema.salience
    assert vet.valence < 0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=500))
def test_arbitrary_text_never_raises_and_gives_valid_candidates(text: str) -> None:
    for c in RuleExtractor().extract(text):
        assert c.kind in ("fact", "episode", "preference")
        assert c.text.strip()
        assert len(c.text) <= 200
        assert c.subject is None or c.subject == c.subject.lower()


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("I work as a night nurse at St. Mary's.",
         [("user.job", "I work as a night nurse."),
          ("user.workplace", "I work at St. Mary's.")]),
        ("i work at st. mary's. i love jazz", [("user.workplace", "I work at st. mary's."),
                                               ("likes.jazz", "I love jazz.")]),
        ("My sister Ana lives in Porto.", [("people.sister.name", "My sister is called Ana."),
                                           ("people.sister.home", "My sister lives in Porto.")]),
        ("My sister is called Ana and she lives in Porto.",
         [("people.sister.name", "My sister is called Ana."),
          ("people.sister.home", "My sister lives in Porto.")]),
        ("My mum lives near the coast.", [("people.mother.home", "My mum lives near the coast.")]),
        ("I've been learning to play the guitar.",
         [("user.learning.guitar", "I'm learning the guitar.")]),
        ("I started taking cello lessons.", [("user.learning.cello", "I'm learning cello.")]),
        ("I've taken up pottery.", [("user.hobby.pottery", "I've taken up pottery.")]),
        ("I'm worried about my mum's visit next week.",
         [("worries.mum_s_visit_next", "I'm worried about my mum's visit next week.")]),
        ("I'm a bit nervous about the interview, honestly.",
         [("worries.interview", "I'm nervous about the interview.")]),
        ("I'm going to visit my brother in June.",
         [("plans.visit_brother_in_june", "I'm going to visit my brother in June.")]),
        ("We're planning to move to Lisbon.",
         [("plans.move_lisbon", "We're planning to move to Lisbon.")]),
        ("we call the puppy Pepper now", [("pet.dog.name", "My puppy is called Pepper.")]),
        ("The dog is called Pepper now.", [("pet.dog.name", "My dog is called Pepper.")]),
        ("I moved to Porto.", [("user.home", "I live in Porto.")]),
        ("I don't work there anymore.", [("user.workplace", "I no longer work there.")]),
        ("I quit my job at the bank.", [("user.workplace", "I no longer work at the bank.")]),
        ("I'm not a nurse anymore.", [("user.job", "I'm no longer a nurse.")]),
        ("I don't live in Leeds anymore.", [("user.home", "I no longer live in Leeds.")]),
        ("I don't eat meat.", [("avoids.meat", "I don't eat meat.")]),
        ("I dont like horror films.", [("likes.horror_films", "I don't like horror films.")]),
        ("My grandad Joe is 90 and lives in Cork.",
         [("people.grandfather.name", "My grandad is called Joe."),
          ("people.grandfather.home", "My grandad lives in Cork."),
          (None, "My grandad Joe is 90 and lives in Cork.")]),  # his age, in the user's words
        ("my pal Zeno is great", [(None, "my pal Zeno is great.")]),
        ("my friend Ida is moving to Oslo", [("people.friend.ida", "Ida is my friend."),
                                             (None, "my friend Ida is moving to Oslo.")]),
        ("I run a tiny cafe called Blue Door", [("names.tiny_cafe",
                                                 "My tiny cafe is called Blue Door.")]),
        ("I'm an ER nurse at Hope Hospital", [("user.job", "I work as an ER nurse."),
                                              ("user.workplace", "I work at Hope Hospital.")]),
        ("I'm coeliac", [("health.allergy.gluten", "I'm coeliac: no gluten.")]),
        ("I'm lactose intolerant", [("health.allergy.lactose", "I'm lactose intolerant.")]),
        # negations: no fact, only the user's own words
        ("I'm not allergic to peanuts.", [(None, "I'm not allergic to peanuts.")]),
        ("I don't have a dog.", [(None, "I don't have a dog.")]),
        ("my dog is sick", [(None, "my dog is sick.")]),
    ],
)  # fmt: skip
def test_more_patterns(said: str, expected: list[tuple[str, str]]) -> None:
    assert [(c.subject, c.text) for c in RuleExtractor().extract(said)] == expected


def test_a_rename_by_pronoun_and_a_correction() -> None:
    rules = RuleExtractor()
    rules.extract("My puppy is called Biscuit.")
    (rename,) = rules.extract("We call him Pepper now.")
    assert (rename.subject, rename.text) == ("pet.dog.name", "My puppy is called Pepper.")
    (fix,) = rules.extract("Actually it's Ana, not Anna.")
    assert fix.replaces == ("Anna", "Ana")
    (fix2,) = rules.extract("not Anna, Ana")
    assert fix2.replaces == ("Anna", "Ana")


def test_a_three_word_sentence_is_kept_when_it_tells_a_number() -> None:
    texts = [c.text for c in RuleExtractor().extract("needs a new heat exchanger. quote's now 520")]
    assert "quote's now 520." in texts
    assert RuleExtractor().extract("so so tired") == []
    assert RuleExtractor().extract("love you Sam") == []
