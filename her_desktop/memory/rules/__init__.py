"""A cheap rule-based extractor for the most common ways people tell facts about themselves
(``extractor.RuleExtractor``: the patterns, in order, and the table of what they give). Its parts:
``vocabulary`` (word lists, patterns), ``text`` (sentences, clauses, trimming), ``state`` (what
is kept between sentences), ``people``, ``about_me``, ``changes`` and ``endings`` (the rules).
"""

from __future__ import annotations

from her_desktop.memory.rules.extractor import RuleExtractor
from her_desktop.memory.rules.vocabulary import OCCUPATIONS, WHEN_SPAN

__all__ = ["OCCUPATIONS", "WHEN_SPAN", "RuleExtractor"]
