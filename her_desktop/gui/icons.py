"""Small vector icons painted at run time (no image files, crisp at any scale, theme-tinted)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QRadialGradient

IconName = Literal["mic", "mic_off", "send", "stop", "wave", "orb"]
SIZE = 64


def _pen(color: QColor, width: float = 5.0) -> QPen:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _mic(p: QPainter, color: QColor) -> None:
    p.setPen(_pen(color))
    p.drawRoundedRect(QRectF(24, 10, 16, 28), 8, 8)
    path = QPainterPath()
    path.moveTo(16, 30)
    path.cubicTo(16, 52, 48, 52, 48, 30)
    p.drawPath(path)
    p.drawLine(QPointF(32, 46), QPointF(32, 54))
    p.drawLine(QPointF(24, 54), QPointF(40, 54))


def _mic_off(p: QPainter, color: QColor) -> None:
    _mic(p, color)
    p.setPen(_pen(color, 5.5))
    p.drawLine(QPointF(12, 10), QPointF(52, 56))


def _send(p: QPainter, color: QColor) -> None:
    p.setPen(_pen(color, 6))
    p.drawLine(QPointF(32, 50), QPointF(32, 16))
    p.drawLine(QPointF(18, 29), QPointF(32, 15))
    p.drawLine(QPointF(46, 29), QPointF(32, 15))


def _stop(p: QPainter, color: QColor) -> None:
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawRoundedRect(QRectF(18, 18, 28, 28), 5, 5)


def _wave(p: QPainter, color: QColor) -> None:
    p.setPen(_pen(color, 5))
    for x, h in ((14, 10), (23, 22), (32, 32), (41, 22), (50, 10)):
        p.drawLine(QPointF(x, 32 - h / 2), QPointF(x, 32 + h / 2))


def _orb(p: QPainter, color: QColor) -> None:
    grad = QRadialGradient(QPointF(26, 24), 34)
    grad.setColorAt(0.0, color.lighter(150))
    grad.setColorAt(1.0, color)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(grad)
    p.drawEllipse(QRectF(6, 6, 52, 52))


_PAINTERS: dict[str, Callable[[QPainter, QColor], None]] = {
    "mic": _mic,
    "mic_off": _mic_off,
    "send": _send,
    "stop": _stop,
    "wave": _wave,
    "orb": _orb,
}


def icon(name: IconName, color: str) -> QIcon:
    pixmap = QPixmap(SIZE, SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    _PAINTERS[name](painter, QColor(color))
    painter.end()
    return QIcon(pixmap)
