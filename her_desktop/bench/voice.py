"""``her-desktop bench voice``: voice to voice, the way a person hears it.

Each run plays one of a fixed set of spoken questions (said by the TTS voice, so every machine
hears the same audio) into the real pipeline at real-time pace — listener (Silero VAD), faster-
whisper, the LM, sentence-by-sentence TTS, a real-time speaker clock — and times each stage
after the end of the user's speech: end of speech detected, final transcript, LM first token,
first sentence, first TTS audio, first sample played. Half a second after her first sound the
bench interrupts her (barge-in) and times how fast the speaking stage ends the reply and the LM
stops. Silence on a real speaker is measured separately (``bench.barge_in``) on the virtual sound
card, or on the default devices with ``--barge-in default``; where it cannot be measured the
report says why (``barge_in_to_silence`` null), never zero.

``--consolidation`` runs each question twice in the same process: as usual, and while memory
consolidation (``memory.consolidation``, the real ``Consolidator`` on the same engine) is reading
a long message in the background when the user starts speaking; it reports both medians of
first sound and their ratio (it must give way: within 5 %).

``--compare`` also runs a plain sequential baseline on the same inputs in the same process:
wait for the same end-of-speech rule, transcribe the whole utterance, generate the whole reply,
synthesise all of it, then play; and prints the ratio of the medians.

Per run (``turns``): which end-of-turn rule fired and the end-of-turn model's P(finished),
whether her reply was begun speculatively at the user's pause and adopted, when the pause's
transcript came and the reply's head start (``head_start_s``: from that transcript to the end of
the turn, the time the reply begun there had to read its prompt before the end), and the reply
prompt's tokens and how many the LM reused from its cache; ``read_after_end``: the prompt
tokens the LM read after the turn ended (0 when the reply begun at the pause had written its
first token by then: ``adopted_with_tokens``), counted, so it means the same on a loaded
machine. ``--speculation both`` runs every
question with and without speculative replies, back to back (same machine load), and reports
the LM first token after the end of the turn for each.

Also reported: this machine's speed (``speed``: Whisper real-time factor, LM prompt-reading and
generation tokens/s), TTS real-time factor, launch → ready (models loaded and warm), peak
resident memory, and the machine. JSON on stdout or ``--out``; a table on stderr.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from her_desktop.app import App, Voice, attach_voice, build_app, generation_params
from her_desktop.audio.format import CAPTURE_RATE
from her_desktop.bench.common import machine_info, summarize, write_report
from her_desktop.config import Settings
from her_desktop.harness import TurnResult, run_voice_turn, spoken_question
from her_desktop.llm.base import GenerationParams, GenerationStats, LLMEngine, Message
from her_desktop.memory.consolidation import Consolidator
from her_desktop.persona import Persona
from her_desktop.stt.base import STTEngine
from her_desktop.tts.base import TTSEngine
from her_desktop.voice.file_sink import FileSink

QUESTIONS = (
    "Hi! How are you doing today?",
    "Can you suggest something relaxing for tonight?",
    "What is a good name for a cat?",
)
STAGES = (
    "vad_end",
    "final_transcript",
    "lm_first_token",
    "first_sentence",
    "first_audio",
    "first_played",
)
BARGE_IN_AFTER_S = 0.5
Speculation = Literal["on", "off", "both"]
SPEED_PROMPT = "Read this list and answer with the first three items, one per line: " + ", ".join(
    f"item {n} is a {w}"
    for n, w in enumerate(
        [
            "kettle",
            "lamp",
            "river",
            "candle",
            "garden",
            "window",
            "pencil",
            "orange",
            "ladder",
            "blanket",
            "violin",
            "harbour",
            "meadow",
            "teapot",
            "lantern",
            "compass",
        ]
    )
)


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


async def _start(
    settings: Settings,
    persona: Persona,
    engine: LLMEngine | None,
    stt: STTEngine | None,
    tts: TTSEngine | None,
) -> tuple[App, Voice, FileSink, float]:
    """Launch → ready: the app built, every model loaded and warm."""
    t0 = time.monotonic()
    app = build_app(settings, persona, engine=engine, with_memory=False)
    await app.start()
    sink = FileSink(realtime=True)
    voice = await attach_voice(app, microphone=False, sink=sink, stt=stt, tts=tts)
    await asyncio.gather(
        app.dialogue.warm_up(), voice.transcriber.warm_up(), voice.speaker.warm_up()
    )
    return app, voice, sink, time.monotonic() - t0


async def _fresh_conversation(app: App) -> None:
    """Put the LM's cache back to a new conversation's state (the persona prompt read, nothing
    else), so the pipeline and the baseline start every question from the same point."""
    await app.engine.warm(app.dialogue.warm_messages(), generation_params(app.settings))


async def _baseline(
    app: App, voice: Voice, audio: npt.NDArray[np.float32], params: GenerationParams
) -> dict[str, float]:
    """The sequential pipeline: every stage waits for the whole output of the one before."""
    end_rule_s = app.settings.vad.end_silence_ms / 1000
    t0 = time.monotonic()
    transcript = await asyncio.to_thread(voice.transcriber.stt.transcribe, audio)
    t_stt = time.monotonic()
    messages = [Message("system", app.dialogue.system_prompt), Message("user", transcript.text)]
    stats = GenerationStats()
    reply = "".join([piece async for piece in app.engine.stream(messages, params, stats)])
    t_lm = time.monotonic()
    tts = voice.speaker.tts
    chunks = await asyncio.to_thread(lambda: list(tts.synthesize(reply or "Okay.")))
    t_tts = time.monotonic()
    return {
        "stt_s": t_stt - t0,
        "lm_s": t_lm - t_stt,
        "tts_s": t_tts - t_lm,
        "first_played": end_rule_s + (t_tts - t0),
        "reply_chars": float(len(reply)),
        "tokens_per_s": stats.tokens / max(1e-6, t_lm - t_stt - (stats.first_token_s or 0.0)),
        "audio_s": float(sum(c.duration_s for c in chunks)),
    }


BACKGROUND_TEXT = (
    "My sister Ana moved to Porto last spring and she works at a bakery near the river; "
    "I'm learning the cello with a teacher called Ines, and I'm allergic to peanuts. "
) * 3
"""What consolidation reads while the bench speaks (long enough to still be reading)."""


async def _reading_in_background(app: App) -> Consolidator:
    """The real ``Consolidator`` on the app's engine and bus, reading ``BACKGROUND_TEXT``
    (what it finds is not kept), started a moment before the user speaks."""
    from her_desktop.memory.consolidation import Consolidator, Pending
    from her_desktop.memory.extraction import LMExtractor

    async def discard(_source: int | None, _found: object) -> None:
        return None

    background = Consolidator(app.bus, LMExtractor(app.engine), discard, idle_s=0.0)
    background.start()
    for _ in range(3):
        background.submit(Pending(None, BACKGROUND_TEXT, (), frozenset()))
    await asyncio.sleep(1.0)  # into its prompt
    return background


def _sample(result: TurnResult, audio_s: float) -> dict[str, float]:
    sample = {k: v for k, v in result.timings.items() if k in (*STAGES, "pause_transcript")}
    if "lm_first_token" in sample and "vad_end" in sample:
        sample["lm_first_token_after_end"] = sample["lm_first_token"] - sample["vad_end"]
    if "lm_first_token" in sample and "final_transcript" in sample:
        # the LM's own share: from the words being known to its first token
        sample["lm_first_token_after_transcript"] = (
            sample["lm_first_token"] - sample["final_transcript"]
        )
    if "pause_transcript" in sample and "vad_end" in sample:
        sample["head_start"] = head_start(result)
    sample["stt_rtf"] = result.transcribe_s / audio_s if audio_s else 0.0
    sample["prefilled_tokens"] = float(result.prompt_tokens - result.cached_tokens)
    sample["read_after_end"] = float(result.read_after_end)
    sample["adopted_with_tokens"] = float(result.speculative and result.written_ahead > 0)
    if result.tokens and result.reply_s:
        sample["tokens"] = float(result.tokens)
    for key, value in result.barge_in.items():
        sample[f"barge_in_{key}"] = value
    return sample


def head_start(result: TurnResult) -> float:
    """Seconds a reply begun at the user's last pause had before the turn ended: from the
    pause's transcript (the words it is begun on) to the end of the turn; negative when the
    turn ended first (NaN when either is missing). What it reads in that time is not read
    after the end; on a machine where the end waits for the pause's transcript it is short."""
    pause = result.timings.get("pause_transcript")
    end = result.timings.get("vad_end")
    return float("nan") if pause is None or end is None else round(end - pause, 4)


