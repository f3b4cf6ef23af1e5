"""The real embedded default model, end to end through the dialogue stage (slow)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from her_desktop.bus import Bus
from her_desktop.dialogue import DialogueStage
from her_desktop.events import ReplyFinished, ReplySentence, UserText
from her_desktop.llm.base import GenerationParams
from her_desktop.llm.llamacpp import LlamaCppEngine
from her_desktop.persona import load_persona

TEMPLATE_GARBAGE = re.compile(
    r"<\|im_start\|>|<\|im_end\|>|<\|endoftext\|>|<\|eot_id\|>|</s>|<s>|\[INST\]|"
    r"^\s*(system|user|assistant)\s*:|<\|[a-z_]+\|>",
    re.IGNORECASE | re.MULTILINE,
)


@pytest.mark.slow
async def test_two_turn_chat_with_the_default_model(default_gguf: Path) -> None:
    engine = LlamaCppEngine(default_gguf, n_ctx=2048)
    bus = Bus()
    finished: asyncio.Queue[ReplyFinished] = asyncio.Queue()
    sentences: list[str] = []

    async def on_finished(event: ReplyFinished) -> None:
        finished.put_nowait(event)

    async def on_sentence(event: ReplySentence) -> None:
        sentences.append(event.text)

    bus.subscribe(ReplyFinished, on_finished, name="test")
    bus.subscribe(ReplySentence, on_sentence, name="test-sentences")
    persona = load_persona("samantha")
    stage = DialogueStage(
        bus,
        engine,
        system_prompt=persona.system_prompt(),
        params=GenerationParams(max_tokens=60, temperature=0.0, seed=1, deadline_s=120),
    )
    await stage.start()
    try:
        replies = []
        for text in ("Hi! My name is Ada and I love gardening.", "What did I say my name was?"):
            await bus.publish(UserText(text))
            done = await asyncio.wait_for(finished.get(), 240)
            assert done.reason in ("stop", "length"), done
            assert done.text.strip(), "the reply is empty"
            assert not TEMPLATE_GARBAGE.search(done.text), done.text
            replies.append(done.text)
        assert "ada" in replies[1].lower(), replies  # the second turn saw the first
        assert sentences  # the reply was split into speakable sentences on the way
        assert [m.role for m in stage.history] == ["user", "assistant"] * 2
    finally:
        await stage.stop()
        await bus.close()
        await engine.close()
