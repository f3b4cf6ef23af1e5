"""Which text detector to use: the MiniLM head (with the lexicon and prototypes) where the MiniLM
package is installed, else the lexicon.

``create_detector`` may take a couple of seconds when it embeds the prototypes: call it from a
worker thread (``asyncio.to_thread``), never on the event loop.
"""

from __future__ import annotations

import logging

from her_desktop.affect.base import EmotionDetector
from her_desktop.affect.blend import BlendDetector
from her_desktop.affect.text import LexiconDetector

log = logging.getLogger(__name__)


def create_detector(*, use_embeddings: bool = True) -> EmotionDetector:
    """The best text detector available here. Never raises: falls back to the lexicon."""
    lexicon = LexiconDetector()
    if not use_embeddings:
        return lexicon
    try:
        from her_desktop.affect.embedding import PrototypeDetector

        prototypes = PrototypeDetector.create()
    except Exception as exc:  # a broken optional package must not cost the user affect
        log.warning(
            "affect: the MiniLM embeddings could not be loaded (%s); using the lexicon", exc
        )
        return lexicon
    if prototypes is None:
        return lexicon
    try:
        from her_desktop.affect.head import EmotionHead, HeadDetector

        return HeadDetector(lexicon, prototypes, EmotionHead.load())
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("affect: the emotion head could not be loaded (%s); using the blend", exc)
    return BlendDetector(lexicon, prototypes)
