"""A short clip decoded in a short window: Whisper's encoder reads the clip, not 30 seconds.

Whisper was trained on 30 s windows, and faster-whisper pads every clip to one: for a 2 s
utterance on a 2-core CPU the encoder then spends ~0.25 s (tiny.en, int8) mostly on silence.
CTranslate2's encoder accepts fewer frames (as whisper.cpp's ``audio_ctx`` does): the clip plus
:data:`PAD_S` of padding costs ~0.03 s. The decoder then sees a shorter context than it was
trained on, which is usually harmless for a short utterance but can make it loop or guess.

So the short window is a first pass that must prove itself. One greedy decode, kept only when
Whisper's own quality signals are clean — compression ratio and average log-probability within
the thresholds the full decode uses for its temperature fallback, no token loop, and the token
cap not reached. Anything doubtful returns ``None`` and the caller decodes the full 30 s window
as before; a clean "no speech" returns an empty list. Clips longer than :data:`MAX_CLIP_S` and
models that must detect the language go straight to the full window.

faster-whisper's own helpers build the prompt and the suppressed tokens, so the decode asks
Whisper exactly what ``WhisperModel.transcribe`` asks it (greedy, no timestamps).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from her_desktop.stt.base import SAMPLE_RATE, AudioArray, Segment

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

MAX_CLIP_S = 12.0
"""Longer clips are decoded in the full window (the saving shrinks, the risk grows)."""
PAD_S = 2.0
"""Padding after the clip in the encoder's input (Whisper pads with silence to 30 s)."""
MIN_WINDOW_S = 0.0
"""The encoder's input is at least this long."""
TOKENS_PER_S = 6.0
"""More tokens than this per second of speech (plus a few) is a loop, not speech."""
FRAMES_PER_S = 100
"""Mel frames per second (hop of 160 samples at 16 kHz)."""
FULL_WINDOW_FRAMES = 3000
COMPRESSION_RATIO_THRESHOLD = 2.4
LOG_PROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6
"""Whisper's quality thresholds: the short window's result is kept only within them, and the
full decode's temperature fallback (``stt/whisper.py``) uses the same three."""


def window_frames(clip_frames: int, pad_s: float = PAD_S, min_s: float = MIN_WINDOW_S) -> int:
    """The encoder's input length for a clip of ``clip_frames``: the clip plus the padding,
    rounded up to a whole second (so similar clips share a shape), at most the full window."""
    wanted = max(clip_frames + int(pad_s * FRAMES_PER_S), int(min_s * FRAMES_PER_S))
    return min(FULL_WINDOW_FRAMES, math.ceil(wanted / FRAMES_PER_S) * FRAMES_PER_S)


def decode_short(
    model: WhisperModel,
    samples: AudioArray,
    *,
    language: str | None,
    max_new_tokens: int,
    pad_s: float = PAD_S,
    min_s: float = MIN_WINDOW_S,
) -> list[Segment] | None:
    """Decode ``samples`` (16 kHz mono float32) in a short window; ``None`` when the full
    window must decide (a long clip, an unknown language, a doubtful result)."""
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

    duration = samples.shape[0] / SAMPLE_RATE
    multilingual = bool(model.model.is_multilingual)
    if duration > MAX_CLIP_S or (multilingual and not language):
        return None
    features = model.feature_extractor(samples)
    frames = int(features.shape[-1])
    window = window_frames(frames, pad_s, min_s)
    if window >= FULL_WINDOW_FRAMES:
        return None
    encoded = model.encode(pad_or_trim(features, window))
    tokenizer = Tokenizer(
        model.hf_tokenizer,
        multilingual,
        task="transcribe",
        language=language if multilingual else "en",
    )
    prompt = model.get_prompt(tokenizer, [], without_timestamps=True)
    result = model.model.generate(
        encoded,
        [prompt],
        beam_size=1,
        max_length=len(prompt) + max_new_tokens,
        return_scores=True,
        return_no_speech_prob=True,
        suppress_blank=True,
        suppress_tokens=get_suppressed_tokens(tokenizer, (-1,)),
    )[0]
    tokens = list(result.sequences_ids[0])
    avg_logprob = float(result.scores[0]) * len(tokens) / (len(tokens) + 1)
    no_speech = float(result.no_speech_prob)
    text = tokenizer.decode(tokens).strip()
    ratio = get_compression_ratio(text) if text else 0.0
    if (
        not text
        or no_speech > NO_SPEECH_THRESHOLD
        or len(tokens) >= min(max_new_tokens, TOKENS_PER_S * duration + 6)
        or ratio > COMPRESSION_RATIO_THRESHOLD
        or avg_logprob < LOG_PROB_THRESHOLD
        or _looping(text)
    ):
        return None  # silence, noise or doubt: the full window decides
    return [Segment(0.0, duration, text, avg_logprob, no_speech, ratio)]


def _looping(text: str) -> bool:
    """A word or phrase said again straight after itself ("so much rain so much rain",
    "right right"): the decoder looping, not the speaker (a doubled word goes to the full
    window, which is rarely wrong to ask)."""
    words = [w for w in (w.strip(".,!?;:'\"…").lower() for w in text.split()) if w]
    for size in range(1, len(words) // 2 + 1):
        for start in range(len(words) - 2 * size + 1):
            if words[start : start + size] == words[start + size : start + 2 * size]:
                return True
    return False
