"""hibari: the default voice (hibari-tts 0.2.1, Apache-2.0; 24 kHz, about 8 MB, fast on one core).

Only voices already on disk are used: "heart" ships inside the wheel; the other hibari voices
(emma, fenrir, fable, kore) are downloaded by hibari itself on first use, which this engine
never triggers: they count as installed only when a copy already sits in hibari's cache folder
(``HIBARI_HOME`` or the user cache). Asking for one that is not there raises
:class:`VoiceNotFound`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt

from her_desktop.tts.base import TTSEngine, TTSError, TTSInfo, VoiceInfo, VoiceNotFound

__all__ = ["DEFAULT_VOICE", "LICENCE", "SAMPLE_RATE", "HibariEngine", "list_voices"]

DEFAULT_VOICE = "heart"
SAMPLE_RATE = 24_000
LICENCE = "Apache-2.0"


def _registry() -> dict[str, dict[str, Any]]:
    try:
        from hibari import voices
    except ImportError as exc:
        raise TTSError(
            "the hibari voice is not installed — reinstall her-desktop "
            "(pip install hibari-tts==0.2.1)"
        ) from exc
    registry: dict[str, dict[str, Any]] = voices.VOICES
    return registry


def _installed_path(name: str) -> str | None:
    """The voice's model file if it is on disk; never downloads."""
    from hibari import voices

    try:
        path: str = voices.voice_path(name, download_missing=False)
    except (FileNotFoundError, ValueError):
        return None
    return path if os.path.isfile(path) else None


def list_voices() -> list[VoiceInfo]:
    """Every hibari voice, each marked installed (on disk) or not; never downloads."""
    out = []
    for name, meta in _registry().items():
        installed = _installed_path(name) is not None
        label = f"{name.capitalize()} ({meta.get('accent', '')} {meta.get('gender', '')})"
        out.append(
            VoiceInfo(
                id=name,
                name=label if installed else f"{label}, not installed",
                installed=installed,
                licence=LICENCE,
                language=str(meta.get("language", "en-US")),
            )
        )
    return out


def _default_threads() -> int:
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class HibariEngine(TTSEngine):
    """hibari text-to-speech. ``voice`` "" means the bundled default ("heart")."""

    engine_name = "hibari"

    def __init__(self, voice: str = "", *, threads: int | None = None) -> None:
        super().__init__()
        registry = _registry()
        name = voice.strip() or DEFAULT_VOICE
        installed = [v.id for v in list_voices() if v.installed]
        if name not in registry:
            raise VoiceNotFound(
                "hibari",
                name,
                installed,
                f'hibari has no voice by that name; set tts.voice to "" (the default, '
                f"{DEFAULT_VOICE}) or one of the installed voices",
            )
        path = _installed_path(name)
        if path is None:
            from hibari import voices

            raise VoiceNotFound(
                "hibari",
                name,
                installed,
                f'her_desktop never downloads voices; set tts.voice to "" (the default, '
                f"{DEFAULT_VOICE}), or copy {registry[name]['file']} into {voices.cache_dir()}",
            )
        self._voice = name
        self._model_path = path
        self._threads = threads if threads is not None else _default_threads()
        self._tts: Any = None

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def voice(self) -> str:
        return self._voice

    def voices(self) -> list[VoiceInfo]:
        return list_voices()

    def info(self) -> TTSInfo:
        return TTSInfo(
            engine="hibari",
            voice=self._voice,
            sample_rate=SAMPLE_RATE,
            licence=LICENCE,
            model_path=self._model_path,
            loaded=self.loaded,
        )

    def _load(self) -> None:
        from hibari import Hibari

        tts = Hibari(voice=self._voice, model=self._model_path, threads=self._threads)
        tts.phonemize("Hi.")  # loads the lexicon, tagger and out-of-vocabulary net now
        tts("Hi.")  # first-run warm-up of onnxruntime, so the first sentence is not slow
        self._tts = tts

    def _synthesize_one(self, spoken: str, speed: float) -> npt.ArrayLike:
        audio: npt.ArrayLike = self._tts(spoken, speed=speed)
        return np.asarray(audio, dtype=np.float32)
