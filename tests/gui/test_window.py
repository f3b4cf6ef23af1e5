"""The main window over a real app: typing, streamed replies, stop, voice events, no mic."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from PySide6.QtCore import Qt

from her_desktop.events import (
    DeviceStatus,
    Event,
    FinalTranscript,
    ListenMode,
    Notice,
    PartialTranscript,
    PushToTalk,
    SpeakingFinished,
    SpeakingStarted,
    StageError,
    UserText,
)
from her_desktop.gui.app_window import MainWindow
from her_desktop.gui.conversation import MessageBubble
from her_desktop.gui.theme import DARK, LIGHT
from her_desktop.gui.window_state import window_state_path
from her_desktop.llm.llamacpp import LlamaCppEngine
from tests.fakes import FakeEngine
from tests.gui.conftest import RunQt, light_settings, start_window
from tests.gui.input import (
    click,
    key_click,
    key_press,
    key_release,
    mouse_press,
    mouse_release,
    type_text,
)
from tests.waiting import wait_until


def record(running_app_bus: object, kinds: tuple[type[Event], ...]) -> list[Event]:
    seen: list[Event] = []

    async def keep(event: Event) -> None:
        seen.append(event)

    running_app_bus.subscribe(kinds, keep, name="test:record")  # type: ignore[attr-defined]
    return seen


def type_and_send(window: MainWindow, text: str) -> None:
    edit = window.composer.edit
    edit.setFocus()
    type_text(edit, text)
    key_click(edit, Qt.Key.Key_Return)


def replies(window: MainWindow) -> list[MessageBubble]:
    """Her replies to turns (not the greeting)."""
    return [b for b in window.conversation.bubbles() if b.turn_id is not None]


async def next_reply(window: MainWindow, count: int = 1, within_s: float = 10.0) -> MessageBubble:
    """Wait for the ``count``-th reply to finish; return it."""
    await wait_until(lambda: len(replies(window)) >= count, within_s)
    reply = replies(window)[count - 1]
    await wait_until(lambda: reply.finished, within_s)
    return reply


def test_typed_message_gets_a_streamed_reply(run_qt: RunQt) -> None:
    async def scenario() -> None:
        engine = FakeEngine(["Hello", " **there**", ". How", " are", " you? 😊 你好"], delay=0.02)
        running = await start_window(engine)
        window = running.window
        tokens: list[str] = []
        assert running.window.bridge is not None
        running.window.bridge.reply_token.connect(lambda _turn, piece: tokens.append(piece))
        type_and_send(window, "hi 👋")
        assert window.composer.edit.toPlainText() == ""
        conversation = window.conversation
        reply = await next_reply(window)
        assert reply.role == "assistant"
        assert reply.text == "Hello **there**. How are you? 😊"  # a reply ends at its question
        await wait_until(lambda: "<b>there</b>" in reply.label.text())
        assert tokens == ["Hello **there**.", " How are you? 😊"]  # streamed sentence by sentence
        user = next(b for b in conversation.bubbles() if b.role == "user")
        assert user.text == "hi 👋"
        assert engine.calls[-1][-1].content == "hi 👋"
        assert await running.close() == 0

    run_qt(scenario())


def test_shift_enter_adds_a_line_and_enter_sends(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine(["Ok."]))
        edit = running.window.composer.edit
        edit.setFocus()
        type_text(edit, "one")
        key_click(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
        type_text(edit, "two")
        assert edit.toPlainText() == "one\ntwo"
        key_click(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        conversation = running.window.conversation
        await wait_until(lambda: any(b.text == "one\ntwo" for b in conversation.bubbles()))
        await running.close()

    run_qt(scenario())


def test_reply_from_the_tiny_model_streams_into_the_window(run_qt: RunQt, tiny_gguf: Path) -> None:
    async def scenario() -> None:
        settings = light_settings()
        settings.llm.max_tokens = 12
        engine = LlamaCppEngine(tiny_gguf, n_ctx=2048)
        running = await start_window(engine, settings)
        window = running.window
        tokens: list[str] = []
        assert window.bridge is not None
        window.bridge.reply_token.connect(lambda _turn, piece: tokens.append(piece))
        type_and_send(window, "Hello there")
        reply = await next_reply(window, within_s=30)
        assert reply.text.strip()
        assert tokens
        assert window.orb.state == "idle"
        await running.close()

    run_qt(scenario())


def test_stop_button_and_escape_stop_the_reply(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine(["la "], forever=True, delay=0.01))
        window = running.window
        assert not window.composer.stop_button.isEnabled()
        type_and_send(window, "talk forever")
        await wait_until(lambda: window.composer.stop_button.isEnabled())
        await wait_until(lambda: window.orb.state == "speaking")
        window.stop_action.trigger()  # what Esc does (the shortcut needs a focused window)
        reply = await next_reply(window)
        assert "stopped" in reply.meta.text()
        assert "la" in reply.text  # kept as far as it was produced
        await wait_until(lambda: not window.composer.stop_button.isEnabled())
        assert window.orb.state == "idle"

        # the stop button does the same
        type_and_send(window, "again")
        await wait_until(lambda: len(replies(window)) == 2 and window.orb.state == "speaking")
        click(window.composer.stop_button)
        assert "stopped" in (await next_reply(window, 2)).meta.text()
        await running.close()

    run_qt(scenario())


def test_no_microphone_shows_why_and_typing_still_works(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine(["Still here."]))
        window = running.window
        message = "Microphone unavailable: no input device found — typing still works."
        running.app.bus.publish_nowait(DeviceStatus(kind="input", available=False, message=message))
        await wait_until(lambda: not window.composer.mic_button.isEnabled())
        assert window.composer.mic_button.toolTip() == message
        assert not window.composer.hands_free_button.isEnabled()
        assert message in window.status_line.message
        type_and_send(window, "can you read me?")
        assert (await next_reply(window)).text == "Still here."
        running.app.bus.publish_nowait(DeviceStatus(kind="input", available=True))
        await wait_until(lambda: window.composer.mic_button.isEnabled())
        await running.close()

    run_qt(scenario())


def test_push_to_talk_and_hands_free_publish_events(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine())
        window = running.window
        seen = record(running.app.bus, (PushToTalk, ListenMode))
        mouse_press(window.composer.mic_button)
        await wait_until(lambda: PushToTalk(True) in seen)
        assert window.orb.state == "listening"
        mouse_release(window.composer.mic_button)
        await wait_until(lambda: PushToTalk(False) in seen)
        assert window.orb.state == "idle"

        seen.clear()
        edit = window.composer.edit
        key_press(edit, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier, " ")
        await wait_until(lambda: seen == [PushToTalk(True)])
        key_release(edit, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier, " ")
        await wait_until(lambda: seen == [PushToTalk(True), PushToTalk(False)])
        assert edit.toPlainText() == ""  # the key did not type a space

        seen.clear()
        window.composer.set_hands_free(False)
        click(window.composer.hands_free_button)
        await wait_until(lambda: seen == [ListenMode("hands_free")])
        window.hands_free_action.trigger()
        await wait_until(lambda: seen[-1] == ListenMode("push_to_talk"))
        await running.close()

    run_qt(scenario())


def test_voice_turn_shows_partials_then_the_user_bubble(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine(["Sure."]))
        window = running.window
        bus = running.app.bus
        from her_desktop.events import SpeechStarted

        bus.publish_nowait(SpeechStarted(1))
        await wait_until(lambda: window.orb.state == "listening")
        bus.publish_nowait(PartialTranscript(1, "what's the"))
        await wait_until(lambda: window.conversation.ghost is not None)
        bus.publish_nowait(PartialTranscript(1, "what's the time"))
        await wait_until(
            lambda: (
                window.conversation.ghost is not None
                and window.conversation.ghost.text == "what's the time"
            )
        )
        bus.publish_nowait(FinalTranscript(1, "What's the time?"))
        bus.publish_nowait(UserText("What's the time?", source="voice"))
        await wait_until(lambda: window.conversation.ghost is None)
        await wait_until(
            lambda: (
                [b.text for b in window.conversation.bubbles() if b.role == "user"]
                == ["What's the time?"]
            )
        )
        # her voice: presence follows the speaker, stop stays live until the audio ends
        await next_reply(window)
        bus.publish_nowait(SpeakingStarted(1))
        await wait_until(lambda: window.orb.state == "speaking")
        assert window.composer.stop_button.isEnabled()
        bus.publish_nowait(SpeakingFinished(1, "Sure."))
        await wait_until(lambda: not window.composer.stop_button.isEnabled())
        await running.close()

    run_qt(scenario())


def test_problems_show_in_the_status_line_and_can_be_dismissed(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine())
        window = running.window
        running.app.bus.publish_nowait(
            StageError("tts", "model", "Her voice could not load — check Settings → Voice.")
        )
        await wait_until(lambda: "Her voice could not load" in window.status_line.message)
        assert window.status_line.level == "error"
        click(window.status_line.dismiss_button)
        assert window.status_line.message == ""
        running.app.bus.publish_nowait(Notice("dialogue", "The conversation was trimmed."))
        await wait_until(lambda: "trimmed" in window.status_line.message)
        assert window.status_line.level == "notice"
        await running.close()

    run_qt(scenario())


def test_theme_switch_repaints_and_is_saved(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine())
        window = running.window
        window._save_theme = True
        window.theme_actions["dark"].trigger()
        assert window.theme is DARK
        assert window.palette().color(window.backgroundRole()).name() == DARK.window
        from her_desktop.config import load_settings

        assert load_settings().settings.gui.theme == "dark"
        window.theme_actions["light"].trigger()
        assert window.theme is LIGHT
        assert window.palette().color(window.backgroundRole()).name() == LIGHT.window
        await running.close()

    run_qt(scenario())


def test_window_geometry_is_saved_owner_only_and_restored(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine())
        running.window.resize(700, 540)
        await asyncio.sleep(0.05)
        await running.close()
        path = window_state_path()
        assert path.exists()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        again = MainWindow(light_settings(), save_theme=False)
        assert (again.width(), again.height()) == (700, 540)
        again.close()

    run_qt(scenario())


def test_a_damaged_window_file_means_the_default_size(run_qt: RunQt) -> None:
    window_state_path().write_text("{not json", encoding="utf-8")
    window = MainWindow(light_settings(), save_theme=False)
    assert window.width() > 0
    window.close()


def test_links_are_copied_not_opened(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine(["See [docs](https://example.org/a)."]))
        window = running.window
        type_and_send(window, "link?")
        label = (await next_reply(window)).label
        assert not label.openExternalLinks()
        assert 'href="https://example.org/a"' in label.text()
        label.linkActivated.emit("https://example.org/a")
        from PySide6.QtGui import QGuiApplication

        assert QGuiApplication.clipboard().text() == "https://example.org/a"
        assert "Link copied" in window.status_line.message
        await running.close()

    run_qt(scenario())
