"""Builds the stages from the settings, starts them, and stops them in a fixed order.

Engines are chosen by configuration here and nowhere else; stages receive them ready-made
(unloaded: they load lazily on first use, after the model file is verified).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from her_desktop.bus import Bus
from her_desktop.config import Settings
from her_desktop.dialogue import DialogueStage
from her_desktop.llm.base import GenerationParams, LLMEngine, ModelLoadError
from her_desktop.persona import Persona
from her_desktop.stage import Stage

log = logging.getLogger(__name__)

SHUTDOWN_DEADLINE_S = 3.0


def generation_params(settings: Settings) -> GenerationParams:
    llm = settings.llm
    return GenerationParams(
        max_tokens=llm.max_tokens,
        temperature=llm.temperature,
        top_p=llm.top_p,
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
    return LlamaCppEngine(
        resolved.path,
        n_ctx=llm.n_ctx,
        n_gpu_layers=llm.n_gpu_layers,
        n_threads=llm.n_threads,
    )


@dataclass
class App:
    """The running app: one bus and its stages, started in order and stopped in reverse."""

    bus: Bus
    engine: LLMEngine
    dialogue: DialogueStage
    stages: list[Stage] = field(default_factory=list)

    async def start(self) -> None:
        for stage in self.stages:
            await stage.start()

    async def stop(self) -> None:
        for stage in reversed(self.stages):
            await stage.stop()
        await self.bus.close(deadline=SHUTDOWN_DEADLINE_S)
        await self.engine.close()


def build_app(settings: Settings, persona: Persona, *, engine: LLMEngine | None = None) -> App:
    """Wire the app. Call inside the running event loop. ``engine`` overrides the configured
    LM (tests, benchmarks)."""
    bus = Bus()
    llm = engine if engine is not None else make_llm(settings)
    dialogue = DialogueStage(
        bus, llm, system_prompt=persona.system_prompt(), params=generation_params(settings)
    )
    return App(bus=bus, engine=llm, dialogue=dialogue, stages=[dialogue])
