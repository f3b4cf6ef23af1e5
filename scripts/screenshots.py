"""Screenshots of the real window for the docs (``docs/screenshots/*.png``).

Run under a virtual display:

    xvfb-run -a -s "-screen 0 1280x800x24" python scripts/screenshots.py

The window, the bus, memory and affect are the real ones; only her replies are SCRIPTED (no
language model runs), so the pictures show the window, not a model's words. The window's
status line says so in the main screenshots. Everything is written to a temporary user dir:
nothing of yours is read or changed. That dir is first seeded, through the real memory store,
with a month of plausible history (memories dated over weeks, mood samples most evenings), so
the memory and mood views show what weeks of use look like.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from her_desktop.memory.store import MemoryStore

ROOT = Path(__file__).resolve().parent.parent
DEMO_NOTE = "Screenshot demo: her replies here are scripted, not from a language model."

GREETING = "Welcome back, Alex 🌿 How was the lake trail with your sister on Saturday?"
REPLIES = [
    "That sounds lovely — I'm glad you got some air after the last few weeks. 🌲 "
    "What made today feel so heavy?",
    "That sounds draining. A few gentle ideas for tonight:\n"
    "- **A slow walk** — even ten minutes outside helps\n"
    "- *Chamomile tea*, your favourite, and no screens for a while 🍵\n"
    "- Write down one thing that went okay today\n\n"
    "お疲れさまでした。You did enough today.",
    "I love that idea. A short walk at dusk, then chamomile — and maybe Miso keeps you "
    "company on the sofa? 🐈",
]
TURNS = [
    "It was beautiful! 🏔️ But today was a long shift…",
    "今日は少し疲れた。Any ideas for a calm evening?",
]

DAY = 86_400.0
# (days ago, kind, text, subject, salience, valence): what she learned over the past weeks
MEMORIES = [
    (27.0, "fact", "My name is Alex.", "user.name", 0.7, 0.0),
    (26.9, "preference", "I love hiking in the mountains 🏔️.", "likes.hiking", 0.6, 0.7),
    (24.2, "fact", "I work as a nurse, mostly night shifts.", "user.job", 0.6, 0.0),
    (21.1, "fact", "My cat is called Miso.", "pet.cat.name", 0.6, 0.4),
    (17.8, "episode", "My grandmother went into hospital this week.", None, 0.8, -0.7),
    (13.9, "episode", "I had a rough week at work and barely slept.", None, 0.6, -0.5),
    (10.2, "preference", "My favourite tea is chamomile.", "favorite.tea", 0.4, 0.5),
    (8.1, "fact", "I'm learning Japanese.", "user.learning.japanese", 0.5, 0.3),
    (6.0, "episode", "My grandmother came home from hospital today.", None, 0.8, 0.8),
    (2.1, "episode", "We hiked the lake trail on Saturday with my sister.", None, 0.8, 0.7),
]


def _seed_history(now: float) -> None:
    """A month of realistic history in the demo's own data dir: memories spread over weeks and
    a few mood samples most evenings (steady, then a low stretch, then a recovery)."""
    import random
    from datetime import datetime, timedelta

    from her_desktop.affect.history import MoodSample
    from her_desktop.memory.mood import StoreMoodHistory
    from her_desktop.memory.records import NewMemory
    from her_desktop.memory.store import MemoryStore

    clock = [now]
    store = MemoryStore.open(clock=lambda: clock[0])
    try:
        for days_ago, kind, text, subject, salience, valence in MEMORIES:
            clock[0] = now - days_ago * DAY
            with store.turn() as tx:
                tx.upsert_memory(
                    NewMemory(
                        kind,
                        text,
                        subject=subject,
                        confidence=0.8,
                        valence=valence,
                        salience=salience,
                    ),
                    source_message_id=None,
                )
        _seed_style(store)
        history = StoreMoodHistory(store)
        rng = random.Random(7)
        today = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
        for days_ago in range(30, 0, -1):
            if days_ago in (23, 9):  # a couple of quiet evenings
                continue
            valence, arousal = _mood_trend(days_ago)
            valence += rng.gauss(0.0, 0.07)  # how that day went
            arousal += rng.gauss(0.0, 0.05)
            evening = today - timedelta(days=days_ago) + timedelta(hours=19 + rng.random() * 2)
            for _ in range(rng.randint(2, 4)):
                v = max(-1.0, min(1.0, valence + rng.gauss(0.0, 0.04)))
                a = max(0.0, min(1.0, arousal + rng.gauss(0.0, 0.03)))
                label = "joy" if v > 0.35 else "sadness" if v < -0.3 else "neutral"
                if label == "sadness" and a > 0.55:
                    label = "fear"
                history.add(MoodSample(evening.timestamp(), v, a, label))
                evening += timedelta(minutes=rng.randint(8, 35))
    finally:
        store.close()


def _seed_style(store: MemoryStore) -> None:
    """Two rules the user gave in their own words and a few ratings (the "How she talks" tab)."""
    from her_desktop.feedback import ratings
    from her_desktop.feedback.corrections import canonical, parse, subject
    from her_desktop.memory.records import NewMemory

    with store.turn() as tx:
        for said in ("Call me Alex.", "Don't call me sweetie.", "Speak at 0.9x speed."):
            rule = parse(said)[0]
            tx.upsert_memory(
                NewMemory("preference", canonical(rule), subject(rule), confidence=1.0),
                source_message_id=None,
            )
    long_reply = "That sounds lovely. Hiking is great. What trail was it? Did you go alone?"
    for turn, why in ((1, "too long"), (2, "rambling")):
        ratings.save(store, ratings.rating_for(turn, long_reply, good=False, why=why))
    ratings.save(store, ratings.rating_for(3, "Nice — glad the hike went well!", good=True))


def _mood_trend(days_ago: int) -> tuple[float, float]:
    """(valence, arousal) around which one evening's samples scatter."""
    if days_ago > 19:  # an ordinary stretch
        return 0.25, 0.45
    if days_ago > 11:  # the low stretch: grandmother in hospital, long night shifts
        depth = 1.0 - abs(days_ago - 15) / 4.0
        return -0.15 - 0.4 * depth, 0.5 + 0.1 * depth
    return -0.1 + (11 - days_ago) * 0.06, 0.42  # recovery


