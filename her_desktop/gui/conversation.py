"""The conversation view: user and assistant bubbles, streamed replies, a live "ghost" bubble for
what the user is saying, timestamps and a copy button per message.

Streaming re-renders a bubble at most every ~30 ms however fast the tokens come; the view stays
pinned to the bottom while the user has not scrolled up. Text is selectable; links are never
opened (clicking one emits ``link_activated`` and the window copies it).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QResizeEvent, QTextDocument
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from her_desktop.events import FinishReason
from her_desktop.gui.markdown import MarkdownStyle, render_markdown, render_plain
from her_desktop.gui.rating import RatingBar
from her_desktop.gui.theme import LIGHT, Theme

Role = Literal["user", "assistant", "ghost"]
RENDER_DELAY_MS = 30
BUBBLE_SHARE = 0.78
BUBBLE_PADDING = 28  # left + right inside the bubble frame
THINKING_TEXT = "…"

FINISH_NOTES: dict[str, str] = {
    "cancelled": "stopped",
    "length": "cut at the length limit",
    "deadline": "cut: it took too long",
    "error": "no reply: see the message above",
}


def markdown_style(theme: Theme) -> MarkdownStyle:
    return MarkdownStyle(code_bg=theme.code_bg, link=theme.link)


class MessageBubble(QWidget):
    """One message: the bubble and a line with its time, a note and a copy button."""

    link_activated = Signal(str)
    rated = Signal(int, int, str)
    """(turn id, 1 👍 / -1 👎 / 0 taken back, why) on a finished reply"""

    def __init__(
        self,
        role: Role,
        text: str,
        style: MarkdownStyle,
        *,
        turn_id: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.role = role
        self.turn_id = turn_id
        self.when = datetime.now()
        self._text = text
        self._style = style
        self._max_width = 520
        self._render_pending = False
        self.finished = role != "assistant"

        self.frame = QFrame(self)
        self.frame.setObjectName(
            {"user": "userBubble", "assistant": "assistantBubble", "ghost": "ghostBubble"}[role]
        )
        self.label = QLabel(self.frame)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setOpenExternalLinks(False)
        self.label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.label.linkActivated.connect(self.link_activated)
        self.label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        inner = QVBoxLayout(self.frame)
        inner.setContentsMargins(14, 9, 14, 9)
        inner.addWidget(self.label)

        self.meta = QLabel(self.when.strftime("%H:%M"), self)
        self.meta.setObjectName("meta")
        self.meta.setToolTip(self.when.strftime("%A %d %B %Y, %H:%M:%S"))
        self.copy_button = QToolButton(self)
        self.copy_button.setObjectName("copyButton")
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy this message")
        self.copy_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.copy_button.setVisible(role != "ghost")
        self.rating = RatingBar(self)
        self.rating.setVisible(False)  # on her finished replies of this conversation only
        self.rating.rated.connect(self._on_rated)

        bubble_row = QHBoxLayout()
        meta_row = QHBoxLayout()
        meta_row.setSpacing(2)
        for row in (bubble_row, meta_row):
            row.setContentsMargins(0, 0, 0, 0)
        if role == "assistant":
            bubble_row.addWidget(self.frame)
            bubble_row.addStretch(1)
            meta_row.addSpacing(10)
            meta_row.addWidget(self.meta)
            meta_row.addWidget(self.copy_button)
            meta_row.addWidget(self.rating)
            meta_row.addStretch(1)
        else:
            bubble_row.addStretch(1)
            bubble_row.addWidget(self.frame)
            meta_row.addStretch(1)
            meta_row.addWidget(self.meta)
            meta_row.addWidget(self.copy_button)
            meta_row.addSpacing(10)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 4, 12, 4)
        outer.setSpacing(2)
        outer.addLayout(bubble_row)
        outer.addLayout(meta_row)
        self.meta.setVisible(role != "ghost")
        self._render()

    # -- content -----------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The raw message text (markdown source): what Copy puts on the clipboard."""
        return self._text

    def set_text(self, text: str) -> None:
        self._text = text
        self._schedule_render()

    def append(self, piece: str) -> None:
        self._text += piece
        self._schedule_render()

    def finish(self, text: str, reason: FinishReason) -> None:
        self.finished = True
        if text:
            self._text = text
        self.rating.setVisible(self.turn_id is not None and bool(self._text.strip()))
        note = FINISH_NOTES.get(reason, "")
        if note:
            self.meta.setText(f"{self.when.strftime('%H:%M')} · {note}")
        self._render()

    def set_style(self, style: MarkdownStyle) -> None:
        self._style = style
        self._render()

    def set_max_width(self, width: int) -> None:
        if width != self._max_width:
            self._max_width = width
            self._fit_width()

    def _on_rated(self, value: int, why: str) -> None:
        if self.turn_id is not None:
            self.rated.emit(self.turn_id, value, why)

    def copy_to_clipboard(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self._text)

    # -- rendering ---------------------------------------------------------------------------

    def _schedule_render(self) -> None:
        if not self._render_pending:
            self._render_pending = True
            QTimer.singleShot(RENDER_DELAY_MS, self._render)

    def _render(self) -> None:
        self._render_pending = False
        shown = self._text
        if self.role == "assistant" and not shown.strip():
            shown = THINKING_TEXT
        # what the user typed is shown exactly as typed; her replies get light markdown
        plain = self.role == "user"
        body = render_plain(shown) if plain else render_markdown(shown, self._style)
        self.label.setText(body)
        self._fit_width()

    def _fit_width(self) -> None:
        doc = QTextDocument()
        doc.setDefaultFont(self.label.font())
        doc.setHtml(self.label.text())
        ideal = math.ceil(doc.idealWidth())
        width = max(24, min(ideal + 2, self._max_width - BUBBLE_PADDING))
        self.label.setFixedWidth(width)
        self.label.updateGeometry()


