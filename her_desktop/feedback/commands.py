"""The chat's feedback commands: ``/good``, ``/bad [why]`` on her last reply, ``/style`` (what
she has learned about how to talk to you) and ``/unlearn`` (undo what the ratings taught)."""

from __future__ import annotations

from her_desktop.events import ReplyFinished
from her_desktop.feedback.service import StyleService
from her_desktop.feedback.style import describe

COMMANDS = ("/good", "/bad", "/style", "/unlearn")
HELP = "/good · /bad [why] rate her last reply · /style what she learned · /unlearn undo it"


def is_feedback_command(text: str) -> bool:
    return text.split(maxsplit=1)[0] in COMMANDS if text.strip() else False


async def run_feedback_command(
    style: StyleService | None, last: ReplyFinished | None, text: str
) -> str:
    """Do ``text`` (one of ``COMMANDS``) and say what happened, in one line or a short list."""
    if style is None:
        return "(feedback is not available in this session)"
    command, _, rest = text.strip().partition(" ")
    if command in ("/good", "/bad"):
        if last is None or not last.text.strip():
            return "(there is no reply to rate yet)"
        rating = await style.rate(last.turn_id, last.text, command == "/good", rest.strip())
        thumb = "👍" if rating.good else "👎"
        learned = style.style.learned
        tail = f" She has learned: {' '.join(learned)}" if learned else ""
        return f"({thumb} kept with that reply.{tail})"
    if command == "/unlearn":
        count = await style.undo_learned()
        return f"({count} rating(s) forgotten; what she learned from them is undone)"
    lines = describe(style.style)
    lines += [f"learned: {note}" for note in style.style.learned]
    if not lines:
        return "(nothing yet: tell her how you like her to talk, or rate a reply with /good, /bad)"
    return "How she talks to you:\n" + "\n".join(f"  · {line}" for line in lines)