def _isolate() -> Path:
    home = Path(tempfile.mkdtemp(prefix="her-desktop-shots-"))
    for kind in ("CONFIG", "DATA", "CACHE"):
        os.environ[f"HER_DESKTOP_{kind}_DIR"] = str(home / kind.lower())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return home


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    _isolate()
    sys.path.insert(0, str(ROOT))

    from her_desktop.gui.qt_loop import ensure_qapplication, run_on_qt_loop

    ensure_qapplication()
    return run_on_qt_loop(lambda: _shoot(args.out))


async def _shoot(out: Path) -> int:
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication, QDialog, QWidget

    from her_desktop.config import Settings
    from her_desktop.events import (
        AudioLevel,
        DeviceStatus,
        FinalTranscript,
        PartialTranscript,
        SpeechEnded,
        SpeechStarted,
        UserText,
    )
    from her_desktop.gui.background import wait_for_background
    from her_desktop.gui.first_run import HealthPanel
    from her_desktop.gui.launch import GuiSession
    from her_desktop.models import default_spec
    from her_desktop.persona import load_persona

    _seed_history(time.time())
    engine = _scripted_engine(REPLIES, GREETING)
    settings = Settings()
    settings.memory.embeddings = "hashing"
    settings.affect.use_embeddings = False
    settings.gui.theme = "light"
    settings.gui.tray_icon = False
    session = GuiSession(
        settings, load_persona("samantha"), engine=engine, save_window_settings=False, voice=False
    )
    task = asyncio.ensure_future(session.run())
    await session.ready.wait()
    window = session.window
    window.resize(1040, 740)
    app = session.app
    assert app is not None
    bus = app.bus
    saved: list[str] = []

    def save(widget: QWidget, name: str) -> None:
        path = out / name
        # finish pending layouts (only those: no other event may run inside this step)
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        widget.grab().save(str(path))
        saved.append(str(path))

    async def settle(seconds: float = 0.4) -> None:
        await asyncio.sleep(seconds)

    async def reply_done(count: int) -> None:
        for _ in range(600):
            finished = [
                b for b in window.conversation.bubbles() if b.turn_id is not None and b.finished
            ]
            if len(finished) >= count and not window.composer.busy:
                return
            await asyncio.sleep(0.05)

    await app.memory_ready.wait()
    await reply_done(1)  # her continuity greeting (memory knows about Saturday's hike)
    await settle(0.5)
    for i, text in enumerate(TURNS, start=2):
        window.composer.edit.setPlainText(text)
        window.composer.submit()
        await reply_done(i)
    rated = [b for b in window.conversation.bubbles() if b.turn_id is not None]
    if len(rated) >= 2:
        rated[-2].rating.bad.click()  # 👎 with a word of why on an earlier reply
        rated[-2].rating.why.setText("a bit long")
        rated[-2].rating.why.returnPressed.emit()
    if rated:
        rated[-1].rating.good.click()  # 👍 on her last reply
    await settle()

    # listening: the live transcript in a ghost bubble, the orb following the voice
    bus.publish_nowait(SpeechStarted(1))
    bus.publish_nowait(PartialTranscript(1, "maybe a short walk and then some"))
    for level in (0.2, 0.5, 0.35):
        bus.publish_nowait(AudioLevel("input", level, level))
        await asyncio.sleep(0.05)
    window.show_problem("notice", DEMO_NOTE)
    await settle(0.15)
    save(window, "main-light.png")

    # dark theme, mid-reply
    window.apply_theme("dark")
    bus.publish_nowait(FinalTranscript(1, "Maybe a short walk and then some tea?"))
    bus.publish_nowait(UserText("Maybe a short walk and then some tea?", source="voice"))
    bus.publish_nowait(SpeechEnded(1, None))
    for _ in range(200):
        replies = [b for b in window.conversation.bubbles() if b.turn_id is not None]
        if len(replies) >= 4 and len(replies[3].text) > 60:
            break
        await asyncio.sleep(0.02)
    window.show_problem("notice", DEMO_NOTE)
    await settle(0.1)
    save(window, "main-dark.png")
    await reply_done(4)

    # no microphone: the mic button says why, typing still works
    window.apply_theme("light")
    bus.publish_nowait(
        DeviceStatus(
            "input",
            False,
            message="No microphone found — plug one in, or keep typing: text works.",
        )
    )
    await settle()
    save(window, "no-microphone.png")

    def top_dialog(title_part: str) -> QDialog | None:
        for widget in QApplication.topLevelWidgets():
            visible = isinstance(widget, QDialog) and widget.isVisible()
            if visible and title_part.lower() in widget.windowTitle().lower():
                return widget  # type: ignore[return-value]
        return None

    window.open_settings()
    await settle()
    dialog = top_dialog("settings")
    if dialog is not None:
        save(dialog, "window-settings.png")
        show_page = getattr(dialog, "show_page", None)
        voice_page = getattr(dialog, "voice", None)
        if show_page is not None and voice_page is not None:
            show_page(voice_page)
            await settle()
            save(dialog, "settings.png")
        dialog.reject()
        wait_for_background()

    window.open_memory()
    await settle(1.0)
    wait_for_background()
    await settle(0.5)
    dialog = top_dialog("memory")
    if dialog is not None:
        save(dialog, "window-memory.png")
        tabs = getattr(dialog, "tabs", None)
        if tabs is not None:
            tabs.setCurrentIndex(1)
            await settle(0.5)
            wait_for_background()
            await settle(0.3)
            save(dialog, "window-mood.png")
            if tabs.count() > 2:  # how she talks to you: rules and what the ratings taught
                tabs.setCurrentIndex(2)
                await settle(0.5)
                wait_for_background()
                await settle(0.3)
                save(dialog, "window-style.png")
        dialog.reject()

    panel = HealthPanel(window, first_run_model=default_spec("llm"))
    panel.refresh()
    panel.show()
    await panel.wait_idle()
    panel.resize(760, 560)
    await settle()
    save(panel, "first-run.png")
    panel.reject()

    window.close()
    code = await task
    print("\n".join(saved))
    return code