def _turn_detail(question: str, speculation: bool, result: TurnResult) -> dict[str, Any]:
    """What happened in one run: the end rule that fired and why, and the reply's prompt."""
    return {
        "question": question,
        "speculation_on": speculation,
        "end_reason": result.end_reason,
        "turn_probability": (
            None if result.turn_probability is None else round(result.turn_probability, 3)
        ),
        "transcript_at_end": result.transcript_verdict,
        "reply_begun_at_pause": result.speculative,
        "speculative_reply": result.speculation or "none begun",
        "pause_transcript_s": result.timings.get("pause_transcript"),
        "head_start_s": head_start(result),
        "prompt_tokens": result.prompt_tokens,
        "cached_tokens": result.cached_tokens,
        "read_after_end": result.read_after_end,
        # what the reply read once the final words were known (scripts/paced_turn.py)
        "read_after_words": result.prompt_tokens - result.cached_tokens,
        "written_ahead": result.written_ahead,
        "lm_first_token_after_end": result.timings.get("lm_first_token", float("nan"))
        - result.timings.get("vad_end", float("nan")),
    }


async def _lm_speed(app: App) -> dict[str, float]:
    """This machine's LM speed: prompt tokens read per second (a new 150-token message after
    the cached persona prompt) and tokens generated per second."""
    await _fresh_conversation(app)
    messages = [Message("system", app.dialogue.system_prompt), Message("user", SPEED_PROMPT)]
    params = GenerationParams(max_tokens=24, temperature=0.0, deadline_s=120.0)
    stats = GenerationStats()
    t0 = time.monotonic()
    async for _ in app.engine.stream(messages, params, stats):
        pass
    total = time.monotonic() - t0
    first = stats.first_token_s or total
    read = stats.prompt_tokens - stats.cached_tokens
    return {
        "lm_prompt_tokens_per_s": round(read / first, 1) if first > 0 else 0.0,
        "lm_tokens_per_s": round((stats.tokens - 1) / max(1e-6, total - first), 1),
        "lm_prompt_tokens_read": float(read),
    }


