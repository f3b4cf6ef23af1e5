"""``her-desktop bench echo``: does the companion still hear herself?

A synthetic but realistic echo path, all offline:

* her voice (the *reference*): several sentences of espeak-ng speech, resampled to the playback
  rate (24 kHz, as the TTS produces), normalised to -20 dBFS RMS and handed to the canceller in
  32 ms playback blocks, in step with the microphone (as a playback callback would);
* the room: the reference as the microphone hears it, resampled to 16 kHz, convolved with a
  small room impulse response (direct path plus a decaying noise tail of ``rir_ms``), delayed by
  ``delay_ms`` and scaled by ``gain`` (optionally through a mildly clipping loudspeaker);
* the user: another espeak voice (``en+f3``), at the same level as the echo, talking over the
  end of her speech (double talk);
* a low noise floor (-60 dBFS).

Measured per echo path and canceller (``raw`` = no handling, ``aec`` = WebRTC AEC3,
``half_duplex`` = the gate):

* ``erle_db``: echo return loss enhancement while only she speaks (10·log10 of microphone
  energy over output energy), over the whole echo-only part and after the first second
  (``erle_converged_db``);
* false barge-ins: Silero VAD over the echo-only part, counting runs of speech of at least
  ``barge_in_ms`` (200 ms, as the VAD stage does) that the canceller lets through
  (``false_barge_ins``; also per minute, and the fraction of speech-flagged chunks);
* double talk: whether the user's interruption is detected (``barge_in_detected``, and the
  delay from the user's first sample), and how well the user's voice survives: correlation with
  the user's clean speech, signal-to-distortion ratio (``sdr_db``, raw microphone for
  comparison) and the gain applied to the user's voice (``user_gain_db``);
* CPU: milliseconds per 32 ms microphone block (capture + the matching render).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from her_desktop.audio.echo import (
    EchoCanceller,
    HalfDuplexGate,
    NoEcho,
    WebRtcEchoCanceller,
)
from her_desktop.audio.format import CAPTURE_RATE
from her_desktop.bench.common import machine_info, percentile, write_report

Samples = NDArray[np.float32]

BLOCK = 512
"""Microphone block (32 ms at 16 kHz), as capture delivers it."""
PLAYBACK_RATE = 24_000
REFERENCE_RMS = 0.1
NOISE_RMS = 0.001
CONVERGENCE_S = 1.0

HER_TEXT = (
    "I was thinking about what you said yesterday, about the garden and the old house. "
    "It sounds like a place full of memories. Do you still have the photographs from that "
    "summer? I would love to hear more about your sister, and the long walks by the river. "
    "Tell me, what was the first thing you planted there?"
)
USER_TEXT = "Wait, hold on a second, that is not what I meant at all."
HER_VOICE = "en-us"
USER_VOICE = "en+f3"


class SpeechUnavailableError(RuntimeError):
    """espeak-ng is not installed; the message says how to install it."""


def espeak(text: str, voice: str = HER_VOICE, *, speed: int = 165) -> tuple[Samples, int]:
    """Speech for ``text`` from espeak-ng (mono float32, and its rate, normally 22050 Hz)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechUnavailableError(
            "the echo bench needs espeak-ng to make test speech — install it "
            "(Debian/Ubuntu: sudo apt install espeak-ng)"
        )
    wav = subprocess.run(
        [exe, "-v", voice, "-s", str(speed), "--stdout", text],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    rate = int.from_bytes(wav[24:28], "little")
    start = wav.index(b"data", 12) + 8
    data = wav[start : start + (len(wav) - start) // 2 * 2]
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / np.float32(32768.0), rate


def resample(samples: Samples, rate_in: int, rate_out: int) -> Samples:
    """Band-limited (FFT) resampling of a whole signal: the bench's "ideal" converter."""
    if rate_in == rate_out or samples.size == 0:
        return samples.astype(np.float32)
    n_out = round(samples.size * rate_out / rate_in)
    spectrum = np.fft.rfft(samples.astype(np.float64))
    bins = n_out // 2 + 1
    if bins <= spectrum.size:
        spectrum = spectrum[:bins]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(bins - spectrum.size, complex)])
    return (np.fft.irfft(spectrum, n_out) * (n_out / samples.size)).astype(np.float32)


