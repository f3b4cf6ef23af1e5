"""Bus ⇄ Qt: bus events become Qt signals; the window's actions become bus events.

The bridge subscribes like any stage. With qasync the bus runs on the Qt thread, so handlers
emit signals directly; audio threads never touch widgets (they publish with
``publish_threadsafe``, and the event reaches the window through here). Should a handler ever
run on another thread, Qt's automatic connections queue the signal to the GUI thread anyway.

Two subscriptions: everything that matters is delivered in order and never dropped; the
high-rate streams (audio levels, partial transcripts) use a small drop-oldest queue, so a busy
window skips stale frames instead of slowing the audio path.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Signal

from her_desktop.bus import Bus, Overflow, Subscription
from her_desktop.events import (
    TYPING_EVERY_S,
    AudioLevel,
    CancelReply,
    DeviceStatus,
    DialogueState,
    Event,
    FinalTranscript,
    ListenMode,
    MemoryStored,
    MoodChange,
    MoodUpdate,
    Notice,
    PartialTranscript,
    PushToTalk,
    ReplyFinished,
    ReplyStarted,
    ReplyToken,
    SpeakingFinished,
    SpeakingStarted,
    SpeechEnded,
    SpeechStarted,
    StageError,
    UserText,
    UserTyping,
)

log = logging.getLogger(__name__)

ORDERED_EVENTS: tuple[type[Event], ...] = (
    UserText,
    DialogueState,
    ReplyStarted,
    ReplyToken,
    ReplyFinished,
    StageError,
    Notice,
    DeviceStatus,
    ListenMode,
    SpeechStarted,
    SpeechEnded,
    FinalTranscript,
    SpeakingStarted,
    SpeakingFinished,
    MemoryStored,
    MoodUpdate,
    MoodChange,
)
STREAM_EVENTS: tuple[type[Event], ...] = (AudioLevel, PartialTranscript)
STREAM_QUEUE = 8


class BusBridge(QObject):
    user_text = Signal(object)  # UserText
    dialogue_state = Signal(str)
    reply_started = Signal(int)
    reply_token = Signal(int, str)
    reply_finished = Signal(object)  # ReplyFinished
    problem = Signal(str, str)  # level ("error" | "notice"), plain-words message
    device_status = Signal(object)  # DeviceStatus
    listen_mode = Signal(str)
    audio_level = Signal(str, float)  # source ("input" | "output"), rms 0..1
    speech_started = Signal()
    speech_ended = Signal()
    partial_transcript = Signal(str)
    final_transcript = Signal(str)
    speaking_started = Signal(int)
    speaking_finished = Signal(int, bool)  # turn id, interrupted
    memory_stored = Signal(object)  # MemoryStored
    mood_update = Signal(object)  # MoodUpdate
    mood_change = Signal(str)

    def __init__(self, bus: Bus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bus = bus
        self._subs: list[Subscription] = []
        self._typed_at = -TYPING_EVERY_S

    def attach(self) -> None:
        """Subscribe (call on the running loop)."""
        if self._subs:
            return
        self._subs = [
            self.bus.subscribe(ORDERED_EVENTS, self._on_event, name="gui", maxsize=1024),
            self.bus.subscribe(
                STREAM_EVENTS,
                self._on_event,
                name="gui:stream",
                maxsize=STREAM_QUEUE,
                overflow=Overflow.DROP_OLDEST,
            ),
        ]

    async def detach(self) -> None:
        subs, self._subs = self._subs, []
        for sub in subs:
            await self.bus.unsubscribe(sub)

    # -- Qt → bus ----------------------------------------------------------------------------

    def publish(self, event: Event) -> None:
        self.bus.publish_nowait(event)

    def send_text(self, text: str) -> UserText:
        event = UserText(text)
        self.publish(event)
        return event

    def typing(self) -> None:
        """The composer's text changed: at most one ``UserTyping`` per ``TYPING_EVERY_S``."""
        now = time.monotonic()
        if now - self._typed_at >= TYPING_EVERY_S:
            self._typed_at = now
            self.publish(UserTyping())

    def cancel_reply(self) -> None:
        self.publish(CancelReply(reason="user"))

    def push_to_talk(self, pressed: bool) -> None:
        self.publish(PushToTalk(pressed))

    def set_listen_mode(self, mode: str) -> None:
        if mode in ("off", "push_to_talk", "hands_free"):
            self.publish(ListenMode(mode))  # type: ignore[arg-type]

    # -- bus → Qt ----------------------------------------------------------------------------

    async def _on_event(self, event: Event) -> None:
        if isinstance(event, ReplyToken):
            self.reply_token.emit(event.turn_id, event.text)
        elif isinstance(event, AudioLevel):
            self.audio_level.emit(event.source, float(event.rms))
        elif isinstance(event, PartialTranscript):
            self.partial_transcript.emit(event.text)
        elif isinstance(event, UserText):
            self.user_text.emit(event)
        elif isinstance(event, DialogueState):
            self.dialogue_state.emit(event.state)
        elif isinstance(event, ReplyStarted):
            self.reply_started.emit(event.turn_id)
        elif isinstance(event, ReplyFinished):
            self.reply_finished.emit(event)
        elif isinstance(event, StageError):
            self.problem.emit("error", event.message)
        elif isinstance(event, Notice):
            self.problem.emit("notice", event.message)
        elif isinstance(event, DeviceStatus):
            self.device_status.emit(event)
        elif isinstance(event, ListenMode):
            self.listen_mode.emit(event.mode)
        elif isinstance(event, SpeechStarted):
            self.speech_started.emit()
        elif isinstance(event, SpeechEnded):
            self.speech_ended.emit()
        elif isinstance(event, FinalTranscript):
            self.final_transcript.emit(event.text)
        elif isinstance(event, SpeakingStarted):
            self.speaking_started.emit(event.turn_id)
        elif isinstance(event, SpeakingFinished):
            self.speaking_finished.emit(event.turn_id, event.interrupted)
        elif isinstance(event, MemoryStored):
            self.memory_stored.emit(event)
        elif isinstance(event, MoodUpdate):
            self.mood_update.emit(event)
        elif isinstance(event, MoodChange):
            self.mood_change.emit(event.message)
