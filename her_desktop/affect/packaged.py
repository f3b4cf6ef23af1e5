"""The trained weights that ship with the package (``affect/data/*.json``)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from her_desktop.affect.base import EMOTIONS


def load_weights(file: str, what: str) -> dict[str, Any]:
    """The JSON of ``data/<file>``, whose ``labels`` must be the six emotions in order.

    Raises ``OSError`` when missing, ``ValueError`` (``json.JSONDecodeError`` included) when
    malformed or trained for other labels."""
    source = resources.files("her_desktop.affect").joinpath(f"data/{file}")
    data = json.loads(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or list(data.get("labels", [])) != list(EMOTIONS):
        raise ValueError(f"the {what}'s labels do not match")
    return data
