"""The memory & mood window: see, search, edit, forget and export what she remembers, and the
mood timeline. It offers what ``her-desktop memory`` offers on the command line.

The tabs are :mod:`her_desktop.gui.memory_list` and :mod:`her_desktop.gui.mood_page`; what they
do to memories, without Qt, is :mod:`her_desktop.gui.memory_actions`. Every database call runs
on a worker thread (:mod:`her_desktop.gui.background`), so a large memory never freezes the
window.

Wiring (for the main window)::

    dialog = MemoryMoodDialog(app, window)    # the running App (under qasync)
    dialog.open()

The first argument is the running ``App`` (edits and forgetting then go through its
``MemoryService``, so the live memory index stays in step and ``MemoryForgotten`` /
``MemoryStored`` are published on the bus), a bare :class:`MemoryStore` (as the CLI does it), or
any :class:`MemoryActions`. Signals ``memory_forgotten(int)``, ``memory_edited(int)`` and
``everything_forgotten()`` report what the user did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QVBoxLayout, QWidget

from her_desktop.affect.history import MoodHistory
from her_desktop.gui.memory_actions import MemoryActions, StoreMemoryActions, actions_for_app
from her_desktop.gui.memory_list import MemoryListPage
from her_desktop.gui.mood_page import MoodPage
from her_desktop.gui.style_page import StylePage
from her_desktop.memory.mood import StoreMoodHistory
from her_desktop.memory.store import MemoryStore

if TYPE_CHECKING:
    from her_desktop.app import App


class MemoryMoodDialog(QDialog):
    """What she remembers (tab 1) and the mood timeline (tab 2). Non-modal is fine.

    ``source``: the running ``App`` (see :func:`actions_for_app`), a :class:`MemoryStore`
    (wrapped in :class:`StoreMemoryActions`) or any :class:`MemoryActions`.
    ``mood_history``: any ``MoodHistory``; default: the store's. Loading starts at once, on
    worker threads.
    """

    memory_forgotten = Signal(int)
    memory_edited = Signal(int)
    everything_forgotten = Signal()

    def __init__(
        self,
        source: App | MemoryStore | MemoryActions,
        parent: QWidget | None = None,
        *,
        mood_history: MoodHistory | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Memory and mood")
        actions: MemoryActions
        if isinstance(source, MemoryStore):
            actions = StoreMemoryActions(source)
            mood_history = mood_history if mood_history is not None else StoreMoodHistory(source)
        elif hasattr(source, "dialogue") and hasattr(source, "store"):  # the running App
            actions, app_history = actions_for_app(source)  # type: ignore[arg-type,unused-ignore]
            mood_history = mood_history if mood_history is not None else app_history
        else:
            actions = source  # type: ignore[assignment,unused-ignore]
        if mood_history is None:
            raise ValueError("mood_history is needed when memories is not a MemoryStore")
        self.memories = MemoryListPage(actions)
        self.mood = MoodPage(mood_history)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.memories, "Memories")
        self.tabs.addTab(self.mood, "Mood")
        self.style_page: StylePage | None = None
        store = source if isinstance(source, MemoryStore) else getattr(source, "store", None)
        if isinstance(store, MemoryStore):  # how she talks to you (``feedback``)
            self.style_page = StylePage(store)
            self.tabs.addTab(self.style_page, "How she talks")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(close)
        self.resize(820, 560)

        self.memories.memory_forgotten.connect(self.memory_forgotten)
        self.memories.memory_edited.connect(self.memory_edited)
        self.memories.everything_forgotten.connect(self.everything_forgotten)
        self.memories.everything_forgotten.connect(self.mood.reload)
        self.memories.reload()
        self.mood.reload()
        if self.style_page is not None:
            page = self.style_page
            page.reload()
            self.memories.memory_edited.connect(lambda _id: page.reload())
            self.memories.memory_forgotten.connect(lambda _id: page.reload())
            page.changed.connect(self.memories.reload)
