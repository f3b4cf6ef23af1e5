"""``her-desktop bench affect``: how well and how fast the detectors read emotion.

Labelled sets (``her_desktop/affect/data/*.tsv``: ``label<TAB>valence<TAB>text``, valence a sign
``+ - 0`` or a number; ``#`` starts a comment; a ``label`` header line is skipped):

* ``locked`` — the held-out test part of the fresh set (report on it; never tune on it);
* ``dev`` — the part the LM combination was calibrated on;
* ``eval`` — the project's older set (220 utterances; a regression check).

Candidates, where available here:

* ``lexicon`` — the default fast path (no model);
* ``minilm-prototypes`` and the blend ``lexicon+minilm-prototypes`` — the optional MiniLM;
* ``lexicon+minilm-prototypes+minilm-head`` — the trained head on MiniLM (``affect.head``),
  what ``create_detector`` picks where MiniLM is installed (trained on the dev and eval sets:
  its figures on those two sets are not a test);
* ``lexicon+valence(vader)`` — the lexicon with VADER's valence, where installed;
* ``lm-label`` — the default LM as a one-label classifier (``affect.lm_label``);
* ``combined`` — ``affect.combine`` of the fast detector and the LM (the refined estimate:
  the log-linear pool calibrated for the fast detector, ``combine.calibration_for``; with the
  MiniLM head, the stacked pool and its sign model, which decides the valence sign first).

With ``spoken`` (``--spoken``), the set is also spoken: each sentence synthesised by espeak-ng
with a voice (en-us / en-gb), rate (130-200 wpm) and pitch (30-70) drawn at random from the
sentence's hash, never from its label (``voicing_for``; WAVs cached in ``SPOKEN_CACHE``), the
transcript being the sentence itself; ``affect.prosody`` hears each one (default baseline: every
sentence is a new "speaker") and two more candidates add the voice's arousal offset, as the app
does with ``affect.voice_arousal``: ``<chosen>+prosody`` and ``combined+prosody``. The eight
human clips of alsa-utils (``/usr/share/sounds/alsa``, "front center" ... "side right", labelled
by hand from their content: neutral, no valence, calm) are reported apart (``alsa``).

Per candidate: accuracy, macro-F1 (and F1 per label), the confusion matrix, valence-sign accuracy
(gold sign + / - / 0 against the predicted valence with a dead zone of ``SIGN_DEAD_ZONE``, so a
predicted 'neutral' (valence within 0.09) scores as sign 0 and a 'surprise' as the sign its
valence was given, 0 when none; also over the non-neutral gold signs only) and latency per
utterance (fast detectors: median / p90 over ``PASSES`` passes after a warm-up; the LM: one
pass after reading the fixed prompt), and arousal against the gold label's typical arousal
(``BASE_AROUSAL``): Pearson correlation and mean absolute error.
``chosen`` names what ``create_detector()`` picks on this machine. Writes JSON (and a short
table to stderr).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from her_desktop.affect.base import BASE_AROUSAL, EMOTIONS, EmotionDetector, TextAffect, as_label
from her_desktop.affect.blend import BlendDetector
from her_desktop.affect.combine import (
    HEAD_DETECTOR_SUFFIX,
    Calibration,
    Pool,
    calibration_for,
    combine,
)
from her_desktop.affect.detectors import create_detector
from her_desktop.affect.lexicon import default_lexicon
from her_desktop.affect.lm_label import LMLabeler
from her_desktop.affect.text import LexiconDetector, vader_valence
from her_desktop.bench.common import machine_info, summarize, write_report
from her_desktop.events import EmotionLabel
from her_desktop.numeric import clamp

if TYPE_CHECKING:
    from her_desktop.affect.prosody import ProsodyResult
    from her_desktop.config import Settings
    from her_desktop.llm.base import LLMEngine
    from her_desktop.persona import Persona

SIGN_DEAD_ZONE = 0.1
PASSES = 3
SPOKEN_RATES = (130, 200)
SPOKEN_PITCHES = (30, 70)
SPOKEN_VOICES = ("en-us", "en-gb")
SPOKEN_CACHE = Path(tempfile.gettempdir()) / "her-desktop-affect-spoken"
SETS = {"locked": "locked_set.tsv", "dev": "dev_set.tsv", "eval": "eval_set.tsv"}


@dataclass(frozen=True, slots=True)
class Item:
    label: EmotionLabel
    sign: int
    text: str


def load_eval_set(path: Path | None = None, name: str = "eval") -> list[Item]:
    """A labelled set: ``path``, or the packaged set ``name`` (see ``SETS``)."""
    if path is None:
        source = resources.files("her_desktop.affect").joinpath(f"data/{SETS[name]}")
        text = source.read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    items = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(("#", "label\t")):
            continue
        label, valence, utterance = line.split("\t", 2)
        items.append(Item(as_label(label.strip()), _sign(valence.strip()), utterance.strip()))
    return items


@dataclass(frozen=True, slots=True)
class Voicing:
    """How espeak-ng says one sentence: voice, rate (words per minute) and pitch (0-99)."""

    voice: str
    rate: int
    pitch: int


def voicing_for(text: str) -> Voicing:
    """A voice, rate and pitch drawn at random for ``text``, seeded by the text's hash alone: the
    same sentence always sounds the same (the synthesis can be cached), and the draw never sees
    the label (a voicing that followed the emotion would make prosody look useful for free)."""
    rng = random.Random(hashlib.sha256(text.encode("utf-8")).digest())
    return Voicing(
        voice=rng.choice(SPOKEN_VOICES),
        rate=rng.randint(*SPOKEN_RATES),
        pitch=rng.randint(*SPOKEN_PITCHES),
    )


def spoken(text: str, cache: Path = SPOKEN_CACHE) -> tuple[npt.NDArray[np.float32], int]:
    """``text`` spoken by espeak-ng with ``voicing_for(text)``: mono samples and their rate. The
    WAV is kept in ``cache`` (a temporary folder by default) under the text's hash and voicing.
    Raises ``OSError`` when espeak-ng is missing or fails."""
    from her_desktop.audio.wav import read_wav

    v = voicing_for(text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    path = cache / f"{digest}-{v.voice}-{v.rate}-{v.pitch}.wav"
    if not path.is_file():
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise OSError("espeak-ng is not installed")
        cache.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        command = [exe, "-v", v.voice, "-s", str(v.rate), "-p", str(v.pitch), "-w", str(part)]
        try:
            subprocess.run([*command, "--", text], check=True, capture_output=True, timeout=60)
        except (subprocess.SubprocessError, OSError) as exc:
            raise OSError(f"espeak-ng could not say {text[:40]!r}: {exc}") from exc
        part.replace(path)
    samples, rate = read_wav(path)
    return np.asarray(samples, dtype=np.float32), rate


def _sign(value: str) -> int:
    if value in ("+", "-", "0", ""):
        return {"+": 1, "-": -1}.get(value, 0)
    return sign_of(float(value))


def sign_of(valence: float) -> int:
    if valence >= SIGN_DEAD_ZONE:
        return 1
    if valence <= -SIGN_DEAD_ZONE:
        return -1
    return 0


def macro_f1(gold: list[str], pred: list[str]) -> tuple[float, dict[str, float]]:
    per: dict[str, float] = {}
    for label in EMOTIONS:
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        per[label] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return sum(per.values()) / len(per), per


def evaluate(detector: EmotionDetector, items: list[Item]) -> dict[str, Any]:
    """Quality and latency of ``detector`` on ``items``."""
    for item in items:  # warm-up pass: caches, lazy imports
        detector.detect(item.text)
    latencies: list[float] = []
    results: list[TextAffect] = []
    for run in range(PASSES):
        for item in items:
            start = time.perf_counter()
            result = detector.detect(item.text)
            latencies.append((time.perf_counter() - start) * 1000.0)
            if run == 0:
                results.append(result)
    return score(items, results, latencies)


def score(
    items: list[Item], results: list[TextAffect], latencies_ms: list[float]
) -> dict[str, Any]:
    """Quality figures of ``results`` (one per item) and the latency summary."""
    preds = [r.label for r in results]
    signs = [sign_of(r.valence) for r in results]
    gold = [i.label for i in items]
    f1, per_label = macro_f1(list(gold), list(preds))
    polar = [(i.sign, s) for i, s in zip(items, signs, strict=True) if i.sign != 0]
    confusion = {
        g: {p: sum(a == g and b == p for a, b in zip(gold, preds, strict=True)) for p in EMOTIONS}
        for g in EMOTIONS
    }
    gold_arousal = [BASE_AROUSAL[g] for g in gold]
    arousal = [r.arousal for r in results]
    return {
        "accuracy": sum(g == p for g, p in zip(gold, preds, strict=True)) / len(items),
        "macro_f1": f1,
        "f1_per_label": per_label,
        "valence_sign_accuracy": sum(i.sign == s for i, s in zip(items, signs, strict=True))
        / len(items),
        "valence_sign_accuracy_polar": sum(g == s for g, s in polar) / len(polar) if polar else 0,
        "latency": summarize([{"latency_ms": v} for v in latencies_ms])["latency_ms"],
        "arousal_corr": correlation(arousal, gold_arousal),
        "arousal_mae": sum(abs(a - b) for a, b in zip(arousal, gold_arousal, strict=True))
        / len(items),
        "confusion": confusion,
    }


def correlation(a: list[float], b: list[float]) -> float:
    """Pearson's correlation of ``a`` and ``b`` (NaN when either is constant)."""
    x, z = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(x) < 2 or float(x.std()) == 0.0 or float(z.std()) == 0.0:
        return float("nan")
    return float(np.corrcoef(x, z)[0, 1])


