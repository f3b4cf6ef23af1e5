"""The affect service on a real bus: events out, tone notes, check-ins, voice."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from her_desktop.affect.base import TextAffect
from her_desktop.affect.history import InMemoryMoodHistory
from her_desktop.affect.service import AffectService
from her_desktop.affect.text import LexiconDetector
from her_desktop.affect.tracker import MoodTracker
from her_desktop.bus import Bus
from her_desktop.events import AffectEstimate, Event, MoodChange, MoodUpdate
from her_desktop.turn_context import TurnContextProvider
from tests.waiting import wait_until

TZ = timezone(timedelta(hours=-5))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def make_service(
    *, checkins: bool, now: float = 0.0, voice_arousal: bool = False
) -> tuple[Bus, AffectService, list[Event], Clock]:
    bus = Bus()
    seen: list[Event] = []

    async def record(event: Event) -> None:
        seen.append(event)

    bus.subscribe((AffectEstimate, MoodUpdate, MoodChange), record, name="test")
    clock = Clock(now)
    tracker = MoodTracker(InMemoryMoodHistory(), clock=clock, tz=TZ)
    service = AffectService(
        bus,
        LexiconDetector(),
        tracker,
        checkins_enabled=checkins,
        clock=clock,
        voice_arousal=voice_arousal,
    )
    return bus, service, seen, clock


async def test_is_a_turn_context_provider() -> None:
    bus, service, _, _ = await make_service(checkins=False)
    assert isinstance(service, TurnContextProvider)
    assert service.name == "affect"
    await bus.close()


async def test_before_reply_publishes_estimate_and_mood_and_returns_a_note() -> None:
    bus, service, seen, _ = await make_service(checkins=False, now=1_000_000.0)
    secret = "my hamster Gizmo died and I feel so sad"
    note = await service.before_reply(7, secret)
    await wait_until(lambda: len(seen) >= 2)
    estimate, update = seen[0], seen[1]
    assert isinstance(estimate, AffectEstimate)
    assert estimate.turn_id == 7
    assert estimate.label == "sadness"
    assert estimate.valence < 0
    assert estimate.source == "text"
    assert sum(p for _, p in estimate.scores) == pytest.approx(1.0, abs=1e-3)
    assert isinstance(update, MoodUpdate)
    assert update.valence == pytest.approx(estimate.valence)
    assert note is not None
    assert "sad" in note
    assert "Gizmo" not in note
    assert "hamster" not in note
    assert "check" not in note.lower()
    await bus.close()


async def test_neutral_turn_needs_no_note() -> None:
    bus, service, _, _ = await make_service(checkins=False)
    assert await service.before_reply(1, "What time does the pharmacy open?") is None
    await bus.close()


async def low_evenings(service: AffectService, clock: Clock) -> list[str | None]:
    notes = []
    turn = 0
    for day in (3, 4, 5):
        for minute in (0, 20):
            turn += 1
            clock.now = datetime(2026, 4, day, 21, minute, tzinfo=TZ).timestamp()
            notes.append(await service.before_reply(turn, "I feel lonely and miserable tonight"))
    return notes


async def test_low_stretch_publishes_change_and_checkin_only_when_enabled() -> None:
    bus, service, seen, clock = await make_service(checkins=True)
    notes = await low_evenings(service, clock)
    await wait_until(lambda: any(isinstance(e, MoodChange) for e in seen))
    changes = [e for e in seen if isinstance(e, MoodChange)]
    assert [c.kind for c in changes] == ["low_evenings"]
    assert all("check" not in (n or "").lower() for n in notes[:-1])
    assert notes[-1] is not None
    assert "ask how they are doing" in notes[-1]
    later = await service.before_reply(99, "I feel lonely and miserable tonight")
    assert later is not None
    assert "ask how they are doing" not in later
    await bus.close()

    bus, service, seen, clock = await make_service(checkins=False)
    notes = await low_evenings(service, clock)
    await wait_until(lambda: any(isinstance(e, MoodChange) for e in seen))
    assert all("ask how they are doing" not in (n or "") for n in notes)
    await bus.close()


async def test_voice_audio_makes_it_text_plus_voice_and_raises_arousal() -> None:
    bus, service, seen, _ = await make_service(checkins=False, voice_arousal=True)
    rate = 16000
    t = np.arange(rate * 2) / rate
    loud_fast_high = (
        0.5 * np.sin(2 * np.pi * 300 * t) * np.clip(np.sin(np.pi * 7 * t), 0, None) ** 2
    ).astype(np.float32)
    text = "The results came back today"
    await service.before_reply(1, text)
    service.set_turn_audio(2, loud_fast_high, rate)
    await service.before_reply(2, text)
    await wait_until(lambda: len([e for e in seen if isinstance(e, AffectEstimate)]) == 2)
    plain, voiced = [e for e in seen if isinstance(e, AffectEstimate)]
    assert plain.source == "text"
    assert voiced.source == "text+voice"
    assert voiced.arousal > plain.arousal
    assert voiced.valence == pytest.approx(plain.valence)
    await bus.close()


async def test_voice_audio_is_ignored_by_default() -> None:
    bus, service, seen, _ = await make_service(checkins=False)
    service.set_turn_audio(1, np.full(16000, 0.5, dtype=np.float32), 16000)
    assert not service._audio
    await service.before_reply(1, "The results came back today")
    await wait_until(lambda: any(isinstance(e, AffectEstimate) for e in seen))
    assert [e.source for e in seen if isinstance(e, AffectEstimate)] == ["text"]
    await bus.close()


async def test_audio_for_other_turns_is_bounded_and_not_misused() -> None:
    bus, service, seen, _ = await make_service(checkins=False, voice_arousal=True)
    for turn in range(10):
        service.set_turn_audio(turn, np.zeros(100, dtype=np.float32), 16000)
    assert len(service._audio) <= 4
    await service.before_reply(50, "hello")
    await wait_until(lambda: any(isinstance(e, AffectEstimate) for e in seen))
    estimate = next(e for e in seen if isinstance(e, AffectEstimate))
    assert estimate.source == "text"
    await service.after_reply(50, "hello", "hi")  # nothing to do, must not fail
    await bus.close()


async def test_use_best_detector_swaps_in_what_the_factory_builds() -> None:
    bus, service, seen, _ = await make_service(checkins=False)

    class Always:
        name = "always-fear"

        def detect(self, text: str) -> TextAffect:
            return TextAffect.from_scores({"fear": 1.0}, -0.5, 0.8)

    assert await service.use_best_detector(Always) == "always-fear"
    await service.before_reply(3, "I am delighted")
    await wait_until(lambda: any(isinstance(e, AffectEstimate) for e in seen))
    assert next(e for e in seen if isinstance(e, AffectEstimate)).label == "fear"
    await bus.close()


async def test_an_estimate_is_published_even_when_the_reply_stopped_waiting_for_it() -> None:
    bus, service, seen, _ = await make_service(checkins=False)
    started = threading.Event()
    release = threading.Event()

    class SlowDetector(LexiconDetector):
        def detect(self, text: str) -> TextAffect:
            started.set()
            release.wait(5)  # a loaded machine: the dialogue's budget runs out first
            return super().detect(text)

    service.detector = SlowDetector()
    waiting = asyncio.ensure_future(service.before_reply(3, "my dog died and I feel so sad"))
    await wait_until(started.is_set)
    waiting.cancel()  # the dialogue gave up on the note (asyncio.timeout)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    release.set()
    await wait_until(lambda: any(isinstance(e, AffectEstimate) for e in seen))
    estimate = next(e for e in seen if isinstance(e, AffectEstimate))
    assert estimate.turn_id == 3
    assert estimate.label == "sadness"
    await bus.close()


class _HeldDetector(LexiconDetector):
    """A detector that waits for ``release`` (a loaded machine, or a native call that hangs)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def detect(self, text: str) -> TextAffect:
        self.started.set()
        self.release.wait(30)
        return super().detect(text)


