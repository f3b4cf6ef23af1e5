"""The phrase lists of ``data/reply_style.toml`` and the checks of one sentence against them.

The reply filter (``llm.reply_filter``) drops what these find: an assistant cliché (a fixed
phrase or one of its variants as a pattern; a formula that only opens an answer is left out
and the answer kept), a claim of a human experience, a sentence unkind to the user. The same
file holds the words a reply may not open with, the request for a longer answer, and the
lines said instead of a reply left with nothing. Phrases are matched in ``normalize``'s form.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import tomllib
from dataclasses import dataclass

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "“": '"', "”": '"'})
_NEGATION = re.compile(r"\b(?:not|never|no one|nobody|does not|do not)\b|n't\b")


def normalize(text: str) -> str:
    """Lower case, straight apostrophes, single spaces: the form phrases are matched in."""
    return " ".join(text.translate(_APOSTROPHES).lower().split())


@dataclass(frozen=True, slots=True)
class StylePhrases:
    """The phrase lists of ``data/reply_style.toml``."""

    cliches: tuple[str, ...]
    human_experience: tuple[re.Pattern[str], ...]
    long_request: re.Pattern[str]
    fallbacks: tuple[str, ...]
    too_slow: tuple[str, ...]
    """Said when the model ran out of time before a sentence was complete."""
    openers: tuple[str, ...] = ()
    """Words a reply may not start with (``GenerationParams.banned_openers``)."""
    question_fallbacks: tuple[str, ...] = ()
    self_fallbacks: tuple[str, ...] = ()
    """Said instead when every sentence of a reply to a question about her own life was
    dropped (a claim of a past or a body): what she is, said warmly."""
    """Said instead of ``fallbacks`` when the user asked a question."""
    unkind: tuple[re.Pattern[str], ...] = ()
    """Sentences unkind to the user (agreeing they are not good enough, blaming them)."""
    cliche_patterns: tuple[re.Pattern[str], ...] = ()
    """Help-desk phrases as patterns: the variants the fixed ``cliches`` miss."""
    cliche_opening: re.Pattern[str] | None = None
    """A formula that opens an answer ("To summarise, …"): left out, the rest kept."""
    urgent_help: re.Pattern[str] | None = None
    """A sentence pointing to urgent help (a crisis line): never dropped as a referral."""

    @staticmethod
    @functools.cache
    def load() -> StylePhrases:
        raw = (
            importlib.resources.files("her_desktop.llm")
            .joinpath("data/reply_style.toml")
            .read_text(encoding="utf-8")
        )
        data = tomllib.loads(raw)
        return StylePhrases(
            cliches=tuple(normalize(p) for p in data["cliches"]),
            human_experience=tuple(re.compile(p, re.IGNORECASE) for p in data["human_experience"]),
            long_request=re.compile(data["long_request"], re.IGNORECASE),
            fallbacks=tuple(data["fallbacks"]),
            too_slow=tuple(data["too_slow"]),
            openers=tuple(data.get("openers", ())),
            question_fallbacks=tuple(data.get("question_fallbacks", ())),
            self_fallbacks=tuple(data.get("self_fallbacks", ())),
            unkind=tuple(re.compile(p, re.IGNORECASE) for p in data.get("unkind", ())),
            cliche_patterns=tuple(
                re.compile(p, re.IGNORECASE) for p in data.get("cliche_patterns", ())
            ),
            cliche_opening=(
                re.compile(data["cliche_openings"], re.IGNORECASE)
                if data.get("cliche_openings")
                else None
            ),
            urgent_help=(
                re.compile(data["urgent_help"], re.IGNORECASE) if data.get("urgent_help") else None
            ),
        )

    def cliche(self, text: str) -> str | None:
        """The first cliché ``text`` contains, or None."""
        flat = normalize(text)
        if self.urgent_help is not None and self.urgent_help.search(flat):
            return None  # "please call a crisis line now" is no help-desk referral
        found = next((p for p in self.cliches if p in flat), None)
        if found is not None:
            return found
        match = next((m for p in self.cliche_patterns if (m := p.search(flat))), None)
        return match.group().strip() if match is not None else None

    def without_opening(self, text: str) -> str:
        """``text`` without a help-desk formula that opens it ("To summarise, you said …" →
        "You said …"); unchanged when it has none; empty when only a name or nothing follows
        it."""
        if self.cliche_opening is None:
            return text
        body = text.lstrip()
        match = self.cliche_opening.match(body.translate(_APOSTROPHES))
        if match is None:
            return text
        rest = body[match.end() :]
        if len(rest.split()) < 2:  # "Sure thing, buddy.": the formula and a name, nothing said
            return ""
        return text[: len(text) - len(body)] + rest[:1].upper() + rest[1:]

    def human_claim(self, text: str) -> bool:
        flat = normalize(text)
        return any(p.search(flat) for p in self.human_experience)

    def unkind_to_user(self, text: str) -> bool:
        """``text`` is unkind to the user, with no negation just before ("I don't think
        you're overreacting" is kind)."""
        flat = normalize(text)
        for pattern in self.unkind:
            for match in pattern.finditer(flat):
                if _NEGATION.search(flat[max(0, match.start() - 30) : match.start()]) is None:
                    return True
        return False
