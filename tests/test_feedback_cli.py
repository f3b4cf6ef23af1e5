"""Feedback from the terminal: corrections, /good, /bad [why], /style, /unlearn in ``chat``, and
``her-desktop memory style``; ratings kept with their exchange and learned from."""

from __future__ import annotations

import argparse
import io

import pytest

from her_desktop.app import build_app
from her_desktop.cli import memory_cmd
from her_desktop.cli.chat import run_chat
from her_desktop.feedback.ratings import Rating, learned_notes, rating_for
from her_desktop.persona import load_persona
from tests.fakes import FakeEngine
from tests.running_app import light_settings


async def chat_with(lines: str, engine: FakeEngine) -> str:
    app = build_app(light_settings(), load_persona("samantha"), engine=engine)
    out, err = io.StringIO(), io.StringIO()
    code = await run_chat(
        app, name="Sam", greeting="Hi!", stdin=io.StringIO(lines), stdout=out, stderr=err
    )
    assert code == 0, err.getvalue()
    return out.getvalue()


def _memory(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    memory_cmd.add_parser(parser.add_subparsers(dest="command"))
    return memory_cmd.run(parser.parse_args(["memory", *argv]))


async def test_chat_rates_replies_and_shows_what_she_learned(
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine = FakeEngine(["One.", " Two.", " Three.", " Four?"])
    out = await chat_with("/good\nhello\n/bad too long\nagain\n/bad rambling\n/style\n", engine)
    assert "(there is no reply to rate yet)" in out
    assert "👎 kept with that reply." in out
    assert "Prefers short replies." in out  # two 👎 agreeing
    assert "learned: Prefers short replies." in out

    assert _memory("style") == 0
    shown = capsys.readouterr().out
    assert "Ratings: 0 👍, 2 👎" in shown
    assert "Learned: Prefers short replies." in shown
    assert _memory("style", "--unlearn") == 0
    assert "2 rating(s) forgotten" in capsys.readouterr().out
    assert _memory("style") == 0
    assert "No style rules yet" in capsys.readouterr().out


async def test_a_spoken_rule_is_listed_and_forgettable_and_a_new_session_obeys_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = await chat_with("Don't call me buddy.\n", FakeEngine(["Hi buddy."]))
    assert 'Got it — no more "buddy".' in out
    assert _memory("style") == 0
    listed = capsys.readouterr().out
    assert '"Don\'t call me "buddy"."' in listed or "buddy" in listed
    assert "style:banned_word:buddy" in listed

    out = await chat_with("hello\n", FakeEngine(["Hi buddy, good to see you."]))
    assert "Hi, good to see you." in out
    assert "buddy" not in out.split("hello", 1)[-1]

    rule_id = int(listed.split("#", 1)[1].split()[0])
    assert _memory("forget", str(rule_id)) == 0
    out = await chat_with("hello\n", FakeEngine(["Hi buddy."]))
    assert "Hi buddy." in out


def test_learned_notes_need_agreeing_evidence() -> None:
    long_reply = "One. Two. Three. Four."
    one_bad = [rating_for(1, long_reply, good=False)]
    assert learned_notes(one_bad) == []
    two_bad = [*one_bad, rating_for(2, long_reply, good=False)]
    assert learned_notes(two_bad) == ["Prefers short replies."]
    mixed = [*two_bad, *(rating_for(i, long_reply, good=True) for i in range(3, 6))]
    assert learned_notes(mixed) == ["Likes fuller, more detailed replies."]
    questions = [rating_for(i, "How are you? Tell me.", good=False) for i in range(2)]
    assert "Prefers fewer questions back." in learned_notes(questions)
    funny = [rating_for(i, "Ha.", good=True, why="that was funny") for i in range(2)]
    assert learned_notes(funny) == ["Enjoys a bit of humour."]


def test_rating_text_reads_back() -> None:
    from her_desktop.feedback.ratings import from_record
    from her_desktop.memory.records import MemoryRecord

    r = rating_for(42, 'She said "hi". How are you?', good=False, why="too nosy")
    record = MemoryRecord(7, "preference", "feedback:42", r.text(), 0, 0, None, 0, None, 0, 1)
    back = from_record(record)
    assert back == Rating(42, False, 2, True, "She said 'hi'. How are you?", "too nosy", 7)
