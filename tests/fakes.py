"""Fakes for unit tests. Each has a twin test on the real part (see test_dialogue_real.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Sequence

import numpy as np
import numpy.typing as npt

from her_desktop.llm.base import (
    EngineInfo,
    GenerationParams,
    GenerationStats,
    LLMEngine,
    LLMError,
    Message,
)
from her_desktop.stt.base import STTEngine, STTInfo, STTModelError, Transcript
from her_desktop.tts.base import TTSEngine, TTSError, TTSInfo, VoiceInfo


class FakeEngine(LLMEngine):
    """Streams scripted pieces; can fail, stall, or never stop (until the cap or a cancel)."""

    name = "fake"

    def __init__(
        self,
        pieces: Sequence[str] = ("Hello", " there.", " How", " are", " you?"),
        *,
        delay: float = 0.0,
        forever: bool = False,
        fail: LLMError | None = None,
        context_size: int = 4096,
    ) -> None:
        self.pieces = list(pieces)
        self.delay = delay
        self.forever = forever
        self.fail = fail
        self._context = context_size
        self.loaded = 0
        self.calls: list[list[Message]] = []
        self.params: list[GenerationParams] = []
        self.warmups = 0
        self.active = 0

    @property
    def context_size(self) -> int:
        return self._context

    async def load(self) -> None:
        self.loaded += 1

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return sum(len(m.content) // 4 + 4 for m in messages)

    async def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        stats: GenerationStats | None = None,
    ) -> AsyncIterator[str]:
        stats = stats if stats is not None else GenerationStats()
        if params.max_tokens == 1:  # the dialogue's warm-up probe, not a turn
            self.warmups += 1
        else:
            self.calls.append(list(messages))
            self.params.append(params)
        if self.fail is not None:
            raise self.fail
        self.active += 1
        started = time.monotonic()
        forever = self.forever  # a running stream keeps its mode (a test may set the next one's)
        try:
            i = 0
            while True:
                if i >= params.max_tokens:
                    stats.finish_reason = "length"
                    return
                if time.monotonic() - started >= params.deadline_s:
                    stats.finish_reason = "deadline"  # as the real engines: out of time
                    return
                if not forever and i >= len(self.pieces):
                    stats.finish_reason = "stop"
                    return
                await asyncio.sleep(self.delay)
                piece = self.pieces[i % len(self.pieces)]
                stats.tokens += 1
                if stats.first_token_s is None:
                    stats.first_token_s = 0.001
                yield piece
                i += 1
        finally:
            self.active -= 1

    def info(self) -> EngineInfo:
        return EngineInfo(engine="fake", model="fake", context_size=self._context)


# -- voice fakes (twins on the real parts: tests/test_voice_real.py) ----------------------------


class FakeSTT(STTEngine):
    """Returns scripted transcripts in order (the last one repeats); can fail to load."""

    def __init__(self, texts: Sequence[str] = ("hello there",), *, fail: str = "") -> None:
        self.texts = list(texts)
        self.fail = fail
        self.finals = 0
        self.partials = 0
        self._lock = threading.Lock()

    def load(self) -> None:
        if self.fail:
            raise STTModelError(self.fail)

    def transcribe(self, audio: npt.NDArray[np.float32], *, partial: bool = False) -> Transcript:
        self.load()
        with self._lock:
            if partial:
                self.partials += 1
                return Transcript(self.texts[0].split()[0], partial=True)
            text = self.texts[min(self.finals, len(self.texts) - 1)]
            self.finals += 1
        return Transcript(text, "en", audio_s=len(audio) / 16000, decode_s=0.01)

    def info(self) -> STTInfo:
        return STTInfo("fake", "fake", "", "cpu", "int8", "en", True)


class FakeTTS(TTSEngine):
    """A 440 Hz tone, ``seconds_per_word`` long per word, at 16 kHz; can fail."""

    engine_name = "fake"

    def __init__(self, *, seconds_per_word: float = 0.05, fail: str = "") -> None:
        super().__init__()
        self.seconds_per_word = seconds_per_word
        self.fail = fail
        self.spoken: list[str] = []

    @property
    def sample_rate(self) -> int:
        return 16000

    @property
    def voice(self) -> str:
        return "tone"

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo("tone", "Tone", True, "MIT")]

    def _load(self) -> None:
        if self.fail:
            raise TTSError(self.fail)

    def _synthesize_one(self, spoken: str, speed: float) -> npt.ArrayLike:
        self.spoken.append(spoken)
        n = int(16000 * self.seconds_per_word * max(1, len(spoken.split())) / speed)
        return 0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / 16000).astype(np.float32)

    def info(self) -> TTSInfo:
        return TTSInfo("fake", "tone", 16000, "MIT", "", self._loaded)
