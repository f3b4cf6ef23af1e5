"""Feedback in the window (offscreen): 👍/👎 on her replies, kept with the exchange and learned
from; a correction confirmed once; the "How she talks" tab lists the rules and undoes what the
ratings taught."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from her_desktop.feedback import ratings
from her_desktop.feedback.service import style_records
from her_desktop.gui.background import wait_for_background
from her_desktop.gui.memory_view import MemoryMoodDialog
from her_desktop.gui.rating import IDLE_OPACITY, OTHER_OPACITY
from her_desktop.memory.mood import StoreMoodHistory
from her_desktop.memory.store import MemoryStore
from tests.fakes import FakeEngine
from tests.gui.conftest import RunQt, start_window
from tests.gui.input import click, key_click, type_text
from tests.gui.test_window import next_reply, type_and_send
from tests.waiting import wait_until


def test_thumbs_rate_a_reply_and_a_second_click_takes_it_back(run_qt: RunQt) -> None:
    async def scenario() -> None:
        engine = FakeEngine(["One.", " Two.", " Three.", " Four."])
        running = await start_window(engine, with_memory=True)
        window, app = running.window, running.app
        assert app.store is not None
        assert app.style is not None
        type_and_send(window, "tell me about tea")
        reply = await next_reply(window)
        bar = reply.rating
        assert bar.isVisible()
        assert bar.opacity(bar.good) == bar.opacity(bar.bad) == IDLE_OPACITY  # faded until used
        assert bar.good.height() <= bar.height()  # not clipped by the meta row
        click(bar.bad)
        assert bar.why.isVisible()
        assert (bar.opacity(bar.bad), bar.opacity(bar.good)) == (1.0, OTHER_OPACITY)
        type_text(bar.why, "too long")
        key_click(bar.why, Qt.Key.Key_Return)
        assert not bar.why.isVisible()
        assert bar.note.text() == "noted: too long"
        store = app.store
        await wait_until(lambda: [r.why for r in ratings.load(store)] == ["too long"])
        assert ratings.load(store)[0].turn_id == reply.turn_id

        type_and_send(window, "and coffee?")
        second = await next_reply(window, 2)
        click(second.rating.bad)
        await wait_until(lambda: len(ratings.load(store)) == 2)
        await wait_until(lambda: "Prefers short replies." in app.style.style.learned)  # type: ignore[union-attr]

        click(second.rating.bad)  # taken back
        await wait_until(lambda: len(ratings.load(store)) == 1)
        assert not second.rating.bad.isChecked()
        assert second.rating.note.text() == ""
        assert second.rating.opacity(second.rating.bad) == IDLE_OPACITY
        await wait_until(lambda: not window._tasks)  # the rating work has finished
        assert await running.close() == 0

    run_qt(scenario())


def test_a_correction_is_confirmed_and_the_next_reply_obeys_it(run_qt: RunQt) -> None:
    async def scenario() -> None:
        engine = FakeEngine(["Hey buddy, nice to see you."])
        running = await start_window(engine, with_memory=True)
        window = running.window
        type_and_send(window, "Don't call me buddy.")
        confirm = await next_reply(window)
        assert confirm.text == 'Got it — no more "buddy".'
        type_and_send(window, "hello")
        reply = await next_reply(window, 2)
        assert reply.text == "Hey, nice to see you."
        assert running.app.store is not None
        assert [r.subject for r in style_records(running.app.store)] == ["style:banned_word:buddy"]
        assert await running.close() == 0

    run_qt(scenario())


def test_style_tab_lists_rules_and_undoes_learning(qtbot: QtBot, tmp_path: object) -> None:
    from pathlib import Path

    store = MemoryStore.open(Path(str(tmp_path)) / "memory.sqlite3")
    try:
        from her_desktop.feedback.corrections import Correction, canonical, subject
        from her_desktop.memory.records import NewMemory

        with store.turn() as tx:
            for c in (Correction("name", "Sam"), Correction("max_sentences", 2)):
                tx.upsert_memory(
                    NewMemory("preference", canonical(c), subject(c)), source_message_id=None
                )
        for turn in (1, 2):
            ratings.save(store, ratings.rating_for(turn, "One. Two. Three.", False, "too long"))
        view = MemoryMoodDialog(store, mood_history=StoreMoodHistory(store))
        qtbot.addWidget(view)
        page = view.style_page
        assert page is not None
        qtbot.waitUntil(lambda: page.rules.count() == 2 and page.learned.count() == 1)
        assert page.rules.item(0).text() == "Call me Sam."
        assert not page.forget_button.isEnabled()  # until a rule is chosen
        rows = page.rules.sizeHintForRow(0) * 2
        assert rows <= page.rules.height() < rows + 3 * page.rules.sizeHintForRow(0)  # fits
        assert page.learned.item(0).text() == "Prefers short replies."
        assert "0 👍 and 2 👎" in page.ratings_note.text()

        with qtbot.waitSignal(page.changed, timeout=10_000):
            page.unlearn_button.click()
        qtbot.waitUntil(lambda: page.learned.count() == 0)
        assert ratings.load(store) == []
        assert page.nothing_learned.text().startswith("No ratings yet")

        page.rules.setCurrentRow(0)
        assert page.forget_button.isEnabled()
        with qtbot.waitSignal(page.changed, timeout=10_000):
            page.forget_button.click()
        qtbot.waitUntil(lambda: page.rules.count() == 1)
        assert [r.text for r in style_records(store)] == ["Answer in 2 sentences."]
        wait_for_background()
    finally:
        store.close()
