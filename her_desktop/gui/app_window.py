"""The main window: presence header, conversation, status line and composer, over the bus.

The window never calls an engine: it renders bus events (through :class:`BusBridge`) and turns
the user's actions into events (``UserText``, ``CancelReply``, ``PushToTalk``, ``ListenMode``).
Settings and the memory & mood view are separate dialogs, opened lazily.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from her_desktop import __version__
from her_desktop.app import App
from her_desktop.config import ConfigError, Settings, save_settings
from her_desktop.events import DeviceStatus, MemoryStored, ReplyFinished, UserText
from her_desktop.gui.bridge import BusBridge
from her_desktop.gui.composer import Composer
from her_desktop.gui.conversation import ConversationView
from her_desktop.gui.first_run import HealthPanel
from her_desktop.gui.presence import STATE_LABELS, PresenceOrb, PresenceState
from her_desktop.gui.push_to_talk import PushToTalkKey
from her_desktop.gui.status_line import StatusLine
from her_desktop.gui.theme import Theme, ThemeChoice, apply_theme
from her_desktop.gui.tray import Tray, tray_available
from her_desktop.gui.window_state import restore_window_state, save_window_state

log = logging.getLogger(__name__)

DEFAULT_SIZE = (920, 760)
NOT_AVAILABLE = "{what} is not available in this build yet."


def _qapp() -> QApplication:
    app = QApplication.instance()
    assert isinstance(app, QApplication), "create the QApplication first"
    return app


class MainWindow(QMainWindow):
    closed = Signal()
    health_closed = Signal(bool)  # True when a fix was applied (e.g. the model was assembled)

    def __init__(
        self,
        settings: Settings,
        *,
        persona_name: str = "Samantha",
        save_theme: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.persona_name = persona_name
        self._save_theme = save_theme
        self.app: App | None = None
        self.bridge: BusBridge | None = None
        self._dialogue_state: PresenceState = "idle"
        self._tts_speaking = False
        self._user_speaking = False
        self._ptt_held = False
        self._tasks: set[asyncio.Future[None]] = set()
        self.setWindowTitle(f"{persona_name} — her_desktop")
        self.setObjectName("mainWindow")

        # header: presence orb, name, state
        self.orb = PresenceOrb(self)
        self.name_label = QLabel(persona_name)
        self.name_label.setObjectName("personaName")
        self.state_label = QLabel(STATE_LABELS["idle"])
        self.state_label.setObjectName("stateText")
        self.privacy_label = QLabel("Private · runs on this computer")
        self.privacy_label.setObjectName("stateText")
        names = QVBoxLayout()
        names.setSpacing(0)
        names.addStretch(1)
        names.addWidget(self.name_label)
        names.addWidget(self.state_label)
        names.addStretch(1)
        header = QFrame(self)
        header.setObjectName("header")
        header_row = QHBoxLayout(header)
        header_row.setContentsMargins(14, 8, 18, 8)
        header_row.addWidget(self.orb)
        header_row.addLayout(names)
        header_row.addStretch(1)
        header_row.addWidget(self.privacy_label, 0, Qt.AlignmentFlag.AlignVCenter)

        self.conversation = ConversationView(self)
        self.conversation.link_activated.connect(self._on_link)
        self.status_line = StatusLine(self)
        self.composer = Composer(self, ptt_key=settings.gui.push_to_talk_key)
        self.composer.set_persona_name(persona_name)
        self.composer.send_requested.connect(self.send_text)
        self.composer.edit.textChanged.connect(self._on_typing)
        self.composer.stop_requested.connect(self.stop_reply)
        self.composer.push_to_talk.connect(self._on_push_to_talk)
        self.composer.hands_free_toggled.connect(self._on_hands_free)
        self.composer.set_hands_free(settings.audio.listen_mode == "hands_free")
        self.composer.setEnabled(False)  # until the app is attached

        status_box = QHBoxLayout()
        status_box.setContentsMargins(14, 0, 14, 0)
        status_box.addWidget(self.status_line)
        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(header)
        column.addWidget(self.conversation, 1)
        column.addLayout(status_box)
        column.addWidget(self.composer)
        self.setCentralWidget(central)

        self.ptt_key = PushToTalkKey(settings.gui.push_to_talk_key, self, scope=self)
        self.ptt_key.changed.connect(self._on_push_to_talk)
        _qapp().installEventFilter(self.ptt_key)

        self._build_actions()
        self.theme = self.apply_theme(settings.gui.theme)
        hints = QGuiApplication.styleHints()
        if hints is not None:
            hints.colorSchemeChanged.connect(self._on_system_scheme)
        self.tray: Tray | None = None
        if settings.gui.tray_icon and tray_available():
            self.tray = Tray(self, self.theme, self.quit_action)
        if not restore_window_state(self):
            self.resize(*DEFAULT_SIZE)

    # -- actions and menus -------------------------------------------------------------------

    def _action(
        self, text: str, slot: Any, shortcut: str | QKeySequence.StandardKey | None = None
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.send_action = self._action("&Send", self.composer.submit, "Ctrl+Return")
        self.stop_action = self._action("S&top the reply", self.stop_reply, "Esc")
        self.new_action = self._action("&New conversation", self.new_conversation, "Ctrl+N")
        self.hands_free_action = self._action(
            "&Hands-free listening", self.composer.hands_free_button.toggle, "Ctrl+H"
        )
        self.settings_action = self._action("&Settings…", self.open_settings, "Ctrl+,")
        self.memory_action = self._action("&Memory && mood…", self.open_memory, "Ctrl+M")
        self.health_action = self._action("&Health check…", self.open_health)
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q")
        self.about_action = self._action("&About", self.show_about, "F1")
        self.stop_action.setEnabled(False)

        self.theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for choice, label in (
            ("system", "Follow the &system"),
            ("light", "&Light"),
            ("dark", "&Dark"),
        ):
            action = QAction(label, self, checkable=True)
            action.triggered.connect(lambda _=False, c=choice: self.set_theme_choice(c))
            self.theme_group.addAction(action)
            self.theme_actions[choice] = action

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.new_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        talk = bar.addMenu("&Conversation")
        talk.addAction(self.send_action)
        talk.addAction(self.stop_action)
        talk.addAction(self.hands_free_action)
        view = bar.addMenu("&View")
        themes = view.addMenu("&Theme")
        for action in self.theme_actions.values():
            themes.addAction(action)
        tools = bar.addMenu("&Tools")
        tools.addAction(self.settings_action)
        tools.addAction(self.memory_action)
        tools.addAction(self.health_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)

    # -- the app ------------------------------------------------------------------------------

    def attach(self, app: App) -> None:
        """Connect to a started app's bus (call on the running loop)."""
        self.app = app
        bridge = BusBridge(app.bus, self)
        bridge.user_text.connect(self._on_user_text)
        bridge.dialogue_state.connect(self._on_dialogue_state)
        bridge.reply_started.connect(self.conversation.start_reply)
        bridge.reply_token.connect(self.conversation.append_reply)
        bridge.reply_finished.connect(self._on_reply_finished)
        bridge.problem.connect(self.show_problem)
        bridge.device_status.connect(self._on_device_status)
        bridge.listen_mode.connect(lambda mode: self.composer.set_hands_free(mode == "hands_free"))
        bridge.audio_level.connect(self._on_audio_level)
        bridge.speech_started.connect(lambda: self._set_user_speaking(True))
        bridge.speech_ended.connect(lambda: self._set_user_speaking(False))
        bridge.partial_transcript.connect(self.conversation.show_partial)
        bridge.final_transcript.connect(lambda _text: self.conversation.clear_partial())
        bridge.speaking_started.connect(lambda _turn: self._set_tts_speaking(True))
        bridge.speaking_finished.connect(lambda _turn, _cut: self._set_tts_speaking(False))
        bridge.memory_stored.connect(self._on_memory_stored)
        self.conversation.reply_rated.connect(self._on_reply_rated)
        bridge.attach()
        self.bridge = bridge
        self.composer.setEnabled(True)
        self.composer.edit.setFocus()

    def add_greeting(self, text: str) -> None:
        self.conversation.add_message("assistant", text)

    # -- user actions ------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        if self.bridge is None:
            self.show_problem("notice", "Still getting ready — try again in a moment.")
            return
        self.bridge.send_text(text)

    def _on_typing(self) -> None:
        """Background work (memory consolidation) gives way while the user types."""
        if self.bridge is not None and self.composer.edit.toPlainText():
            self.bridge.typing()

    def stop_reply(self) -> None:
        if self.bridge is not None and self.composer.busy:
            self.bridge.cancel_reply()

    def new_conversation(self) -> None:
        self.stop_reply()
        if self.app is not None:
            self.app.dialogue.reset()
        self.conversation.clear()

    def _on_push_to_talk(self, pressed: bool) -> None:
        if self.bridge is None or self._ptt_held == pressed:
            return
        if pressed and not self.composer.mic_button.isEnabled():
            self.show_problem("notice", self.composer.mic_button.toolTip())
            return
        self._ptt_held = pressed
        self.bridge.push_to_talk(pressed)
        self._update_presence()

    def _on_hands_free(self, on: bool) -> None:
        if self.bridge is not None:
            self.bridge.set_listen_mode("hands_free" if on else "push_to_talk")

    def _on_link(self, url: str) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(url)
        self.show_problem("notice", f"Link copied (links are never opened for you): {url}")

    # -- events from the bus -----------------------------------------------------------------

    def _on_user_text(self, event: UserText) -> None:
        if event.source == "voice":
            self.conversation.clear_partial()
        self.conversation.add_message("user", event.text)

    def _on_dialogue_state(self, state: str) -> None:
        for known in STATE_LABELS:
            if state == known:
                self._dialogue_state = known
        self._update_presence()

    def _on_reply_finished(self, event: ReplyFinished) -> None:
        self.conversation.finish_reply(event.turn_id, event.text, event.reason)

    def _on_device_status(self, event: DeviceStatus) -> None:
        if event.kind == "input":
            message = event.message or (
                "No microphone available — typing still works." if not event.available else ""
            )
            self.composer.set_mic_available(event.available, message)
            if not event.available:
                if self._ptt_held:
                    self._on_push_to_talk(False)
                self.show_problem("notice", message)
        elif not event.available:
            self.show_problem(
                "notice", event.message or "No speaker available — replies show as text."
            )

    def _on_audio_level(self, source: str, rms: float) -> None:
        listening = self._user_speaking or self._ptt_held
        if (source == "input" and listening) or (source == "output" and self._tts_speaking):
            self.orb.set_level(rms)

    def _on_memory_stored(self, event: MemoryStored) -> None:
        verb = "Updated what she remembers" if event.updated else "She'll remember"
        self.show_problem("notice", f"{verb}: “{event.text}” (Tools → Memory & mood)")

    def show_problem(self, level: str, message: str) -> None:
        if "models install" in message and "Health check" not in message:
            message += " (Tools → Health check can assemble it for you.)"
        self.status_line.show_message("error" if level == "error" else "notice", message)

    # -- presence ----------------------------------------------------------------------------

    def _set_user_speaking(self, on: bool) -> None:
        self._user_speaking = on
        self._update_presence()

    def _set_tts_speaking(self, on: bool) -> None:
        self._tts_speaking = on
        self._update_presence()

    def presence_state(self) -> PresenceState:
        if self._tts_speaking:
            return "speaking"
        if self._user_speaking or self._ptt_held:
            return "listening"
        return self._dialogue_state

    def _update_presence(self) -> None:
        state = self.presence_state()
        self.orb.set_state(state)
        self.state_label.setText(STATE_LABELS[state])
        busy = self._dialogue_state in ("thinking", "speaking") or self._tts_speaking
        self.composer.set_busy(busy)
        self.stop_action.setEnabled(busy)

    # -- theme -------------------------------------------------------------------------------

    def apply_theme(self, choice: ThemeChoice) -> Theme:
        theme = apply_theme(_qapp(), choice)
        self.theme = theme
        self.orb.set_theme(theme)
        self.conversation.set_theme(theme)
        self.composer.set_theme(theme)
        if getattr(self, "tray", None) is not None:
            assert self.tray is not None
            self.tray.set_theme(theme)
        self.theme_actions[choice].setChecked(True)
        return theme

    def set_theme_choice(self, choice: ThemeChoice) -> None:
        self.settings.gui.theme = choice
        self.apply_theme(choice)
        if self._save_theme:
            try:
                save_settings(self.settings)
            except ConfigError as exc:
                self.show_problem("notice", f"The theme applies now but was not saved: {exc}")

    def _on_system_scheme(self, *_: object) -> None:
        if self.settings.gui.theme == "system":
            self.apply_theme("system")

    # -- dialogs -----------------------------------------------------------------------------

    def open_settings(self) -> None:
        try:
            from her_desktop.gui.settings_dialog import SettingsDialog
        except ImportError:
            self.show_problem("notice", NOT_AVAILABLE.format(what="The settings window"))
            return
        dialog = SettingsDialog(self.settings, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.settings_changed.connect(self.apply_settings)
        dialog.delete_everything_requested.connect(self.delete_everything)
        dialog.open()

    def apply_settings(self, new: Settings) -> None:
        """The settings window's OK: save, and apply what applies live (the theme, her pace,
        how she listens); say when the rest (model, voice, devices) needs a restart."""
        try:
            save_settings(new)
        except ConfigError as exc:
            self.show_problem("error", f"The settings were not saved: {exc}")
            return
        old, self.settings = self.settings, new
        self.apply_theme(new.gui.theme)
        self.ptt_key.set_key(new.gui.push_to_talk_key)
        self.composer.set_ptt_key(self.ptt_key.display)
        if self.app is not None:
            self.app.settings.tts.speed = new.tts.speed
            if new.audio.listen_mode != old.audio.listen_mode and self.bridge is not None:
                self.bridge.set_listen_mode(new.audio.listen_mode)
        needs_restart = (
            new.llm != old.llm
            or new.tts.model_copy(update={"speed": old.tts.speed}) != old.tts
            or new.stt != old.stt
            or new.audio.model_copy(update={"listen_mode": old.audio.listen_mode}) != old.audio
            or new.persona != old.persona
        )
        if needs_restart:
            self.show_problem(
                "notice", "Settings saved. Model, voice and audio changes apply after a restart."
            )

    def _on_reply_rated(self, turn_id: int, value: int, why: str) -> None:
        """👍/👎 on a reply: kept with the exchange and learned from (``feedback``)."""
        style = self.app.style if self.app is not None else None
        bubble = next((b for b in self.conversation.bubbles() if b.turn_id == turn_id), None)
        if style is None or bubble is None:
            return
        text = bubble.text

        async def keep() -> None:
            if value == 0:
                await style.unrate(turn_id)
            else:
                await style.rate(turn_id, text, value > 0, why)

        task = asyncio.ensure_future(keep())
        self._tasks.add(task)
        task.add_done_callback(self._after_rating)

    def _after_rating(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self.show_problem("error", f"Could not keep your rating: {error}")

    def delete_everything(self) -> None:
        """Privacy → delete everything: forget every memory and this conversation."""
        self.new_conversation()
        if self.app is None:
            return
        memory, store = self.app.memory, self.app.store
        if memory is not None:
            task = asyncio.ensure_future(memory.forget_all())
        elif store is not None:
            task = asyncio.ensure_future(asyncio.to_thread(store.forget_all))
        else:
            return
        self._tasks.add(task)
        task.add_done_callback(self._after_delete)

    def _after_delete(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self.show_problem("error", f"Could not delete everything: {error}")
        else:
            self.show_problem("notice", "Done: everything she remembered has been deleted.")

    def open_memory(self) -> None:
        try:
            from her_desktop.gui.memory_view import MemoryMoodDialog
        except ImportError:
            self.show_problem("notice", NOT_AVAILABLE.format(what="The memory & mood view"))
            return
        if self.app is None:
            self.show_problem("notice", "Memory is still getting ready — try again in a moment.")
            return
        dialog = MemoryMoodDialog(self.app, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def open_health(self) -> HealthPanel:
        panel = HealthPanel(self)
        panel.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        panel.finished.connect(lambda _result: self.health_closed.emit(panel.changed))
        panel.refresh()
        panel.open()
        return panel

    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("About her_desktop")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(
            f"<b>her_desktop {__version__}</b><br>"
            f"{self.persona_name}: a private companion you can talk to.<br>"
            "Everything runs on this computer; nothing leaves it.<br><br>"
            "Keys: Enter send · Shift+Enter new line · Esc stop · "
            f"{self.ptt_key.display} hold to talk · Ctrl+, settings · Ctrl+M memory · "
            "Ctrl+Q quit"
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # -- closing -----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        save_window_state(self)
        self.ptt_key.release()
        _qapp().removeEventFilter(self.ptt_key)
        if self.tray is not None:
            self.tray.remove()
        super().closeEvent(event)
        self.closed.emit()