def _tts_rtf(tts: TTSEngine, runs: int) -> dict[str, float]:
    text = "It is a lovely evening for a walk, and the sky is turning a soft orange."
    rtfs, firsts = [], []
    for _ in range(runs):
        t0 = time.monotonic()
        chunks = list(tts.synthesize(text))
        elapsed = time.monotonic() - t0
        rtfs.append(elapsed / sum(c.duration_s for c in chunks))
        t0 = time.monotonic()
        list(tts.synthesize("Hi there."))
        firsts.append(time.monotonic() - t0)
    return {"tts_rtf": float(np.median(rtfs)), "tts_short_sentence_s": float(np.median(firsts))}


async def measure(
    settings: Settings,
    persona: Persona,
    *,
    runs: int = 5,
    compare: bool = False,
    speculation: Speculation = "on",
    engine: LLMEngine | None = None,
    stt: STTEngine | None = None,
    tts: TTSEngine | None = None,
    consolidation: bool = False,
) -> dict[str, Any]:
    app, voice, sink, ready_s = await _start(settings, persona, engine, stt, tts)
    samples: list[dict[str, float]] = []
    without: list[dict[str, float]] = []
    turns: list[dict[str, Any]] = []
    reading: list[dict[str, float]] = []
    yields = 0
    baseline: list[dict[str, float]] = []
    problems: list[str] = []
    modes = {"on": (True,), "off": (False,), "both": (True, False)}[speculation]
    try:
        speech = [
            await asyncio.to_thread(spoken_question, voice.speaker.tts, question)
            for question in QUESTIONS
        ]
        for i in range(runs):
            audio = speech[i % len(speech)]
            for speculate in modes:
                app.dialogue.reset()
                app.dialogue.speculate = speculate
                await _fresh_conversation(app)
                result = await run_voice_turn(
                    app, voice, audio, realtime=True, barge_in_after_s=BARGE_IN_AFTER_S
                )
                problems += result.problems
                sample = _sample(result, len(audio) / CAPTURE_RATE)
                (samples if speculate == modes[0] else without).append(sample)
                turns.append(_turn_detail(QUESTIONS[i % len(QUESTIONS)], speculate, result))
                print(
                    f"run {i + 1}/{runs}{'' if speculate else ' (no speculation)'}: "
                    + ", ".join(f"{k}={v:.3f}" for k, v in sample.items() if k in STAGES)
                    + f"; end by {result.end_reason} (P {result.turn_probability}, words: "
                    + f"{result.transcript_verdict or '-'}); speculative reply: "
                    + f"{result.speculation or 'none'}",
                    file=sys.stderr,
                )
            app.dialogue.speculate = app.engine.speculation_ok
            if consolidation:
                app.dialogue.reset()
                await _fresh_conversation(app)
                background = await _reading_in_background(app)
                try:
                    result = await run_voice_turn(
                        app, voice, audio, realtime=True, barge_in_after_s=BARGE_IN_AFTER_S
                    )
                finally:
                    await background.close()
                yields += background.yields
                problems += result.problems
                reading.append(_sample(result, len(audio) / CAPTURE_RATE))
                print(
                    f"run {i + 1}/{runs} (consolidation reading): first_played="
                    f"{reading[-1].get('first_played', float('nan')):.3f}, "
                    f"gave way {background.yields}×",
                    file=sys.stderr,
                )
            if compare:
                params = generation_params(settings)
                params = GenerationParams(
                    max_tokens=params.max_tokens,
                    temperature=params.temperature,
                    top_p=params.top_p,
                    deadline_s=params.deadline_s,
                )
                await _fresh_conversation(app)
                baseline.append(await _baseline(app, voice, audio, params))
        tts_figures = await asyncio.to_thread(_tts_rtf, voice.speaker.tts, runs)
        speed = await _lm_speed(app)
    finally:
        sink.close()
        await app.stop()
    metrics = summarize(samples)
    report: dict[str, Any] = {
        "bench": "voice",
        "machine": machine_info(),
        "lm": app.engine.info().model,
        "lm_gpu_layers": app.engine.info().gpu_layers,
        "stt": voice.transcriber.stt.info().model,
        "tts_engine": voice.speaker.tts.info().engine,
        "runs": runs,
        "max_tokens": settings.llm.max_tokens,
        "end_silence_ms": settings.vad.end_silence_ms,
        "times_are": "seconds after the end of the user's speech (median and p90 over runs)",
        "launch_to_ready_s": round(ready_s, 3),
        "peak_rss_mb": _peak_rss_mb(),
        "tts": tts_figures,
        "metrics": metrics,
        "samples": samples,
        "speculation": speculation,
        "turns": turns,
        "speed": {
            "whisper_rtf": round(metrics.get("stt_rtf", {}).get("median", float("nan")), 3),
            **speed,
        },
        "problems": problems,
    }
    if without:
        report["without_speculation"] = {"metrics": summarize(without), "samples": without}
    if consolidation and reading:
        with_reading = summarize(reading)
        on = with_reading.get("first_played", {}).get("median")
        off = metrics.get("first_played", {}).get("median")
        report["consolidation"] = {
            "metrics": with_reading,
            "samples": reading,
            "gave_way": yields,
            "first_played_ratio_on_off": round(on / off, 3) if on and off else None,
        }
    if compare and baseline:
        base = summarize(baseline)
        report["baseline"] = {"metrics": base, "samples": baseline}
        ours = metrics.get("first_played", {}).get("median")
        theirs = base["first_played"]["median"]
        if ours:
            report["speedup_first_played"] = round(theirs / ours, 2)
    return report