def spoken_prosody(
    items: list[Item], cache: Path = SPOKEN_CACHE
) -> tuple[list[ProsodyResult], list[float]]:
    """Each item's sentence spoken (``spoken``) and heard by ``affect.prosody`` (default
    baseline), with the analysis time (ms) of each."""
    from her_desktop.affect.prosody import analyze

    results: list[ProsodyResult] = []
    latencies: list[float] = []
    for item in items:
        samples, rate = spoken(item.text, cache)
        start = time.perf_counter()
        results.append(analyze(samples, rate))
        latencies.append((time.perf_counter() - start) * 1000.0)
    return results, latencies


def with_voice(affect: TextAffect, voice: ProsodyResult) -> TextAffect:
    """``affect`` with the voice's arousal offset added (``AffectService`` with
    ``voice_arousal``)."""
    if not voice.features.has_speech:
        return affect
    return replace(affect, arousal=clamp(affect.arousal + voice.arousal_adjustment, 0.0, 1.0))


@dataclass(frozen=True, slots=True)
class Spoken:
    """A set's spoken versions: the prosody of each item and its analysis time (ms)."""

    voices: list[ProsodyResult]
    latencies_ms: list[float]


def alsa_set() -> tuple[list[Item], Spoken]:
    """The eight human clips of alsa-utils ("front center" ... "side right"), labelled by hand
    from their content (channel names read in a calm voice: neutral, no valence); ``Noise.wav``
    is left out (no speech). Empty where the clips are not installed."""
    from her_desktop.affect.prosody import analyze
    from her_desktop.audio.wav import read_wav
    from her_desktop.bench.stt import ALSA_CLIPS, ALSA_DIR

    items: list[Item] = []
    voices: list[ProsodyResult] = []
    latencies: list[float] = []
    for name, words in ALSA_CLIPS.items():
        path = ALSA_DIR / name
        if not words or not path.is_file():
            continue
        samples, rate = read_wav(path)
        start = time.perf_counter()
        voices.append(analyze(samples, rate))
        latencies.append((time.perf_counter() - start) * 1000.0)
        items.append(Item("neutral", 0, words))
    return items, Spoken(voices, latencies)