def rms(x: NDArray[Any]) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def room_impulse_response(
    rng: np.random.Generator, *, tail_ms: float = 150.0, rate: int = CAPTURE_RATE
) -> Samples:
    """Direct path plus an exponentially decaying noise tail (-60 dB at ``tail_ms``), unit norm."""
    n = max(1, int(rate * tail_ms / 1000))
    t = np.arange(n) / rate
    decay = np.exp(-6.9 * t / (tail_ms / 1000))  # 6.9 ≈ ln(1000): -60 dB at the end
    h = rng.standard_normal(n) * decay * 0.25
    h[0] = 1.0
    return (h / np.linalg.norm(h)).astype(np.float32)


@dataclass(frozen=True, slots=True)
class EchoPath:
    """One speaker→microphone path of the bench."""

    delay_ms: float = 50.0
    gain: float = 0.45
    rir_ms: float = 150.0
    nonlinear: bool = False
    """A mildly clipping loudspeaker (tanh) before the room."""
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Scene:
    """Everything the microphone hears, with its parts kept apart for measuring."""

    reference: Samples
    """her voice at ``playback_rate`` (what playback hands to the speaker)"""
    playback_rate: int
    mic: Samples
    """16 kHz: echo + user + noise"""
    echo: Samples
    user: Samples
    echo_only: slice
    """16 kHz samples where only she speaks"""
    user_span: slice
    """16 kHz samples where the user speaks (over her: double talk)"""


_SPEECH_CACHE: dict[tuple[str, str], tuple[Samples, int]] = {}


def _speech(text: str, voice: str) -> tuple[Samples, int]:
    key = (text, voice)
    if key not in _SPEECH_CACHE:
        _SPEECH_CACHE[key] = espeak(text, voice)
    return _SPEECH_CACHE[key]


def build_scene(
    path: EchoPath,
    *,
    playback_rate: int = PLAYBACK_RATE,
    with_user: bool = True,
    her_text: str = HER_TEXT,
    user_text: str = USER_TEXT,
) -> Scene:
    """The bench's microphone signal for ``path`` (see the module docstring)."""
    rng = np.random.default_rng(path.seed)
    her, her_rate = _speech(her_text, HER_VOICE)
    her = her / max(rms(her), 1e-9) * REFERENCE_RMS
    reference = resample(her, her_rate, playback_rate)
    speaker = np.tanh(2.0 * reference) / 2.0 if path.nonlinear else reference
    at_mic = resample(speaker.astype(np.float32), playback_rate, CAPTURE_RATE)
    h = room_impulse_response(rng, tail_ms=path.rir_ms)
    delay = int(CAPTURE_RATE * path.delay_ms / 1000)
    total = at_mic.size + delay + h.size + CAPTURE_RATE // 2
    echo = np.zeros(total, dtype=np.float32)
    wet = np.convolve(at_mic, h)[: total - delay] * path.gain
    echo[delay : delay + wet.size] = wet
    user = np.zeros(total, dtype=np.float32)
    her_len = at_mic.size
    if with_user:
        voice, voice_rate = _speech(user_text, USER_VOICE)
        voice = resample(voice, voice_rate, CAPTURE_RATE)
        voice = voice / max(rms(voice), 1e-9) * path.gain * REFERENCE_RMS
        start = max(CAPTURE_RATE * 3, her_len - voice.size - CAPTURE_RATE)
        end = min(total, start + voice.size)
        user[start:end] = voice[: end - start]
        user_span = slice(start, end)
        echo_only = slice(0, start)
    else:
        user_span = slice(total, total)
        echo_only = slice(0, her_len + delay)
    noise = (rng.standard_normal(total) * NOISE_RMS).astype(np.float32)
    mic = (echo + user + noise).astype(np.float32)
    return Scene(
        reference=reference.astype(np.float32),
        playback_rate=playback_rate,
        mic=mic,
        echo=echo,
        user=user,
        echo_only=echo_only,
        user_span=user_span,
    )


@dataclass(frozen=True, slots=True)
class Processed:
    output: Samples
    """the cleaned microphone signal, aligned with the input (latency removed)"""
    block_ms: list[float]
    """CPU time of each 32 ms block (render + capture), milliseconds"""
    suppressed: list[bool]
    """per block: barge-in suppressed at the block's end (half duplex)"""


