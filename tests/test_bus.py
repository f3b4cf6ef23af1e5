"""The event bus: send events in, assert events out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from her_desktop.bus import Bus, Overflow
from her_desktop.events import (
    BusOverflow,
    CancelReply,
    Event,
    ReplyToken,
    Shutdown,
    StageError,
    UserText,
)


@dataclass(frozen=True, slots=True)
class Num(Event):
    n: int


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


async def settle(bus: Bus) -> None:
    """Let every queued event reach its handler."""
    for _ in range(50):
        await asyncio.sleep(0)
        if all(s.queued == 0 for s in bus.stats()):
            await asyncio.sleep(0)
            return
    await asyncio.sleep(0.01)


async def test_typed_subscription_gets_only_its_types() -> None:
    bus = Bus()
    texts, everything = Recorder(), Recorder()
    bus.subscribe(UserText, texts, name="texts")
    bus.subscribe(Event, everything, name="all")
    await bus.publish(UserText("hi"))
    await bus.publish(ReplyToken(1, "x"))
    await settle(bus)
    assert [type(e) for e in texts.events] == [UserText]
    assert [type(e) for e in everything.events] == [UserText, ReplyToken]
    await bus.close()


async def test_handler_that_raises_is_isolated_and_reported() -> None:
    bus = Bus()
    errors, others = Recorder(), Recorder()

    async def broken(event: UserText) -> None:
        raise ValueError("boom")

    bus.subscribe(UserText, broken, name="broken-stage")
    bus.subscribe(UserText, others, name="ok-stage")
    bus.subscribe(StageError, errors, name="errors")
    await bus.publish(UserText("one"))
    await bus.publish(UserText("two"))
    await settle(bus)
    assert [e.text for e in others.of(UserText)] == ["one", "two"]  # type: ignore[attr-defined]
    assert len(errors.events) == 2
    err = errors.events[0]
    assert isinstance(err, StageError)
    assert err.stage == "broken-stage"
    assert err.category == "handler"
    assert "boom" in err.message
    await bus.close()


async def test_error_in_error_handler_does_not_loop() -> None:
    bus = Bus()
    calls = 0

    async def bad_error_handler(event: StageError) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("again")

    async def broken(event: UserText) -> None:
        raise ValueError("boom")

    bus.subscribe(StageError, bad_error_handler, name="err")
    bus.subscribe(UserText, broken, name="broken")
    await bus.publish(UserText("x"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert calls == 1
    await bus.close()


async def test_control_events_overtake_queued_data() -> None:
    bus = Bus()
    seen: list[str] = []
    release = asyncio.Event()

    async def slow(event: Event) -> None:
        if isinstance(event, Num):
            await release.wait()
        seen.append(type(event).__name__ + (f"{event.n}" if isinstance(event, Num) else ""))

    bus.subscribe(Event, slow, name="slow", maxsize=100)
    for i in range(5):
        await bus.publish(Num(i))
    await bus.publish(CancelReply())
    await asyncio.sleep(0.01)
    assert seen == ["CancelReply"]  # delivered while the data worker is still blocked
    release.set()
    await settle(bus)
    assert seen == ["CancelReply", "Num0", "Num1", "Num2", "Num3", "Num4"]
    await bus.close()


async def test_block_policy_applies_backpressure_and_loses_nothing() -> None:
    bus = Bus()
    got: list[int] = []
    gate = asyncio.Event()

    async def consumer(event: Num) -> None:
        await gate.wait()
        got.append(event.n)

    bus.subscribe(Num, consumer, name="slow", maxsize=2)

    async def producer() -> None:
        for i in range(10):
            await bus.publish(Num(i))

    task = asyncio.create_task(producer())
    await asyncio.sleep(0.02)
    assert not task.done()  # the publisher waits: the queue is full
    gate.set()
    await asyncio.wait_for(task, 2)
    await settle(bus)
    assert got == list(range(10))
    await bus.close()


async def test_drop_oldest_keeps_newest_and_reports() -> None:
    bus = Bus()
    got: list[int] = []
    overflow = Recorder()
    gate = asyncio.Event()

    async def meter(event: Num) -> None:
        await gate.wait()
        got.append(event.n)

    bus.subscribe(Num, meter, name="meter", maxsize=3, overflow=Overflow.DROP_OLDEST)
    bus.subscribe(BusOverflow, overflow, name="diag")
    await asyncio.sleep(0)  # the meter worker takes Num(0) and waits at the gate
    for i in range(20):
        bus.publish_nowait(Num(i))
    gate.set()
    await settle(bus)
    # the one in the handler plus the newest three survive; the order is kept
    assert got[-3:] == [17, 18, 19]
    assert got == sorted(got)
    stats = {s.name: s for s in bus.stats()}
    assert stats["meter"].dropped == 20 - len(got)
    assert overflow.events
    assert isinstance(overflow.events[0], BusOverflow)
    assert overflow.events[0].subscriber == "meter"
    await bus.close()


async def test_publish_nowait_on_full_block_queue_keeps_order() -> None:
    bus = Bus()
    got: list[int] = []
    gate = asyncio.Event()

    async def consumer(event: Num) -> None:
        await gate.wait()
        got.append(event.n)

    bus.subscribe(Num, consumer, name="c", maxsize=1)
    for i in range(30):
        bus.publish_nowait(Num(i))
    gate.set()
    for _ in range(200):
        await asyncio.sleep(0)
    assert got == list(range(30))
    await bus.close()


async def test_publish_threadsafe_from_worker_thread() -> None:
    bus = Bus()
    rec = Recorder()
    bus.subscribe(Num, rec, name="r")

    def worker() -> None:
        for i in range(100):
            bus.publish_threadsafe(Num(i))

    await asyncio.to_thread(worker)
    for _ in range(300):
        await asyncio.sleep(0)
        if len(rec.events) == 100:
            break
    assert [e.n for e in rec.events] == list(range(100))  # type: ignore[attr-defined]
    await bus.close()


async def test_close_publishes_shutdown_drains_in_order_and_stops() -> None:
    bus = Bus()
    order: list[str] = []

    def make(name: str) -> object:
        async def handler(event: Event) -> None:
            if isinstance(event, Shutdown):
                order.append(f"{name}:shutdown")
            else:
                await asyncio.sleep(0.01)
                order.append(f"{name}:data")

        return handler

    bus.subscribe(Event, make("a"), name="a")  # type: ignore[arg-type]
    bus.subscribe(Event, make("b"), name="b")  # type: ignore[arg-type]
    await bus.publish(Num(1))
    late = await bus.close(deadline=2.0)
    assert late == []
    assert "a:shutdown" in order
    assert "b:shutdown" in order
    assert order.count("a:data") == 1
    assert order.count("b:data") == 1
    # closed: publishing is a harmless no-op
    await bus.publish(Num(2))
    bus.publish_nowait(Num(3))
    assert bus.stats() == []


async def test_close_respects_deadline_with_stuck_subscriber() -> None:
    bus = Bus()

    async def stuck(event: Num) -> None:
        await asyncio.sleep(3600)

    bus.subscribe(Num, stuck, name="stuck")
    await bus.publish(Num(1))
    loop = asyncio.get_running_loop()
    start = loop.time()
    late = await bus.close(deadline=0.1)
    assert late == ["stuck"]
    assert loop.time() - start < 2.0


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["data", "control"]), st.booleans()), min_size=1, max_size=60
    ),
    maxsize=st.integers(min_value=1, max_value=8),
)
def test_ordering_property(ops: list[tuple[str, bool]], maxsize: int) -> None:
    """Whatever the mix of publish/publish_nowait and queue size, a BLOCK subscriber gets every
    data event in publish order and every control event in publish order."""

    async def scenario() -> None:
        bus = Bus()
        data_seen: list[int] = []
        control_seen: list[str] = []

        async def handler(event: Event) -> None:
            await asyncio.sleep(0)
            if isinstance(event, Num):
                data_seen.append(event.n)
            elif isinstance(event, CancelReply):
                control_seen.append(event.reason)

        bus.subscribe(Event, handler, name="h", maxsize=maxsize)
        data_sent: list[int] = []
        control_sent: list[str] = []
        for i, (kind, nowait) in enumerate(ops):
            event: Event
            if kind == "data":
                event = Num(i)
                data_sent.append(i)
            else:
                event = CancelReply(reason=str(i))
                control_sent.append(str(i))
            if nowait:
                bus.publish_nowait(event)
            else:
                await bus.publish(event)
        for _ in range(2000):
            await asyncio.sleep(0)
            if len(data_seen) == len(data_sent) and len(control_seen) == len(control_sent):
                break
        assert data_seen == data_sent
        assert control_seen == control_sent
        await bus.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("maxsize", [0, -1])
async def test_invalid_maxsize_rejected(maxsize: int) -> None:
    bus = Bus()
    with pytest.raises(ValueError, match="maxsize"):
        bus.subscribe(Num, Recorder(), name="x", maxsize=maxsize)
    await bus.close()