def _table(report: dict[str, Any]) -> str:
    lines = [f"{'stage (s after end of speech)':<34}{'median':>9}{'p90':>9}"]
    keys = (
        *STAGES,
        "lm_first_token_after_end",
        "lm_first_token_after_transcript",
        "barge_in_to_reply_stopped",
    )
    for key in (
        *keys,
        "barge_in_to_lm_stopped",
        "pause_transcript",
        "head_start",
        "stt_rtf",
        "prefilled_tokens",
        "read_after_end",
        "adopted_with_tokens",
    ):
        m = report["metrics"].get(key)
        if m:
            lines.append(f"{key:<34}{m['median']:>9.3f}{m['p90']:>9.3f}")
    if "without_speculation" in report:
        other = report["without_speculation"]["metrics"]
        for key in (
            "lm_first_token_after_end",
            "lm_first_token_after_transcript",
            "first_played",
            "prefilled_tokens",
            "read_after_end",
        ):
            if key in other:
                m = other[key]
                label = f"{key} (no speculation)"
                lines.append(f"{label:<34}{m['median']:>9.3f}{m['p90']:>9.3f}")
    ends: dict[str, int] = {}
    for turn in report.get("turns", []):
        ends[turn["end_reason"]] = ends.get(turn["end_reason"], 0) + 1
    adopted = sum(1 for t in report.get("turns", []) if t["reply_begun_at_pause"])
    lines.append(f"end of turn by: {ends}; replies begun at the pause and kept: {adopted}")
    speed = report.get("speed", {})
    lines.append(
        f"machine speed: Whisper RTF {speed.get('whisper_rtf')}, LM reads "
        f"{speed.get('lm_prompt_tokens_per_s')} tok/s, writes {speed.get('lm_tokens_per_s')} tok/s"
    )
    silence = report.get("barge_in_to_silence") or {}
    if silence.get("median") is not None:
        lines.append(
            f"{'barge_in_to_silence (device)':<34}{silence['median']:>9.3f}{silence['p90']:>9.3f}"
            f"  ({silence['runs']} interruptions)"
        )
    else:
        lines.append(f"barge_in_to_silence (device): not measured — {silence.get('why', '?')}")
    if "baseline" in report:
        b = report["baseline"]["metrics"]["first_played"]
        lines.append(
            f"{'sequential baseline: first_played':<34}{b['median']:>9.3f}{b['p90']:>9.3f}"
        )
        lines.append(f"speed-up (baseline / pipeline): {report.get('speedup_first_played')}x")
    lines.append(
        f"launch → ready {report['launch_to_ready_s']:.2f} s · peak RSS {report['peak_rss_mb']} MB"
        f" · TTS RTF {report['tts']['tts_rtf']:.3f}"
    )
    return "\n".join(lines)


