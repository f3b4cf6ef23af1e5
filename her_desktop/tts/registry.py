"""Create the speech engine the settings ask for.

``create_tts`` is cheap (no model is loaded; ``load()`` comes later in a worker thread) and
raises :class:`TTSError` / :class:`VoiceNotFound` with a plain message when the engine or voice
is unavailable, so the caller can show text replies and say why there is no voice.
"""

from __future__ import annotations

from her_desktop.config import TTSSettings
from her_desktop.tts.base import TTSEngine, TTSError, VoiceInfo, VoiceNotFound

__all__ = ["create_tts", "installed_voices"]


def create_tts(settings: TTSSettings, *, persona_voice: str = "") -> TTSEngine:
    """The engine for ``settings``.

    ``settings.voice`` "" means the engine's bundled default; then ``persona_voice`` (the
    persona's engine-neutral voice name) is used if this engine has it installed, else the
    default. An explicit ``settings.voice`` that is not installed raises VoiceNotFound.
    """
    voice = settings.voice.strip()
    if settings.engine == "hibari":
        from her_desktop.tts.hibari import HibariEngine

        if not voice and persona_voice.strip():
            try:
                return HibariEngine(persona_voice)
            except VoiceNotFound:
                pass
        return HibariEngine(voice)
    if settings.engine == "piper":
        from her_desktop.tts.piper import PiperEngine

        return PiperEngine(voice)
    from her_desktop.tts.coqui import CoquiEngine

    return CoquiEngine(settings.coqui_model_dir, voice)


def installed_voices(engine: str, settings: TTSSettings | None = None) -> list[VoiceInfo]:
    """The voices of ``engine`` that can be used right now (never downloads; cheap).

    Coqui voices are the speakers of the user's model; without ``settings`` (its folder) or
    before the model is loaded, the folder itself is the one voice.
    """
    if engine == "hibari":
        from her_desktop.tts.hibari import list_voices as hibari_voices

        return [v for v in hibari_voices() if v.installed]
    if engine == "piper":
        from her_desktop.tts.piper import list_voices as piper_voices

        return [v for v in piper_voices() if v.installed]
    if engine == "coqui" and settings is not None:
        from her_desktop.tts.coqui import CoquiEngine

        try:
            return CoquiEngine(settings.coqui_model_dir, settings.voice).voices()
        except TTSError:
            return []
    return []
