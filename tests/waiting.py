"""Bounded polling for state that another task fills (tests only)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def wait_until(condition: Callable[[], object], within_s: float = 10.0) -> None:
    """Poll ``condition`` until it is true; fail with TimeoutError after ``within_s``."""
    async with asyncio.timeout(within_s):
        while not condition():  # noqa: ASYNC110 - polling state another task fills
            await asyncio.sleep(0.005)
