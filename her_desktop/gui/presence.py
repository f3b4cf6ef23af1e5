"""The presence orb: a custom-painted circle that shows idle / listening / thinking / speaking and
breathes with the live audio level.

The animation timer (~60 fps) runs only while something moves: a state other than idle, a
colour cross-fade in progress, or an audio level still decaying. Idle, the timer is stopped, so
an idle window costs no CPU.
"""

from __future__ import annotations

import math
import time
from typing import Literal

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QRadialGradient
from PySide6.QtWidgets import QSizePolicy, QWidget

from her_desktop.gui.theme import LIGHT, Theme

PresenceState = Literal["idle", "listening", "thinking", "speaking"]
FRAME_MS = 16
FADE_S = 0.35
LEVEL_DECAY_PER_S = 4.0
LEVEL_EPSILON = 0.01

STATE_LABELS: dict[PresenceState, str] = {
    "idle": "Here with you",
    "listening": "Listening…",
    "thinking": "Thinking…",
    "speaking": "Speaking",
}


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    t = min(max(t, 0.0), 1.0)
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
        1.0,
    )


class PresenceOrb(QWidget):
    def __init__(self, parent: QWidget | None = None, *, diameter: int = 56) -> None:
        super().__init__(parent)
        self._diameter = diameter
        self._theme = LIGHT
        self._state: PresenceState = "idle"
        self._from_color = QColor(self._theme.orb_idle)
        self._fade_start = 0.0
        self._level = 0.0
        self._shown_level = 0.0
        self._phase = 0.0
        self._last_tick = time.monotonic()
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("presence")
        self._update_accessible()

    # -- public ------------------------------------------------------------------------------

    @property
    def state(self) -> PresenceState:
        return self._state

    @property
    def level(self) -> float:
        """The audio level the orb follows now (0..1, perceptual; see :meth:`set_level`)."""
        return self._level

    @property
    def animating(self) -> bool:
        """True while the frame timer runs (False when idle: no CPU spent)."""
        return self._timer.isActive()

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self._from_color = self._target_color()
        self.update()

    def set_state(self, state: PresenceState) -> None:
        if state == self._state:
            return
        self._from_color = self._current_color()
        self._fade_start = time.monotonic()
        self._state = state
        self._update_accessible()
        self._ensure_running()
        self.update()

    def set_level(self, rms: float) -> None:
        """Live audio level 0..1 (mic while listening, speaker while speaking)."""
        level = min(max(rms, 0.0), 1.0)
        # perceptual: quiet speech still moves the orb
        self._level = math.sqrt(level)
        if self._level > LEVEL_EPSILON:
            self._ensure_running()

    def sizeHint(self) -> QSize:
        return QSize(self._diameter + 16, self._diameter + 16)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    # -- animation ---------------------------------------------------------------------------

    def _update_accessible(self) -> None:
        self.setAccessibleDescription(STATE_LABELS[self._state])
        self.setToolTip(STATE_LABELS[self._state])

    def _target_color(self) -> QColor:
        t = self._theme
        return QColor(
            {
                "idle": t.orb_idle,
                "listening": t.orb_listening,
                "thinking": t.orb_thinking,
                "speaking": t.orb_speaking,
            }[self._state]
        )

    def _fade(self) -> float:
        return min((time.monotonic() - self._fade_start) / FADE_S, 1.0)

    def _current_color(self) -> QColor:
        return _mix(self._from_color, self._target_color(), self._fade())

    def _ensure_running(self) -> None:
        if not self._timer.isActive():
            self._last_tick = time.monotonic()
            self._timer.start()

    def _needs_frames(self) -> bool:
        return (
            self._state != "idle"
            or self._fade() < 1.0
            or self._shown_level > LEVEL_EPSILON
            or self._level > LEVEL_EPSILON
        )

    def _tick(self) -> None:
        now = time.monotonic()
        dt = min(now - self._last_tick, 0.1)
        self._last_tick = now
        self._phase += dt
        # the level rises fast and falls smoothly
        if self._level > self._shown_level:
            self._shown_level += (self._level - self._shown_level) * min(dt * 25, 1.0)
        else:
            self._shown_level = max(self._shown_level - LEVEL_DECAY_PER_S * dt * 0.25, 0.0)
        self._level = max(self._level - LEVEL_DECAY_PER_S * dt, 0.0)
        if not self._needs_frames():
            self._shown_level = 0.0
            self._phase = 0.0
            self._timer.stop()
        self.update()

    # -- painting ----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = self._current_color()
        center = QPointF(self.width() / 2, self.height() / 2)
        base = self._diameter / 2
        breathe = 0.0
        if self._state == "speaking":
            breathe = 0.04 * math.sin(self._phase * 5.0) + 0.12 * self._shown_level
        elif self._state == "listening":
            breathe = 0.03 * math.sin(self._phase * 3.0) + 0.16 * self._shown_level
        elif self._state == "idle":
            breathe = 0.1 * self._shown_level
        radius = base * (0.86 + breathe)

        # soft halo
        halo = QRadialGradient(center, radius * 1.35)
        glow = QColor(color)
        glow.setAlphaF(0.28 + 0.3 * self._shown_level)
        halo.setColorAt(0.55, glow)
        glow_out = QColor(color)
        glow_out.setAlphaF(0.0)
        halo.setColorAt(1.0, glow_out)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(halo)
        painter.drawEllipse(center, radius * 1.35, radius * 1.35)

        # the orb
        body = QRadialGradient(
            QPointF(center.x() - radius * 0.3, center.y() - radius * 0.35), radius * 1.4
        )
        body.setColorAt(0.0, color.lighter(145))
        body.setColorAt(0.6, color)
        body.setColorAt(1.0, color.darker(125))
        painter.setBrush(body)
        painter.drawEllipse(center, radius, radius)

        if self._state == "thinking":
            pen = QPen(QColor(255, 255, 255, 200), max(2.0, radius * 0.1))
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            r = radius * 0.62
            start = int(-self._phase * 360 * 16) % (360 * 16)
            painter.drawArc(QRectF(center.x() - r, center.y() - r, 2 * r, 2 * r), start, 100 * 16)
        painter.end()
