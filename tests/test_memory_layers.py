"""``MemoryService`` is a chain of layer classes (``memory/service.py``) sharing one state;
these tests keep the two things about it that mypy does not check.

mypy (strict) already rejects a layer calling a method of a later layer: ``self`` in ``Recall``
has only what ``Recall`` and the layers below it define. What it allows, and what would change
a layer's behaviour without a word in its own module, is a later layer (or the other branch,
``ReplyCheck``) defining a name an earlier one already has: the earlier layer's own calls would
then run the later code. And state a layer starts keeping outside ``MemoryState`` is state the
other layers cannot see is there.
"""

from __future__ import annotations

import ast
import inspect

from her_desktop.memory.corrections import Corrections
from her_desktop.memory.keeping import Keeping
from her_desktop.memory.recall import Recall
from her_desktop.memory.replaced import Replaced
from her_desktop.memory.reply_check import ReplyCheck
from her_desktop.memory.saving import Saving
from her_desktop.memory.service import MemoryService
from her_desktop.memory.state import MemoryState

LAYERS = (MemoryState, Replaced, Recall, ReplyCheck, Corrections, Saving, Keeping, MemoryService)


def test_the_layers_are_these() -> None:
    assert set(MemoryService.__mro__) - {object} == set(LAYERS)


def test_no_layer_redefines_a_name_of_another() -> None:
    seen: dict[str, str] = {}
    for layer in LAYERS:
        for name in vars(layer):
            if name.startswith("__") and name.endswith("__"):
                continue
            assert name not in seen, f"{layer.__name__}.{name} hides {seen[name]}.{name}"
            seen[name] = layer.__name__


def _set_on_self(cls: type) -> dict[str, int]:
    """The attributes ``cls``'s own methods assign on ``self`` (name → line)."""
    found: dict[str, int] = {}
    tree = ast.parse(inspect.getsource(cls))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
            and isinstance(node.ctx, ast.Store)
        ):
            found.setdefault(node.attr, node.lineno)
    return found


def test_the_state_is_declared_in_memory_state() -> None:
    declared = set(_set_on_self(MemoryState))
    for layer in LAYERS[1:]:
        extra = set(_set_on_self(layer)) - declared
        assert not extra, f"{layer.__name__} keeps {sorted(extra)} outside MemoryState"
