"""The Mood tab: the mood timeline with a range picker (loaded on a worker thread)."""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from her_desktop.affect.history import MoodHistory, MoodSample
from her_desktop.gui.background import run_in_background
from her_desktop.gui.mood_plot import MoodPlot

MOOD_RANGES: tuple[tuple[str, float | None], ...] = (
    ("Last 7 days", 7.0),
    ("Last 30 days", 30.0),
    ("Last 90 days", 90.0),
    ("Everything", None),
)


class MoodPage(QWidget):
    """The mood timeline with a range picker."""

    loaded = Signal(int)

    def __init__(self, history: MoodHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.range = QComboBox()
        for label, days in MOOD_RANGES:
            self.range.addItem(label, days)
        self.range.setCurrentIndex(1)
        self.range.currentIndexChanged.connect(lambda _i: self.reload())
        self.plot = MoodPlot()
        self.note = QLabel(
            "Estimated from how you sounded and what you said; it stays on this computer."
        )
        self.note.setWordWrap(True)
        self.note.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.range)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)

    def reload(self) -> None:
        days = self.range.currentData()
        since = time.time() - float(days) * 86_400.0 if days is not None else float("-inf")

        def done(samples: list[MoodSample]) -> None:
            self.plot.set_samples(samples)
            self.loaded.emit(len(samples))

        def failed(exc: BaseException) -> None:
            self.note.setText(f"Could not load the mood history: {exc}")

        run_in_background(lambda: self.history.samples(since), done, failed, owner=self)
