"""What the dialogue calls around each turn: estimate, track, publish, and suggest a tone.

``AffectService`` implements ``TurnContextProvider``. Before each reply it:

1. estimates the turn's emotion from the text (in a worker thread: the blended detector takes
   ~15 ms) and, when the turn's audio was handed over with ``set_turn_audio``, adds the voice's
   arousal offset (``source="text+voice"``);
2. publishes ``AffectEstimate``, records a ``MoodSample`` in the tracker, publishes
   ``MoodUpdate`` and any ``MoodChange`` the sample completes;
3. returns a short tone note for the prompt (``tone.tone_note``) — data about the user's mood,
   never their words — with a gentle check-in suggestion only when check-ins are enabled and a
   low stretch was detected.

After the reply, only when an ``LMRefiner`` was given: the LM rates the turn (grammar-constrained
JSON, validated and clamped) and an ``AffectEstimate`` with ``source="lm"`` is published for the
GUI and the logs; the tracker keeps the fast estimate (the mood must not depend on whether the
LM had time).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from her_desktop.affect.base import EmotionDetector, TextAffect, clamp
from her_desktop.affect.detectors import create_detector
from her_desktop.affect.history import MoodSample
from her_desktop.affect.prosody import ProsodyResult, VoiceBaseline, analyze
from her_desktop.affect.refine import LMRefiner
from her_desktop.affect.tone import tone_note
from her_desktop.affect.tracker import Clock, MoodTracker
from her_desktop.bus import Bus
from her_desktop.events import AffectEstimate
from her_desktop.llm.base import LLMError

log = logging.getLogger(__name__)

MAX_PENDING_AUDIO = 4
"""Audio of at most this many turns waits for its text (older turns are forgotten)."""


@dataclass(frozen=True, slots=True)
class _Audio:
    samples: npt.NDArray[np.float32]
    sample_rate: int


class AffectService:
    """The affect ``TurnContextProvider``: see the module docstring."""

    name = "affect"

    def __init__(
        self,
        bus: Bus,
        detector: EmotionDetector,
        tracker: MoodTracker,
        *,
        checkins_enabled: bool,
        clock: Clock = time.time,
        refiner: LMRefiner | None = None,
    ) -> None:
        self.bus = bus
        self.detector = detector
        self.tracker = tracker
        self.checkins_enabled = checkins_enabled
        self.clock = clock
        self.refiner = refiner
        self.voice_baseline = VoiceBaseline()
        self._audio: OrderedDict[int, _Audio] = OrderedDict()
        self._checkin_reason: str | None = None

    async def use_best_detector(
        self, factory: Callable[[], EmotionDetector] = create_detector
    ) -> str:
        """Swap in the best detector available here (the MiniLM blend where its package is
        installed), built in a worker thread: loading it takes seconds (longer on a cold disk),
        and the current detector keeps serving turns meanwhile. Returns the detector's name."""
        detector = await asyncio.to_thread(factory)
        self.detector = detector
        log.info("affect: using the %s detector", detector.name)
        return detector.name

    def set_turn_audio(self, turn_id: int, samples: npt.ArrayLike, sample_rate: int) -> None:
        """Hand over the audio of a voice turn (before its ``before_reply``)."""
        self._audio[turn_id] = _Audio(np.asarray(samples, dtype=np.float32), int(sample_rate))
        while len(self._audio) > MAX_PENDING_AUDIO:
            self._audio.popitem(last=False)

    async def before_reply(self, turn_id: int, user_text: str) -> str | None:
        audio = self._audio.pop(turn_id, None)
        affect, voice = await asyncio.to_thread(self._estimate, user_text, audio)
        arousal = affect.arousal
        source: Literal["text", "text+voice"] = "text"
        if voice is not None and voice.features.has_speech:
            arousal = clamp(arousal + voice.arousal_adjustment, 0.0, 1.0)
            source = "text+voice"
            self.voice_baseline = self.voice_baseline.updated(voice.features)
        self.bus.publish_nowait(
            AffectEstimate(
                turn_id=turn_id,
                label=affect.label,
                valence=affect.valence,
                arousal=arousal,
                confidence=affect.confidence,
                scores=tuple((e, round(p, 4)) for e, p in affect.probs),
                source=source,
            )
        )
        now = self.clock()
        changes = self.tracker.add(
            MoodSample(now, affect.valence, arousal, affect.label, turn_id=turn_id)
        )
        mood = self.tracker.state(now)
        self.bus.publish_nowait(mood.as_event())
        for change in changes:
            self.bus.publish_nowait(change)
            if change.kind in ("low_evenings", "sharp_drop"):
                self._checkin_reason = _why(change.kind)
        reason = None
        if self.checkins_enabled and self._checkin_reason is not None:
            reason, self._checkin_reason = self._checkin_reason, None
        return tone_note(affect, mood, reason, arousal=arousal)

    async def after_reply(self, turn_id: int, user_text: str, reply_text: str) -> None:
        if self.refiner is None or not user_text.strip():
            return
        try:
            rating = await self.refiner.rate(user_text)
        except LLMError as exc:
            log.info("affect: LM refinement skipped: %s", exc)
            return
        if rating is None:
            log.info("affect: the LM's rating was not usable; keeping the fast estimate")
            return
        self.bus.publish_nowait(
            AffectEstimate(
                turn_id=turn_id,
                label=rating.label,
                valence=rating.valence,
                arousal=rating.arousal,
                confidence=rating.confidence,
                scores=tuple((e, round(p, 4)) for e, p in rating.probs),
                source="lm",
            )
        )

    def _estimate(self, text: str, audio: _Audio | None) -> tuple[TextAffect, ProsodyResult | None]:
        affect = self.detector.detect(text)
        voice = None
        if audio is not None:
            try:
                voice = analyze(audio.samples, audio.sample_rate, self.voice_baseline)
            except Exception:  # odd audio must never cost the turn its text estimate
                log.exception("affect: prosody analysis failed")
        return affect, voice


def _why(kind: str) -> str:
    return {
        "low_evenings": "several low evenings in a row",
        "sharp_drop": "much lower than usual today",
    }.get(kind, "a low stretch")