class StreamClock:
    """The stream's own time (seconds of microphone audio processed): a deterministic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def process(
    canceller: EchoCanceller,
    scene: Scene,
    *,
    block: int = BLOCK,
    clock: StreamClock | None = None,
) -> Processed:
    """Feed ``scene`` through ``canceller`` block by block, in real-time order.

    For each microphone block, the reference for the same 32 ms of playback is rendered first
    (as a playback callback would, just before the sound leaves the speaker). The canceller's
    clock, where it has one, should be ``clock``: it is advanced to the stream time.
    """
    clock = clock or StreamClock()
    ratio = scene.playback_rate / CAPTURE_RATE
    blocks = scene.mic.size // block
    out = np.zeros(blocks * block, dtype=np.float32)
    times: list[float] = []
    suppressed: list[bool] = []
    for i in range(blocks):
        lo, hi = round(i * block * ratio), round((i + 1) * block * ratio)
        ref = scene.reference[lo:hi]
        mic = scene.mic[i * block : (i + 1) * block]
        clock.now = i * block / CAPTURE_RATE
        start = time.perf_counter()
        if ref.size:
            canceller.render(ref, scene.playback_rate)
        out[i * block : (i + 1) * block] = canceller.capture(mic)
        times.append((time.perf_counter() - start) * 1000)
        clock.now = (i + 1) * block / CAPTURE_RATE
        suppressed.append(canceller.suppress_barge_in(clock.now))
    latency = int(getattr(canceller, "latency_samples", 0))
    aligned = np.zeros_like(out)
    aligned[: out.size - latency] = out[latency:]
    return Processed(aligned, times, suppressed)


def erle_db(mic: Samples, output: Samples, span: slice) -> float:
    """Echo return loss enhancement over ``span`` (dB; higher = more echo removed)."""
    num, den = rms(mic[span]), rms(output[span])
    return 20 * float(np.log10(max(num, 1e-12) / max(den, 1e-12)))


def user_retention(output: Samples, user: Samples, span: slice) -> dict[str, float]:
    """How much of the user's voice survives in ``output`` during double talk."""
    out, ref = output[span].astype(np.float64), user[span].astype(np.float64)
    energy = float(np.dot(ref, ref))
    if energy <= 0:
        return {"correlation": float("nan"), "sdr_db": float("nan"), "user_gain_db": float("nan")}
    corr = float(np.corrcoef(out, ref)[0, 1])
    error = float(np.sum(np.square(out - ref)))
    gain = float(np.dot(out, ref)) / energy
    return {
        "correlation": corr,
        "sdr_db": 10 * float(np.log10(energy / max(error, 1e-12))),
        "user_gain_db": 20 * float(np.log10(max(abs(gain), 1e-6))),
    }


def vad_probs(signal: Samples) -> list[float]:
    """Silero VAD speech probability of each 512-sample chunk (fresh state)."""
    from her_desktop.audio.vad import SileroVAD

    vad = SileroVAD()
    return [vad.prob(signal[i : i + BLOCK]) for i in range(0, signal.size - BLOCK + 1, BLOCK)]


def barge_in_blocks(
    probs: list[float],
    suppressed: list[bool] | None = None,
    *,
    threshold: float = 0.5,
    barge_in_ms: float = 200.0,
) -> list[int]:
    """Chunk indices at which a run of speech reaches ``barge_in_ms`` (a barge-in fires).

    Like the VAD stage: a chunk at or above ``threshold`` extends the run, one below
    ``threshold - 0.15`` breaks it; while ``suppressed`` the run is discarded.
    """
    need = max(1, int(np.ceil(barge_in_ms / (BLOCK * 1000 / CAPTURE_RATE))))
    fired: list[int] = []
    run = 0
    for i, p in enumerate(probs):
        if suppressed is not None and suppressed[i]:
            run = 0
            continue
        if p >= threshold:
            run += 1
            if run == need:
                fired.append(i)
        elif p < threshold - 0.15:
            run = 0
    return fired


