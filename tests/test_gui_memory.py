"""The memory & mood window on a real SQLite store, and the mood plot (pytest-qt, offscreen)."""

from __future__ import annotations

import asyncio
import json
import math
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from her_desktop.affect.history import InMemoryMoodHistory, MoodSample
from her_desktop.bus import Bus
from her_desktop.events import Event, MemoryForgotten, MemoryStored
from her_desktop.gui.background import wait_for_background
from her_desktop.gui.memory_actions import ServiceMemoryActions, StoreMemoryActions
from her_desktop.gui.memory_view import MemoryMoodDialog
from her_desktop.gui.mood_plot import MoodPlot, decimate
from her_desktop.memory.embeddings import HashingEmbedder
from her_desktop.memory.mood import StoreMoodHistory
from her_desktop.memory.records import NewMemory
from her_desktop.memory.service import MemoryService
from her_desktop.memory.store import MemoryStore

DAY = 86_400.0
MEMORIES = (
    ("fact", "My dog is called Max.", "pet.dog.name", 0.6),
    ("preference", "I love jasmine tea in the morning.", None, 0.4),
    ("episode", "Had a hard day at work with the quarterly report.", None, 0.9),
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MemoryStore]:
    store = MemoryStore.open(tmp_path / "memory.sqlite3")
    with store.turn() as tx:
        for kind, text, subject, salience in MEMORIES:
            tx.upsert_memory(
                NewMemory(kind, text, subject, salience=salience), source_message_id=None
            )
    now = time.time()
    for day in range(5):
        store.add_mood_sample(now - day * DAY, 0.2 * math.sin(day), 0.5, "calm")
    yield store
    wait_for_background()
    store.close()


@pytest.fixture
def dialog(qtbot: QtBot, store: MemoryStore) -> MemoryMoodDialog:
    actions = StoreMemoryActions(store, embedder=HashingEmbedder())
    view = MemoryMoodDialog(actions, mood_history=StoreMoodHistory(store))
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.memories.table.rowCount() == 3 and not view.memories.busy)
    return view


def _texts(view: MemoryMoodDialog) -> list[str]:
    table = view.memories.table
    return [table.item(row, 1).text() for row in range(table.rowCount())]


def test_lists_the_memories_newest_first(dialog: MemoryMoodDialog) -> None:
    assert sorted(_texts(dialog)) == sorted(text for _, text, _, _ in MEMORIES)
    assert "3 memories" in dialog.memories.status.text()


def test_search_filters_the_list(qtbot: QtBot, dialog: MemoryMoodDialog) -> None:
    dialog.memories.search.setText("tea")
    qtbot.waitUntil(lambda: _texts(dialog) == ["I love jasmine tea in the morning."])
    dialog.memories.search.setText("nothing like this")
    qtbot.waitUntil(lambda: dialog.memories.table.rowCount() == 0)
    assert "No memory contains" in dialog.memories.status.text()


