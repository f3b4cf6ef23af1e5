"""``bench voice``: when the pause's transcript came, and the head start it gave a reply begun
there (the harness's recorder and the bench's figure, on events alone: no models)."""

from __future__ import annotations

import math

from her_desktop.bench.voice import _sample, _turn_detail, head_start
from her_desktop.events import PartialTranscript, SpeechResumed
from her_desktop.harness import TurnResult, _Recorder


def _pause(recorder: _Recorder) -> float | None:
    return recorder.pause_ts  # read afresh each time (no narrowing across events)


async def test_the_recorder_keeps_the_last_pause_transcript_and_forgets_a_resumed_one() -> None:
    recorder = _Recorder()
    await recorder.on_event(PartialTranscript(1, "what is a", pause=False))
    assert _pause(recorder) is None  # a live partial is no pause
    first = PartialTranscript(1, "What is a good name", pause=True)
    await recorder.on_event(first)
    assert _pause(recorder) == first.ts
    await recorder.on_event(SpeechResumed(1))
    assert _pause(recorder) is None  # the reply begun at that pause was dropped
    await recorder.on_event(PartialTranscript(1, "", pause=True))
    assert _pause(recorder) is None  # nothing heard: nothing begun
    last = PartialTranscript(1, "What is a good name for a cat?", pause=True)
    await recorder.on_event(last)
    assert _pause(recorder) == last.ts


def test_head_start_is_the_time_from_the_pause_transcript_to_the_end() -> None:
    result = TurnResult(
        timings={"pause_transcript": 0.31, "vad_end": 0.42, "lm_first_token": 1.0},
        prompt_tokens=548,
        cached_tokens=517,
    )
    assert head_start(result) == 0.11
    sample = _sample(result, 2.0)
    assert sample["head_start"] == 0.11
    assert sample["pause_transcript"] == 0.31
    detail = _turn_detail("q", True, result)
    assert detail["head_start_s"] == 0.11
    assert detail["pause_transcript_s"] == 0.31
    assert detail["read_after_words"] == 31
    late = TurnResult(timings={"pause_transcript": 0.5, "vad_end": 0.45})
    assert head_start(late) == -0.05  # the turn ended before the words were known
    none = TurnResult(timings={"vad_end": 0.45})
    assert math.isnan(head_start(none))
    assert "head_start" not in _sample(none, 2.0)