def evaluate(
    name: str,
    canceller: EchoCanceller,
    scene: Scene,
    *,
    clock: StreamClock | None = None,
    barge_in_ms: float = 200.0,
) -> dict[str, Any]:
    """All the metrics of one canceller on one scene (see the module docstring)."""
    done = process(canceller, scene, clock=clock)
    out = done.output
    n = out.size
    echo_only = slice(scene.echo_only.start, min(scene.echo_only.stop, n))
    converged = slice(echo_only.start + int(CONVERGENCE_S * CAPTURE_RATE), echo_only.stop)
    probs = vad_probs(out)
    gate = done.suppressed if isinstance(canceller, HalfDuplexGate) else None
    fired = barge_in_blocks(probs, gate, barge_in_ms=barge_in_ms)
    first_user, last_echo = scene.user_span.start // BLOCK, echo_only.stop // BLOCK
    false_fires = [i for i in fired if i < min(first_user, last_echo)]
    echo_blocks = probs[: min(first_user, last_echo)]
    true_fires = [i for i in fired if first_user <= i < scene.user_span.stop // BLOCK + 10]
    minutes = (echo_only.stop - echo_only.start) / CAPTURE_RATE / 60
    result: dict[str, Any] = {
        "erle_db": erle_db(scene.mic, out, echo_only),
        "erle_converged_db": erle_db(scene.mic, out, converged),
        "false_barge_ins": len(false_fires),
        "false_barge_ins_per_min": len(false_fires) / minutes if minutes else float("nan"),
        "echo_speech_fraction": (
            sum(p >= 0.5 for p in echo_blocks) / len(echo_blocks) if echo_blocks else 0.0
        ),
        "barge_in_detected": bool(true_fires),
        "barge_in_delay_ms": (
            ((true_fires[0] + 1) * BLOCK - scene.user_span.start) * 1000 / CAPTURE_RATE
            if true_fires
            else None
        ),
        **user_retention(out, scene.user, scene.user_span),
        "cpu_ms_per_block": {
            "median": statistics.median(done.block_ms),
            "p90": percentile(done.block_ms, 90),
        },
    }
    result["canceller"] = name
    return result


DEFAULT_PATHS = [
    EchoPath(delay_ms=d, gain=g, seed=s)
    for s, (d, g) in enumerate([(20, 0.3), (50, 0.45), (80, 0.6), (20, 0.6), (80, 0.3)])
] + [
    EchoPath(delay_ms=50, gain=0.45, nonlinear=True, seed=10),
    EchoPath(delay_ms=150, gain=0.45, rir_ms=200, seed=11),
]


def cancellers() -> dict[str, Callable[[StreamClock], EchoCanceller]]:
    """Fresh cancellers per scene (name → factory taking the stream clock)."""
    return {
        "raw": lambda clock: NoEcho(),
        "aec": lambda clock: WebRtcEchoCanceller(),
        "aec+ns": lambda clock: WebRtcEchoCanceller(noise_suppression=True),
        "half_duplex": lambda clock: HalfDuplexGate(clock=clock),
    }


def run_echo_bench(out: Path | None, *, paths: list[EchoPath] | None = None) -> int:
    """Run the bench; write JSON to ``out`` (stdout when None). Returns the exit status."""
    try:
        from her_desktop.audio.echo import create_echo

        chosen = create_echo("aec")
        _speech(HER_TEXT, HER_VOICE)
    except SpeechUnavailableError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    report: dict[str, Any] = {
        "bench": "echo",
        "machine": machine_info(),
        "block_samples": BLOCK,
        "playback_rate": PLAYBACK_RATE,
        "chosen": chosen.name,
        "notice": chosen.notice,
        "paths": [],
    }
    for path in paths or DEFAULT_PATHS:
        scene = build_scene(path)
        clean = barge_in_blocks(vad_probs(scene.user))
        entry: dict[str, Any] = {
            "path": asdict(path),
            "clean_user_barge_in_delay_ms": (
                ((clean[0] + 1) * BLOCK - scene.user_span.start) * 1000 / CAPTURE_RATE
                if clean
                else None
            ),
            "results": {},
        }
        for name, factory in cancellers().items():
            clock = StreamClock()
            try:
                canceller = factory(clock)
            except Exception as exc:
                entry["results"][name] = {"unavailable": f"{type(exc).__name__}: {exc}"}
                continue
            result = evaluate(name, canceller, scene, clock=clock)
            entry["results"][name] = result
            print(
                f"delay {path.delay_ms:>4.0f} ms gain {path.gain:.2f}"
                f"{' nonlinear' if path.nonlinear else ''} {name:12} "
                f"ERLE {result['erle_db']:6.1f} dB (conv {result['erle_converged_db']:5.1f}) "
                f"false barge-ins {result['false_barge_ins']:2d} "
                f"barge-in {'yes' if result['barge_in_detected'] else 'no '} "
                f"user corr {result['correlation']:.2f} SDR {result['sdr_db']:5.1f} dB "
                f"gain {result['user_gain_db']:5.1f} dB "
                f"cpu {result['cpu_ms_per_block']['median']:.2f} ms",
                file=sys.stderr,
            )
        report["paths"].append(entry)
    write_report(report, out)
    return 0


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    return run_echo_bench(out)


if __name__ == "__main__":
    raise SystemExit(main())