def test_forget_selected_removes_it_from_the_database(
    qtbot: QtBot, dialog: MemoryMoodDialog, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page = dialog.memories
    row = _texts(dialog).index("My dog is called Max.")
    memory_id = page.row_ids()[row]
    page.table.selectRow(row)
    with qtbot.waitSignal(dialog.memory_forgotten, timeout=10_000) as signal:
        page.forget_button.click()
    assert signal.args == [memory_id]
    qtbot.waitUntil(lambda: page.table.rowCount() == 2)
    assert store.get(memory_id) is None
    assert store.count() == 2


def test_forget_is_cancelled_without_confirmation(
    dialog: MemoryMoodDialog, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    dialog.memories.table.selectRow(0)
    dialog.memories.forget_selected()
    wait_for_background()
    assert store.count() == 3


def test_forget_everything_empties_the_store(
    qtbot: QtBot, dialog: MemoryMoodDialog, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(dialog.everything_forgotten, timeout=10_000):
        dialog.memories.forget_all_button.click()
    qtbot.waitUntil(lambda: dialog.memories.table.rowCount() == 0)
    assert store.count() == 0
    assert store.mood_samples(float("-inf")) == []


def test_editing_a_row_persists(qtbot: QtBot, dialog: MemoryMoodDialog, store: MemoryStore) -> None:
    page = dialog.memories
    row = _texts(dialog).index("My dog is called Max.")
    memory_id = page.row_ids()[row]
    with qtbot.waitSignal(dialog.memory_edited, timeout=10_000):
        page.table.item(row, 1).setText("My dog is called Biscuit.")
    record = store.get(memory_id)
    assert record is not None
    assert record.text == "My dog is called Biscuit."
    assert [h.text for h in store.history(memory_id)] == ["My dog is called Max."]


def test_an_empty_edit_is_refused_inline(dialog: MemoryMoodDialog, store: MemoryStore) -> None:
    page = dialog.memories
    page.table.item(0, 1).setText("   ")
    wait_for_background()
    assert "cannot be empty" in page.status.text()
    assert page.table.item(0, 1).text().strip()
    assert store.count() == 3


def test_export_writes_valid_owner_only_json(
    qtbot: QtBot, dialog: MemoryMoodDialog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out" / "export.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    dialog.memories.export_button.click()
    qtbot.waitUntil(lambda: "Exported" in dialog.memories.status.text(), timeout=10_000)
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["format"] == "her_desktop-memory-export"
    assert len(data["memories"]) == 3
    assert len(data["mood_samples"]) == 5
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_mood_tab_loads_the_history(qtbot: QtBot, dialog: MemoryMoodDialog) -> None:
    qtbot.waitUntil(lambda: dialog.mood.plot.sample_count == 5)


def test_opening_on_a_store_directly(qtbot: QtBot, store: MemoryStore) -> None:
    view = MemoryMoodDialog(store)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.memories.table.rowCount() == 3)
    qtbot.waitUntil(lambda: view.mood.plot.sample_count == 5)


# -- the mood plot ----------------------------------------------------------------------------


def _render(plot: MoodPlot) -> QImage:
    plot.resize(640, 300)
    image = QImage(plot.size(), QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    plot.render(image)
    return image


def _colored_pixels(image: QImage, color: QColor) -> int:
    count = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            pixel = image.pixelColor(x, y)
            if (
                abs(pixel.red() - color.red()) < 40
                and abs(pixel.green() - color.green()) < 40
                and abs(pixel.blue() - color.blue()) < 40
            ):
                count += 1
    return count


def _samples(n: int, days: float = 30.0) -> list[MoodSample]:
    start = time.time() - days * DAY
    step = days * DAY / max(1, n)
    return [
        MoodSample(start + i * step, math.sin(i / 50), 0.5 + 0.4 * math.cos(i / 70), "calm")
        for i in range(n)
    ]


def test_plot_with_no_data_says_so(qtbot: QtBot) -> None:
    from her_desktop.gui.mood_plot import VALENCE_COLOR

    plot = MoodPlot()
    qtbot.addWidget(plot)
    image = _render(plot)
    assert _colored_pixels(image, VALENCE_COLOR) == 0
    dark = sum(
        1
        for y in range(0, image.height(), 2)
        for x in range(0, image.width(), 2)
        if image.pixelColor(x, y).lightness() < 128
    )
    assert dark > 0  # the "No mood data yet" text


@pytest.mark.parametrize("count", [1, 5, 5000])
def test_plot_draws_both_series(qtbot: QtBot, count: int) -> None:
    from her_desktop.gui.mood_plot import AROUSAL_COLOR, VALENCE_COLOR

    plot = MoodPlot()
    qtbot.addWidget(plot)
    plot.set_samples(_samples(count))
    image = _render(plot)
    assert _colored_pixels(image, VALENCE_COLOR) > 5
    assert _colored_pixels(image, AROUSAL_COLOR) > 5


def test_decimation_keeps_at_most_one_point_per_column() -> None:
    samples = _samples(5000)
    points = decimate(samples, 300)
    assert len(points) <= 300
    assert sum(p.count for p in points) == 5000
    assert all(-1.0 <= p.valence <= 1.0 and 0.0 <= p.arousal <= 1.0 for p in points)
    assert decimate([], 10) == []
    assert len(decimate(samples[:7], 300)) == 7


def test_hover_finds_the_nearest_point(qtbot: QtBot) -> None:
    from her_desktop.gui.mood_plot import tooltip_text

    plot = MoodPlot()
    qtbot.addWidget(plot)
    plot.resize(640, 300)
    samples = _samples(1)
    plot.set_samples(samples)
    _render(plot)
    rect = plot._plot_rect()
    x = rect.center().x()
    y = plot._y_valence(samples[0].valence, rect)
    point = plot.point_near(x, y)
    assert point is not None
    assert point.ts == samples[0].ts
    assert "Valence" in tooltip_text(point)
    assert plot.point_near(rect.left() + 2, rect.bottom() - 2) is None


def test_plot_handles_gaps_and_odd_values(qtbot: QtBot) -> None:
    now = time.time()
    samples = [
        MoodSample(now - 20 * DAY, 0.5, 0.5, "happy"),
        MoodSample(now - 19 * DAY, 2.0, -1.0, "out of range"),
        MoodSample(now - 2 * DAY, float("nan"), 0.3, ""),
        MoodSample(now, -0.5, 0.9, "sad"),
    ]
    plot = MoodPlot()
    qtbot.addWidget(plot)
    plot.set_samples(InMemoryMoodHistory(samples).samples(0))
    _render(plot)


# -- the running app ----------------------------------------------------------------------------


def test_service_actions_go_through_the_memory_service(store: MemoryStore) -> None:
    """Edits and forgetting via the running MemoryService: its index and the bus stay in step."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    seen: list[Event] = []

    async def start() -> tuple[Bus, MemoryService]:
        bus = Bus()

        async def collect(event: Event) -> None:
            seen.append(event)

        bus.subscribe((MemoryStored, MemoryForgotten), collect, name="test")
        service = MemoryService(bus, store, HashingEmbedder(), engine=None, enabled=True)
        await service.start()
        return bus, service

    try:
        bus, service = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
        actions = ServiceMemoryActions(service, loop)  # called from this (worker-like) thread
        memory_id = store.memories()[0].id
        assert actions.edit(memory_id, "My cat is called Tom.")
        assert actions.forget(memory_id)
        assert store.get(memory_id) is None
        assert memory_id not in service.index()
        asyncio.run_coroutine_threadsafe(bus.close(), loop).result(10)
        assert MemoryForgotten(memory_id) in seen
        assert any(isinstance(e, MemoryStored) and e.updated for e in seen)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_an_app_without_a_memory_file_explains_itself(qtbot: QtBot) -> None:
    app = SimpleNamespace(dialogue=None, store=None, memory=None)
    view = MemoryMoodDialog(app)  # type: ignore[arg-type]
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: "memory is off" in view.memories.status.text())
    assert view.mood.plot.sample_count == 0
