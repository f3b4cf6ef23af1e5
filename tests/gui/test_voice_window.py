"""The window over the voice stages: driven by the events the listener, transcriber and speaker
publish (a fake voice pipeline on the app's bus), then once with the real voice stages on a
machine without a sound card."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from her_desktop.audio import devices as audio_devices
from her_desktop.bus import Bus
from her_desktop.events import (
    AudioClip,
    AudioLevel,
    CancelReply,
    DeviceStatus,
    Event,
    FinalTranscript,
    PartialTranscript,
    SpeakingFinished,
    SpeakingStarted,
    SpeechEnded,
    SpeechStarted,
    UserText,
)
from her_desktop.gui.app_window import MainWindow
from her_desktop.gui.conversation import MessageBubble
from her_desktop.gui.launch import GuiSession
from her_desktop.persona import load_persona
from her_desktop.voice.listener import ListenStage
from her_desktop.voice.speaker import SpeakStage
from tests.fakes import FakeEngine
from tests.gui.conftest import RunQt, light_settings, start_window
from tests.gui.input import click, key_click, type_text
from tests.waiting import wait_until


class FakeVoice:
    """Publishes what the voice stages publish, in their order (no audio, no models)."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.utterance = 0

    def microphone(self, available: bool, message: str = "") -> None:
        self.bus.publish_nowait(DeviceStatus("input", available, message=message))

    def start_speech(self) -> int:
        self.utterance += 1
        self.bus.publish_nowait(SpeechStarted(self.utterance))
        return self.utterance

    def level(self, source: str, rms: float) -> None:
        self.bus.publish_nowait(AudioLevel(source, rms, rms))  # type: ignore[arg-type]

    def partial(self, text: str) -> None:
        self.bus.publish_nowait(PartialTranscript(self.utterance, text))

    def final(self, text: str) -> None:
        """End of the utterance: as listener + transcriber do it."""
        self.bus.publish_nowait(
            SpeechEnded(self.utterance, AudioClip(np.zeros(0, np.float32), 16000))
        )
        self.bus.publish_nowait(FinalTranscript(self.utterance, text))
        self.bus.publish_nowait(UserText(text, source="voice"))

    def speaking(self, turn_id: int) -> None:
        self.bus.publish_nowait(SpeakingStarted(turn_id))

    def spoken(self, turn_id: int, text: str, *, interrupted: bool = False) -> None:
        self.bus.publish_nowait(SpeakingFinished(turn_id, text, interrupted))


def record(bus: Bus, kinds: tuple[type[Event], ...]) -> list[Event]:
    seen: list[Event] = []

    async def keep(event: Event) -> None:
        seen.append(event)

    bus.subscribe(kinds, keep, name="test:record")
    return seen


def user_texts(window: MainWindow) -> list[str]:
    return [b.text for b in window.conversation.bubbles() if b.role == "user"]


def replies(window: MainWindow) -> list[MessageBubble]:
    return [b for b in window.conversation.bubbles() if b.turn_id is not None]


def test_microphone_unavailable_is_shown_and_comes_back(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine())
        window, voice = running.window, FakeVoice(running.app.bus)
        message = "Microphone unavailable: no input device found — typing still works."
        voice.microphone(False, message)
        await wait_until(lambda: not window.composer.mic_button.isEnabled())
        assert window.composer.mic_button.toolTip() == message
        assert message in window.status_line.message
        voice.microphone(False)  # no message from the stage: the window still says why
        await wait_until(lambda: "typing still works" in window.composer.mic_button.toolTip())
        voice.microphone(True)
        await wait_until(lambda: window.composer.mic_button.isEnabled())
        await running.close()

    run_qt(scenario())


def test_partial_transcript_ghost_becomes_the_spoken_bubble(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine(["Sounds good."]))
        window, voice = running.window, FakeVoice(running.app.bus)
        conversation = window.conversation
        voice.start_speech()
        await wait_until(lambda: window.orb.state == "listening")
        assert window.state_label.text() == "Listening…"
        voice.level("input", 0.25)
        await wait_until(lambda: window.orb.level > 0.0)
        voice.partial("a walk")
        await wait_until(lambda: conversation.ghost is not None)
        voice.partial("a walk and some tea")
        await wait_until(
            lambda: (
                conversation.ghost is not None and conversation.ghost.text == "a walk and some tea"
            )
        )
        ghost = conversation.ghost
        assert ghost is not None
        assert ghost.role == "ghost"
        assert user_texts(window) == []  # the ghost is not a message yet
        voice.final("A walk and some tea?")
        await wait_until(lambda: user_texts(window) == ["A walk and some tea?"])
        assert conversation.ghost is None
        assert ghost not in conversation.bubbles()
        await wait_until(lambda: bool(replies(window)) and replies(window)[0].finished)
        assert replies(window)[0].text == "Sounds good."
        await running.close()

    run_qt(scenario())


