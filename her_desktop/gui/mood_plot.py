"""The mood timeline: valence and arousal over days, drawn with QPainter (no plotting library).

- Valence (-1 low .. +1 good) uses the left axis, arousal (0 calm .. 1 energetic) the right one.
- Thousands of samples are reduced to at most one point per pixel column (the mean of that
  column), so painting stays fast whatever the history size.
- A gap of more than :data:`GAP_SECONDS` without samples breaks the lines instead of drawing a
  misleading straight segment across it.
- Hovering shows the nearest point's date and values. No samples: "No mood data yet".
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from her_desktop.affect.history import MoodSample

GAP_SECONDS = 2 * 86_400.0
VALENCE_COLOR = QColor("#d9546b")
AROUSAL_COLOR = QColor("#3f8fd2")
DAY = 86_400.0
_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 44, 44, 30, 34
_HOVER_RADIUS = 24.0


@dataclass(frozen=True, slots=True)
class PlotPoint:
    """One plotted point: a sample or the mean of the samples in one pixel column."""

    ts: float
    valence: float
    arousal: float
    count: int
    label: str


def decimate(samples: Sequence[MoodSample], columns: int) -> list[PlotPoint]:
    """At most ``columns`` points: samples are grouped by equal slices of the time range and
    averaged. ``samples`` must be oldest first."""
    if not samples:
        return []
    if len(samples) <= columns or columns < 1:
        return [PlotPoint(s.ts, s.valence, s.arousal, 1, s.label) for s in samples]
    start, end = samples[0].ts, samples[-1].ts
    width = (end - start) / columns or 1.0
    points: list[PlotPoint] = []
    bucket: list[MoodSample] = []
    current = 0
    for sample in samples:
        column = min(columns - 1, int((sample.ts - start) / width))
        if bucket and column != current:
            points.append(_mean(bucket))
            bucket = []
        current = column
        bucket.append(sample)
    if bucket:
        points.append(_mean(bucket))
    return points


def _mean(bucket: Sequence[MoodSample]) -> PlotPoint:
    n = len(bucket)
    labels = [s.label for s in bucket if s.label]
    return PlotPoint(
        ts=sum(s.ts for s in bucket) / n,
        valence=sum(s.valence for s in bucket) / n,
        arousal=sum(s.arousal for s in bucket) / n,
        count=n,
        label=max(set(labels), key=labels.count) if labels else "",
    )


def _clamp(value: float, low: float, high: float) -> float:
    if math.isnan(value):
        return (low + high) / 2
    return max(low, min(high, value))


class MoodPlot(QWidget):
    """``set_samples(samples)`` (oldest first) and it repaints; safe with 0 or 100k samples."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._samples: list[MoodSample] = []
        self._points: list[PlotPoint] = []
        self._columns = 0
        self.setMouseTracking(True)
        self.setMinimumSize(360, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Mood timeline")

    def sizeHint(self) -> QSize:
        return QSize(640, 300)

    def set_samples(self, samples: Sequence[MoodSample]) -> None:
        self._samples = sorted(samples, key=lambda s: s.ts)
        self._columns = 0  # re-decimate on the next paint
        self.update()

    @property
    def sample_count(self) -> int:
        return len(self._samples)

    # -- geometry ----------------------------------------------------------------------------

    def _plot_rect(self) -> QRectF:
        return QRectF(
            _MARGIN_LEFT,
            _MARGIN_TOP,
            max(1.0, self.width() - _MARGIN_LEFT - _MARGIN_RIGHT),
            max(1.0, self.height() - _MARGIN_TOP - _MARGIN_BOTTOM),
        )

    def _time_range(self) -> tuple[float, float]:
        start, end = self._samples[0].ts, self._samples[-1].ts
        if end - start < 3600.0:  # one point, or all within the hour: show a day around it
            middle = (start + end) / 2
            return middle - DAY / 2, middle + DAY / 2
        pad = (end - start) * 0.02
        return start - pad, end + pad

    def _x(self, ts: float, rect: QRectF, t0: float, t1: float) -> float:
        return rect.left() + (ts - t0) / (t1 - t0) * rect.width()

    @staticmethod
    def _y_valence(value: float, rect: QRectF) -> float:
        return rect.top() + (1.0 - _clamp(value, -1.0, 1.0)) / 2.0 * rect.height()

    @staticmethod
    def _y_arousal(value: float, rect: QRectF) -> float:
        return rect.top() + (1.0 - _clamp(value, 0.0, 1.0)) * rect.height()

    def _ensure_points(self, rect: QRectF) -> None:
        columns = max(1, int(rect.width() / 2))
        if columns != self._columns:
            self._columns = columns
            self._points = decimate(self._samples, columns)

    # -- painting ----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        text_color = palette.text().color()
        if not self._samples:
            painter.setPen(text_color)
            painter.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter,
                "No mood data yet.\nIt appears here as you talk together.",
            )
            return
        rect = self._plot_rect()
        t0, t1 = self._time_range()
        self._ensure_points(rect)
        self._paint_axes(painter, rect, t0, t1, text_color)
        self._paint_series(painter, rect, t0, t1)
        self._paint_legend(painter, rect, text_color)

    def _paint_axes(
        self, painter: QPainter, rect: QRectF, t0: float, t1: float, text_color: QColor
    ) -> None:
        grid = QColor(text_color)
        grid.setAlpha(40)
        metrics = painter.fontMetrics()
        painter.setPen(QPen(grid, 1))
        for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
            y = rect.top() + fraction * rect.height()
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
        painter.setPen(text_color)
        painter.drawRect(rect)
        for value, label in ((1.0, "+1"), (0.0, "0"), (-1.0, "-1")):
            y = self._y_valence(value, rect)
            box = QRectF(0, y - metrics.height() / 2, _MARGIN_LEFT - 6, metrics.height())
            painter.setPen(VALENCE_COLOR)
            painter.drawText(
                box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label
            )
        for value, label in ((1.0, "1"), (0.5, "0.5"), (0.0, "0")):
            y = self._y_arousal(value, rect)
            box = QRectF(
                rect.right() + 6, y - metrics.height() / 2, _MARGIN_RIGHT, metrics.height()
            )
            painter.setPen(AROUSAL_COLOR)
            painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, label)
        painter.setPen(text_color)
        for ts, label in _time_ticks(t0, t1, max(2, int(rect.width() / 90))):
            x = self._x(ts, rect, t0, t1)
            painter.drawLine(QPointF(x, rect.bottom()), QPointF(x, rect.bottom() + 4))
            width = metrics.horizontalAdvance(label) + 4
            box = QRectF(x - width / 2, rect.bottom() + 6, width, metrics.height())
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)

    def _paint_series(self, painter: QPainter, rect: QRectF, t0: float, t1: float) -> None:
        painter.save()
        painter.setClipRect(rect.adjusted(-4, -4, 4, 4))
        series: tuple[tuple[QColor, Callable[[float, QRectF], float], str], ...] = (
            (AROUSAL_COLOR, self._y_arousal, "arousal"),
            (VALENCE_COLOR, self._y_valence, "valence"),
        )
        for color, y_of, attribute in series:

            def value_of(point: PlotPoint, name: str = attribute) -> float:
                return float(getattr(point, name))

            path = QPainterPath()
            previous: PlotPoint | None = None
            for point in self._points:
                xy = QPointF(self._x(point.ts, rect, t0, t1), y_of(value_of(point), rect))
                if previous is None or point.ts - previous.ts > GAP_SECONDS:
                    path.moveTo(xy)
                else:
                    path.lineTo(xy)
                previous = point
            painter.setPen(QPen(color, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            if len(self._points) <= 60:  # few points: mark each one
                painter.setBrush(color)
                for point in self._points:
                    center = QPointF(self._x(point.ts, rect, t0, t1), y_of(value_of(point), rect))
                    painter.drawEllipse(center, 3.0, 3.0)
        painter.restore()

    def _paint_legend(self, painter: QPainter, rect: QRectF, text_color: QColor) -> None:
        metrics = painter.fontMetrics()
        x = rect.left()
        y = (_MARGIN_TOP - metrics.height()) / 2
        for color, label in (
            (VALENCE_COLOR, "Valence (-1 low .. +1 good), left axis"),
            (AROUSAL_COLOR, "Arousal (0 calm .. 1 energetic), right axis"),
        ):
            painter.setPen(QPen(color, 3))
            mid = y + metrics.height() / 2
            painter.drawLine(QPointF(x, mid), QPointF(x + 18, mid))
            painter.setPen(text_color)
            width = metrics.horizontalAdvance(label) + 4
            painter.drawText(QRectF(x + 22, y, width, metrics.height()), label)
            x += 22 + width + 16

    # -- hover -------------------------------------------------------------------------------

    def point_near(self, x: float, y: float) -> PlotPoint | None:
        """The plotted point nearest to widget position (x, y), within a few pixels."""
        if not self._points:
            return None
        rect = self._plot_rect()
        self._ensure_points(rect)
        t0, t1 = self._time_range()
        times = [p.ts for p in self._points]
        ts = t0 + (x - rect.left()) / rect.width() * (t1 - t0)
        i = bisect.bisect_left(times, ts)
        best: tuple[float, PlotPoint] | None = None
        for point in self._points[max(0, i - 3) : i + 3]:
            px = self._x(point.ts, rect, t0, t1)
            for py in (self._y_valence(point.valence, rect), self._y_arousal(point.arousal, rect)):
                distance = math.hypot(px - x, py - y)
                if best is None or distance < best[0]:
                    best = (distance, point)
        if best is None or best[0] > _HOVER_RADIUS:
            return None
        return best[1]

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        position = event.position()
        point = self.point_near(position.x(), position.y())
        if point is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(event.globalPosition().toPoint(), tooltip_text(point), self)
        super().mouseMoveEvent(event)


def tooltip_text(point: PlotPoint) -> str:
    when = datetime.fromtimestamp(point.ts).strftime("%a %d %b %Y, %H:%M")
    many = f" (average of {point.count})" if point.count > 1 else ""
    label = f"\nFelt: {point.label}" if point.label else ""
    return f"{when}{many}\nValence {point.valence:+.2f}, arousal {point.arousal:.2f}{label}"


_TICK_STEPS = (3600.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0, DAY, 2 * DAY, 7 * DAY, 14 * DAY,
               30 * DAY, 91 * DAY, 182 * DAY, 365 * DAY)  # fmt: skip


def _time_ticks(t0: float, t1: float, max_ticks: int) -> list[tuple[float, str]]:
    """Round local-time ticks (hours, days, weeks, months) with short labels."""
    span = t1 - t0
    step = next((s for s in _TICK_STEPS if span / s <= max_ticks), _TICK_STEPS[-1])
    offset = datetime.fromtimestamp(t0).astimezone().utcoffset()
    shift = offset.total_seconds() if offset is not None else 0.0
    first = math.ceil((t0 + shift) / step) * step - shift
    fmt = "%H:%M" if step < DAY else ("%d %b" if span < 300 * DAY else "%b %Y")
    ticks = []
    ts = first
    while ts <= t1:
        ticks.append((ts, datetime.fromtimestamp(ts).strftime(fmt)))
        ts += step
    return ticks
