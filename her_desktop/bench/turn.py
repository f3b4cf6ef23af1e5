"""``her-desktop bench turn``: how soon a turn ends after the last word, and false cut-ins.

Sentences (``bench/data/turn_sentences.json``, a dev and a locked part) are said by her TTS
voice and fed at real-time pace to the real listening path — Silero VAD, the end-of-turn model
(Smart Turn), faster-whisper for the pause transcript — exactly as ``attach_voice`` wires it.

* **whole**: the sentence as said; *end of turn* = ``SpeechEnded.ts`` − the moment its last
  sample was fed, with the rule that fired (``smart_turn`` / ``transcript`` / ``silence``).
* **paused mid-sentence**: the sentence said in two parts with a pause (``PAUSES_MS``) between,
  cut after a word that asks for more ("What is a good name for … a cat?"), as when a person
  stops to think; each part is said on its own, so the first ends with a falling voice (a hard
  case for the audio model). A *false cut-in* is a turn that ends before the second part
  starts. This is the figure with the target (≤ 2 %).
* **paused at a word gap**: the whole sentence with the pause inserted at the quietest word gap
  near its middle; often after a clause that is complete in itself ("I finally finished
  reading that book … about the lighthouse keeper"), where a person listening might answer too:
  reported for reference.

The machine's speed is reported with it (the Whisper real-time factor, the end-of-turn model's
time per call), so a figure can be understood on another machine.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from her_desktop.audio.format import CAPTURE_RATE, VAD_BLOCK
from her_desktop.bench.common import machine_info, percentile, write_report
from her_desktop.bus import Bus, Overflow
from her_desktop.config import Settings
from her_desktop.events import Event, FinalTranscript, SpeechEnded
from her_desktop.stt.base import STTEngine
from her_desktop.tts.base import TTSEngine

RATE = CAPTURE_RATE
BLOCK = VAD_BLOCK
PAUSES_MS = (300, 450, 600)
"""Mid-sentence pauses, all shorter than the full end silence (600 ms is its default: a pause
that long is ended by the silence rule whatever the model says, so it is reported apart)."""
TAIL_S = 1.5


def sentences(part: str) -> list[str]:
    data = json.loads(
        resources.files("her_desktop.bench").joinpath("data/turn_sentences.json").read_text()
    )
    if part == "all":
        return [*data["dev"], *data["locked"]]
    return list(data[part])


def split_at_open_word(text: str) -> tuple[str, str] | None:
    """The sentence cut after the word that asks for more nearest its middle (between 25 % and
    75 % of its words), or None when it has none there."""
    from her_desktop.voice.transcriber import reads_open

    words = text.split()
    best: tuple[float, int] | None = None
    for i in range(1, len(words) - 1):
        if not 0.25 <= i / len(words) <= 0.75:
            continue
        if reads_open(" ".join(words[: i + 1]).rstrip(",")):
            distance = abs(i + 1 - len(words) / 2)
            if best is None or distance < best[0]:
                best = (distance, i + 1)
    if best is None:
        return None
    return " ".join(words[: best[1]]).rstrip(","), " ".join(words[best[1] :])


def word_gap_near_middle(audio: npt.NDArray[np.float32]) -> int:
    """The sample index of the quietest 40 ms between 35 % and 65 % of the speech: a gap
    between two words, where a person would pause."""
    window = int(0.04 * RATE)
    lo, hi = int(len(audio) * 0.35), int(len(audio) * 0.65)
    if hi - lo <= window:
        return len(audio) // 2
    energy = np.convolve(audio[lo:hi] ** 2, np.ones(window), mode="valid")
    return lo + int(np.argmin(energy)) + window // 2


class _Ends:
    def __init__(self) -> None:
        self.ended: list[SpeechEnded] = []
        self.finals = 0

    async def on_event(self, event: Event) -> None:
        if isinstance(event, SpeechEnded):
            self.ended.append(event)
        elif isinstance(event, FinalTranscript):
            self.finals += 1


async def _feed(listener: Any, audio: npt.NDArray[np.float32]) -> float:
    """Feed at real-time pace; returns the monotonic time the last sample was fed."""
    padded = np.pad(audio, (0, -len(audio) % BLOCK))
    start = time.monotonic()
    for i in range(0, len(padded), BLOCK):
        delay = start + i / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        listener.feed(padded[i : i + BLOCK])
    return time.monotonic()


async def _silence(listener: Any, seconds: float) -> None:
    await _feed(listener, np.zeros(int(seconds * RATE), dtype=np.float32))


async def _paused(
    listener: Any,
    ends: _Ends,
    first: npt.NDArray[np.float32],
    second: npt.NDArray[np.float32],
    pause_ms: int,
) -> dict[str, Any]:
    """Feed ``first``, a pause, ``second``: did the turn end before ``second`` began?"""
    before = len(ends.ended)
    await _feed(listener, first)
    await _silence(listener, pause_ms / 1000)
    resumed = time.monotonic()
    await _feed(listener, second)
    await _silence(listener, TAIL_S)
    await listener.drain()
    cut = [e for e in ends.ended[before:] if e.ts < resumed]
    return {
        "pause_ms": pause_ms,
        "cut_in": bool(cut),
        "cut_by": cut[0].end_reason if cut else None,
        "turn_p_at_pause": cut[0].turn_probability if cut else None,
        "transcript_at_cut": cut[0].transcript_verdict if cut else None,
    }


async def measure(
    settings: Settings,
    *,
    part: str = "locked",
    stt: STTEngine | None = None,
    tts: TTSEngine | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    from her_desktop.app import create_stt, create_tts_engine, listening_stages
    from her_desktop.audio.vad import SileroVAD
    from her_desktop.harness import spoken_question

    bus = Bus()
    ends = _Ends()
    bus.subscribe(
        (SpeechEnded, FinalTranscript), ends.on_event, name="bench-turn", overflow=Overflow.BLOCK
    )
    recogniser = stt if stt is not None else await asyncio.to_thread(create_stt, settings)
    voice = tts if tts is not None else create_tts_engine(settings)
    vad = await asyncio.to_thread(SileroVAD)
    listener, transcriber = listening_stages(bus, settings, vad, recogniser)
    model = listener.turn_model
    await listener.start()
    await transcriber.start()
    await asyncio.to_thread(recogniser.load)
    texts = sentences(part)[:limit]
    rng = random.Random(5)
    whole: list[dict[str, Any]] = []
    paused: list[dict[str, Any]] = []
    at_gap: list[dict[str, Any]] = []
    try:
        await _silence(listener, 0.5)
        for text in texts:
            audio = await asyncio.to_thread(spoken_question, voice, text)
            # whole
            before = len(ends.ended)
            last = await _feed(listener, audio)
            await _silence(listener, TAIL_S)
            await listener.drain()
            got = ends.ended[before:]
            whole.append(
                {
                    "text": text,
                    "end_s": round(got[0].ts - last, 4) if got else None,
                    "reason": got[0].end_reason if got else "none",
                    "turn_p": got[0].turn_probability if got else None,
                    "transcript": got[0].transcript_verdict if got else None,
                }
            )
            pause_ms = rng.choice(PAUSES_MS)
            parts = split_at_open_word(text)
            if parts is not None:  # paused mid-sentence, after a word that asks for more
                first = await asyncio.to_thread(spoken_question, voice, parts[0])
                second = await asyncio.to_thread(spoken_question, voice, parts[1])
                row = await _paused(listener, ends, first, second, pause_ms)
                paused.append({"text": f"{parts[0]} … {parts[1]}", **row})
            gap = word_gap_near_middle(audio)  # paused at a word gap (reference)
            row = await _paused(listener, ends, audio[:gap], audio[gap:], pause_ms)
            at_gap.append({"text": text, **row})
            print(
                f"{text[:48]:<48} end {whole[-1]['end_s']} ({whole[-1]['reason']}); pause "
                f"{pause_ms} ms: mid-sentence {paused[-1]['cut_by'] if parts else '-'}, "
                f"word gap {at_gap[-1]['cut_by']}",
                file=sys.stderr,
            )
    finally:
        await transcriber.stop()
        await listener.stop()
        await bus.close(deadline=3.0)
    return _report(settings, part, whole, paused, at_gap, model, recogniser)


def _cut_ins(rows: list[dict[str, Any]], end_silence_ms: int) -> dict[str, Any]:
    """False cut-ins at pauses shorter than the full end silence (longer ones end by rule)."""
    short = [r for r in rows if r["pause_ms"] < end_silence_ms]
    cut = [r for r in short if r["cut_in"]]
    return {
        "rate": round(len(cut) / len(short), 4) if short else None,
        "count": len(cut),
        "of": len(short),
        "pauses_ms": [p for p in PAUSES_MS if p < end_silence_ms],
        "by": sorted({str(r["cut_by"]) for r in cut}),
        "cut_at_long_pauses_by_the_silence_rule": sum(
            1 for r in rows if r["pause_ms"] >= end_silence_ms and r["cut_in"]
        ),
    }


def _report(
    settings: Settings,
    part: str,
    whole: list[dict[str, Any]],
    paused: list[dict[str, Any]],
    at_gap: list[dict[str, Any]],
    model: Any,
    stt: STTEngine,
) -> dict[str, Any]:
    ends = [w["end_s"] for w in whole if w["end_s"] is not None]
    reasons: dict[str, int] = {}
    for w in whole:
        reasons[w["reason"]] = reasons.get(w["reason"], 0) + 1
    timing = _speed(model, stt)
    return {
        "bench": "turn",
        "machine": machine_info(),
        "part": part,
        "sentences": len(whole),
        "settings": {
            "smart_turn": settings.vad.smart_turn,
            "turn_threshold": settings.vad.turn_threshold,
            "predictive_end_ms": settings.vad.predictive_end_ms,
            "end_silence_ms": settings.vad.end_silence_ms,
        },
        "end_of_turn_s": {
            "median": round(statistics.median(ends), 4) if ends else None,
            "p90": round(percentile(ends, 90), 4) if ends else None,
            "measured_as": "SpeechEnded − the last speech sample fed (real-time feed)",
        },
        "end_rule_fired": reasons,
        "whole_sentences_ended_early": sum(
            1 for w in whole if w["end_s"] is not None and w["end_s"] < 0
        ),
        "false_cut_ins": _cut_ins(paused, settings.vad.end_silence_ms),
        "cut_ins_at_word_gaps": _cut_ins(at_gap, settings.vad.end_silence_ms),
        "speed": timing,
        "whole": whole,
        "paused_mid_sentence": paused,
        "paused_at_word_gap": at_gap,
    }


def _speed(model: Any, stt: STTEngine) -> dict[str, float | None]:
    """This machine's speed: the end-of-turn model's time per call, Whisper's RTF on 3 s."""
    audio = (0.1 * np.sin(np.arange(3 * RATE) / 10)).astype(np.float32)
    model_s: float | None = None
    if model is not None:
        runs = []
        for _ in range(5):
            t0 = time.monotonic()
            model.complete_probability(audio)
            runs.append(time.monotonic() - t0)
        model_s = round(statistics.median(runs), 4)
    t0 = time.monotonic()
    stt.transcribe(audio)
    return {"turn_model_call_s": model_s, "whisper_rtf_3s": round((time.monotonic() - t0) / 3, 4)}


def run_turn_bench(*, part: str = "locked", out: Path | None = None) -> int:
    from her_desktop.cli.common import load_config_and_persona

    settings, _ = load_config_and_persona()
    report = asyncio.run(measure(settings, part=part))
    write_report(report, out)
    e, f, g = report["end_of_turn_s"], report["false_cut_ins"], report["cut_ins_at_word_gaps"]
    print(
        f"end of turn: median {e['median']} s, p90 {e['p90']} s; rules {report['end_rule_fired']}; "
        f"false cut-ins mid-sentence {f['count']}/{f['of']} ({f['rate']}); at word gaps "
        f"{g['count']}/{g['of']}; speed {report['speed']}",
        file=sys.stderr,
    )
    return 0
