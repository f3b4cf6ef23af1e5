"""Echo cancellation on the virtual sound card: speaker → PulseAudio null sink → microphone.

The real timing path: the reference is tapped in the output stream's callback (as playback's
``on_played`` does) and each microphone block is cleaned in the input stream's callback. The
virtual card's loopback is a pure delay (about 110–130 ms from tap to microphone here, set by
PulseAudio's buffers) with no room, so once converged the AEC removes it almost entirely
(measured 36–75 dB after the first 2 s; 0 false barge-ins against 5–14 without it).
Margins are wide: this test
must not depend on how busy the machine is.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from her_desktop.audio.echo import WebRtcEchoCanceller
from her_desktop.audio.format import CAPTURE_RATE
from her_desktop.bench import echo as bench
from tests.speech import requires_espeak
from tests.virtual_audio import VirtualAudio, virtual_audio  # noqa: F401

PLAY_RATE = 48_000
TEXT = (
    "I was thinking about what you said yesterday, about the garden and the old house. "
    "It sounds like a place full of memories."
)


def _play_and_capture(
    canceller: WebRtcEchoCanceller, reference: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Play ``reference`` (tapping it into ``canceller``) while cleaning the microphone live."""
    import sounddevice as sd

    raw: list[np.ndarray] = []
    cleaned: list[np.ndarray] = []
    position = 0
    done = threading.Event()

    def output(outdata: np.ndarray, frames: int, _time: object, _status: object) -> None:
        nonlocal position
        block = np.zeros(frames, dtype=np.float32)
        part = reference[position : position + frames]
        block[: part.size] = part
        outdata[:, 0] = block
        canceller.render(block, PLAY_RATE)  # the playback tap
        position += frames
        if position >= reference.size + PLAY_RATE // 2:
            done.set()

    def capture(indata: np.ndarray, _frames: int, _time: object, _status: object) -> None:
        block = indata[:, 0].copy()
        raw.append(block)
        cleaned.append(canceller.capture(block))

    with sd.InputStream(
        samplerate=CAPTURE_RATE, blocksize=512, channels=1, dtype="float32", callback=capture
    ):
        time.sleep(0.3)
        with sd.OutputStream(
            samplerate=PLAY_RATE, blocksize=480, channels=1, dtype="float32", callback=output
        ):
            assert done.wait(timeout=60), "the virtual speaker did not play"
        time.sleep(1.0)
    return np.concatenate(raw), np.concatenate(cleaned)


def _align(reference: np.ndarray, recorded: np.ndarray) -> tuple[float, int]:
    """Normalised correlation at the best lag, and the lag (negative: the recording started
    after the echo did, as PulseAudio may start a microphone late)."""
    n = 1 << int(np.ceil(np.log2(reference.size + recorded.size)))
    ref, rec = reference.astype(np.float64), recorded.astype(np.float64)
    xc = np.fft.irfft(np.fft.rfft(rec, n) * np.conj(np.fft.rfft(ref, n)), n)
    k = int(np.argmax(xc))
    norm = float(np.linalg.norm(ref) * np.linalg.norm(rec))
    return float(xc[k]) / norm, k if k < n // 2 else k - n


@requires_espeak
def test_aec_on_the_virtual_sound_card(virtual_audio: VirtualAudio) -> None:  # noqa: F811
    her, rate = bench.espeak(TEXT)
    reference = bench.resample(her / bench.rms(her) * 0.1, rate, PLAY_RATE)
    aec = WebRtcEchoCanceller()
    mic, out = _play_and_capture(aec, reference)
    corr, lag = _align(bench.resample(reference, PLAY_RATE, CAPTURE_RATE), mic)
    assert corr > 0.5  # the echo is there
    end = lag + int(reference.size / PLAY_RATE * CAPTURE_RATE)
    converged = slice(max(lag, 0) + 2 * CAPTURE_RATE, end)
    raw_fires = bench.barge_in_blocks(bench.vad_probs(mic))
    aec_fires = bench.barge_in_blocks(bench.vad_probs(out))
    erle = bench.erle_db(mic, out, converged)
    print(
        f"recording offset {lag / 16:.0f} ms, ERLE after 2 s {erle:.1f} dB, false barge-ins "
        f"raw {len(raw_fires)} aec {len(aec_fires)}"
    )
    assert len(raw_fires) >= 2  # without echo handling she interrupts herself
    assert erle > 15.0
    assert len(aec_fires) <= 1  # at most one, while converging