def test_presence_follows_listening_and_speaking(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine(["Okay."]))
        window, voice = running.window, FakeVoice(running.app.bus)
        voice.level("input", 0.5)  # not listening: background noise does not move the orb
        voice.level("output", 0.5)
        await asyncio.sleep(0.05)
        assert window.orb.level == 0.0
        assert window.orb.state == "idle"

        voice.start_speech()
        await wait_until(lambda: window.orb.state == "listening")
        voice.final("Hello?")
        await wait_until(lambda: bool(replies(window)) and replies(window)[0].finished)
        turn = replies(window)[0].turn_id
        assert turn is not None
        voice.speaking(turn)
        await wait_until(lambda: window.orb.state == "speaking")
        assert window.state_label.text() == "Speaking"
        # the orb's level decays on each animation frame: watch what it was given, not what is
        # left of it when the test looks
        given: list[tuple[float, float]] = []
        set_level = window.orb.set_level

        def spy(rms: float) -> None:
            set_level(rms)
            given.append((rms, window.orb.level))

        window.orb.set_level = spy  # type: ignore[method-assign]
        voice.level("output", 0.36)
        await wait_until(lambda: len(given) == 1)
        rms, level = given[0]
        assert rms == 0.36
        assert level == pytest.approx(0.6)  # sqrt: quiet speech still moves the orb
        voice.spoken(turn, "Okay.")
        await wait_until(lambda: window.orb.state == "idle")
        assert window.state_label.text() == "Here with you"
        await running.close()

    run_qt(scenario())


def test_stop_while_she_speaks_publishes_cancel_reply(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine(["All done."]))
        window, voice = running.window, FakeVoice(running.app.bus)
        cancels = record(running.app.bus, (CancelReply,))
        voice.start_speech()
        voice.final("Tell me something.")
        await wait_until(lambda: bool(replies(window)) and replies(window)[0].finished)
        await wait_until(lambda: not window.composer.stop_button.isEnabled())
        turn = replies(window)[0].turn_id
        assert turn is not None
        # the text is complete, her voice is still playing: stop stays live
        voice.speaking(turn)
        await wait_until(lambda: window.composer.stop_button.isEnabled())
        click(window.composer.stop_button)
        await wait_until(lambda: len(cancels) == 1)
        assert cancels[0] == CancelReply(reason="user")
        voice.spoken(turn, "All", interrupted=True)
        await wait_until(lambda: not window.composer.stop_button.isEnabled())
        assert window.orb.state == "idle"
        click(window.composer.stop_button)  # nothing playing: nothing to cancel
        await asyncio.sleep(0.05)
        assert len(cancels) == 1
        await running.close()

    run_qt(scenario())


# -- the real voice stages, no sound card -----------------------------------------------------


@pytest.fixture
def no_sound_server(tmp_path: Path) -> Iterator[None]:
    """Hide any PulseAudio (another test's virtual one, a desktop's): PortAudio then sees only
    real sound cards. Skips where a real microphone remains."""
    previous = os.environ.get("PULSE_SERVER")
    # a dead socket, not just unset: unset would let libpulse find or autospawn a server
    os.environ["PULSE_SERVER"] = f"unix:{tmp_path / 'no-pulse' / 'native'}"
    portaudio = True
    try:
        try:
            audio_devices.refresh()
            microphones = audio_devices.list_devices("input")
        except OSError:
            portaudio, microphones = False, []  # no PortAudio at all: the capture fails too
        if microphones:
            pytest.skip("this machine has a real microphone: the no-microphone path needs none")
        yield
    finally:
        if previous is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = previous
        if portaudio:
            audio_devices.refresh()


@pytest.mark.slow
def test_with_real_voice_stages_and_no_sound_card_typing_still_works(
    run_qt: RunQt, no_sound_server: None
) -> None:
    async def scenario() -> None:
        session = GuiSession(
            light_settings(),
            load_persona("samantha"),
            engine=FakeEngine(["Typing works."]),
            with_memory=False,
            save_window_settings=False,
            voice=True,
        )
        task = asyncio.ensure_future(session.run())
        ready = asyncio.ensure_future(session.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # raise what went wrong
        window = session.window
        assert session.app is not None
        stages = session.app.stages
        assert any(isinstance(stage, ListenStage) for stage in stages)
        assert any(isinstance(stage, SpeakStage) for stage in stages)
        mic = window.composer.mic_button
        await wait_until(lambda: not mic.isEnabled(), 30.0)
        assert "microphone" in mic.toolTip().lower()
        assert window.orb.state != "listening"

        edit = window.composer.edit
        edit.setFocus()
        type_text(edit, "can you read me?")
        key_click(edit, Qt.Key.Key_Return)
        await wait_until(lambda: user_texts(window) == ["can you read me?"])
        await wait_until(lambda: bool(replies(window)) and replies(window)[-1].finished, 30.0)
        assert replies(window)[-1].text == "Typing works."
        window.close()
        assert await task == 0

    run_qt(scenario())