async def lm_probabilities(
    engine: LLMEngine, items: list[Item]
) -> tuple[list[dict[EmotionLabel, float]], list[float]]:
    """The LM labeler's probabilities for each item and its latency (ms) for each, measured
    after one untimed call that reads the fixed prompt into the scoring cache."""
    labeler = LMLabeler(engine, deadline_s=120.0)
    await labeler.probabilities("hello")
    probs: list[dict[EmotionLabel, float]] = []
    latencies: list[float] = []
    for item in items:
        start = time.perf_counter()
        probs.append(await labeler.probabilities(item.text))
        latencies.append((time.perf_counter() - start) * 1000.0)
    return probs, latencies


def lm_only(probs: dict[EmotionLabel, float]) -> TextAffect:
    """The LM's label alone, with a valence consistent with it (no fast estimate)."""
    neutral = TextAffect.from_scores({"neutral": 1.0}, 0.0, 0.3)
    return combine(neutral, probs, Calibration(lm_weight=1.0, fast_weight=0.0))


def candidates(
    chosen: EmotionDetector | None = None,
) -> list[tuple[str, Callable[[], EmotionDetector | None]]]:
    """The detectors to compare; ``chosen`` (what ``create_detector`` gave) is reused."""

    def lexicon() -> EmotionDetector:
        default_lexicon.cache_clear()  # measure the real load time
        return LexiconDetector()

    def prototypes() -> EmotionDetector | None:
        from her_desktop.affect.embedding import PrototypeDetector

        return PrototypeDetector.create()

    def blend() -> EmotionDetector | None:
        from her_desktop.affect.embedding import PrototypeDetector

        embedding = PrototypeDetector.create()
        return BlendDetector(LexiconDetector(), embedding) if embedding is not None else None

    def head() -> EmotionDetector | None:
        detector = chosen if chosen is not None else create_detector()
        return detector if detector.name.endswith(HEAD_DETECTOR_SUFFIX) else None

    def with_vader() -> EmotionDetector | None:
        fn = vader_valence()
        return LexiconDetector(valence_fn=fn) if fn is not None else None

    return [
        ("lexicon", lexicon),
        ("minilm-prototypes", prototypes),
        ("lexicon+minilm-prototypes", blend),
        ("lexicon+minilm-prototypes+minilm-head", head),
        ("lexicon+valence(vader)", with_vader),
    ]


