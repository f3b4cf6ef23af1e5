"""End to end on a real (virtual) sound card: PulseAudio null sink + a microphone on its monitor.

The user's question is played into the virtual microphone; her spoken answer goes out through
the real playback path (PortAudio → PulseAudio) and, as in a room, comes back into the
microphone, where echo cancellation must keep her from hearing herself. A second utterance
while she speaks interrupts her (barge-in).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time

import numpy as np
import pytest

from her_desktop.app import attach_voice, build_app
from her_desktop.config import Settings
from her_desktop.events import (
    CancelReply,
    DeviceStatus,
    Event,
    FinalTranscript,
    SpeakingFinished,
    SpeakingStarted,
    StageError,
)
from her_desktop.persona import resolve_persona
from tests.fakes import FakeEngine
from tests.speech import espeak_wav, requires_espeak
from tests.virtual_audio import VirtualAudio, virtual_audio  # noqa: F401
from tests.waiting import wait_until

pytestmark = [pytest.mark.slow, requires_espeak]

LONG_REPLY = [
    "Paris is the capital of France. ",
    "It sits on the river Seine, in the north of the country. ",
    "People call it the city of light, and it has been a centre of art for centuries. ",
    "The Eiffel Tower was built for a world fair in eighteen eighty nine. ",
    "Many people visit it every single year, from all over the world. ",
    "In spring the parks are full of flowers and the cafes spill onto the streets. ",
]


def play_in_background(audio: np.ndarray, rate: int = 16000) -> threading.Thread:
    """The user speaking: play ``audio`` on the default (virtual) speaker, which the virtual
    microphone hears."""
    import sounddevice as sd

    def run() -> None:
        sd.play(audio, rate, blocking=True)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


async def test_spoken_question_gets_a_spoken_answer_and_barge_in_stops_it(
    virtual_audio: VirtualAudio,  # noqa: F811
) -> None:
    settings = Settings()
    persona = resolve_persona("samantha").persona
    app = build_app(settings, persona, engine=FakeEngine(LONG_REPLY), with_memory=False)
    seen: list[Event] = []

    async def collect(event: Event) -> None:
        seen.append(event)

    app.bus.subscribe(Event, collect, name="test")
    await app.start()
    voice = await attach_voice(app, microphone=True)
    try:
        await wait_until(
            lambda: any(isinstance(e, DeviceStatus) and e.kind == "input" for e in seen), 20
        )
        status = next(e for e in seen if isinstance(e, DeviceStatus))
        assert status.available, status.message
        await asyncio.gather(voice.transcriber.warm_up(), voice.speaker.warm_up())
        await asyncio.sleep(1.0)  # the microphone stream is running

        question = espeak_wav("What is the weather like tomorrow?")
        await asyncio.to_thread(play_in_background(question).join, 30)
        await wait_until(lambda: any(isinstance(e, SpeakingStarted) for e in seen), 90)
        final = next(e for e in seen if isinstance(e, FinalTranscript) and e.text)
        assert isinstance(final, FinalTranscript)
        assert {"weather", "tomorrow"} <= words(final.text), final.text

        await asyncio.sleep(2.0)  # she talks; her own voice must not interrupt her
        assert not any(isinstance(e, SpeakingFinished) for e in seen), "she interrupted herself"

        interrupted_at = time.monotonic()
        play_in_background(espeak_wav("Wait, stop, stop please."))
        await wait_until(lambda: any(isinstance(e, SpeakingFinished) for e in seen), 30)
        done = next(e for e in seen if isinstance(e, SpeakingFinished))
        assert isinstance(done, SpeakingFinished)
        assert done.interrupted
        assert done.ts > interrupted_at
        assert any(isinstance(e, CancelReply) and e.reason == "barge-in" for e in seen)
        heard = done.spoken_text
        assert heard.startswith("Paris is the capital")
        assert "spring" not in heard
        assert app.dialogue.history[-1].content == heard
        errors = [e.message for e in seen if isinstance(e, StageError)]
        assert not errors, errors
    finally:
        await app.stop()
