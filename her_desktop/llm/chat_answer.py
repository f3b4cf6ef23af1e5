"""What an OpenAI-compatible chat server's answer says (``llm.remote`` reads it).

Each ``data:`` payload of a streamed reply (``take``), or the one JSON answer of a server that
ignored ``stream: true`` (``from_json_body``), gives the reply's text; the ``StreamState`` keeps
what the payloads said so far: how many were chat chunks and how many junk, whether ``[DONE]``
came, why the server finished and how many tokens it says it wrote. An ``error`` object with no
reply becomes an ``EndpointError`` in plain words (``server_errors``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from her_desktop.events import FinishReason
from her_desktop.llm.server_errors import ServerErrors

SERVER_FINISH: Final[dict[str, FinishReason]] = {
    "stop": "stop",
    "eos": "stop",
    "length": "length",
    "max_tokens": "length",
    "model_length": "length",
}


@dataclass(slots=True)
class StreamState:
    """Bookkeeping of one streamed reply."""

    pieces: int = 0
    chunks: int = 0
    junk: int = 0
    saw_done: bool = False
    finish: FinishReason | None = None
    usage_tokens: int | None = None


def take(payload: str, state: StreamState, errors: ServerErrors) -> str:
    """Digest one ``data:`` payload: the content text it carries ("" for none)."""
    if payload.strip() == "[DONE]":
        state.saw_done = True
        return ""
    try:
        obj = json.loads(payload)
    except ValueError:
        state.junk += 1
        return ""
    if not isinstance(obj, dict):
        state.junk += 1
        return ""
    _raise_reported_error(obj, errors)
    _take_usage(obj, state)
    choices = obj.get("choices")
    if not isinstance(choices, list):
        state.junk += 1
        return ""
    state.chunks += 1
    if not choices or not isinstance(choices[0], dict):
        return ""
    choice = choices[0]
    reason = choice.get("finish_reason")
    if isinstance(reason, str) and reason and state.finish is None:
        state.finish = SERVER_FINISH.get(reason, "stop")
    delta = choice.get("delta")
    # chat chunks carry delta.content; completion-style chunks carry text
    content = delta.get("content") if isinstance(delta, dict) else choice.get("text")
    return content if isinstance(content, str) else ""


def _raise_reported_error(obj: dict[str, Any], errors: ServerErrors) -> None:
    """A chunk or answer that is an ``error`` object (and no reply) becomes EndpointError."""
    if "error" in obj and not obj.get("choices"):
        raise errors.reported(obj["error"])


def _take_usage(obj: dict[str, Any], state: StreamState) -> None:
    if (tokens := positive_int_at(obj.get("usage"), "completion_tokens")) is not None:
        state.usage_tokens = tokens


def from_json_body(body: bytes, state: StreamState, errors: ServerErrors) -> str:
    """A server that ignored ``stream: true`` and sent one JSON answer."""
    try:
        obj = json.loads(body)
    except ValueError:
        raise errors.garbage("its answer is not JSON") from None
    if isinstance(obj, dict):
        _raise_reported_error(obj, errors)
    choices = obj.get("choices") if isinstance(obj, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise errors.garbage("its JSON answer has no reply in it (no 'choices')")
    assert isinstance(obj, dict)
    _take_usage(obj, state)
    state.chunks += 1
    choice = choices[0]
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else choice.get("text")
    reason = choice.get("finish_reason")
    state.finish = SERVER_FINISH.get(reason, "stop") if isinstance(reason, str) else "stop"
    return content if isinstance(content, str) else ""


def positive_int_at(data: object, key: str) -> int | None:
    """``data[key]`` when ``data`` is a JSON object and that is a positive integer, else None."""
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None
