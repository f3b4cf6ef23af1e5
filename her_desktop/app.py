"""Builds the stages from the settings, starts them, and stops them in a fixed order.

The app's engines are built from the configuration here (the LM in ``make_llm``, speech
recognition in ``create_stt``, her voice through ``tts/registry.py``); stages receive them
ready-made (unloaded: they load lazily on first use, after the model file is verified) and
wire themselves through small public methods (``DialogueStage.consult`` / ``shape_with`` /
``speak_aloud``, ``AffectService.listen_to_voice``). The settings dialog's "test the
connection" builds a throwaway remote engine of its own; nothing else does.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from her_desktop.affect.detectors import create_detector
from her_desktop.affect.history import InMemoryMoodHistory
from her_desktop.affect.lm_label import LMLabeler
from her_desktop.affect.service import AffectService
from her_desktop.affect.text import LexiconDetector
from her_desktop.affect.tracker import MoodTracker
from her_desktop.bus import Bus
from her_desktop.config import DEFAULT_MODEL_ID, Settings
from her_desktop.dialogue import DialogueStage
from her_desktop.events import Notice
from her_desktop.feedback.service import StyleService
from her_desktop.llm.base import GenerationParams, LLMEngine, ModelLoadError
from her_desktop.memory.embeddings import create_embedder
from her_desktop.memory.mood import StoreMoodHistory
from her_desktop.memory.service import MemoryService
from her_desktop.memory.store import MemoryStore
from her_desktop.memory.store_file import MemoryStoreError
from her_desktop.persona import Persona
from her_desktop.stage import Stage

if TYPE_CHECKING:
    from her_desktop.stt.base import STTEngine
    from her_desktop.tts.base import TTSEngine
    from her_desktop.voice.listener import ListenStage
    from her_desktop.voice.ports import AudioSink
    from her_desktop.voice.speaker import SpeakStage
    from her_desktop.voice.transcriber import TranscribeStage

log = logging.getLogger(__name__)

SHUTDOWN_DEADLINE_S = 3.0


def generation_params(settings: Settings) -> GenerationParams:
    llm = settings.llm
    return GenerationParams(
        max_tokens=llm.max_tokens,
        temperature=llm.temperature,
        top_p=llm.top_p,
        min_p=llm.min_p,
        repeat_penalty=llm.repeat_penalty,
        presence_penalty=llm.presence_penalty,
        deadline_s=llm.deadline_s,
    )


def make_llm(settings: Settings) -> LLMEngine:
    """The LM engine the settings ask for. Raises ``LLMError`` with a plain message."""
    llm = settings.llm
    if llm.engine == "remote":
        from her_desktop.llm.remote import RemoteEngine

        key = os.environ.get(llm.remote.api_key_env) if llm.remote.api_key_env else None
        return RemoteEngine(
            llm.remote.url,
            model=llm.remote.model,
            api_key=key,
            timeout_s=llm.remote.timeout_s,
            context_size=llm.n_ctx,
        )
    from her_desktop.llm.llamacpp import LlamaCppEngine
    from her_desktop.models import ModelNotFound, resolve_model

    try:
        resolved = resolve_model(llm.model)
    except ModelNotFound as exc:
        raise ModelLoadError(str(exc)) from exc
    path = resolved.path
    if llm.model == DEFAULT_MODEL_ID and llm.prefer_installed and llm.n_gpu_layers != 0:
        from her_desktop.models.discover import DEFAULT_LM_PARAMETERS, installed_default

        better = installed_default(llm.model_folders, minimum_parameters=DEFAULT_LM_PARAMETERS)
        if better is not None:
            log.info("app: with a GPU, using %s instead of the default model", better.display)
            path = better.path
    return LlamaCppEngine(
        path,
        n_ctx=llm.n_ctx,
        n_gpu_layers=llm.n_gpu_layers,
        n_threads=llm.n_threads,
    )


def create_stt(settings: Settings) -> STTEngine:
    """The speech recogniser the settings ask for. A model that cannot be found gives an
    engine that reports the problem when used, so the rest of the app still starts."""
    from her_desktop.stt.base import STTModelError
    from her_desktop.stt.models import resolve_stt_model
    from her_desktop.stt.whisper import WhisperEngine

    stt = settings.stt
    try:
        folder = resolve_stt_model(stt.model)
    except STTModelError as exc:
        from her_desktop.stt.unavailable import UnavailableSTT

        return UnavailableSTT(stt.model, str(exc))
    return WhisperEngine(
        folder,
        n_threads=stt.n_threads,
        beam_size=stt.beam_size,
        language=stt.language,
        model_name=stt.model,
    )


def create_tts_engine(settings: Settings, persona_voice: str = "") -> TTSEngine:
    """Her voice, as the settings ask (a missing voice is reported when it first loads)."""
    from her_desktop.tts.registry import create_tts

    return create_tts(settings.tts, persona_voice=persona_voice)


def _lm_on_gpu(engine: LLMEngine) -> bool:
    info = engine.info()
    return info.engine == "remote" or (info.gpu_offload_supported and info.gpu_layers != 0)


def _wanted(choice: str, engine: LLMEngine) -> bool:
    """An "auto"/"on"/"off" setting for optional LM work after the reply."""
    return choice == "on" or (choice == "auto" and _lm_on_gpu(engine))


@dataclass
class App:
    """The running app: one bus and its stages, started in order and stopped in reverse.

    Memory and affect are services the dialogue consults each turn. Affect is ready at once
    (a lexicon); the sentence-embedding model and the memory index load in the background, and
    memory joins the conversation when it is ready (``memory_ready``): the first turns never
    wait for them.
    """

    bus: Bus
    engine: LLMEngine
    dialogue: DialogueStage
    settings: Settings
    stages: list[Stage] = field(default_factory=list)
    store: MemoryStore | None = None
    memory: MemoryService | None = None
    affect: AffectService | None = None
    memory_ready: asyncio.Event = field(default_factory=asyncio.Event)
    startup_notices: list[Notice] = field(default_factory=list)
    """Problems found while building (memory off…): published by ``start()``; a front end that
    subscribes after ``start()`` shows them itself."""
    persona: Persona | None = None
    """who she is (her voice and pace come from it)"""
    open_store: bool = False
    """open the memory store in ``start()``, in a worker thread (an integrity check or a
    migration never blocks the event loop), and restore the mood history from it"""
    style: StyleService | None = None
    """how the user asked her to talk (``feedback``): shapes each reply and her pace"""
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        if self.open_store and self.store is None:
            self.store = await asyncio.to_thread(_open_store, self.startup_notices)
            if self.store is not None and self.affect is not None:
                history = StoreMoodHistory(self.store)
                self.affect.tracker = await asyncio.to_thread(MoodTracker.restore, history)
        if self.style is not None:  # the user's style rules live in the memory store
            self.style.use_store(self.store, remember=self.settings.privacy.memory_enabled)
            await self.style.refresh()
        for stage in self.stages:
            await stage.start()
        for notice in self.startup_notices:
            self.bus.publish_nowait(notice)
        if self.affect is not None:
            self.dialogue.consult(self.affect)
            self.affect.listen_to_voice()
            self._spawn(self._upgrade_affect(), "affect-detector")
        if self.store is not None:
            self._spawn(self._start_memory(), "memory")
        else:
            self.memory_ready.set()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=f"app:{name}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _upgrade_affect(self) -> None:
        assert self.affect is not None
        use = self.settings.affect.use_embeddings
        try:
            await self.affect.use_best_detector(lambda: create_detector(use_embeddings=use))
        except Exception as exc:  # the lexicon keeps working
            log.warning("affect: keeping the lexicon detector: %s", exc)
        await self.affect.warm_labeler()

    async def _start_memory(self) -> None:
        assert self.store is not None
        try:
            embedder = await asyncio.to_thread(create_embedder, self.settings.memory.embeddings)
            choice = self.settings.memory.lm_extraction
            background = choice != "off" and self.engine.works_in_background
            use_lm = background or _wanted(choice, self.engine)
            memory = MemoryService(
                self.bus,
                self.store,
                embedder,
                engine=self.engine if use_lm else None,
                enabled=self.settings.privacy.memory_enabled,
            )
            await memory.start()
            if background:  # the LM reads each turn while she is idle, never before a reply
                memory.consolidate_in_background()
        except Exception as exc:  # the conversation goes on without memory
            log.exception("memory failed to start")
            await self.bus.publish(
                Notice("memory", f"Memory is off for now: it could not start ({exc}).")
            )
            return
        finally:
            self.memory_ready.set()
        self.memory = memory
        self.dialogue.consult(memory, first=True)

    async def settled(self, timeout_s: float) -> bool:
        """Wait (at most ``timeout_s``) for the start-up work in the background (the affect
        detector and labeler, memory) to finish; True when it has. For benches that measure
        conversations, not start-up."""
        pending = list(self._background)
        if not pending:
            return True
        _, still = await asyncio.wait(pending, timeout=timeout_s)
        return not still

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for stage in reversed(self.stages):
            await stage.stop()
        if self.affect is not None:  # after the dialogue: no turn asks for an estimate now
            await self.affect.close()  # a late estimate is still published, or dropped
        await self.bus.close(deadline=SHUTDOWN_DEADLINE_S)
        if self.memory is not None:
            await self.memory.close()  # the last turns are written before the store closes
        await self.engine.close()
        if self.store is not None:
            history = self.affect.tracker.history if self.affect is not None else None
            if isinstance(history, StoreMoodHistory):
                await asyncio.to_thread(history.close)
            await asyncio.to_thread(self.store.close)


def _open_store(notices: list[Notice]) -> MemoryStore | None:
    try:
        return MemoryStore.open()
    except MemoryStoreError as exc:  # nobody is subscribed yet: App.start() publishes it
        notices.append(Notice("memory", f"Memory is off for now: {exc}"))
        return None


def build_app(
    settings: Settings,
    persona: Persona,
    *,
    engine: LLMEngine | None = None,
    with_memory: bool = True,
) -> App:
    """Wire the app. Call inside the running event loop. ``engine`` overrides the configured
    LM (tests, benchmarks); ``with_memory=False`` keeps nothing on disk."""
    bus = Bus()
    llm = engine if engine is not None else make_llm(settings)
    dialogue = DialogueStage(
        bus,
        llm,
        system_prompt=persona.system_prompt(),
        params=generation_params(settings),
        own_name=persona.name,
    )
    notices: list[Notice] = []
    style = StyleService(None)  # its store is opened in start()
    dialogue.shape_with(style)
    affect = AffectService(
        bus,
        LexiconDetector(),
        MoodTracker.restore(InMemoryMoodHistory()),  # the stored one replaces it in start()
        checkins_enabled=settings.privacy.checkins_enabled,
        labeler=LMLabeler(llm) if settings.affect.lm_refine != "off" else None,
        voice_arousal=settings.affect.voice_arousal,
    )
    return App(
        bus=bus,
        engine=llm,
        dialogue=dialogue,
        settings=settings,
        stages=[dialogue],
        open_store=with_memory,
        affect=affect,
        persona=persona,
        style=style,
        startup_notices=notices,
    )


@dataclass
class Voice:
    """The voice stages of a running app (see ``attach_voice``)."""

    listener: ListenStage
    transcriber: TranscribeStage
    speaker: SpeakStage
    sink: AudioSink


def listening_stages(
    bus: Bus,
    settings: Settings,
    vad: Any,
    stt: STTEngine,
    *,
    echo: Any = None,
    capture_factory: Any = None,
    mode: Any = "hands_free",
) -> tuple[ListenStage, TranscribeStage]:
    """The listener (VAD, end-of-turn model) and the transcriber, configured as the settings
    say: one place, for the app and for the benches that time them."""
    from her_desktop.audio.smart_turn import SmartTurn
    from her_desktop.audio.vad import UtteranceSegmenter
    from her_desktop.voice.listener import ListenStage
    from her_desktop.voice.transcriber import TranscribeStage

    vad_settings = settings.vad
    listener = ListenStage(
        bus,
        UtteranceSegmenter(vad, vad_settings),
        echo=echo,
        capture_factory=capture_factory,
        mode=mode,
        predictive_end_ms=vad_settings.predictive_end_ms,
        turn_model=SmartTurn() if vad_settings.smart_turn and vad_settings.predictive_end else None,
        turn_threshold=vad_settings.turn_threshold,
    )
    transcriber = TranscribeStage(
        bus,
        stt,
        partials=settings.stt.partials,
        end_silence_s=vad_settings.end_silence_ms / 1000,
        predictive_end=vad_settings.predictive_end,
    )
    return listener, transcriber


async def attach_voice(
    app: App,
    *,
    microphone: bool = True,
    sink: AudioSink | None = None,
    stt: STTEngine | None = None,
    tts: TTSEngine | None = None,
) -> Voice:
    """Add listening, transcribing and speaking to a started app.

    ``microphone=False`` listens only to what is fed to ``Voice.listener.feed`` (files, tests);
    ``sink`` replaces the speaker (a ``FileSink`` for headless turns). Models load in the
    background; a missing model or device is reported on the bus and the text path keeps
    working.
    """
    from her_desktop.audio.capture import AudioCapture
    from her_desktop.audio.echo import create_echo
    from her_desktop.audio.levels import LevelMeter
    from her_desktop.audio.vad import SileroVAD
    from her_desktop.events import AudioLevel
    from her_desktop.tts.prosody import speaking_speed
    from her_desktop.voice.player_sink import PlayerSink
    from her_desktop.voice.speaker import SpeakStage

    settings = app.settings
    bus = app.bus
    persona_rate = app.persona.speaking_rate if app.persona else 1.0
    style = app.style
    echo = create_echo(settings.audio.echo)
    if echo.notice:
        await bus.publish(Notice("audio", echo.notice))
    if sink is None:
        meter = LevelMeter()

        def reference(block: Any, rate: int) -> None:
            echo.render(block, rate)
            levels = meter.feed(block, rate)
            if levels is not None:
                bus.publish_threadsafe(AudioLevel("output", levels.rms, levels.peak))

        sink = PlayerSink(settings.audio.output_device, on_reference=reference)
    if stt is None:
        stt = await asyncio.to_thread(create_stt, settings)
    if tts is None:
        tts = create_tts_engine(settings, app.persona.voice if app.persona else "")
    vad = await asyncio.to_thread(SileroVAD)
    capture_factory = None
    if microphone:

        def capture_factory(**callbacks: Any) -> AudioCapture:
            return AudioCapture(settings.audio.input_device, **callbacks)

    listener, transcriber = listening_stages(
        bus,
        settings,
        vad,
        stt,
        echo=echo,
        capture_factory=capture_factory,
        mode=settings.audio.listen_mode if microphone else "hands_free",
    )
    speaker = SpeakStage(
        bus,
        tts,
        sink,
        speed=lambda mood: speaking_speed(
            settings.tts.speed * (style.tts_rate if style else 1.0), persona_rate, mood
        ),
    )
    for stage in (listener, transcriber, speaker):
        await stage.start()
        app.stages.append(stage)
    app.dialogue.speak_aloud()
    transcriber.warm_up()
    speaker.warm_up()
    if style is not None:  # "talk to me in French" reaches her hearing and her voice too
        from her_desktop.feedback.language import VoiceLanguage, real_factories

        make_stt, make_tts = real_factories(settings)
        switch = VoiceLanguage(transcriber, speaker, make_stt=make_stt, make_tts=make_tts)
        app._spawn(style.attach_voice(switch), "voice-language")
    return Voice(listener, transcriber, speaker, sink)
