"""What her reply must respect, checked in Python: allergies, things avoided, dislikes.

The small LM forgets a note it was given ("peanut butter toast" to a user stored as allergic to
peanuts), so each sentence of a reply is checked before it is spoken (``MemoryService`` is the
dialogue's ``ReplyGuard``):

- the constraints are the stored memories under ``health.allergy.*``, ``avoids.*``, and
  ``likes.*`` / ``favorite.*`` with a negative valence (a dislike); each gives its terms (the
  subject's words: ``health.allergy.peanuts`` → "peanuts"), widened by a small table of what
  they are in (nuts → almond, cashew…; dairy → cheese, butter…);
- a sentence *offends* when it names one of those terms (crude stems: "peanut" matches
  "peanuts") and does not itself warn about it ("since you're allergic…", "without",
  "-free", "avoid", "instead of", or a negation just before the term: "no peanuts").

``Constraint.instruction`` is what the dialogue adds when it asks the LM again, and
``Constraint.reminder`` the sentence it says in place of an offending one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from her_desktop.memory.grounding import FUNCTION_WORDS, stem, words
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.retrieval import second_person

CONSTRAINT_PREFIXES: Final = ("health.allergy.", "avoids.", "likes.", "favorite.")
CONTAINED_IN: Final[dict[str, tuple[str, ...]]] = {
    "peanut": ("peanut", "satay", "pad thai", "reese", "snickers"),
    "nut": ("peanut", "almond", "cashew", "walnut", "hazelnut", "pecan", "pistachio",
            "macadamia", "nutella", "praline", "marzipan", "pesto", "satay"),
    "shellfish": ("shrimp", "prawn", "crab", "lobster", "mussel", "oyster", "scallop", "clam"),
    "seafood": ("shrimp", "prawn", "crab", "lobster", "mussel", "oyster", "fish", "salmon",
                "tuna", "sushi"),
    "fish": ("salmon", "tuna", "cod", "sushi", "sardine", "anchov", "mackerel", "trout"),
    "dairy": ("milk", "cheese", "butter", "yogurt", "yoghurt", "cream", "ice cream", "latte",
              "milkshake", "parmesan", "mozzarella", "cheddar", "feta", "halloumi", "custard"),
    "lactose": ("milk", "cheese", "butter", "yogurt", "yoghurt", "cream", "ice cream", "latte",
                "milkshake"),
    "milk": ("cheese", "butter", "yogurt", "yoghurt", "cream", "latte"),
    "gluten": ("bread", "pasta", "toast", "flour", "wheat", "pizza", "cake", "cookie", "beer",
               "sandwich", "bagel", "croissant", "noodle"),
    "wheat": ("bread", "pasta", "toast", "flour", "pizza", "cake", "cookie", "sandwich"),
    "egg": ("omelette", "omelet", "mayonnaise", "mayo", "meringue", "quiche", "frittata"),
    "meat": ("chicken", "beef", "pork", "bacon", "ham", "steak", "sausage", "burger", "lamb",
             "turkey", "salami", "pepperoni", "meatball"),
    "pork": ("bacon", "ham", "sausage", "salami", "pepperoni", "prosciutto", "chorizo"),
    "alcohol": ("wine", "beer", "vodka", "cocktail", "whisky", "whiskey", "gin", "rum",
                "champagne", "prosecco"),
    "soy": ("tofu", "soy sauce", "edamame", "miso", "tempeh"),
    "sesame": ("tahini", "hummus", "sesame"),
    "cat": ("cat", "kitten"),
    "dog": ("dog", "puppy", "puppies"),
    "strawberr": ("strawberr",),
    "caffeine": ("coffee", "espresso", "latte", "cappuccino", "energy drink", "cola"),
    "coffee": ("espresso", "latte", "cappuccino"),
    "fizzy": ("cola", "coke", "lemonade", "soda", "pepsi", "sprite", "fanta", "energy drink",
              "tonic", "ginger beer"),
    "sugar": ("cake", "sweets", "candy", "chocolate", "cola", "coke", "lemonade", "soda",
              "dessert", "ice cream", "cookie", "biscuit", "doughnut", "donut"),
}  # fmt: skip
WARNING_WORDS: Final = re.compile(
    r"\b(allerg\w*|avoid\w*|without|instead|skip\w*|careful|dislike\w*|hate\w*|"
    r"substitut\w*|swap\w*|replace\w*|steer clear)\b|\w-free\b|\bfree of\b",
    re.IGNORECASE,
)
NEGATIONS: Final = frozenset(
    ["no", "not", "never", "don't", "dont", "can't", "cannot", "won't", "isn't", "aren't", "nor"]
)
NEGATION_WINDOW: Final = 3
MAX_CONSTRAINTS: Final = 40


@dataclass(frozen=True, slots=True)
class Constraint:
    kind: str  # "allergy", "avoid" or "dislike"
    subject: str
    text: str  # the memory, in the user's voice
    terms: tuple[str, ...]

    @property
    def instruction(self) -> str:
        what = ", ".join(self.terms[:6])
        return (
            f'The user told you: "{second_person(self.text)}" Do not suggest or recommend '
            f"{what} or anything made with it; suggest something else."
        )

    @property
    def reminder(self) -> str:
        said = second_person(self.text).rstrip(".!")
        return f"Actually, scratch that: you told me {said[:1].lower() + said[1:]}."


DIETS: Final[dict[re.Pattern[str], tuple[str, ...]]] = {
    re.compile(r"\b(vegan|plant[- ]based)\b", re.I): ("fish", "seafood", "dairy", "egg", "honey"),
    re.compile(r"\bvegetarian\b", re.I): ("fish", "seafood"),
}
"""what a diet kept as ``avoids.meat`` ("I'm vegan.") also leaves out"""


def constraints_from(records: Iterable[MemoryRecord]) -> list[Constraint]:
    out: list[Constraint] = []
    for r in records:
        if r.subject is None or not r.subject.startswith(CONSTRAINT_PREFIXES):
            continue
        if lapsed(r.text):  # "I'm not vegetarian anymore…" replaced "I'm vegetarian."
            continue
        if r.subject.startswith("health.allergy."):
            kind = "allergy"
        elif r.subject.startswith("avoids."):
            kind = "avoid"
        elif r.valence < 0:
            kind = "dislike"
        else:
            continue
        # the thing is the key's last part: "health.allergy.amara.egg" is Amara's egg allergy
        leaf = r.subject.rsplit(".", 1)[-1].replace("_", " ")
        base = [w for w in words(leaf) if w not in FUNCTION_WORDS]
        if not base:
            continue
        terms: list[str] = [" ".join(base)] if len(base) > 1 else []
        terms += base if len(base) == 1 else []
        left_out = [w for diet, more in DIETS.items() if diet.search(r.text) for w in more]
        terms += [w for w in left_out if w not in terms]
        base += left_out
        for w in base:
            for key, contained in CONTAINED_IN.items():
                if stem(w).startswith(stem(key)):  # "caffeine" (stem "caffein")
                    terms += [c for c in contained if c not in terms]
        out.append(Constraint(kind, r.subject, r.text, tuple(dict.fromkeys(terms))))
        if len(out) >= MAX_CONSTRAINTS:
            break
    return out


LAPSED: Final = re.compile(
    r"\b(?:anymore|any more|no longer|gave up|given up|stopped|quit|again)\b", re.IGNORECASE
)
STILL_AVOIDS: Final = re.compile(r"^I (?:don't|do not|never|can't|cannot|avoid)\b", re.IGNORECASE)


def lapsed(text: str) -> bool:
    """A constraint's memory that now says it no longer holds ("I'm not vegetarian anymore",
    "I eat meat again"); "I don't eat pork any more" still avoids it."""
    return LAPSED.search(text) is not None and STILL_AVOIDS.match(text) is None


def _mentions(said: list[str], term: str) -> int | None:
    """Where in ``said`` (stems) ``term`` starts, or None."""
    parts = [stem(w) for w in words(term)]
    if not parts:
        return None
    n = len(parts)
    for i in range(len(said) - n + 1):
        if n == 1:
            w = said[i]
            if w == parts[0] or (len(parts[0]) >= 4 and w.startswith(parts[0])):
                return i
        elif said[i : i + n] == parts:
            return i
    return None


def offended(sentence: str, constraints: Sequence[Constraint]) -> Constraint | None:
    """The first constraint ``sentence`` goes against, or None (see the module docstring)."""
    if not constraints or WARNING_WORDS.search(sentence):
        return None
    raw = words(sentence)
    said = [stem(w) for w in raw]
    for c in constraints:
        for term in c.terms:
            at = _mentions(said, term)
            if at is None:
                continue
            if any(w in NEGATIONS for w in raw[max(0, at - NEGATION_WINDOW) : at]):
                continue  # "no peanuts", "not the cheese"
            return c
    return None
