"""What the dialogue calls around each turn: estimate, track, publish, and suggest a tone.

``AffectService`` implements ``TurnContextProvider``. Before each reply it:

1. estimates the turn's emotion from the text (in a worker thread: the blended detector takes
   ~15 ms) and, only with ``voice_arousal`` (off by default: measured no help, see
   ``config.AffectSettings.voice_arousal``) when the turn's audio was handed over with
   ``set_turn_audio``, adds the voice's arousal offset (``source="text+voice"``);
2. publishes ``AffectEstimate``, records a ``MoodSample`` in the tracker, publishes
   ``MoodUpdate`` and any ``MoodChange`` the sample completes;
3. returns a short tone note for the prompt (``tone.tone_note``) — data about the user's mood,
   never their words — with a gentle check-in suggestion only when check-ins are enabled and a
   low stretch was detected.

After the reply, only when an ``LMLabeler`` was given (``lm_label``): the LM classifies the turn
(the six labels' log-probabilities in one forward pass on a side context, so the conversation's
cached prompt stays), ``combine`` mixes that with the fast estimate, and the refined estimate is
published (``AffectEstimate`` with ``source="lm"``) and replaces the turn's sample in the tracker
and the mood timeline (``MoodTracker.revise``), followed by a fresh ``MoodUpdate``. The LM work
never delays a reply: it runs after the reply, off the event loop, and gives way to the next
reply (``BusyError``: the fast estimate stays). An engine that cannot score labels turns the
refinement off for the session.
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

from her_desktop.affect.base import EmotionDetector, TextAffect
from her_desktop.affect.combine import Pool, calibration_for, combine
from her_desktop.affect.detectors import create_detector
from her_desktop.affect.history import MoodSample
from her_desktop.affect.lm_label import LMLabeler
from her_desktop.affect.prosody import ProsodyResult, VoiceBaseline, analyze
from her_desktop.affect.tone import tone_note
from her_desktop.affect.tracker import Clock, MoodState, MoodTracker
from her_desktop.bus import Bus
from her_desktop.events import AffectEstimate, MoodChange, UserText
from her_desktop.llm.base import BusyError, LLMError, NotSupportedError
from her_desktop.numeric import clamp

log = logging.getLogger(__name__)

MAX_PENDING_AUDIO = 4
"""Audio of at most this many turns waits for its text (older turns are forgotten)."""
WARM_TRIES = 30
WARM_PAUSE_S = 5.0
MAX_PENDING_TURNS = 4
"""The fast estimates of at most this many turns wait for their refinement."""
CLOSE_TIMEOUT_S = 2.0
"""``close`` waits at most this long for the estimates still being made."""


@dataclass(frozen=True, slots=True)
class _Audio:
    samples: npt.NDArray[np.float32]
    sample_rate: int


@dataclass(frozen=True, slots=True)
class _Turn:
    """A turn's fast estimate, what the tracker recorded, the voice's arousal offset, and the
    combination trained for the fast detector that made the estimate."""

    fast: TextAffect
    sample: MoodSample
    voice_arousal: float
    calibration: Pool


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
        labeler: LMLabeler | None = None,
        calibration: Pool | None = None,
        voice_arousal: bool = False,
    ) -> None:
        self.bus = bus
        self.detector = detector
        self.tracker = tracker
        self.checkins_enabled = checkins_enabled
        self.clock = clock
        self.labeler = labeler
        self.calibration = calibration
        self.voice_arousal = voice_arousal
        self.voice_baseline = VoiceBaseline()
        self._audio: OrderedDict[int, _Audio] = OrderedDict()
        self._turns: OrderedDict[int, _Turn] = OrderedDict()
        self._tracker_lock = asyncio.Lock()
        self._estimating: set[asyncio.Future[tuple[TextAffect, float, float]]] = set()
        """Estimates still being made (kept so a turn whose reply stopped waiting gets it)."""
        self._checkin_reason: str | None = None
        self._previewed: tuple[EmotionDetector, str, TextAffect] | None = None
        """(detector, words, its estimate) of the last preview (``preview_notes``)"""

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

    def listen_to_voice(self) -> None:
        """Hear how spoken turns were said: each ``UserText`` that carries its audio hands it
        over (``set_turn_audio``) before the dialogue asks for this turn's estimate."""
        self.bus.subscribe(UserText, self._on_user_text, name="affect:voice")

    async def _on_user_text(self, event: UserText) -> None:
        if event.audio is not None:
            self.set_turn_audio(event.turn_id, event.audio.samples, event.audio.rate)

    def set_turn_audio(self, turn_id: int, samples: npt.ArrayLike, sample_rate: int) -> None:
        """Hand over the audio of a voice turn (before its ``before_reply``); ignored unless
        ``voice_arousal``."""
        if not self.voice_arousal:
            return
        self._audio[turn_id] = _Audio(np.asarray(samples, dtype=np.float32), int(sample_rate))
        while len(self._audio) > MAX_PENDING_AUDIO:
            self._audio.popitem(last=False)

    async def before_reply(self, turn_id: int, user_text: str) -> str | None:
        audio = self._audio.pop(turn_id, None)
        detector = self.detector
        # The estimate is published even when the dialogue stops waiting for this note (its
        # budget ran out on a loaded machine): the reply's check that a hard moment is
        # acknowledged first still reads it when it comes, before the reply's first sentence.
        estimate = asyncio.create_task(
            self._estimated(turn_id, detector, user_text, audio), name=f"affect-estimate-{turn_id}"
        )
        self._estimating.add(estimate)
        estimate.add_done_callback(self._estimating.discard)
        affect, arousal, offset = await asyncio.shield(estimate)
        now = self.clock()
        sample = MoodSample(now, affect.valence, arousal, affect.label, turn_id=turn_id)
        async with self._tracker_lock:  # the history may be SQLite: off the loop, in order
            changes = await asyncio.to_thread(self.tracker.add, sample)
        if self.labeler is not None:
            calibration = self.calibration or calibration_for(detector.name)
            self._turns[turn_id] = _Turn(affect, sample, offset, calibration)
            while len(self._turns) > MAX_PENDING_TURNS:
                self._turns.popitem(last=False)
        mood = self._publish_mood(now, changes)
        reason = None
        if self.checkins_enabled and self._checkin_reason is not None:
            reason, self._checkin_reason = self._checkin_reason, None
        return tone_note(affect, mood, reason, arousal=arousal)

    def preview_notes(self, user_text: str) -> str | None:
        """The tone note ``before_reply`` would give for ``user_text`` now, from the text alone
        (the voice is heard when the turn ends), with nothing published, tracked or consumed
        (``turn_context.NotesPreview``; a worker thread). The estimate is kept for the turn
        that ends with these words."""
        detector = self.detector
        affect = detector.detect(user_text)
        self._previewed = (detector, user_text, affect)
        sample = MoodSample(self.clock(), affect.valence, affect.arousal, affect.label)
        mood = self.tracker.state_after(sample)
        reason = self._checkin_reason if self.checkins_enabled else None
        return tone_note(affect, mood, reason, arousal=affect.arousal)

    async def warm_labeler(self, tries: int = WARM_TRIES, pause_s: float = WARM_PAUSE_S) -> None:
        """Have the LM read the labeler's fixed prompt while the app is idle (at start), so the
        first refinement only reads its message. It gives way to every reply and tries again
        after ``pause_s`` (what it read is kept); never raises."""
        for _ in range(tries):
            labeler = self.labeler
            if labeler is None:
                return
            try:
                await labeler.warm()
                return
            except NotSupportedError as exc:
                log.info("affect: no LM refinement with this engine: %s", exc)
                self.labeler = None
                return
            except BusyError:
                await asyncio.sleep(pause_s)
            except LLMError as exc:
                log.info("affect: the LM labeler could not get ready: %s", exc)
                return

    async def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Let the estimates still being made finish (published) within ``timeout_s``, then
        cancel the rest: a detector call running in its worker thread cannot be stopped, so it
        is left to end on its own and its result is dropped. Call it once the dialogue has
        stopped (no new turn asks for an estimate) and before the bus closes."""
        pending = set(self._estimating)
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=timeout_s)
        for task in late:
            task.cancel()
        if late:
            log.info("affect: %d estimate(s) still being made at close: dropped", len(late))
            await asyncio.wait(late, timeout=timeout_s)  # the task ends at its next step
        for task in pending:
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.warning("affect: an estimate failed: %r", task.exception())

    async def after_reply(self, turn_id: int, user_text: str, reply_text: str) -> None:
        turn = self._turns.pop(turn_id, None)
        if self.labeler is None or turn is None or not user_text.strip():
            return
        try:
            probs = await self.labeler.probabilities(user_text)
        except NotSupportedError as exc:
            log.info("affect: no LM refinement with this engine: %s", exc)
            self.labeler = None
            return
        except LLMError as exc:  # BusyError: it gave way to a reply; the fast estimate stays
            log.info("affect: LM refinement skipped: %s", exc)
            return
        refined = combine(turn.fast, probs, turn.calibration)  # one LM pass, surprise included
        arousal = clamp(refined.arousal + turn.voice_arousal, 0.0, 1.0)
        self._publish_estimate(turn_id, refined, arousal, "lm")
        old = turn.sample
        new = MoodSample(old.ts, refined.valence, arousal, refined.label, turn_id=old.turn_id)
        async with self._tracker_lock:
            changes = await asyncio.to_thread(self.tracker.revise, old, new)
        self._publish_mood(self.clock(), changes)

    async def _estimated(
        self, turn_id: int, detector: EmotionDetector, user_text: str, audio: _Audio | None
    ) -> tuple[TextAffect, float, float]:
        """The turn's estimate (text, and voice when heard), published: (affect, arousal,
        the voice's arousal offset)."""
        affect, voice = await asyncio.to_thread(self._estimate, detector, user_text, audio)
        arousal = affect.arousal
        offset = 0.0
        source: Literal["text", "text+voice"] = "text"
        if voice is not None and voice.features.has_speech:
            offset = voice.arousal_adjustment
            arousal = clamp(arousal + offset, 0.0, 1.0)
            source = "text+voice"
            self.voice_baseline = self.voice_baseline.updated(voice.features)
        self._publish_estimate(turn_id, affect, arousal, source)
        return affect, arousal, offset

    def _publish_estimate(
        self,
        turn_id: int,
        affect: TextAffect,
        arousal: float,
        source: Literal["text", "text+voice", "lm"],
    ) -> None:
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

    def _publish_mood(self, now: float, changes: list[MoodChange]) -> MoodState:
        mood = self.tracker.state(now)
        self.bus.publish_nowait(mood.as_event())
        for change in changes:
            self.bus.publish_nowait(change)
            if change.kind in ("low_evenings", "sharp_drop"):
                self._checkin_reason = _why(change.kind)
        return mood

    def _estimate(
        self, detector: EmotionDetector, text: str, audio: _Audio | None
    ) -> tuple[TextAffect, ProsodyResult | None]:
        previewed = self._previewed
        if previewed is not None and previewed[0] is detector and previewed[1] == text:
            affect = previewed[2]  # these very words were estimated while the user spoke
        else:
            affect = detector.detect(text)
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
