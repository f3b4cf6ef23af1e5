"""The ``her-desktop`` command line.

``her-desktop``              the app (terminal chat for now; the window comes with the GUI)
``her-desktop chat``         terminal text chat with streamed replies
``her-desktop doctor``       what is installed, what is missing, and the fix for each problem
``her-desktop models ...``   list / install / add / remove / verify models
``her-desktop memory ...``   list / search / show / edit / forget / forget-all / export
``her-desktop bench ...``    llm, affect, memory, companion: measurements as JSON
``her-desktop --version``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from her_desktop import __version__


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="her-desktop",
        description="A private, local companion you can talk to. Nothing leaves your machine.",
    )
    parser.add_argument("--version", action="version", version=f"her-desktop {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("gui", help="open the window (the default where there is a display)")

    chat = sub.add_parser("chat", help="talk by text in this terminal")
    chat.add_argument("--model", help="model id, registered name or path to a .gguf file")
    chat.add_argument(
        "--remote",
        metavar="URL",
        help="use an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1",
    )

    sub.add_parser("doctor", help="check the installation and say how to fix problems")

    models = sub.add_parser("models", help="list and manage models")
    msub = models.add_subparsers(dest="models_command")
    msub.add_parser("list", help="known models and their status (the default)")
    inst = msub.add_parser("install", help="assemble an embedded model into the data dir")
    inst.add_argument("ids", nargs="*", help="model ids (default: the default LM)")
    add = msub.add_parser("add", help="register your own GGUF file")
    add.add_argument("path", type=Path)
    add.add_argument("--name")
    rm = msub.add_parser("remove", help="forget a registered model (the file is kept)")
    rm.add_argument("name")
    msub.add_parser("verify", help="re-check every installed model file (size and sha256)")
    found = msub.add_parser(
        "found", help="models already on this computer (Ollama, LM Studio, GPT4All, Jan, folders)"
    )
    found.add_argument(
        "--folder", action="append", type=Path, default=[], help="also look in this folder"
    )
    found.add_argument(
        "--measure", action="store_true", help="measure the chat models' speed here (cached)"
    )

    from her_desktop.cli import converse, memory_cmd

    memory_cmd.add_parser(sub)
    converse.add_parser(sub)

    bench = sub.add_parser("bench", help="measure speed; writes JSON")
    bsub = bench.add_subparsers(dest="bench_command")
    bllm = bsub.add_parser("llm", help="LM load time, first-token latency, tokens/s, cancel")
    bllm.add_argument("--runs", type=int, default=5)
    bllm.add_argument("--model", help="model id, registered name or .gguf path")
    bllm.add_argument("--out", type=Path, default=None, help="JSON file (default: stdout)")
    baff = bsub.add_parser("affect", help="emotion accuracy, macro-F1, valence sign, latency")
    baff.add_argument("--out", type=Path, default=None, help="JSON file (default: stdout)")
    baff.add_argument(
        "--set", default="locked", choices=["locked", "dev", "eval"], help="labelled set"
    )
    baff.add_argument("--no-lm", action="store_true", help="skip the LM candidates")
    baff.add_argument(
        "--spoken",
        action="store_true",
        help="also the set spoken by espeak-ng (random voice/rate/pitch) and the alsa clips, "
        "with the voice's prosody joined in",
    )
    baff.add_argument(
        "--voice",
        type=int,
        default=0,
        metavar="RUNS",
        help="instead: bench voice with the refined estimate off then on (RUNS each)",
    )
    bvoice = bsub.add_parser("voice", help="end of speech → first sound, per stage; barge-in")
    bvoice.add_argument("--runs", type=int, default=5)
    bvoice.add_argument("--compare", action="store_true", help="also run a sequential baseline")
    bvoice.add_argument(
        "--speculation",
        choices=["on", "off", "both"],
        default="on",
        help="begin her reply at the user's pause (on), never (off), or run each question "
        "both ways to compare",
    )
    bvoice.add_argument("--out", type=Path, default=None, help="JSON file (default: stdout)")
    bvoice.add_argument(
        "--barge-in",
        choices=["auto", "virtual", "default", "none"],
        default="auto",
        help="where to measure barge-in → silence on a real speaker: a private virtual sound "
        "card (auto: when pulseaudio is installed), the default devices, or not at all",
    )
    bvoice.add_argument("--barge-in-runs", type=int, default=10)
    bvoice.add_argument(
        "--consolidation",
        action="store_true",
        help="also run each question while memory consolidation reads in the background",
    )
    bvoice.add_argument(
        "--monitor", default="", help="with --barge-in default: an input that hears the speaker"
    )
    bturn = bsub.add_parser("turn", help="end of turn after the last word; false cut-ins")
    bturn.add_argument("--part", choices=["locked", "dev", "all"], default="locked")
    bturn.add_argument("--out", type=Path, default=None, help="JSON file (default: stdout)")
    bstt = bsub.add_parser("stt", help="word error rate and speed of the speech models")
    bstt.add_argument("--runs", type=int, default=3)
    bstt.add_argument("--model", action="append", help="model id (repeatable; default: all)")
    bstt.add_argument("--threads", type=int, default=None)
    bstt.add_argument("--out", type=Path, default=None, help="JSON file (default: stdout)")
    becho = bsub.add_parser("echo", help="echo cancellation: ERLE, false barge-ins, double talk")
    becho.add_argument("--out", type=Path, default=None, help="JSON file (default: stdout)")
    bcomp = bsub.add_parser(
        "companion", help="does she sound like a companion: clichés, repeats, claims, tasks"
    )
    bcomp.add_argument("--part", choices=("dev", "dev2", "tasks", "locked", "both"), default="dev")
    bcomp.add_argument("--ids", help='only these cases of the part ("cd01,cd05")')
    bcomp.add_argument("--rescore", type=Path, help="score a saved report's replies again (no LM)")
    bcomp.add_argument("--limit", type=int, default=None, help="N cases spread over the part")
    bcomp.add_argument("--model", help="model id, registered name or .gguf path")
    bcomp.add_argument(
        "--tasks", help='only task turns of these kinds ("translate,arithmetic"; "task": all)'
    )
    bcomp.add_argument(
        "--no-filter", action="store_true", help="measure the LM's raw replies (filter off)"
    )
    bcomp.add_argument("--out", type=Path, default=None, help="JSON file (default: stdout)")
    bfeed = bsub.add_parser(
        "feedback", help="does she obey style corrections, later and after a restart"
    )
    bfeed.add_argument("--out", type=Path, default=None, help="JSON file (default: stdout)")
    bfeed.add_argument("--limit", type=int, default=None, help="run N scenarios per part")
    bfeed.add_argument(
        "--part",
        choices=("dev", "locked", "both"),
        default="dev",
        help="dev (44, tune on these), locked (14, report only) or both",
    )
    bfeed.add_argument(
        "--only",
        action="append",
        default=None,
        help="the scenarios whose correction has this text (repeat for several)",
    )
    bmem = bsub.add_parser("memory", help="recall over sessions; retrieval latency at 1k-100k")
    bmem.add_argument("--out", type=Path, default=None, help="JSON file (default: stdout)")
    bmem.add_argument(
        "--model",
        type=Path,
        default=None,
        help="a GGUF file to also measure LM extraction (rules only without it)",
    )
    bmem.add_argument(
        "--e2e",
        action="store_true",
        help="recall through the real chat path over multi-session scenarios (slow)",
    )
    bmem.add_argument("--part", choices=("dev", "locked"), default="dev", help="scenario set")
    bmem.add_argument("--limit", type=int, default=None, help="only the first N scenarios")
    bmem.add_argument("--scenario", action="append", default=[], help="a scenario id (repeat)")
    bmem.add_argument("--max-tokens", type=int, default=None, help="cap each answer (e2e: 60)")
    bmem.add_argument(
        "--lm-extraction",
        choices=("auto", "on", "off"),
        default=None,
        help="e2e: override memory.lm_extraction (background LM reading of each turn)",
    )
    bmem.add_argument(
        "--notes-only", action="store_true", help="e2e without the LM: what memory hands her"
    )
    bmem.add_argument(
        "--questions-only",
        action="store_true",
        help="e2e: only the question session through the LM (telling sessions kept by the "
        "memory service; needs --lm-extraction off)",
    )
    return parser


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _cmd_chat(args: argparse.Namespace) -> int:
    from her_desktop.app import build_app
    from her_desktop.cli.chat import run_chat
    from her_desktop.cli.common import load_config_and_persona, prepare_default_model
    from her_desktop.llm.base import LLMError

    settings, persona = load_config_and_persona()
    if args.model:
        settings.llm.model = args.model
    if args.remote:
        settings.llm.engine = "remote"
        settings.llm.remote.url = args.remote
    if settings.llm.engine == "llamacpp":
        prepare_default_model(settings.llm.model)

    async def main() -> int:
        try:
            app = build_app(settings, persona)
        except LLMError as exc:
            print(f"! {exc}", file=sys.stderr)
            return 2
        return await run_chat(app, name=persona.name, greeting=persona.greeting)

    return _alone(lambda: asyncio.run(main()))


def _default_command(args: argparse.Namespace) -> str:
    """``her-desktop`` alone: the window where there is a display, else one voice turn."""
    from her_desktop.gui.launch import display_available

    if display_available():
        return "gui"
    print(
        "No display found: running one voice turn headless "
        "(her-desktop chat talks by text in this terminal).",
        file=sys.stderr,
    )
    from her_desktop.paths import cache_dir

    args.inp, args.mic, args.demo, args.speaker = None, False, True, False
    args.out = cache_dir() / "last-answer.wav"
    # real-time pace: the timings it prints are what a person talking to her would get
    args.realtime, args.no_memory, args.json, args.timeout = True, True, False, 300.0
    return "converse"


def _alone(run: Callable[[], int]) -> int:
    """``run()`` holding the app's lock (``her_desktop.instance``); 1, after saying why, when
    another copy of her_desktop is already running on this user's data."""
    from her_desktop.instance import InstanceLockError, acquire_single_instance
    from her_desktop.paths import data_dir

    try:
        lock = acquire_single_instance(data_dir())
    except InstanceLockError as exc:  # AlreadyRunning: "her_desktop is already running (pid N)"
        print(f"! {exc}", file=sys.stderr)
        return 1
    with lock:
        return run()


