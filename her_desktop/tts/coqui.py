"""Coqui TTS: bring your own model folder (``tts.coqui_model_dir``).

The folder holds a Coqui checkpoint (``model.pth``, ``best_model.pth`` or ``model_file.pth``,
else the only ``.pth`` file) and its ``config.json``. The ``coqui-tts`` package needs torch,
so it is not part of any install: it is imported lazily and its absence is a plain error.
Loaded with the documented API ``TTS(model_path=..., config_path=...)``; for a multi-speaker
model, ``tts.voice`` names the speaker (empty: the model's first speaker).
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

__all__ = ["LICENCE", "NOT_INSTALLED", "CoquiEngine", "find_checkpoint"]

NOT_INSTALLED = "Coqui TTS is not installed: pip install coqui-tts torch==2.13.0 six"
LICENCE = "coqui-tts: MPL-2.0; the model: see its own licence"
_CHECKPOINT_NAMES = ("model.pth", "best_model.pth", "model_file.pth", "checkpoint.pth")
_DEFAULT_RATE = 22_050


def find_checkpoint(folder: Path) -> tuple[Path, Path]:
    """The (checkpoint, config.json) of a Coqui model folder; TTSError naming what is missing."""
    if not folder.is_dir():
        raise TTSError(
            f"the Coqui model folder {folder} does not exist — set tts.coqui_model_dir to a "
            "folder with model.pth (or best_model.pth) and config.json"
        )
    config = folder / "config.json"
    checkpoint = next((folder / n for n in _CHECKPOINT_NAMES if (folder / n).is_file()), None)
    if checkpoint is None:
        candidates = sorted(folder.glob("*.pth"))
        checkpoint = candidates[0] if len(candidates) == 1 else None
    if checkpoint is None or not config.is_file():
        missing = " and ".join(
            part
            for part, ok in (
                ("model.pth", checkpoint is not None),
                ("config.json", config.is_file()),
            )
            if not ok
        )
        raise TTSError(
            f"the Coqui model folder {folder} has no {missing} — put the model's checkpoint "
            "(model.pth or best_model.pth) and its config.json there"
        )
    return checkpoint, config


def _sample_rate_of(config: Path) -> int:
    try:
        audio = json.loads(config.read_text(encoding="utf-8")).get("audio", {})
        rate = audio.get("output_sample_rate") or audio.get("sample_rate") or _DEFAULT_RATE
        return int(rate)
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        raise TTSError(
            f"the Coqui config {config} is not readable JSON ({exc}) — use the config.json "
            "that came with the model"
        ) from exc


class CoquiEngine(TTSEngine):
    """A Coqui TTS model from a local folder. No download ever happens."""

    engine_name = "coqui"

    def __init__(self, model_dir: str, voice: str = "") -> None:
        super().__init__()
        if not model_dir.strip():
            raise TTSError(
                "the Coqui engine needs a model folder — set tts.coqui_model_dir to a folder "
                "with model.pth (or best_model.pth) and config.json, or pick another engine"
            )
        self._folder = Path(model_dir).expanduser()
        self._checkpoint, self._config = find_checkpoint(self._folder)
        self._rate = _sample_rate_of(self._config)
        self._voice = voice.strip()
        self._tts: Any = None

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def voice(self) -> str:
        return self._voice

    def _speakers(self) -> list[str]:
        if self._tts is None:
            return []
        speakers = getattr(self._tts, "speakers", None) or []
        return [str(s) for s in speakers]

    def voices(self) -> list[VoiceInfo]:
        speakers = self._speakers()
        if speakers:
            return [VoiceInfo(s, s, True, LICENCE) for s in speakers]
        return [VoiceInfo(self._voice, f"Your Coqui model ({self._folder.name})", True, LICENCE)]

    def info(self) -> TTSInfo:
        return TTSInfo(
            engine="coqui",
            voice=self._voice,
            sample_rate=self._rate,
            licence=LICENCE,
            model_path=str(self._checkpoint),
            loaded=self.loaded,
        )

    def _load(self) -> None:
        if importlib.util.find_spec("TTS") is None:
            raise TTSError(NOT_INSTALLED)
        try:
            api = importlib.import_module("TTS.api")
        except ImportError as exc:
            raise TTSError(f"{NOT_INSTALLED} ({exc})") from exc
        tts = api.TTS(
            model_path=str(self._checkpoint), config_path=str(self._config), progress_bar=False
        )
        synthesizer = getattr(tts, "synthesizer", None)
        rate = getattr(synthesizer, "output_sample_rate", None)
        if rate:
            self._rate = int(rate)
        self._tts = tts
        speakers = self._speakers()
        if self._voice and speakers and self._voice not in speakers:
            self._tts = None
            raise VoiceNotFound(
                "coqui", self._voice, speakers, 'set tts.voice to one of these or to ""'
            )
        if not self._voice and speakers:
            self._voice = speakers[0]
        self._synthesize_one("Hi.", 1.0)  # first-run warm-up, so the first sentence is not slow

    def _synthesize_one(self, spoken: str, speed: float) -> npt.ArrayLike:
        kwargs: dict[str, Any] = {"text": spoken, "split_sentences": False}
        if self._voice and self._speakers():
            kwargs["speaker"] = self._voice
        if speed != 1.0:
            try:
                wav = self._tts.tts(speed=speed, **kwargs)
            except TypeError:  # this model's API takes no speed: speak at its own pace
                wav = self._tts.tts(**kwargs)
        else:
            wav = self._tts.tts(**kwargs)
        return np.asarray(wav, dtype=np.float32)
