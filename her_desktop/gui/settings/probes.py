"""What the Settings pages ask of the machine, without Qt: is the language model server there,
which voices are installed. Both block; the pages call them on a worker thread."""

from __future__ import annotations

import asyncio
import os

from her_desktop.config import TTSSettings
from her_desktop.llm.base import EndpointError


def probe_server(url: str, model: str, api_key_env: str, timeout_s: float) -> str:
    """Ask an OpenAI-compatible server for its models (blocks up to ``timeout_s``).

    Returns a line for people; raises ``EndpointError`` with the server problem in plain words.
    """
    from her_desktop.llm.remote import RemoteEngine

    key = os.environ.get(api_key_env) if api_key_env else None
    engine = RemoteEngine(url, model=model, api_key=key, timeout_s=timeout_s)

    async def probe() -> str:
        try:
            await asyncio.wait_for(engine.load(), timeout_s + 1.0)
        except TimeoutError:
            raise EndpointError(
                f"The server at {engine.base_url} did not answer within {timeout_s:.0f} s."
            ) from None
        finally:
            await engine.close()
        info = engine.info()
        text = f"Connected: model {info.model}, context {info.context_size} tokens."
        if engine.warning:
            text += " " + engine.warning
        return text

    return asyncio.run(probe())


def installed_voices(engine: str, settings: TTSSettings) -> list[tuple[str, str]] | None:
    """(voice id, label) of the voices installed for ``engine``, from ``her_desktop.tts``.

    None when the list is not available (then only the current setting is offered).
    """
    try:
        from her_desktop.tts.registry import installed_voices as registry_voices
    except ImportError:
        return None
    try:
        voices = registry_voices(engine, settings)
    except Exception:  # a broken engine must not break Settings
        return None
    return [(v.id, v.name or v.id) for v in voices]
