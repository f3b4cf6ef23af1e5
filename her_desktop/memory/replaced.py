"""What is no longer true, re-read after each write (a layer of ``MemoryService``).

``refresh_constraints`` re-reads the stored constraints (for the reply check) and the words and
values that were replaced; ``_read_changes`` the notes that say a value is over or was wrong
(``changed``). Recall leaves out what they make outdated (``_outdated``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Final

from her_desktop.memory.changed import Change, called, read_change
from her_desktop.memory.constraints import CONSTRAINT_PREFIXES, constraints_from
from her_desktop.memory.grounding import FUNCTION_WORDS, stem, words
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.state import MemoryState, is_kept

CHANGE_SCAN: Final = 2000
"""the newest notes read for what changed (``changed``)"""
VALUE_WORDS: Final = re.compile(r"(?<=\s)(?:(?-i:[A-Z])[\w'-]+|\d[\w'-]*)")
"""the words of a text that are values: names, places, numbers (not its first word)"""


class Replaced(MemoryState):
    """The constraints, replaced values and changes: see the module docstring."""

    def refresh_constraints(self) -> None:
        """Re-read the stored allergies, things avoided and dislikes, and the words of values
        that were replaced since (in a worker thread)."""
        self._constraints = constraints_from(self.store.with_subject_prefix(CONSTRAINT_PREFIXES))
        stale: dict[str, float] = {}
        values: dict[str, float] = {}
        for old, new, replaced in self.store.replaced_values():
            now = {stem(w) for w in words(new)}
            gone = {stem(w) for w in words(old) if w not in FUNCTION_WORDS and stem(w) not in now}
            for w in gone:
                stale[w] = max(stale.get(w, 0.0), replaced)
            for w in VALUE_WORDS.findall(" " + old[1:]):  # "Biscuit", "Denver", "9th"
                if stem(w.lower()) in gone:
                    values[stem(w.lower())] = max(values.get(stem(w.lower()), 0.0), replaced)
        self._stale = stale
        self._stale_values = values
        self._changes = self._read_changes()

    def _changes_now(self) -> list[Change]:
        if self._changes is None:
            self._changes = self._read_changes()
        return self._changes

    def _read_changes(self) -> list[Change]:
        """The notes that say a value is over or was wrong (``changed.read_change``; each
        note is read again only when its text changed)."""
        out: list[Change] = []
        seen: set[int] = set()
        for record in self.store.memories(limit=CHANGE_SCAN):
            seen.add(record.id)
            if is_kept(record):
                continue
            known = self._read.get(record.id)
            if known is not None and known[0] == record.text:
                change = known[1]
            else:
                change = read_change(record)
                if change is not None and change.gone and change.old:
                    older = [r for w in change.old for r in self.store.search_text(w, limit=20)]
                    change = dataclasses.replace(change, called=called(change, older))
                self._read[record.id] = (record.text, change)
            if change is not None:
                out.append(dataclasses.replace(change, record=record))
        for gone in self._read.keys() - seen:
            del self._read[gone]
        return out

    def _outdated(self, record: MemoryRecord) -> bool:
        """A note that names a value replaced since: an episode naming any word of a replaced
        text ("My friends in Denver threw me a party" after "I moved to Austin"), or another
        keyed note naming the replaced value itself (a name, a place, a number) and written
        before it was replaced ("Biscuit sleeps in his basket" after the puppy's rename)."""
        said = {stem(w) for w in words(record.text)}
        if record.subject is None:
            if any(record.updated < self._stale[w] for w in said & self._stale.keys()):
                return True  # told before the change
            # told with the change ("we call her Ziggy now, Whiskers didn't fit"): only when it
            # names the replaced value itself, not a word of how it was said ("I drive a…")
            values = self._stale_values.items()
            return any(record.updated <= when for w, when in values if w in said)
        return any(
            record.updated < replaced for w, replaced in self._stale_values.items() if w in said
        )
