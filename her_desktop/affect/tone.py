"""The short tone note the dialogue puts in the prompt: plain data about the user's mood.

Policy: the note never quotes the user's words; it names the apparent feeling, how sure we are
in words, and one line of guidance. No note for a neutral turn (nothing worth saying) unless the
mood has been low; no note when the estimate is unsure (``MIN_CONFIDENCE``). A check-in line is
added only when the user enabled check-ins and a low stretch was detected, and only once per
detection.
"""

from __future__ import annotations

from typing import Final

from her_desktop.affect.base import TextAffect
from her_desktop.affect.tracker import MoodState
from her_desktop.events import EmotionLabel

MIN_CONFIDENCE: Final = 0.45
LOW_MOOD_VALENCE: Final = -0.3

GUIDANCE: Final[dict[EmotionLabel, str]] = {
    "joy": "The user seems happy right now (positive valence); share their warmth.",
    "sadness": "The user seems sad right now (low valence); be gentle and brief.",
    "anger": "The user seems frustrated or angry right now; stay calm, acknowledge it, "
    "do not argue.",
    "fear": "The user seems worried or anxious right now; be steady and reassuring.",
    "surprise": "The user seems surprised right now; respond with interest.",
    "neutral": "",
}

CHECKIN: Final = (
    "Their mood has been low for a while ({why}). If it fits, gently ask how they are doing, "
    "once, with no pressure."
)


def tone_note(
    affect: TextAffect,
    mood: MoodState,
    checkin_reason: str | None,
    *,
    arousal: float | None = None,
) -> str | None:
    """The note for this turn's prompt, or None. ``arousal`` overrides the text's (voice)."""
    arousal = affect.arousal if arousal is None else arousal
    lines: list[str] = []
    if affect.confidence >= MIN_CONFIDENCE and GUIDANCE[affect.label]:
        lines.append(GUIDANCE[affect.label])
        if arousal >= 0.75 and affect.label != "joy":
            lines.append("They sound agitated; keep sentences short.")
    if not lines and mood.session_samples >= 3 and mood.session_valence <= LOW_MOOD_VALENCE:
        lines.append("The user's mood this conversation has been low; keep a gentle tone.")
    if checkin_reason:
        lines.append(CHECKIN.format(why=checkin_reason))
    return " ".join(lines) or None