BargeInDevice = Literal["auto", "virtual", "default", "none"]


async def barge_in_on_device(
    settings: Settings,
    persona: Persona,
    device: BargeInDevice,
    *,
    runs: int = 10,
    monitor: str = "",
    engine: LLMEngine | None = None,
    tts: TTSEngine | None = None,
) -> dict[str, Any]:
    """Barge-in → silence on a real speaker (``bench.barge_in``): on a private virtual card
    (``virtual``; ``auto`` when pulseaudio is installed) or the default devices (``default``,
    recording ``monitor``). Absent with the reason when it cannot be measured."""
    from her_desktop.bench.barge_in import measure_barge_in
    from her_desktop.bench.virtual_card import VirtualCardError, start_card, stop_card

    if device == "none":
        return {"median": None, "why": "not asked for (--barge-in none)"}
    card = None
    if device in ("auto", "virtual"):
        try:
            card = await asyncio.to_thread(start_card)
        except VirtualCardError as exc:
            return {"median": None, "why": f"no virtual sound card: {exc}"}
    try:
        result = await measure_barge_in(
            settings, persona, runs=runs, engine=engine, tts=tts, monitor=monitor
        )
    except Exception as exc:  # a device that fails: say so, keep the rest of the report
        return {"median": None, "why": f"the measurement failed: {exc}"}
    finally:
        if card is not None:
            await asyncio.to_thread(stop_card, card)
    summary = result.summary()
    summary["device"] = "virtual PulseAudio card" if card is not None else "default devices"
    if summary["median"] is None:
        summary["why"] = "no interruption could be measured: " + "; ".join(result.skipped)
    return summary


def run_voice_bench(
    *,
    runs: int = 5,
    compare: bool = False,
    out: Path | None = None,
    barge_in: BargeInDevice = "auto",
    barge_in_runs: int = 10,
    monitor: str = "",
    speculation: Speculation = "on",
    consolidation: bool = False,
) -> int:
    from her_desktop.cli.common import load_config_and_persona, prepare_default_model

    settings, persona = load_config_and_persona()
    if settings.llm.engine == "llamacpp":
        prepare_default_model(settings.llm.model)
    report = asyncio.run(
        measure(
            settings,
            persona,
            runs=runs,
            compare=compare,
            speculation=speculation,
            consolidation=consolidation,
        )
    )
    report["barge_in_to_silence"] = asyncio.run(
        barge_in_on_device(settings, persona, barge_in, runs=barge_in_runs, monitor=monitor)
    )
    write_report(report, out)
    print(_table(report), file=sys.stderr)
    return 0 if not report["problems"] else 1