def run_affect_bench(
    out: Path | None,
    *,
    set_name: str = "locked",
    engine: LLMEngine | None = None,
    use_lm: bool = True,
    calibration: Pool | None = None,
    spoken: bool = False,
    spoken_cache: Path = SPOKEN_CACHE,
) -> int:
    """Run the bench on the set ``set_name``; write JSON to ``out`` (stdout when None).
    ``use_lm``: also the LM candidates, with ``engine`` (default: the configured LM).
    ``spoken``: also the spoken versions (see the module docstring; needs espeak-ng), the WAVs
    kept in ``spoken_cache``."""
    items = load_eval_set(name=set_name)
    start = time.perf_counter()
    chosen = create_detector()
    chosen_load_s = time.perf_counter() - start
    report: dict[str, Any] = {
        "bench": "affect",
        "machine": machine_info(),
        "set": set_name,
        "eval_set": {
            "utterances": len(items),
            "per_label": {e: sum(i.label == e for i in items) for e in EMOTIONS},
        },
        "sign_dead_zone": SIGN_DEAD_ZONE,
        "passes": PASSES,
        "chosen": chosen.name,
        "chosen_load_s": chosen_load_s,
        "detectors": {},
    }
    for name, factory in candidates(chosen):
        start = time.perf_counter()
        try:
            detector = factory()
        except Exception as exc:
            report["detectors"][name] = {"unavailable": f"{type(exc).__name__}: {exc}"}
            continue
        load_s = time.perf_counter() - start
        if detector is None:
            report["detectors"][name] = {"unavailable": "optional package not installed"}
            continue
        result = evaluate(detector, items)
        result["load_s"] = load_s
        _add(report, name, result)
    voiced: Spoken | None = None
    alsa: tuple[list[Item], Spoken] | None = None
    if spoken:
        voiced = Spoken(*spoken_prosody(items, spoken_cache))
        alsa = alsa_set()
        report["spoken"] = {
            "voicing": "espeak-ng, voice en-us/en-gb, rate 130-200, pitch 30-70, drawn from "
            "the sentence's hash (never its label)",
            "transcript": "the sentence itself",
            "prosody_latency": summarize([{"ms": v} for v in voiced.latencies_ms])["ms"],
            "alsa_clips": len(alsa[0]),
            "alsa_labels": "by hand from the content: neutral, valence 0",
        }
        fast = [chosen.detect(i.text) for i in items]
        joined = [with_voice(f, v) for f, v in zip(fast, voiced.voices, strict=True)]
        _add(report, f"{chosen.name}+prosody", score(items, joined, voiced.latencies_ms))
        report["alsa"] = _alsa_figures(chosen, *alsa)
    if use_lm:
        calibration = calibration or calibration_for(chosen.name)
        report["combination"] = type(calibration).__name__.lower()
        _lm_candidates(report, items, chosen, engine, calibration, voiced, alsa)
    write_report(report, out)
    return 0


