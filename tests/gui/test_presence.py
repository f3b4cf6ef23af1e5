"""The presence orb: states, the live level, and no timer (no CPU) when idle."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from her_desktop.gui.presence import PresenceOrb
from her_desktop.gui.theme import DARK
from tests.gui.conftest import RunQt
from tests.waiting import wait_until


def test_idle_orb_runs_no_timer(qapp: QApplication) -> None:
    orb = PresenceOrb()
    orb.show()
    assert orb.state == "idle"
    assert not orb.animating


def test_states_animate_and_idle_stops_the_timer(run_qt: RunQt) -> None:
    async def scenario() -> None:
        orb = PresenceOrb()
        orb.show()
        for state in ("listening", "thinking", "speaking"):
            orb.set_state(state)
            assert orb.state == state
            assert orb.animating
            assert orb.toolTip()
        orb.set_state("idle")
        assert orb.animating  # the colour fades back first
        await wait_until(lambda: not orb.animating, within_s=5)
        assert orb.state == "idle"

    run_qt(scenario())


def test_audio_level_moves_the_orb_then_it_rests(run_qt: RunQt) -> None:
    async def scenario() -> None:
        orb = PresenceOrb()
        orb.set_theme(DARK)
        orb.show()
        orb.set_level(0.8)
        assert orb.animating
        await wait_until(lambda: not orb.animating, within_s=5)
        orb.set_level(0.0)  # silence never wakes the timer
        assert not orb.animating

    run_qt(scenario())


def test_orb_paints_every_state(qapp: QApplication) -> None:
    orb = PresenceOrb(diameter=48)
    for state in ("idle", "listening", "thinking", "speaking"):
        orb.set_state(state)
        orb.set_level(0.5)
        image = orb.grab().toImage()
        center = image.pixelColor(image.width() // 2, image.height() // 2)
        assert center.alpha() == 255  # something was painted
