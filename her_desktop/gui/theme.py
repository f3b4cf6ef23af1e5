"""Light and dark themes: one palette of named colours, a QPalette and a small stylesheet.

"system" follows the desktop's colour scheme (Qt 6.5+ ``styleHints().colorScheme()``) and falls
back to light when the platform does not say. Custom-painted widgets (the orb, the bubbles'
markdown) read the same :class:`Theme`, so a switch repaints everything consistently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

ThemeChoice = Literal["system", "light", "dark"]


@dataclass(frozen=True, slots=True)
class Theme:
    name: Literal["light", "dark"]
    window: str
    surface: str
    text: str
    muted: str
    border: str
    accent: str
    accent_text: str
    user_bubble: str
    user_text: str
    assistant_bubble: str
    code_bg: str
    link: str
    error_bg: str
    error_text: str
    notice_bg: str
    # the presence orb, per state
    orb_idle: str
    orb_listening: str
    orb_thinking: str
    orb_speaking: str


LIGHT = Theme(
    name="light",
    window="#f6f3ef",
    surface="#ffffff",
    text="#1f1c19",
    muted="#736c63",
    border="#e4ddd4",
    accent="#d9603f",
    accent_text="#ffffff",
    user_bubble="#f6ddd3",
    user_text="#2a1a14",
    assistant_bubble="#ffffff",
    code_bg="#f1ece6",
    link="#b4472a",
    error_bg="#fbe3e0",
    error_text="#8a1f14",
    notice_bg="#efe9e1",
    orb_idle="#e9a08a",
    orb_listening="#3aa89e",
    orb_thinking="#e5a84b",
    orb_speaking="#d9603f",
)

DARK = Theme(
    name="dark",
    window="#191817",
    surface="#23211f",
    text="#ede8e1",
    muted="#9d958b",
    border="#35322e",
    accent="#ef8a6a",
    accent_text="#1b1411",
    user_bubble="#3b2a23",
    user_text="#f6e6de",
    assistant_bubble="#252321",
    code_bg="#302d2a",
    link="#f2a287",
    error_bg="#4a2320",
    error_text="#ffd3cc",
    notice_bg="#2c2926",
    orb_idle="#b9735f",
    orb_listening="#4cc2b6",
    orb_thinking="#efb45e",
    orb_speaking="#ef8a6a",
)


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = hints.colorScheme() if hints is not None else Qt.ColorScheme.Unknown
    return scheme == Qt.ColorScheme.Dark


def resolve_theme(choice: ThemeChoice) -> Theme:
    if choice == "dark":
        return DARK
    if choice == "light":
        return LIGHT
    return DARK if system_prefers_dark() else LIGHT


def build_palette(theme: Theme) -> QPalette:
    palette = QPalette()
    c = QColor
    role = QPalette.ColorRole
    palette.setColor(role.Window, c(theme.window))
    palette.setColor(role.WindowText, c(theme.text))
    palette.setColor(role.Base, c(theme.surface))
    palette.setColor(role.AlternateBase, c(theme.window))
    palette.setColor(role.Text, c(theme.text))
    palette.setColor(role.PlaceholderText, c(theme.muted))
    palette.setColor(role.Button, c(theme.surface))
    palette.setColor(role.ButtonText, c(theme.text))
    palette.setColor(role.Highlight, c(theme.accent))
    palette.setColor(role.HighlightedText, c(theme.accent_text))
    palette.setColor(role.ToolTipBase, c(theme.surface))
    palette.setColor(role.ToolTipText, c(theme.text))
    palette.setColor(role.Link, c(theme.link))
    palette.setColor(role.BrightText, c(theme.error_text))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(disabled, r, c(theme.muted))
    return palette


def stylesheet(theme: Theme) -> str:
    t = theme
    return f"""