def _alsa_figures(detector: EmotionDetector, items: list[Item], voices: Spoken) -> dict[str, Any]:
    if not items:
        return {}
    fast = [detector.detect(i.text) for i in items]
    joined = [with_voice(f, v) for f, v in zip(fast, voices.voices, strict=True)]
    return {
        detector.name: score(items, fast, voices.latencies_ms),
        f"{detector.name}+prosody": score(items, joined, voices.latencies_ms),
    }


def _default_engine() -> LLMEngine:
    from her_desktop.app import make_llm
    from her_desktop.config import load_settings

    return make_llm(load_settings().settings)


def _add(report: dict[str, Any], name: str, result: dict[str, Any]) -> None:
    report["detectors"][name] = result
    print(
        f"{name:28} acc {result['accuracy']:.3f}  macro-F1 {result['macro_f1']:.3f}  "
        f"sign {result['valence_sign_accuracy']:.3f}  "
        f"arousal r {result['arousal_corr']:.3f}  "
        f"latency median {result['latency']['median']:.2f} ms "
        f"p90 {result['latency']['p90']:.2f} ms",
        file=sys.stderr,
    )


def _lm_candidates(
    report: dict[str, Any],
    items: list[Item],
    fast: EmotionDetector,
    engine: LLMEngine | None,
    calibration: Pool,
    voiced: Spoken | None = None,
    alsa: tuple[list[Item], Spoken] | None = None,
) -> None:
    from her_desktop.llm.base import LLMError

    fast_results = [fast.detect(i.text) for i in items]
    alsa_items = alsa[0] if alsa is not None else []

    async def measure() -> tuple[list[dict[EmotionLabel, float]], list[float], list[TextAffect]]:
        lm = engine if engine is not None else _default_engine()
        try:
            probs, latencies = await lm_probabilities(lm, items)
            alsa_probs = (await lm_probabilities(lm, alsa_items))[0] if alsa_items else []
            report["lm_model"] = lm.info().model
        finally:
            if engine is None:
                await lm.close()
        alsa_combined = [
            combine(fast.detect(i.text), p, calibration)
            for i, p in zip(alsa_items, alsa_probs, strict=True)
        ]
        return probs, latencies, alsa_combined

    try:
        probs, latencies, alsa_combined = asyncio.run(measure())
    except LLMError as exc:
        for name in ("lm-label", "combined"):
            report["detectors"][name] = {"unavailable": str(exc)}
        return
    combined = [combine(f, p, calibration) for f, p in zip(fast_results, probs, strict=True)]
    _add(report, "lm-label", score(items, [lm_only(p) for p in probs], latencies))
    result = score(items, combined, latencies)
    result["fast"] = fast.name
    _add(report, "combined", result)
    if voiced is not None:
        joined = [with_voice(c, v) for c, v in zip(combined, voiced.voices, strict=True)]
        ms = [a + b for a, b in zip(latencies, voiced.latencies_ms, strict=True)]
        _add(report, "combined+prosody", score(items, joined, ms))
    if alsa is not None and alsa_items:
        ms = [0.0] * len(alsa_items)  # the LM's latency is reported on the set itself
        report["alsa"]["combined"] = score(alsa_items, alsa_combined, ms)
        report["alsa"]["combined+prosody"] = score(
            alsa_items,
            [with_voice(c, v) for c, v in zip(alsa_combined, alsa[1].voices, strict=True)],
            alsa[1].latencies_ms,
        )


