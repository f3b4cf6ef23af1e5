"""The voice path on the real engines (twins of the fakes in tests/test_voice_stages.py).

Silero VAD (faster-whisper's ONNX), faster-whisper tiny.en, hibari (the default voice) and,
for the full turn, the default LM in ``her-desktop converse``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from her_desktop.app import attach_voice, build_app, create_stt
from her_desktop.audio.resample import resample
from her_desktop.audio.wav import read_wav, write_wav
from her_desktop.config import Settings
from her_desktop.events import AffectEstimate
from her_desktop.harness import run_voice_turn
from her_desktop.persona import resolve_persona
from her_desktop.voice.file_sink import FileSink
from tests.fakes import FakeEngine
from tests.speech import espeak_wav, padded, requires_espeak

pytestmark = [pytest.mark.slow, requires_espeak]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


async def test_a_spoken_question_is_heard_answered_and_spoken(tmp_path: Path) -> None:
    """Real VAD + Whisper + hibari around a scripted LM: speech in, her voice out."""
    settings = Settings()
    settings.affect.voice_arousal = True  # off by default; the real prosody path still works
    persona = resolve_persona("samantha").persona
    engine = FakeEngine(["Paris is the capital. ", "It is lovely in spring."])
    app = build_app(settings, persona, engine=engine, with_memory=False)
    estimates: list[AffectEstimate] = []

    async def on_affect(event: AffectEstimate) -> None:
        estimates.append(event)

    app.bus.subscribe(AffectEstimate, on_affect, name="test")
    await app.start()
    sink = FileSink()
    voice = await attach_voice(app, microphone=False, sink=sink)
    try:
        question = padded(espeak_wav("What is the capital of France?"), 0.5, 0.0)
        result = await run_voice_turn(app, voice, question)
    finally:
        await app.stop()
    # she heard how it was said, not only the words
    assert [e.source for e in estimates] == ["text+voice"]
    assert not result.problems, result.problems
    assert {"capital", "france"} <= words(result.transcript)
    assert result.reply == "Paris is the capital. It is lovely in spring."
    assert result.heard == result.reply
    assert not result.interrupted
    order = ["final_transcript", "lm_first_token", "first_sentence", "first_audio", "first_played"]
    times = [result.timings[k] for k in order]
    assert times == sorted(times), result.timings
    answer = sink.audio()
    assert sink.sample_rate == 24000
    assert answer.size > 24000
    # her voice, heard back by the recogniser, says what she meant to say
    stt = create_stt(settings)
    heard = stt.transcribe(resample(answer, 24000, 16000)).text
    assert {"paris", "capital", "lovely", "spring"} & words(heard), heard


async def test_silence_and_noise_start_no_turn() -> None:
    settings = Settings()
    persona = resolve_persona("samantha").persona
    engine = FakeEngine(["Hello."])
    app = build_app(settings, persona, engine=engine, with_memory=False)
    await app.start()
    voice = await attach_voice(app, microphone=False, sink=FileSink())
    try:
        rng = np.random.default_rng(3)
        noise = (0.05 * rng.standard_normal(16000 * 2)).astype(np.float32)
        for audio in (np.zeros(16000 * 2, np.float32), noise):
            result = await run_voice_turn(app, voice, audio, timeout_s=5)
            assert not result.reply
    finally:
        await app.stop()
    assert not engine.calls


def test_converse_command_answers_aloud_with_the_default_model(
    tmp_path: Path, default_gguf: Path, real_models: Path
) -> None:
    """``her-desktop converse --in q.wav --out a.wav`` end to end, as a user runs it."""
    question = tmp_path / "question.wav"
    write_wav(question, padded(espeak_wav("What is the capital of France?"), 0.3, 0.0), 16000)
    answer = tmp_path / "answer.wav"
    env = dict(os.environ, HER_DESKTOP_MODELS_DIR=str(real_models))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "her_desktop",
            "converse",
            "--in",
            str(question),
            "--out",
            str(answer),
            "--no-memory",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert {"capital", "france"} <= words(result["transcript"])
    assert "paris" in words(result["reply"])
    for key in ("final_transcript", "lm_first_token", "first_audio", "first_played"):
        assert key in result["timings"]
    samples, rate = read_wav(answer)
    assert rate == 24000
    assert samples.size > rate // 2
    assert float(np.abs(samples).max()) > 0.05
