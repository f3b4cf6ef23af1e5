"""Translations on the side path: the Python checks, and the decline when they fail."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from her_desktop.llm.base import (
    BusyError,
    EngineInfo,
    GenerationParams,
    GenerationStats,
    LLMEngine,
    Message,
)
from her_desktop.llm.translate import (
    check_translation,
    clean,
    decline,
    kept_meaning,
    language_scores,
    sure,
    translate,
    translation_prompt,
)
from tests.fakes import FakeEngine


@pytest.mark.parametrize(
    ("source", "output", "lang"),
    [
        ("the dog is in the garden", "Le chien est dans le jardin.", "French"),
        ("we are late again", "Llegamos tarde otra vez.", "Spanish"),
        ("my brother is a doctor", "Mein Bruder ist Arzt.", "German"),
        ("the shop closes at 6", "Il negozio chiude alle 6.", "Italian"),
        ("the window is open", "A janela está aberta.", "Portuguese"),
        ("thank you for dinner", "ありがとう、ごちそうさまでした。", "Japanese"),
        ("the table is big", "La table est grande.", "French"),  # a shared word is fine
        ("can you help me", "¿Puedes ayudarme?", "Spanish"),  # a question kept
        ("where is the station", "Wo ist der Bahnhof?", "German"),
        ("what a lovely day", "Quelle belle journée !", "French"),  # no question
        ("good night, sweet dreams", "Buona notte, sogni d'oro.", "Italian"),
    ],
)
def test_a_plausible_translation_passes(source: str, output: str, lang: str) -> None:
    assert check_translation(source, output, lang) == output


@pytest.mark.parametrize(
    ("source", "output", "lang", "why"),
    [
        ("the dog is in the garden", "the dog is in the garden", "French", "the English again"),
        ("the dog is in the garden", "The dog is in the garden.", "Spanish", "the English again"),
        ("can you call me later", "Of course! I'll call you later.", "French", "an answer"),
        ("can you call me later", "¡Claro! ¿A qué hora te llamo?", "Spanish", "two sentences"),
        ("can you help me", "¡Sí, puedo ayudarte!", "Spanish", "the question answered"),
        ("where is the museum", "Le musée est à droite.", "French", "the question answered"),
        ("I bought some strawberries", "Ich habe einige Strawberries gekauft.", "German", "left"),
        ("where do you work", "¿Dónde trabajas?", "Italian", "another language"),
        ("the train leaves at 9", "Le train part à neuf heures.", "French", "a lost number"),
        ("I have to go to work now and I'll be back late", "Travail.", "French", "too short"),
        ("see you at the weekend", "", "Italian", "nothing"),
        ("see you at the weekend", "Bis zum Wochenende.", "Welsh", "no check for Welsh"),
        ("thank you for dinner", "Thank you for dinner", "Japanese", "not the script"),
    ],
)
def test_a_doubtful_translation_fails(source: str, output: str, lang: str, why: str) -> None:
    assert check_translation(source, output, lang) is None, why


def test_the_output_is_cleaned_of_labels_quotes_and_notes() -> None:
    assert clean('In French: "Le chien dort."\nThis means the dog sleeps.') == "Le chien dort."
    assert clean("Translation: Der Hund schläft. (literally: the dog sleeps)") == (
        "Der Hund schläft."
    )
    assert clean("\n\n") == ""


def test_language_scores_tell_the_languages_apart() -> None:
    for text, lang in [
        ("Je ne sais pas où il est.", "French"),
        ("No sé dónde está él.", "Spanish"),
        ("Ich weiß nicht, wo er ist.", "German"),
        ("Non so dove sia lui.", "Italian"),
        ("I don't know where he is.", "English"),
    ]:
        scores = language_scores(text)
        assert max(scores, key=lambda k: scores[k]) == lang, (text, scores)


def test_the_prompt_names_the_language_and_gives_only_the_words() -> None:
    messages = translation_prompt("the dog is asleep", "German")
    assert messages[0].role == "system"
    assert "German" in messages[0].content
    assert messages[-1] == Message("user", "the dog is asleep")
    assert [m.role for m in messages[1:-1]] == ["user", "assistant"] * 2  # example pairs


class _Scripted(FakeEngine):
    """Streams one scripted reply per call (the translation, then its reading back)."""

    def __init__(self, *replies: list[str]) -> None:
        super().__init__(replies[0])
        self.replies = list(replies)

    def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        stats: GenerationStats | None = None,
    ) -> AsyncIterator[str]:
        self.pieces = self.replies[min(len(self.calls), len(self.replies) - 1)]
        return super().stream(messages, params, stats)


async def test_a_checked_translation_is_said_and_a_bad_one_declined() -> None:
    engine = _Scripted(
        ["Le chien", " dort dans", " le jardin."], ["The dog is sleeping in the garden."]
    )
    said = await translate(engine, "the dog is sleeping in the garden", "French")
    assert said == "In French: Le chien dort dans le jardin."
    assert engine.calls[0][0].role == "system"  # its own prompt, not the conversation's
    assert engine.params[0].temperature == 0.0
    assert engine.calls[1][-1] == Message("user", "Le chien dort dans le jardin.")
    assert "into English" in engine.calls[1][0].content
    chatty = FakeEngine(["Sure! Here is the translation."])
    said = await translate(chatty, "the dog is sleeping in the garden", "French")
    assert said == decline("French") == "I'm not sure enough of my French to translate that well."


async def test_a_language_without_a_check_is_declined_without_asking_the_lm() -> None:
    engine = FakeEngine(["Mae'r ci yn cysgu."])
    assert await translate(engine, "the dog is asleep", "Welsh") == decline("Welsh")
    assert engine.calls == []


class _Background(LLMEngine):
    """An engine with a scored background path: records that it was used, or gives way."""

    name = "background"

    def __init__(
        self,
        answer: str = "",
        *,
        busy: bool = False,
        logprobs: Sequence[float] = (),
        back: str = "The dog is sleeping in the garden.",
    ) -> None:
        self.answer = answer
        self.back = back
        self.logprobs = list(logprobs)
        self.busy = busy
        self.background: list[list[Message]] = []

    @property
    def context_size(self) -> int:
        return 4096

    async def load(self) -> None:
        return None

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return 0

    async def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        stats: GenerationStats | None = None,
    ) -> AsyncIterator[str]:
        if messages:
            raise AssertionError("the conversation's stream must not be used")
        yield ""

    async def background_generate_scored(
        self, messages: Sequence[Message], params: GenerationParams
    ) -> tuple[str, list[float]]:
        if self.busy:
            raise BusyError("Background work gave way to a reply.")
        self.background.append(list(messages))
        if len(self.background) > 1:  # the translation read back into English
            return self.back, []
        return self.answer, self.logprobs

    def info(self) -> EngineInfo:
        return EngineInfo(engine="background", model="x", context_size=4096)


async def test_the_background_path_keeps_the_conversation_cache_and_failures_decline() -> None:
    engine = _Background("Der Hund schläft im Garten.")
    said = await translate(engine, "the dog is sleeping in the garden", "German")
    assert said == "In German: Der Hund schläft im Garten."
    assert len(engine.background) == 2  # the translation, then its reading back
    busy = _Background(busy=True)
    assert await translate(busy, "the dog is asleep", "German") == decline("German")


async def test_a_translation_the_model_guessed_at_is_declined() -> None:
    sure_words = [math.log(0.9)] * 6 + [math.log(0.3)] * 2
    engine = _Background("Der Hund schläft im Garten.", logprobs=sure_words)
    said = await translate(engine, "the dog is sleeping in the garden", "German")
    assert said == "In German: Der Hund schläft im Garten."
    guessed = [math.log(0.9)] * 5 + [math.log(0.3)] * 3
    engine = _Background("Der Hund schläft im Garten.", logprobs=guessed)
    assert await translate(engine, "the dog is sleeping in the garden", "German") == decline(
        "German"
    )
    assert sure([]) is True


async def test_a_translation_that_reads_back_without_part_of_the_meaning_is_declined() -> None:
    engine = _Background(
        "El gato está durmiendo en la silla.", back="The cat is sleeping on the chair."
    )
    said = await translate(engine, "the cat is sleeping on the sofa", "Spanish")
    assert said == decline("Spanish")
    assert kept_meaning("I need a break", "I need a break.")
    assert not kept_meaning("we are going to the beach tomorrow", "This morning we go to the sea.")
    # a longer sentence may lose one word in the reading back
    source = "I forgot my umbrella at the office and got completely soaked on the way home"
    assert kept_meaning(
        source, "I forgot my umbrella at the office and got completely wet on the way home"
    )


@pytest.mark.parametrize(
    ("source", "back"),
    [
        ("I'm very tired", "I am very tired."),
        ("I don't like mushrooms", "I do not like mushrooms."),
        ("I can't find my keys", "I cannot find my keys."),
        ("the train leaves at eight", "The train leaves at 8."),
        ("the weather is beautiful today", "The weather is nice today."),
        ("the cat is sleeping on the sofa", "The cat is asleep on the couch."),
    ],
)
def test_a_fair_reading_back_keeps_the_meaning(source: str, back: str) -> None:
    """Contractions, number words and a plain synonym are the same meaning read back."""
    assert kept_meaning(source, back)


@pytest.mark.parametrize(
    ("source", "back"),
    [
        ("I don't like mushrooms", "I like mushrooms."),
        ("I'm very tired", "I am very hungry."),
        ("the cat is sleeping on the sofa", "The cat is sleeping on the chair."),
        ("we are going to the beach tomorrow", "We are going to the sea tomorrow."),
    ],
)
def test_a_reading_back_that_lost_the_meaning_is_caught(source: str, back: str) -> None:
    assert not kept_meaning(source, back)


@pytest.mark.slow
async def test_the_real_model_translates_or_declines(default_gguf: Path) -> None:
    """Twin of the fakes above, on the default model: a short sentence it gets right, and a
    language with no check here."""
    from her_desktop.llm.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine(default_gguf, n_ctx=2048)
    try:
        # a generous bound: the test is on the answer, not on this machine's speed
        said = await translate(engine, "the book is on the table", "French", deadline_s=600)
        assert said == "In French: Le livre est sur la table."
        assert await translate(engine, "the book is on the table", "Welsh") == decline("Welsh")
        _, logprobs = await engine.background_generate_scored(
            translation_prompt("the book is on the table", "French"),
            GenerationParams(20, deadline_s=600),
        )
        assert len(logprobs) >= 5
        assert all(lp <= 0.0 for lp in logprobs)
    finally:
        await engine.close()