def _cmd_gui(_: argparse.Namespace) -> int:
    from her_desktop.config import load_settings
    from her_desktop.gui.launch import run_gui

    return _alone(lambda: run_gui(load_settings()))


def _cmd_converse(args: argparse.Namespace) -> int:
    from her_desktop.cli import converse

    if args.no_memory:  # nothing is written: no need to be the only copy
        return converse.run(args)
    return _alone(lambda: converse.run(args))


def _cmd_doctor(_: argparse.Namespace) -> int:
    from her_desktop.doctor import format_checks, run_checks

    checks = run_checks()
    print(format_checks(checks))
    return 1 if any(c.status == "fail" for c in checks) else 0


def _cmd_models(args: argparse.Namespace) -> int:
    from her_desktop.cli import models_cmd

    return models_cmd.run(args)


def _cmd_memory(args: argparse.Namespace) -> int:
    from her_desktop.cli import memory_cmd

    return memory_cmd.run(args)


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.bench_command == "llm":
        from her_desktop.bench.llm import run_llm_bench

        return run_llm_bench(runs=args.runs, model=args.model, out=args.out)
    if args.bench_command == "affect":
        from her_desktop.bench.affect import run_affect_bench, run_refine_voice_bench

        if args.voice:
            return run_refine_voice_bench(args.out, runs=args.voice)
        return run_affect_bench(
            out=args.out, set_name=args.set, use_lm=not args.no_lm, spoken=args.spoken
        )
    if args.bench_command == "voice":
        from her_desktop.bench.voice import run_voice_bench

        return run_voice_bench(
            runs=args.runs,
            compare=args.compare,
            out=args.out,
            barge_in=args.barge_in,
            barge_in_runs=args.barge_in_runs,
            monitor=args.monitor,
            speculation=args.speculation,
            consolidation=args.consolidation,
        )
    if args.bench_command == "turn":
        from her_desktop.bench.turn import run_turn_bench

        return run_turn_bench(part=args.part, out=args.out)
    if args.bench_command == "stt":
        from her_desktop.bench.stt import DEFAULT_MODELS, run_stt_bench

        return run_stt_bench(args.model or DEFAULT_MODELS, args.runs, args.out, args.threads)
    if args.bench_command == "echo":
        from her_desktop.bench.echo import run_echo_bench

        return run_echo_bench(out=args.out)
    if args.bench_command == "companion":
        from her_desktop.bench.companion import run_companion_bench

        return run_companion_bench(
            part=args.part,
            out=args.out,
            model=args.model,
            limit=args.limit,
            raw=args.no_filter,
            kinds=args.tasks,
            ids=args.ids,
            rescored=args.rescore,
        )
    if args.bench_command == "memory" and args.e2e:
        from her_desktop.bench.memory_e2e import run_memory_e2e

        return run_memory_e2e(
            args.out,
            part=args.part,
            limit=args.limit,
            ids=args.scenario,
            max_tokens=args.max_tokens,
            lm_extraction=args.lm_extraction,
            questions_only=args.questions_only,
            without_lm=args.notes_only,
        )
    if args.bench_command == "feedback":
        from her_desktop.bench.feedback import run_feedback_bench

        return run_feedback_bench(args.out, limit=args.limit, part=args.part, only=args.only)
    if args.bench_command == "memory":
        from her_desktop.bench.memory import run_memory_bench

        return run_memory_bench(args.out, model=args.model)
    print(
        "usage: her-desktop bench {llm,voice,stt,echo,affect,memory,companion,feedback}"
        " [--out FILE]",
        file=sys.stderr,
    )
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    command = args.command or _default_command(args)
    handlers = {
        "gui": _cmd_gui,
        "chat": _cmd_chat,
        "converse": _cmd_converse,
        "doctor": _cmd_doctor,
        "models": _cmd_models,
        "bench": _cmd_bench,
        "memory": _cmd_memory,
    }
    try:
        return handlers[command](args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