class ConversationView(QScrollArea):
    """The scrolling list of bubbles."""

    link_activated = Signal(str)
    reply_rated = Signal(int, int, str)
    """👍/👎 on a reply: (turn id, 1 / -1 / 0 taken back, why)"""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversation")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._body = QWidget()
        self._body.setObjectName("conversationBody")
        self._layout = QVBoxLayout(self._body)
        self._layout.setContentsMargins(8, 12, 8, 12)
        self._layout.setSpacing(6)
        self._layout.addStretch(1)
        self.setWidget(self._body)
        self._style = markdown_style(LIGHT)
        self._bubbles: list[MessageBubble] = []
        self._replies: dict[int, MessageBubble] = {}
        self._ghost: MessageBubble | None = None
        self._stick = True
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        bar.valueChanged.connect(self._on_scrolled)

    # -- queries -----------------------------------------------------------------------------

    def bubbles(self) -> list[MessageBubble]:
        return list(self._bubbles)

    def reply(self, turn_id: int) -> MessageBubble | None:
        return self._replies.get(turn_id)

    @property
    def ghost(self) -> MessageBubble | None:
        return self._ghost

    # -- messages ----------------------------------------------------------------------------

    def add_message(self, role: Literal["user", "assistant"], text: str) -> MessageBubble:
        bubble = MessageBubble(role, text, self._style, parent=self._body)
        if role == "assistant":
            bubble.finished = True
            bubble.set_text(text)
        self._insert(bubble)
        return bubble

    def start_reply(self, turn_id: int) -> MessageBubble:
        existing = self._replies.get(turn_id)
        if existing is not None:
            return existing
        bubble = MessageBubble("assistant", "", self._style, turn_id=turn_id, parent=self._body)
        bubble.rated.connect(self.reply_rated)
        self._replies[turn_id] = bubble
        self._insert(bubble)
        return bubble

    def append_reply(self, turn_id: int, piece: str) -> None:
        bubble = self._replies.get(turn_id) or self.start_reply(turn_id)
        bubble.append(piece)

    def finish_reply(self, turn_id: int, text: str, reason: FinishReason) -> None:
        bubble = self._replies.pop(turn_id, None)
        if bubble is None:
            if not text:
                return
            bubble = self.start_reply(turn_id)
            self._replies.pop(turn_id, None)
        if not text and not bubble.text and reason == "error":  # the status line says why
            self._remove(bubble)
            return
        bubble.finish(text, reason)

    def show_partial(self, text: str) -> None:
        if self._ghost is None:
            self._ghost = MessageBubble("ghost", text, self._style, parent=self._body)
            self._insert(self._ghost)
        else:
            self._ghost.set_text(text)

    def clear_partial(self) -> None:
        if self._ghost is not None:
            self._remove(self._ghost)
            self._ghost = None

    def clear(self) -> None:
        for bubble in list(self._bubbles):
            self._remove(bubble)
        self._replies.clear()
        self._ghost = None

    def set_theme(self, theme: Theme) -> None:
        self._style = markdown_style(theme)
        for bubble in self._bubbles:
            bubble.set_style(self._style)

    # -- layout ------------------------------------------------------------------------------

    def _insert(self, bubble: MessageBubble) -> None:
        bubble.link_activated.connect(self.link_activated)
        bubble.set_max_width(self._bubble_width())
        index = self._layout.count() - 1  # before the stretch
        if self._ghost is not None and bubble is not self._ghost:
            index = self._layout.indexOf(self._ghost)  # the ghost stays last
        self._layout.insertWidget(index, bubble)
        self._bubbles.append(bubble)
        self._stick = True

    def _remove(self, bubble: MessageBubble) -> None:
        if bubble in self._bubbles:
            self._bubbles.remove(bubble)
        self._layout.removeWidget(bubble)
        bubble.deleteLater()

    def _bubble_width(self) -> int:
        return max(200, int(self.viewport().width() * BUBBLE_SHARE))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        width = self._bubble_width()
        for bubble in self._bubbles:
            bubble.set_max_width(width)

    def _on_range_changed(self, _low: int, high: int) -> None:
        if self._stick:
            self.verticalScrollBar().setValue(high)

    def _on_scrolled(self, value: int) -> None:
        self._stick = value >= self.verticalScrollBar().maximum() - 8
