"""Does the voice's prosody help the arousal estimate? The locked affect set spoken by espeak-ng
(random rate/pitch/amplitude/voice, then prosody that follows the label's arousal as an upper
bound) and the human clips in /usr/share/sounds/alsa; prints aggregates only (the locked set is
never looked at item by item). Slow on a loaded machine: run niced.

    nice python scripts/affect_prosody_check.py
"""

import glob
import json
import random
import subprocess
import tempfile
import wave

import numpy as np

from her_desktop.affect.base import BASE_AROUSAL, clamp
from her_desktop.affect.detectors import create_detector
from her_desktop.affect.prosody import VoiceBaseline, analyze
from her_desktop.bench.affect import load_eval_set


def read_wav(path):
    with wave.open(path) as w:
        n = w.getnframes()
        sr = w.getframerate()
        ch = w.getnchannels()
        sw = w.getsampwidth()
        raw = w.readframes(n)
    a = np.frombuffer(raw, dtype={1: np.uint8, 2: np.int16, 4: np.int32}[sw]).astype(np.float32)
    if sw == 1:
        a = (a - 128) / 128
    else:
        a /= float(2 ** (8 * sw - 1))
    if ch > 1:
        a = a.reshape(-1, ch).mean(1)
    return a, sr


def synth(text, rate, pitch, amp, voice):
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(
            [
                "espeak-ng",
                "-v",
                voice,
                "-s",
                str(rate),
                "-p",
                str(pitch),
                "-a",
                str(amp),
                "-w",
                f.name,
                text,
            ],
            check=True,
            capture_output=True,
        )
        return read_wav(f.name)


det = create_detector()
items = load_eval_set(name="locked")
rnd = random.Random(7)
res = {}
for cond in ["random", "acted"]:
    base = VoiceBaseline()
    rows = []
    order = list(items)
    rnd.shuffle(order)
    for it in order:
        voice = rnd.choice(["en", "en+f3", "en+m3", "en-us"])
        if cond == "random":
            rate, pitch, amp = (
                rnd.choice([130, 160, 190, 220]),
                rnd.choice([25, 40, 55, 70]),
                rnd.choice([70, 100, 140]),
            )
        else:  # prosody that follows the label's arousal (upper bound: a voice that carries it)
            g = BASE_AROUSAL[it.label]
            hi = g > 0.5
            rate = rnd.choice([190, 220]) if hi else rnd.choice([120, 145])
            pitch = rnd.choice([55, 70]) if hi else rnd.choice([25, 40])
            amp = rnd.choice([130, 160]) if hi else rnd.choice([60, 80])
        a, sr = synth(it.text, rate, pitch, amp, voice)
        r = analyze(a, sr, base)
        t = det.detect(it.text)
        off = r.arousal_adjustment if r.features.has_speech else 0.0
        if r.features.has_speech:
            base = base.updated(r.features)
        rows.append((BASE_AROUSAL[it.label], t.arousal, clamp(t.arousal + off, 0, 1), off))
    g, t, j, o = map(np.array, zip(*rows, strict=True))
    hi = g > 0.5
    res[cond] = {
        "n": len(rows),
        "mae_text": float(np.abs(t - g).mean()),
        "mae_joined": float(np.abs(j - g).mean()),
        "corr_text": float(np.corrcoef(t, g)[0, 1]),
        "corr_joined": float(np.corrcoef(j, g)[0, 1]),
        "hi_lo_acc_text": float(((t > 0.5) == hi).mean()),
        "hi_lo_acc_joined": float(((j > 0.5) == hi).mean()),
        "mean_abs_offset": float(np.abs(o).mean()),
        "corr_offset_gold": float(np.corrcoef(o, g)[0, 1]),
    }
    print(cond, res[cond], flush=True)
offs = []
base = VoiceBaseline()
for p in sorted(glob.glob("/usr/share/sounds/alsa/*.wav")):
    if "Noise" in p:
        continue
    a, sr = read_wav(p)
    r = analyze(a, sr, base)
    offs.append(
        (
            p.split("/")[-1],
            r.features.has_speech,
            round(r.arousal_adjustment, 3),
            round(r.features.pitch_hz),
            round(r.features.syllable_rate, 1),
        )
    )
res["alsa_neutral_readings"] = offs
print(offs)
print(json.dumps(res, indent=1))
