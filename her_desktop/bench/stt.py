"""``her-desktop bench stt``: word error rate and speed of the speech models.

Two sets, both on this machine, nothing downloaded:

* ``alsa`` — the eight human voice clips of alsa-utils (``/usr/share/sounds/alsa``: "front
  center", "front left"...), 48 kHz, resampled to 16 kHz; plus ``Noise.wav``, whose transcript
  must be empty (reported as ``noise_words``, the number of words "heard" in it).
* ``espeak`` — ten everyday sentences spoken by espeak-ng (skipped when it is not installed).

Per model: WER per set (word-level edit distance over the set's reference words, after
lower-casing and dropping punctuation), load time, and decode time / real-time factor (median
and p90 over ``runs`` passes after one warm-up clip). Final decodes (as the app does at the end
of an utterance) and partial decodes are both timed. Writes JSON (and a short table to stderr).

Each model is measured twice: as the app decodes (a short clip in its own short window first,
``stt/short_window.py``) and in Whisper's full 30 s window, so the saving and any cost in words
are seen side by side.

Command: ``python -m her_desktop.bench.stt [--models whisper-tiny.en whisper-base] [--runs 3]
[--windows short full] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from her_desktop.audio.resample import resample
from her_desktop.audio.wav import read_wav
from her_desktop.bench.common import machine_info, summarize, write_report
from her_desktop.stt.base import SAMPLE_RATE, AudioArray
from her_desktop.stt.models import resolve_stt_model
from her_desktop.stt.whisper import WhisperEngine

ALSA_DIR = Path("/usr/share/sounds/alsa")
WINDOWS = ("short", "full")
ALSA_CLIPS = {
    "Front_Center.wav": "front center",
    "Front_Left.wav": "front left",
    "Front_Right.wav": "front right",
    "Rear_Center.wav": "rear center",
    "Rear_Left.wav": "rear left",
    "Rear_Right.wav": "rear right",
    "Side_Left.wav": "side left",
    "Side_Right.wav": "side right",
    "Noise.wav": "",
}
ESPEAK_SENTENCES = (
    "Good morning, how did you sleep last night?",
    "What is the weather like tomorrow?",
    "Please remind me to call my sister this evening.",
    "I had a long day at work and I feel tired.",
    "Can you tell me a short story before bed?",
    "My friend is coming over for dinner on Friday.",
    "I need to buy milk, bread and some apples.",
    "The meeting was moved to three in the afternoon.",
    "I am a little worried about the exam next week.",
    "Thank you for listening to me today.",
)
DEFAULT_MODELS = ("whisper-tiny.en", "whisper-base")
_PUNCT = re.compile(r"[^a-z0-9' ]+")
_SPELLINGS = {"centre": "center"}


@dataclass(frozen=True, slots=True)
class Clip:
    name: str
    reference: str
    audio: AudioArray


def normalize(text: str) -> list[str]:
    """Lower-case words without punctuation (British spellings of the references unified)."""
    words = _PUNCT.sub(" ", text.lower().replace("-", " ")).split()
    return [_SPELLINGS.get(word, word) for word in words]


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_word in enumerate(hypothesis, 1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (ref_word != hyp_word),
            )
        previous = current
    return previous[-1]


def word_error_rate(pairs: Sequence[tuple[str, str]]) -> float:
    """Corpus WER of (reference, hypothesis) pairs with a non-empty reference."""
    errors = words = 0
    for reference, hypothesis in pairs:
        ref = normalize(reference)
        if not ref:
            continue
        errors += edit_distance(ref, normalize(hypothesis))
        words += len(ref)
    return errors / words if words else float("nan")


def alsa_clips(folder: Path = ALSA_DIR) -> list[Clip]:
    clips = []
    for name, reference in ALSA_CLIPS.items():
        path = folder / name
        if path.is_file():
            samples, rate = read_wav(path)
            clips.append(Clip(name, reference, resample(samples, rate, SAMPLE_RATE)))
    return clips


def espeak_clips() -> list[Clip]:
    if shutil.which("espeak-ng") is None:
        return []
    clips = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, sentence in enumerate(ESPEAK_SENTENCES):
            wav = Path(tmp) / f"{index}.wav"
            subprocess.run(
                ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), sentence],
                check=True,
                capture_output=True,
                timeout=60,
            )
            samples, rate = read_wav(wav)
            clips.append(Clip(f"espeak-{index}", sentence, resample(samples, rate, SAMPLE_RATE)))
    return clips


def evaluate(engine: WhisperEngine, clips: Sequence[Clip], runs: int) -> dict[str, Any]:
    """WER of one set, plus timings over ``runs`` passes (final and partial decodes)."""
    hypotheses: dict[str, str] = {}
    samples: list[dict[str, float]] = []
    for run in range(runs):
        for clip in clips:
            final = engine.transcribe(clip.audio)
            partial = engine.transcribe(clip.audio, partial=True)
            if run == 0:
                hypotheses[clip.name] = final.text
            samples.append(
                {
                    "final_decode_s": final.decode_s,
                    "final_rtf": final.rtf,
                    "partial_decode_s": partial.decode_s,
                    "partial_rtf": partial.rtf,
                }
            )
    speech = [(c.reference, hypotheses[c.name]) for c in clips if c.reference]
    noise = [hypotheses[c.name] for c in clips if not c.reference]
    return {
        "clips": len(clips),
        "wer": word_error_rate(speech),
        "noise_words": sum(len(normalize(text)) for text in noise) if noise else None,
        "audio_s": sum(c.audio.shape[0] for c in clips) / SAMPLE_RATE,
        "timing": summarize(samples),
        "transcripts": {
            c.name: {"reference": c.reference, "heard": hypotheses[c.name]} for c in clips
        },
    }


def bench_model(
    model: str,
    sets: dict[str, list[Clip]],
    runs: int,
    n_threads: int | None,
    short_window: bool = True,
) -> dict[str, Any]:
    started = time.perf_counter()
    engine = WhisperEngine(
        resolve_stt_model(model), n_threads=n_threads, model_name=model, short_window=short_window
    )
    engine.load()
    result: dict[str, Any] = {"load_s": time.perf_counter() - started, "info": engine.info()}
    warm = next((clip for clips in sets.values() for clip in clips), None)
    if warm is not None:
        engine.transcribe(warm.audio)
    for name, clips in sets.items():
        if clips:
            result[name] = evaluate(engine, clips, runs)
    return result


def run_stt_bench(
    models: Sequence[str] = DEFAULT_MODELS,
    runs: int = 3,
    out: Path | None = None,
    n_threads: int | None = None,
    windows: Sequence[str] = WINDOWS,
) -> int:
    """Run the bench; write JSON to ``out`` (stdout when None). Returns the exit status.
    ``windows``: "short" (the app's way: the clip's own window first, ``stt/short_window.py``)
    and/or "full" (always Whisper's 30 s window), each reported under its own name."""
    sets = {"alsa": alsa_clips(), "espeak": espeak_clips()}
    report: dict[str, Any] = {
        "bench": "stt",
        "machine": machine_info(),
        "runs": runs,
        "sets": {name: len(clips) for name, clips in sets.items()},
        "models": {},
    }
    for model, window in [(m, w) for m in models for w in windows]:
        name = model if window == "short" else f"{model} (full window)"
        try:
            result = bench_model(model, sets, runs, n_threads, short_window=window == "short")
        except Exception as exc:  # report the others
            report["models"][name] = {"unavailable": f"{type(exc).__name__}: {exc}"}
            continue
        report["models"][name] = result
        line = f"{name:32} load {result['load_s']:.2f} s"
        for name in sets:
            if name in result:
                r = result[name]
                timing = r["timing"]
                line += (
                    f" | {name}: WER {r['wer']:.3f} final RTF {timing['final_rtf']['median']:.3f}"
                    f" partial RTF {timing['partial_rtf']['median']:.3f}"
                )
                if r["noise_words"] is not None:
                    line += f" noise words {r['noise_words']}"
        print(line, file=sys.stderr)
    write_report(report, out, default=_json_default)
    return 0


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    return str(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m her_desktop.bench.stt", description=__doc__)
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--windows", nargs="+", choices=WINDOWS, default=list(WINDOWS))
    args = parser.parse_args(argv)
    return run_stt_bench(args.models, max(1, args.runs), args.out, args.threads, args.windows)


if __name__ == "__main__":
    raise SystemExit(main())