QMainWindow, QDialog {{ background: {t.window}; }}
QFrame#header {{ background: {t.window}; border-bottom: 1px solid {t.border}; }}
QLabel#personaName {{ font-size: 16pt; font-weight: 600; color: {t.text}; }}
QLabel#stateText {{ color: {t.muted}; }}
QScrollArea#conversation, QWidget#conversationBody {{ background: {t.window}; border: none; }}
QFrame#assistantBubble {{
    background: {t.assistant_bubble}; border: 1px solid {t.border}; border-radius: 14px;
}}
QFrame#userBubble {{ background: {t.user_bubble}; border: none; border-radius: 14px; }}
QFrame#ghostBubble {{
    background: transparent; border: 1px dashed {t.border}; border-radius: 14px;
}}
QFrame#userBubble QLabel {{ color: {t.user_text}; }}
QFrame#ghostBubble QLabel {{ color: {t.muted}; font-style: italic; }}
QLabel#meta {{ color: {t.muted}; font-size: 8.5pt; }}
QLabel#pageTitle {{ font-size: 12pt; font-weight: 600; }}
QLabel#sectionTitle {{ font-weight: 600; }}
QListWidget#styleRules::item, QListWidget#styleLearned::item {{ padding: 4px 6px; }}
QToolButton#copyButton {{
    color: {t.muted}; border: none; font-size: 8.5pt; padding: 0 4px; background: transparent;
}}
QToolButton#copyButton:hover {{ color: {t.accent}; }}
QToolButton#rateButton {{ border: 1px solid transparent; border-radius: 10px; font-size: 11pt;
    padding: 0; background: transparent; }}
QToolButton#rateButton:hover {{ border: 1px solid {t.border}; }}
QToolButton#rateButton:checked {{ background: {t.surface}; border: 1px solid {t.accent}; }}
QLineEdit#rateWhy {{ font-size: 8.5pt; padding: 1px 6px; border: 1px solid {t.border};
    border-radius: 9px; background: {t.surface}; color: {t.text}; }}
QLineEdit#rateWhy:focus {{ border: 1px solid {t.accent}; }}
QFrame#composer {{ background: {t.window}; border-top: 1px solid {t.border}; }}
QPlainTextEdit#composerEdit {{
    background: {t.surface}; border: 1px solid {t.border}; border-radius: 12px;
    padding: 6px 8px; color: {t.text};
}}
QPlainTextEdit#composerEdit:focus {{ border: 1px solid {t.accent}; }}
QToolButton#roundButton {{
    background: {t.surface}; border: 1px solid {t.border}; border-radius: 19px;
}}
QToolButton#roundButton:hover {{ border: 1px solid {t.accent}; }}
QToolButton#roundButton:checked, QToolButton#roundButton:pressed {{
    background: {t.user_bubble}; border: 1px solid {t.accent};
}}
QToolButton#roundButton:disabled {{ background: {t.window}; }}
QToolButton#stopButton {{
    background: {t.surface}; border: 1px solid {t.border}; border-radius: 19px;
}}
QToolButton#stopButton:enabled {{ border: 2px solid {t.accent}; }}
QToolButton#stopButton:disabled {{ background: {t.window}; }}
QToolButton#sendButton {{
    background: {t.accent}; border: none; border-radius: 19px;
}}
QToolButton#sendButton:disabled {{ background: {t.border}; }}
QFrame#statusLine[level="error"] {{ background: {t.error_bg}; border-radius: 8px; }}
QFrame#statusLine[level="notice"] {{ background: {t.notice_bg}; border-radius: 8px; }}
QFrame#statusLine[level="error"] QLabel {{ color: {t.error_text}; }}
QFrame#statusLine QLabel {{ color: {t.text}; }}
QToolButton#dismissButton {{ border: none; background: transparent; color: {t.muted}; }}
QProgressBar {{
    border: 1px solid {t.border}; border-radius: 6px; background: {t.surface};
    text-align: center; color: {t.text};
}}
QProgressBar::chunk {{ background: {t.accent}; border-radius: 5px; }}
"""


FALLBACK_FAMILIES = ("Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Color Emoji")
"""Tried in order for characters the UI font lacks: CJK always in the same regular weight,
emoji in colour (where installed; missing families are skipped by Qt)."""


def apply_fonts(app: QApplication) -> None:
    font = app.font()
    families = [font.family()] + [f for f in FALLBACK_FAMILIES if f != font.family()]
    if font.families() != families:
        font.setFamilies(families)
        app.setFont(font)


def apply_theme(app: QApplication, choice: ThemeChoice) -> Theme:
    """Style the whole application and return the theme now in use."""
    theme = resolve_theme(choice)
    apply_fonts(app)
    app.setStyle("Fusion")
    app.setPalette(build_palette(theme))
    app.setStyleSheet(stylesheet(theme))
    return theme
