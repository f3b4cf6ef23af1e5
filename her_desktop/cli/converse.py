"""``her-desktop converse``: one whole voice turn, headless.

    her-desktop converse --in question.wav --out answer.wav
    her-desktop converse --mic --speaker          (real devices: say something, hear her)

Prints the transcript, the reply and the stage timings (seconds after the end of speech).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from her_desktop.events import Event, PartialTranscript, StageError

if TYPE_CHECKING:
    from her_desktop.app import App, Voice
    from her_desktop.config import Settings
    from her_desktop.harness import TurnResult
    from her_desktop.persona import Persona


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    conv = sub.add_parser(
        "converse", help="one voice turn: a WAV (or the microphone) in, speech out"
    )
    src = conv.add_mutually_exclusive_group(required=True)
    src.add_argument("--in", dest="inp", type=Path, help="a WAV file with the user's question")
    src.add_argument("--mic", action="store_true", help="listen on the microphone")
    src.add_argument(
        "--demo", action="store_true", help="ask her a sample question (spoken by the TTS voice)"
    )
    dst = conv.add_mutually_exclusive_group()
    dst.add_argument("--out", type=Path, help="write her spoken answer to this WAV file")
    dst.add_argument("--speaker", action="store_true", help="play the answer on the speaker")
    conv.add_argument("--realtime", action="store_true", help="feed the WAV at real-time pace")
    conv.add_argument("--no-memory", action="store_true", help="keep nothing of this turn")
    conv.add_argument("--json", action="store_true", help="print the result as JSON")
    conv.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for her")


def run(args: argparse.Namespace) -> int:
    from her_desktop.cli.common import load_config_and_persona, prepare_default_model

    settings, persona = load_config_and_persona()
    if settings.llm.engine == "llamacpp":
        prepare_default_model(settings.llm.model)
    return asyncio.run(_converse(args, settings, persona))


async def _converse(args: argparse.Namespace, settings: Settings, persona: Persona) -> int:
    from her_desktop.app import attach_voice, build_app
    from her_desktop.audio.format import CAPTURE_RATE
    from her_desktop.audio.resample import resample
    from her_desktop.audio.wav import read_wav, write_wav
    from her_desktop.harness import run_voice_turn
    from her_desktop.llm.base import LLMError
    from her_desktop.voice.file_sink import FileSink

    audio = None
    if args.demo:
        audio = await asyncio.to_thread(demo_question, settings)
        if audio is None:
            return 2
    elif args.inp is not None:
        try:
            samples, rate = read_wav(args.inp)
            audio = resample(samples, rate, CAPTURE_RATE)
        except (OSError, ValueError) as exc:
            print(f"! cannot read {args.inp}: {exc}", file=sys.stderr)
            return 2
    try:
        app = build_app(settings, persona, with_memory=not args.no_memory)
    except LLMError as exc:
        print(f"! {exc}", file=sys.stderr)
        return 2
    await app.start()
    sink = None if args.speaker else FileSink(realtime=False)
    voice = await attach_voice(app, microphone=args.mic, sink=sink)

    async def show(event: Event) -> None:
        if isinstance(event, StageError):
            print(f"! {event.message}", file=sys.stderr)
        elif isinstance(event, PartialTranscript) and args.mic and not args.json:
            print(f"  … {event.text}", file=sys.stderr)

    app.bus.subscribe((StageError, PartialTranscript), show, name="converse:show")
    try:
        await app.dialogue.warm_up()
        await asyncio.wait_for(app.memory_ready.wait(), 15.0)
        if audio is not None:
            result = await run_voice_turn(
                app, voice, audio, realtime=args.realtime, timeout_s=args.timeout
            )
        else:
            print("listening… (say something)", file=sys.stderr)
            result = await _mic_turn(app, voice, args.timeout)
    finally:
        if args.speaker:
            await asyncio.to_thread(_wait_speaker_idle, voice)
        await app.stop()
    if isinstance(sink, FileSink) and args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        out = sink.audio()
        write_wav(args.out, out if out.size else np.zeros(1, np.float32), sink.sample_rate or 24000)
    if args.json:
        print(json.dumps(result.__dict__ | {"ok": result.ok}, indent=2))
    else:
        print(f"you:  {result.transcript or '(nothing heard)'}")
        print(f"her:  {result.reply or '(no reply)'}")
        if result.interrupted:
            print(f"heard: {result.heard}")
        timings = "  ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
        print(f"timings (after the end of speech): {timings}")
        if args.out is not None:
            print(f"answer written to {args.out}")
    return 0 if result.ok else 1


async def _mic_turn(app: App, voice: Voice, timeout_s: float) -> TurnResult:
    """Wait for one utterance on the microphone (it feeds the listener itself), then for her
    answer; the turn's clock starts at the listener's end-of-speech decision."""
    from her_desktop.harness import run_voice_turn

    return await run_voice_turn(app, voice, np.zeros(0, dtype=np.float32), timeout_s=timeout_s)


DEMO_QUESTION = "Hi Samantha! What is a nice way to spend a quiet evening?"


def demo_question(settings: Settings) -> npt.NDArray[np.float32] | None:
    """The sample question as speech (16 kHz), said by the configured voice."""
    from her_desktop.app import create_tts_engine
    from her_desktop.harness import spoken_question
    from her_desktop.tts.base import TTSError

    try:
        audio = spoken_question(create_tts_engine(settings), DEMO_QUESTION)
    except TTSError as exc:
        print(f"! cannot say the sample question: {exc}", file=sys.stderr)
        return None
    print(f'asking her: "{DEMO_QUESTION}"', file=sys.stderr)
    return audio


def _wait_speaker_idle(voice: Voice) -> None:
    player = getattr(getattr(voice, "sink", None), "player", None)
    if player is not None:
        player.wait_idle(30.0)