async def refine_on_off(
    settings: Settings, persona: Persona, *, runs: int = 3, settle_s: float = 20.0
) -> dict[str, Any]:
    """``bench voice`` with the refined estimate off, then on, in one process: the voice
    figures of both (first sound must not move) and, when on, how long the refinement took
    after the turn's end (``after_reply`` called → the refined estimate published; a turn
    whose refinement gave way or found the model busy counts as not refined). Before each
    voice run the bench waits up to ``settle_s`` for the last turn's refinement to end (a user
    rarely speaks again within a second), then resets the conversation as ``bench voice``
    does."""
    from her_desktop.affect.service import AffectService
    from her_desktop.bench import voice

    original_after = AffectService.after_reply
    original_publish = AffectService._publish_estimate
    original_fresh = voice._fresh_conversation
    timings: list[float] = []
    refined: list[int] = []
    lm_published: list[float] = []
    idle = asyncio.Event()
    idle.set()

    async def timed(self: AffectService, turn_id: int, user_text: str, reply_text: str) -> None:
        idle.clear()
        start = time.perf_counter()
        try:
            await original_after(self, turn_id, user_text, reply_text)
        finally:
            idle.set()
            done = [t for t in lm_published if t >= start]
            if done:
                timings.append((done[0] - start) * 1000.0)
            refined.append(int(bool(done)))

    def publish(
        self: AffectService, turn_id: int, affect: TextAffect, arousal: float, source: Any
    ) -> None:
        if source == "lm":
            lm_published.append(time.perf_counter())
        original_publish(self, turn_id, affect, arousal, source)

    async def fresh(app: Any) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(settle_s):
                await asyncio.sleep(0.5)  # the turn's after_reply starts once her audio ends
                await idle.wait()
        await original_fresh(app)

    report: dict[str, Any] = {"bench": "affect-refine-voice", "machine": machine_info()}
    for mode in ("off", "on"):
        settings.affect.lm_refine = mode
        timings.clear()
        refined.clear()
        AffectService.after_reply = timed  # type: ignore[method-assign]
        AffectService._publish_estimate = publish  # type: ignore[method-assign]
        voice._fresh_conversation = fresh
        try:
            result = await voice.measure(settings, persona, runs=runs)
        finally:
            AffectService.after_reply = original_after  # type: ignore[method-assign]
            AffectService._publish_estimate = original_publish  # type: ignore[method-assign]
            voice._fresh_conversation = original_fresh
        entry: dict[str, Any] = {
            "first_played": result["metrics"].get("first_played"),
            "lm_first_token": result["metrics"].get("lm_first_token"),
            "problems": result["problems"],
        }
        if mode == "on":
            entry["refined_turns"] = sum(refined)
            entry["turns"] = len(refined)
            entry["refine_after_turn_end_ms"] = (
                summarize([{"ms": v} for v in timings])["ms"] if timings else None
            )
        report[mode] = entry
        print(f"refine {mode}: {entry}", file=sys.stderr)
    report["machine_load_after"] = list(os.getloadavg())
    return report


def run_refine_voice_bench(out: Path | None, *, runs: int = 3) -> int:
    from her_desktop.cli.common import load_config_and_persona, prepare_default_model

    settings, persona = load_config_and_persona()
    if settings.llm.engine == "llamacpp":
        prepare_default_model(settings.llm.model)
    load_before = list(os.getloadavg())
    report = asyncio.run(refine_on_off(settings, persona, runs=runs))
    report["machine_load_before"] = load_before
    write_report(report, out)
    return 0
