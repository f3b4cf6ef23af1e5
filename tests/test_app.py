"""The wired app: memory and affect around real turns, across two sessions (fake LM)."""

from __future__ import annotations

import asyncio
import threading

from her_desktop.affect.base import TextAffect
from her_desktop.affect.text import LexiconDetector
from her_desktop.app import build_app
from her_desktop.events import AffectEstimate, Event, UserText
from her_desktop.persona import load_persona
from tests.fakes import FakeEngine
from tests.running_app import light_settings, say, started
from tests.waiting import wait_until


async def test_memory_and_affect_carry_across_sessions() -> None:
    engine = FakeEngine(["That sounds lovely."])
    app, seen = await started(engine)
    assert app.memory is not None
    await say(app, seen, "My dog is called Biscuit and I am so happy today!")
    estimate = next(e for e in seen if isinstance(e, AffectEstimate))
    assert estimate.label == "joy"
    assert estimate.valence > 0
    await wait_until(lambda: app.memory is not None and app.memory.store.count() > 0)
    await app.stop()

    engine2 = FakeEngine(["Of course."])
    app2, seen2 = await started(engine2)
    await say(app2, seen2, "Do you remember my dog's name?")
    prompt = engine2.calls[-1][-1].content
    assert "Biscuit" in prompt  # recalled from the first session, fenced as notes
    assert prompt.startswith("[Context for this turn")
    await app2.stop()


async def test_memory_off_keeps_nothing() -> None:
    s = light_settings()
    s.privacy.memory_enabled = False
    app = build_app(s, load_persona("samantha"), engine=FakeEngine(["Ok."]))
    seen: list[Event] = []

    async def record(event: Event) -> None:
        seen.append(event)

    app.bus.subscribe(Event, record, name="test")
    await app.start()
    await asyncio.wait_for(app.memory_ready.wait(), 30)
    await say(app, seen, "My sister is called Maya.")
    await asyncio.sleep(0.2)
    assert app.memory is not None
    assert app.memory.store.count() == 0
    await app.stop()


async def test_stop_leaves_no_affect_estimate_pending() -> None:
    """A turn's estimate still being made when the app stops is cancelled within a bound
    (the detector's worker thread cannot be stopped: it is not waited for)."""
    started_detect = threading.Event()
    release = threading.Event()

    class Hanging(LexiconDetector):
        def detect(self, text: str) -> TextAffect:
            started_detect.set()
            release.wait(30)
            return super().detect(text)

    app, _ = await started(FakeEngine(["Oh no."]))
    assert app.affect is not None
    assert await app.settled(30)
    app.affect.detector = Hanging()
    await app.bus.publish(UserText("my dog died and I feel so sad"))
    await wait_until(started_detect.is_set)
    await app.stop()
    release.set()
    pending = [t for t in asyncio.all_tasks() if t.get_name().startswith("affect-estimate")]
    assert not [t for t in pending if not t.done()]