def _scripted_engine(replies: Sequence[str], greeting: str):  # type: ignore[no-untyped-def]
    """Streams canned replies word by word (a demo stand-in; never used by the app)."""
    from her_desktop.llm.base import (
        EngineInfo,
        GenerationParams,
        GenerationStats,
        LLMEngine,
        Message,
    )
    from her_desktop.reply.prompt import GREETING_INSTRUCTION

    class ScriptedEngine(LLMEngine):
        name = "scripted-demo"

        def __init__(self) -> None:
            self.turn = 0

        @property
        def context_size(self) -> int:
            return 8192

        async def load(self) -> None:
            return None

        def count_tokens(self, messages: Sequence[Message]) -> int:
            return sum(len(m.content) // 4 + 4 for m in messages)

        def info(self) -> EngineInfo:
            return EngineInfo(engine="scripted-demo", model="none", context_size=8192)

        async def stream(
            self,
            messages: Sequence[Message],
            params: GenerationParams,
            stats: GenerationStats | None = None,
        ) -> AsyncIterator[str]:
            if params.max_tokens == 1:  # the warm-up probe
                return
            if messages and messages[-1].content.endswith(GREETING_INSTRUCTION):
                text = greeting
            else:
                text = replies[min(self.turn, len(replies) - 1)]
                self.turn += 1
            words = text.split(" ")
            for i, word in enumerate(words):
                await asyncio.sleep(0.03)
                if stats is not None:
                    stats.tokens += 1
                yield word if i == 0 else " " + word
            if stats is not None:
                stats.finish_reason = "stop"

    return ScriptedEngine()


if __name__ == "__main__":
    sys.exit(main())