def _estimates_pending() -> list[asyncio.Task[object]]:
    return [
        t
        for t in asyncio.all_tasks()
        if t.get_name().startswith("affect-estimate") and not t.done()
    ]


async def _stopped_waiting(service: AffectService, detector: _HeldDetector) -> None:
    """A turn's estimate is being made and the dialogue has stopped waiting for it."""
    service.detector = detector
    waiting = asyncio.ensure_future(service.before_reply(3, "my dog died and I feel so sad"))
    await wait_until(detector.started.is_set)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert _estimates_pending()


async def test_close_lets_a_late_estimate_finish_and_publishes_it() -> None:
    bus, service, seen, _ = await make_service(checkins=False)
    detector = _HeldDetector()
    await _stopped_waiting(service, detector)
    closing = asyncio.ensure_future(service.close(timeout_s=30))
    detector.release.set()
    await closing
    assert not _estimates_pending()
    assert [e.turn_id for e in seen if isinstance(e, AffectEstimate)] == [3]
    await bus.close()


async def test_close_is_bounded_when_the_detector_hangs() -> None:
    bus, service, seen, _ = await make_service(checkins=False)
    detector = _HeldDetector()
    await _stopped_waiting(service, detector)
    await service.close(timeout_s=0.05)  # the detector's thread cannot be stopped: not waited
    assert not _estimates_pending()  # no "Task was destroyed but it is pending" at exit
    detector.release.set()
    await bus.close()
    assert not any(isinstance(e, AffectEstimate) for e in seen)


async def test_close_with_nothing_pending_returns_at_once() -> None:
    bus, service, _, _ = await make_service(checkins=False)
    await service.before_reply(1, "I am delighted")
    await service.close(timeout_s=0)
    await bus.close()
