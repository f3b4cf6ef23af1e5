"""``her_desktop.native_calls``: one owner thread per native resource, fed by a job queue.

A fake "native call" here is a Python function that blocks on an event (as a wedged decode or
PortAudio backend would); the real parts are exercised through their engines' twins
(``test_llamacpp_owner.py`` on the tiny GGUF, ``test_audio_realtime.py`` on PortAudio's contract,
``test_stt_whisper.py`` / ``test_tts_engines.py`` on the real models). Bounds are generous and
only catch hangs: no test here fails on how fast a machine is.
"""

from __future__ import annotations

import asyncio
import queue
import threading

import pytest

from her_desktop.native_calls import (
    BACKGROUND,
    NORMAL,
    URGENT,
    NativeCalls,
    NativeJob,
    NativeTimeout,
    given_up,
    wait_async,
)

BOUND_S = 10.0


def blocker(native: NativeCalls) -> threading.Event:
    """Hold the owner thread in a "native call" until the returned event is set."""
    release, inside = threading.Event(), threading.Event()

    def stuck() -> None:
        inside.set()
        release.wait(BOUND_S * 3)

    native.submit(stuck)
    assert inside.wait(BOUND_S)
    return release


def test_while_a_native_call_runs_others_can_queue_and_time_out_within_their_bound() -> None:
    """No lock is held across the call: a second thread queues at once and its wait ends at
    its own bound with NativeTimeout, while the first call is still inside native code."""
    native = NativeCalls("test", restart_after_hang=False)
    release = blocker(native)
    try:
        outcome: list[BaseException] = []

        def other_thread() -> None:
            job = native.start(lambda: "never", priority=URGENT)  # queues without waiting
            assert native.urgent_waiting()
            try:
                native.call(lambda: "late", timeout=0.2)
            except NativeTimeout as exc:
                outcome.append(exc)
            assert job.cancelled  # what was queued behind the hung call does not run late

        thread = threading.Thread(target=other_thread, daemon=True)
        thread.start()
        thread.join(BOUND_S)
        assert not thread.is_alive()
        assert len(outcome) == 1
        assert "no answer within 0.2 s" in str(outcome[0])
        assert native.hung
        assert native.abandoned == 1
        with pytest.raises(NativeTimeout, match="stopped responding earlier"):
            native.call(lambda: "after", timeout=BOUND_S)  # fails at once: no second thread
    finally:
        release.set()


def test_a_device_gets_a_fresh_thread_after_a_hang() -> None:
    native = NativeCalls("device")  # restart_after_hang=True: the caller abandons the device
    release = blocker(native)
    try:
        with pytest.raises(NativeTimeout):
            native.call(lambda: None, timeout=0.1)
        assert native.call(lambda: "fresh", timeout=BOUND_S) == "fresh"
    finally:
        release.set()
        native.close()


def test_urgent_jobs_run_before_queued_background_work() -> None:
    native = NativeCalls("test")
    ran: list[str] = []
    release = blocker(native)
    jobs = [
        native.start(lambda: ran.append("background 1"), priority=BACKGROUND),
        native.start(lambda: ran.append("normal"), priority=NORMAL),
        native.start(lambda: ran.append("background 2"), priority=BACKGROUND),
        native.start(lambda: ran.append("reply 1"), priority=URGENT),
        native.start(lambda: ran.append("reply 2"), priority=URGENT),
    ]
    release.set()
    assert all(job.done.wait(BOUND_S) for job in jobs)
    assert ran == ["reply 1", "reply 2", "normal", "background 1", "background 2"]
    native.close()


def test_running_background_work_sees_a_reply_waiting_at_its_next_yield_point() -> None:
    """The engines' contract: background work polls ``urgent_waiting`` between its steps and
    returns; the reply runs next. Counted in steps, not milliseconds."""
    native = NativeCalls("test")
    steps_after_reply: list[int] = []
    reply_queued = threading.Event()
    started = threading.Event()

    def background() -> str:
        steps = 0
        while not native.urgent_waiting():  # a yield point per "token"
            started.set()
            reply_queued.wait(0.001)
            steps += reply_queued.is_set()
            if steps > 1000:
                return "never gave way"
        steps_after_reply.append(steps)
        return "gave way"

    work = native.start(background, priority=BACKGROUND)
    assert started.wait(BOUND_S)
    reply = native.start(lambda: native.busy, priority=URGENT)
    reply_queued.set()
    assert reply.done.wait(BOUND_S)
    assert work.done.wait(BOUND_S)
    assert work.outcome() == "gave way"
    assert steps_after_reply[0] <= 1  # at the step it was in, at most
    assert reply.outcome() is True  # it ran on the owner thread, which was then free for it
    assert not native.urgent_waiting()
    native.close()


async def test_the_loop_waits_without_a_thread_and_cancelling_unqueues() -> None:
    native = NativeCalls("test")
    release = blocker(native)
    ran: list[str] = []
    try:
        waiting = asyncio.create_task(
            native.acall(lambda: ran.append("ran"), limit_s=BOUND_S, priority=URGENT)
        )
        await asyncio.sleep(0.05)
        assert native.urgent_waiting()
        await asyncio.sleep(0)  # the loop is free meanwhile
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert not native.urgent_waiting()  # taken off the queue
    finally:
        release.set()
    assert await native.acall(lambda: "next", limit_s=BOUND_S) == "next"
    assert ran == []
    job = native.start(lambda: 42)
    assert await wait_async(job, BOUND_S)
    assert job.outcome() == 42
    native.close()


async def test_a_hung_call_times_out_on_the_loop_in_plain_words() -> None:
    native = NativeCalls("the speech model", restart_after_hang=False)
    release = blocker(native)
    try:
        with pytest.raises(NativeTimeout, match=r"the speech model: no answer within 0\.1 s"):
            await native.acall(lambda: None, limit_s=0.1)
        await asyncio.sleep(0)  # the app keeps running
        with pytest.raises(NativeTimeout, match="stopped responding earlier"):
            await native.acall(lambda: None, limit_s=BOUND_S)
    finally:
        release.set()


def test_errors_reach_the_caller_and_a_call_inside_a_call_runs_at_once() -> None:
    native = NativeCalls("test")

    def fail() -> None:
        raise ValueError("bad file")

    with pytest.raises(ValueError, match="bad file"):
        native.call(fail, timeout=BOUND_S)
    assert native.call(lambda: native.call(lambda: "inner", timeout=0.0), timeout=BOUND_S) == (
        "inner"
    )
    native.close()


def test_with_on_timeout_a_queued_job_is_cancelled_and_the_thread_goes_on() -> None:
    """The memory's policy (a slow call is waited out, never abandoned): a caller queued
    behind a slow job gets NativeTimeout at its bound, its job never runs late, the slow job is
    left alone and the thread answers the next call."""
    interrupted: list[str] = []
    native = NativeCalls("test-owner", on_timeout=lambda: interrupted.append("hook"))
    release = blocker(native)
    ran: list[str] = []
    with pytest.raises(NativeTimeout):
        native.call(lambda: ran.append("late"), timeout=0.05)
    assert interrupted == []  # someone else's slow job is not disturbed
    release.set()
    assert native.call(lambda: "next", timeout=BOUND_S) == "next"
    assert ran == []
    assert native.abandoned == 0
    assert not native.hung
    assert native.close(BOUND_S)


def test_with_on_timeout_a_running_job_is_interrupted_and_knows_it_was_given_up() -> None:
    release, inside = threading.Event(), threading.Event()
    native = NativeCalls("test-owner", on_timeout=release.set)  # the "interrupt" ends it
    seen: list[bool] = []

    def slow() -> None:
        inside.set()
        release.wait(BOUND_S * 3)
        seen.append(given_up())

    with pytest.raises(NativeTimeout, match="no answer within"):
        native.call(slow, timeout=0.05)
    assert release.is_set()
    assert native.call(lambda: "next", timeout=BOUND_S) == "next"  # the same thread goes on
    assert seen == [True]
    assert native.abandoned == 0
    assert native.close(BOUND_S)


def test_a_job_that_ends_its_thread_hands_the_queue_to_a_fresh_one() -> None:
    native = NativeCalls("test-owner", on_timeout=lambda: None)

    def leave() -> None:
        raise SystemExit("ends the thread")

    with pytest.raises(SystemExit):
        native.call(leave, timeout=BOUND_S)
    assert native.call(lambda: "fresh", timeout=BOUND_S) == "fresh"
    assert native.close(BOUND_S)


def test_a_nested_job_runs_on_the_owner_thread_and_is_waited_for_with_a_bound() -> None:
    """A job that feeds the owner thread from a queue of its own (memory's open transaction)."""
    native = NativeCalls("test-owner", on_timeout=lambda: None)
    inner: queue.SimpleQueue[NativeJob[str] | None] = queue.SimpleQueue()

    def serve() -> None:
        while (job := inner.get(timeout=BOUND_S)) is not None:
            native.run_nested(job)

    native.submit(serve)
    first = NativeJob(lambda: threading.current_thread().name)
    inner.put(first)
    assert native.wait(first, BOUND_S) == "test-owner"
    never = NativeJob(lambda: "late")
    with pytest.raises(NativeTimeout):  # not taken yet: cancelled at its bound
        native.wait(never, 0.01)
    inner.put(never)
    inner.put(None)
    assert native.call(lambda: "after", timeout=BOUND_S) == "after"
    assert never.cancelled
    assert never.result is None
    with pytest.raises(RuntimeError):
        native.run_nested(NativeJob(lambda: None))  # off the owner thread
    assert native.close(BOUND_S)


def test_an_announced_urgent_call_makes_background_work_give_way() -> None:
    native = NativeCalls("test")
    assert not native.urgent_waiting()
    with native.urgent_coming():
        assert native.urgent_waiting()
    assert not native.urgent_waiting()
