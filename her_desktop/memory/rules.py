"""A cheap rule-based extractor for the most common ways people tell facts about themselves.

Used when no LM is available, alongside the LM (its answers are precise where they match), and
in tests. English only. Each sentence of the user's message is tried against the patterns below
in order; the first that matches gives one ``Candidate``. Questions and hypotheticals ("if my…",
"what if…") are skipped. Memory texts are normalised first-person sentences ("My dog is called
Biscuit."), so they read naturally when quoted back.

| pattern                                   | kind       | subject                  |
|-------------------------------------------|------------|--------------------------|
| my name is N / call me N / I'm called N   | fact       | user.name                |
| my <pet> is (called) N, I have a <pet> named N | fact  | pet.<animal>.name        |
| my <relation> is (called) N               | fact       | people.<relation>.name   |
| he's/she's/it's called N, his name is N   | fact       | the last named subject   |
| my favo(u)rite T is V                     | preference | favorite.<t>             |
| I love / like / enjoy / hate / can't stand X | preference | likes.<x>             |
| I'm a W (an occupation) / I work as a W   | fact       | user.job                 |
| I'm a W (anything else)                   | fact       | user.is.<w>              |
| I work at/for P                           | fact       | user.workplace           |
| I live in P / I moved to P                | fact       | user.home                |
| I'm from P / I grew up in P               | fact       | user.hometown            |
| I'm N years old                           | fact       | user.age                 |
| my birthday is D / I was born on D        | fact       | user.birthday            |
| I'm allergic to X                         | fact       | health.allergy.<x>       |
| I'm afraid/scared/terrified of X          | fact       | fears.<x>                |
| I'm learning / studying X                 | fact       | user.learning.<x>        |
| I/we went/took/had/got… or a sentence about me with today/tomorrow/next week… | episode | none |

Contradictions: the same subject key is produced for "my dog is Biscuit" and "my dog is
actually called Max" — and for "actually he's called Max" right after a naming, through the last
named subject — so the store updates the memory instead of adding a second one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from her_desktop.memory.extraction import Candidate, clean_text, dedupe, normalize_subject
from her_desktop.memory.grounding import FUNCTION_WORDS, stem, words
from her_desktop.sentences import split_sentences

PETS: Final = {
    "dog": "dog", "puppy": "dog", "cat": "cat", "kitten": "cat", "hamster": "hamster",
    "rabbit": "rabbit", "bunny": "rabbit", "parrot": "parrot", "bird": "bird", "horse": "horse",
    "fish": "fish", "goldfish": "fish", "turtle": "turtle", "tortoise": "tortoise",
    "snake": "snake", "lizard": "lizard", "guinea pig": "guinea_pig", "ferret": "ferret",
    "retriever": "dog", "labrador": "dog", "spaniel": "dog", "terrier": "dog", "poodle": "dog",
    "collie": "dog", "beagle": "dog", "dachshund": "dog", "pug": "dog", "husky": "dog",
    "sheepdog": "dog", "bulldog": "dog", "greyhound": "dog", "whippet": "dog", "corgi": "dog",
    "schnauzer": "dog", "chihuahua": "dog", "lurcher": "dog", "tabby": "cat", "siamese": "cat",
}  # fmt: skip
RELATIONS: Final = {
    "sister": "sister", "brother": "brother", "mother": "mother", "mom": "mother",
    "mum": "mother", "father": "father", "dad": "father", "wife": "wife", "husband": "husband",
    "partner": "partner", "girlfriend": "girlfriend", "boyfriend": "boyfriend", "son": "son",
    "daughter": "daughter", "best friend": "best_friend", "boss": "boss",
    "grandmother": "grandmother", "grandma": "grandmother", "grandfather": "grandfather",
    "grandpa": "grandfather", "aunt": "aunt", "uncle": "uncle", "cousin": "cousin",
    "roommate": "roommate", "flatmate": "roommate", "therapist": "therapist",
    "fiancé": "fiance", "fiancée": "fiance", "fiance": "fiance", "fiancee": "fiance",
    "niece": "niece", "nephew": "nephew", "teacher": "teacher", "coach": "coach",
    "grandad": "grandfather", "granddad": "grandfather", "gran": "grandmother",
    "granny": "grandmother", "nan": "grandmother", "nana": "grandmother",
    "friend": "friend", "assistant": "assistant", "colleague": "colleague",
    "coworker": "colleague", "neighbour": "neighbour", "neighbor": "neighbour",
    "physio": "physio", "physiotherapist": "physio", "doctor": "doctor", "dentist": "dentist",
    "landlord": "landlord", "landlady": "landlord", "manager": "manager", "stepmother":
    "stepmother", "stepfather": "stepfather", "stepson": "stepson", "stepdaughter":
    "stepdaughter", "twin": "twin", "godson": "godson", "goddaughter": "goddaughter",
    "parents": "parents", "grandparents": "grandparents", "in-laws": "in_laws",
}  # fmt: skip
PLURAL_RELATIONS: Final = frozenset({"parents", "grandparents", "in-laws"})
"""relations that are several people ("my parents live…", "…are called…")"""
PARTNERS: Final = frozenset({"wife", "husband", "partner", "girlfriend", "boyfriend", "fiance"})
"""relations a breakup ends"""
MANY: Final = frozenset({"friend", "colleague", "neighbour", "cousin"})
"""relations people have several of: each name is its own memory"""
_OCCUPATION_WORDS: Final = (
    "accountant actor actress architect artist baker barista carpenter cashier chef cleaner "
    "coder consultant cook dancer dentist designer developer doctor driver economist editor "
    "electrician engineer farmer firefighter gardener hairdresser journalist judge lawyer "
    "librarian manager mechanic midwife musician nurse paramedic pharmacist photographer "
    "physician physicist pilot plumber professor programmer psychologist researcher sailor "
    "salesman saleswoman scientist secretary singer soldier student surgeon tailor teacher "
    "technician therapist translator tutor vet veterinarian waiter waitress writer retiree "
    "retired freelancer entrepreneur analyst administrator receptionist caregiver carer assistant "
    "barista bookseller cleaner courier instructor coach trainer officer clerk postman builder "
    "butcher optician porter guard miner nanny"
)
OCCUPATIONS: Final = frozenset(_OCCUPATION_WORDS.split())
LIKE_VERBS: Final = {
    "love": 0.8, "adore": 0.8, "like": 0.5, "enjoy": 0.6, "hate": -0.8, "dislike": -0.5,
    "can't stand": -0.8, "cannot stand": -0.8, "detest": -0.8, "loathe": -0.8,
}  # fmt: skip
HEAVY_WORDS: Final = (
    "vet", "hospital", "sick", "ill", "died", "passed away", "funeral", "surgery", "operation",
    "exam", "interview", "wedding", "broke up", "breakup", "divorce", "pregnant", "baby",
    "fired", "laid off", "promotion", "new job", "diagnos", "accident", "birthday",
    "anniversary", "moving", "moved", "graduat", "cancer", "lost my", "anxious", "depressed",
)  # fmt: skip
POSITIVE_WORDS: Final = (
    "great", "happy", "excited", "won", "passed", "promotion", "love", "fun", "wonderful",
    "good", "amazing", "proud", "glad", "relieved", "engaged", "graduat", "new job",
)  # fmt: skip
NEGATIVE_WORDS: Final = (
    "sick", "ill", "sad", "died", "worried", "failed", "lost", "fired", "hurt", "broke",
    "awful", "terrible", "stressed", "anxious", "vet", "hospital", "funeral", "surgery",
    "accident", "lonely", "depressed", "scared", "laid off", "cancer", "breakup", "broke up",
)  # fmt: skip
TIME_WORDS: Final = re.compile(
    r"\b(today|tonight|tomorrow|yesterday|last night|this morning|this weekend|next week|"
    r"last week|next month|last month|last year|next year|"
    r"on (monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b",
    re.IGNORECASE,
)
EVENT_START: Final = re.compile(
    r"^(i|we)( just| finally| had to| have to| am going to|'m going to| will|'ll)? "
    r"(went|took|had|got|started|finished|lost|visited|met|passed|failed|broke|moved|quit|"
    r"bought|adopted|won|saw|found|began|lost|signed|booked|celebrated|graduated|"
    r"go|take|have|start|visit|meet|move|see|fly|flew|travel|travelled|traveled)\b",
    re.IGNORECASE,
)
FILLERS: Final = re.compile(
    r"^((actually|well|oh|so|and|but|also|anyway|btw|by the way|um+|uh+|hm+|hey|hi|no|yes|"
    r"yeah|ok|okay|oh and|you know what|wait|sorry|right|honestly|I mean|big news|good news|"
    r"bad news|guess what|news|update|oops|whoops|oh wait|now|these days|(?:it )?turns out|"
    r"apparently|in fact)[,!.:]?\s+)+",
    re.IGNORECASE,
)
NEW_VALUE: Final = re.compile(
    r"(?:,\s*|\s+but\s+)(?:and |but |so )?(?P<cue>(?:now|these days|instead)[, ]+)?"
    r"(?=(?:i|i'm|i've|we|we're|she's|he's|she|he|they|they're)\b)",
    re.IGNORECASE,
)
ENDED_CUE: Final = re.compile(
    r"\b(no longer|anymore|any more|left|quit|moved out of|got rid of|sold|stopped|gave up|"
    r"used to)\b",
    re.IGNORECASE,
)
"""where an ended value gives way to the new one: "I left the library, now I teach at…", "I
quit guitar, I'm learning the drums now", "I'm no longer with Northwind, I joined Contoso"
(each side is read on its own; a "now" cut off stays with the new value)"""
SKIP_START: Final = re.compile(
    r"^(if|what if|when|whether|maybe|perhaps|do you|did you|can you|could you|would you|"
    r"what|who|where|why|how|is|are|will you|should)\b",
    re.IGNORECASE,
)
_NAME_BODY: Final = r"[^\W\d_][\w'’-]*(?: (?-i:[A-Z])[\w'’-]*)?"
NAME: Final = rf"(?P<name>{_NAME_BODY})"
_NOT_NAME_WORDS: Final = (
    "a an the very so really not sick ill fine okay ok good great old young sad happy "
    "tired away home here there back out my your his her their our it this that"
)
NOT_NAMES: Final = frozenset(_NOT_NAME_WORDS.split())
MAX_OBJECT_WORDS: Final = 8
_ABBREVIATIONS: Final = (
    "st dr mr mrs ms prof jr sr vs etc approx e.g i.e no mt ft ave rd jan feb mar apr jun jul "
    "aug sep sept oct nov dec a.m p.m"
)
ABBREVIATIONS: Final = frozenset(_ABBREVIATIONS.split())
MAX_CLAUSE_WORDS: Final = 16
_DAYS: Final = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?"
_MONTHS: Final = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december)"
)
_CLOCK: Final = (
    r"(?:\d{1,2}(?:[:.]\d\d)?(?: ?[ap]\.?m\.?)?|noon|midday|one|two|three|four|five|six|"
    r"seven|eight|nine|ten|eleven|twelve)(?: ?[ap]\.?m\.?| o'clock| thirty| fifteen)?"
)
WHEN_PHRASE: Final = (
    rf"(?:(?:on |every |next )?{_DAYS}(?: (?:morning|afternoon|evening|night)s?)?"
    rf"(?: (?:at|from) {_CLOCK})?|(?:on )?the \d{{1,2}}(?:st|nd|rd|th)(?: of {_MONTHS})?"
    rf"(?: at {_CLOCK})?|(?:in |next )?{_MONTHS}(?: \d{{1,2}}(?:st|nd|rd|th)?)?|at {_CLOCK}|"
    r"tomorrow|next week|next month|the weekend|next weekend)"
)
"""a day, date or time ("Thursday at two", "Wednesdays", "the 12th", "March")"""
_MOVE_NOISE: Final = "called rang phoned texted emailed said told just now"
MOVE_NOISE: Final = frozenset(_MOVE_NOISE.split())
WHEN_SPAN: Final = re.compile(rf"(?<!\w){WHEN_PHRASE}(?!\w)", re.IGNORECASE)
MAX_SENTENCE_CHARS: Final = 1000
MAX_SUBJECT_WORDS: Final = 4


def _alternatives(words: dict[str, str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_PET = _alternatives(PETS)
_REL = _alternatives(RELATIONS)
_NAMING = r"(?:'s name is|’s name is| is called| is named| is|'s called|’s called| called| named)"


@dataclass(frozen=True, slots=True)
class _Named:
    subject: str
    noun: str


def _split_sentences(text: str) -> list[str]:
    """Sentences by the reply splitter (``sentences``: "St. Mary's", "Dr. Lee", "3.5" are
    not cut), then cut again where casual typing goes on in lower case ("i'm fine. my dog…")
    or at a semicolon."""
    text = text.replace("’", "'")
    out: list[str] = []
    for sentence in split_sentences(text, max_chars=MAX_SENTENCE_CHARS):
        start = 0
        for m in re.finditer(r"(?<=[;!?])\s+|(?<=[.])\s+(?=[a-z])|\n+", sentence):
            before = sentence[start : m.start()].rstrip(".").rsplit(None, 1)
            after_dot = sentence[m.start() - 1] == "."
            if after_dot and before and before[-1].lower().strip("'") in ABBREVIATIONS:
                continue  # "st. mary's", "dr. lee"
            out.append(sentence[start : m.start()])
            start = m.end()
        out.append(sentence[start:])
    return [p.strip(" ;") for p in out if p.strip(" ;")]


def _clauses(s: str) -> list[str]:
    """A sentence cut before "and/but/so" when a new statement about someone starts there."""
    parts = re.split(
        r",?\s+(?:and|but|so|because)\s+(?=(?:i|i'm|i've|my|we|we're|she|he|they|she's|he's|"
        r"they're)\b)|,\s+(?=(?:she|he|they)\b)",
        s,
        flags=re.IGNORECASE,
    )
    out: list[str] = []
    for part in parts:  # "my gran Rosa is 92 and lives in Naples": "… and they live in Naples"
        first, *rest = re.split(r"\s+and\s+(?=(?:lives|works|moved)\b)", part)
        out += [first, *(f"they {r}" for r in rest)]
    return [p.strip() for p in out if p.strip()]


def _slug(text: str, max_words: int = MAX_SUBJECT_WORDS) -> str | None:
    words = re.findall(r"[^\W_]+", text.lower())
    words = [w for w in words if w not in ("a", "an", "the", "my", "to", "of")]
    return normalize_subject("_".join(words[:max_words]))


def _trim_object(text: str) -> str:
    """The object of a statement without what follows a clause break or a time phrase."""
    text = re.split(r",| but | because | since | when | though ", text, maxsplit=1)[0]
    text = TIME_WORDS.split(text, maxsplit=1)[0]
    text = re.sub(r"\s+(originally|now|these days|at the moment|anymore)\s*[.!]*$", "", text)
    words = text.strip(" .!;:").split()
    return " ".join(words[:MAX_OBJECT_WORDS])


def _trim_clause(text: str) -> str:
    """Like ``_trim_object`` but keeping time phrases ("my mum's visit next week")."""
    text = re.split(r",| but | because | though | and i | so i ", text, maxsplit=1)[0]
    words = text.strip(" .!;:").split()
    return " ".join(words[:MAX_CLAUSE_WORDS])


_STOP_VERBS: Final = (
    r"(?:sold|got rid of|gave away|given away|gave up|given up|quit|stopped|dropped|ditched|"
    r"cancelled|canceled|no longer have|don't have|left|resigned from|"
    r"handed in my notice (?:at|to))"
)
_STOP_NOISE: Final = "completely entirely altogether totally now recently again finally job work"
STOP_NOISE: Final = frozenset(_STOP_NOISE.split()) - {"job", "work"}
_NOT_PLACE_STARTS: Final = "a an the my our his her their it that this be get start work"
NOT_PLACE_STARTS: Final = frozenset(_NOT_PLACE_STARTS.split()) - {"the"}
PLACE_END: Final = re.compile(
    r"\s+(?:for|with|because|after|since|as|so|when|where|which|who|last|this|next|a few|"
    r"in (?:the|a|an) |in (?:january|february|march|april|may|june|july|august|september|"
    r"october|november|december)|to (?:be|get|start|live|work|study|look)|two|three|four)\b.*$",
    re.IGNORECASE,
)


def _place(text: str) -> str:
    """ "Málaga for the sun" → "Málaga"; "Glasgow, new school and everything" → "Glasgow"."""
    return PLACE_END.sub("", _trim_object(text)).strip(" .!,")


_DROPPED_SUBJECT_VERBS: Final = (
    "made went got had took saw bought finished started visited met cooked baked booked "
    "ran walked watched read wrote called lost found tried"
)
DROPPED_SUBJECT_VERBS: Final = frozenset(_DROPPED_SUBJECT_VERBS.split())
_EVALUATIVE: Final = (
    "great lovely nice fine amazing awesome brilliant sweet cute ok okay good bad wonderful "
    "fun funny kind lovely best worst cool"
)
EVALUATIVE: Final = frozenset(_EVALUATIVE.split())
CHANGE_CUES: Final = re.compile(
    r"\b(now|anymore|any more|no longer|these days|nowadays|instead|from now on)\b", re.I
)
"""a sentence that says a value changed (``_changed_slot``)"""
SUBJECT_ADVERBS: Final = re.compile(
    r"^(?P<who>i|we|i'm|we're|he|she|they|he's|she's|they're|it's|my [\w-]+|our [\w-]+)"
    r"(?: now| currently| actually| really| just| recently| finally| officially| still)+ "
    r"(?=(?:a |an |the )?[\w'-]+)",
    re.IGNORECASE,
)
"""an adverb between the subject and the verb, dropped before the patterns are tried"""
IRREALIS_START: Final = re.compile(
    r"\b(looking for|want|wants|would love|'d love|hoping|hope to|thinking of|thinking about|"
    r"might|maybe|if)\b",
    re.IGNORECASE,
)
RELATION_FIELDS: Final = (
    ("name", re.compile(r"\b(call|calls|calling|called|name|named|goes by|go by)\b", re.I)),
    (
        "home",
        re.compile(
            r"\b(live|lives|living|moved|based|relocated|house|flat|apartment|home)\b", re.I
        ),
    ),
    ("work", re.compile(r"\b(work|works|working|job|employed|office|company|firm)\b", re.I)),
)
"""a relation a change can be about, and the words that say it"""
UPDATE_WORDS: Final = re.compile(
    r"\b(now|anymore|any more|no longer|actually|instead|moved|renamed|changed|not)\b", re.I
)


def _updating(s: str) -> bool:
    """A sentence that changes what was said before: its old value must not be kept again."""
    return UPDATE_WORDS.search(s) is not None


def _uncovered(s: str, found: list[Candidate]) -> list[str]:
    """Content words of ``s`` that none of ``found`` keeps."""
    kept = {stem(w) for c in found for w in words(c.text)}
    return [w for w in words(s) if w not in FUNCTION_WORDS and stem(w) not in kept]


def _article(text: str) -> str:
    """ "a ER nurse" → "an ER nurse"."""
    return re.sub(r"\ba (?=[aeiouAEIOU]|ER\b|MBA\b|RN\b|MRI\b)", "an ", text)


def _is_name(word: str, *, capitalised: bool) -> bool:
    first = word.split()[0]
    if first.lower() in NOT_NAMES:
        return False
    return not capitalised or first[:1].isupper()


def _salience(text: str, base: float) -> float:
    lower = text.lower()
    heavy = any(w in lower for w in HEAVY_WORDS)
    return min(1.0, base + (0.3 if heavy else 0.0))


def _valence(text: str) -> float:
    lower = text.lower()
    words = set(re.findall(r"[a-z']+", lower))
    pos = sum(1 for w in POSITIVE_WORDS if (w in words if " " not in w else w in lower))
    neg = sum(1 for w in NEGATIVE_WORDS if (w in words if " " not in w else w in lower))
    return max(-1.0, min(1.0, 0.4 * (pos - neg)))


class RuleExtractor:
    """See the module docstring. Keeps the last named subject (for "he's called Max")."""

    name = "rules"

    def __init__(self) -> None:
        self.last_named: _Named | None = None
        self.last_said: str | None = None
        self._changing = False
        """the sentence being read says something changed (``CHANGE_CUES``)"""
        """the last sentence that told something (what "her" in "I'm worried about her" is)"""
        self._methods = (
            self._name, self._got_pet, self._rename, self._named, self._pronoun, self._lives,
            self._favorite, self._no_longer, self._named_moved, self._like, self._avoid,
            self._worry, self._plan, self._their_job, self._about_me,
            self._called,
        )  # fmt: skip

    def extract(self, user_text: str) -> list[Candidate]:
        found: list[Candidate] = []
        for sentence in _split_sentences(user_text[:4000]):
            got = self._sentence(sentence)
            if got and not sentence.endswith("?"):
                self.last_said = FILLERS.sub("", sentence).strip()
            found += got
        return dedupe(found)

    def _sentence(self, raw: str) -> list[Candidate]:
        if raw.endswith("?"):
            return []
        s = FILLERS.sub("", raw).strip()
        if not s or SKIP_START.match(s):
            return []
        s = re.sub(r"\bI am\b", "I'm", s, flags=re.IGNORECASE)
        self._changing = CHANGE_CUES.search(s) is not None
        s = SUBJECT_ADVERBS.sub(r"\g<who> ", s)  # "I now work at…", "she's actually called…"
        s = re.sub(r"\bI've got\b|\bI have got\b", "I have", s, flags=re.IGNORECASE)
        s = re.sub(r"\b(don|doesn|didn|can|isn|wasn|won)t\b", r"\1't", s, flags=re.IGNORECASE)
        change = (
            self._correction(s) or self._relocated(s) or self._renamed(s)
            or self._split_up(s) or self._substitution(s) or self._moved(s)
            or self._retimed(s)
        )  # fmt: skip
        if change is not None:
            return [change]
        parts = self._old_then_new(s)
        if parts:  # the old value ends, then the new one is told: each on its own
            got = [c for part in parts for c in self._sentence(part)]
            last = {c.subject: i for i, c in enumerate(got) if c.subject is not None}
            return [c for i, c in enumerate(got) if c.subject is None or last[c.subject] == i]
        switched = self._switched(s)
        if switched:
            return switched
        ended = self._no_longer(s) or self._ended(s)  # a keyed fact first ("user.workplace")
        if ended is not None:
            return [ended]
        self._mentioned(s)
        found: list[Candidate] = []
        named = False
        for clause in _clauses(s):
            clause = FILLERS.sub("", clause).strip()
            appositive = self._appositive(clause)  # "My sister Ana lives in…": name, then more
            if appositive is not None:
                found.append(appositive)
                named = True
            job_at = self._job_at(clause)  # "I'm a nurse at St. Mary's": a job and a workplace
            if job_at:
                found += job_at
                continue
            for method in self._methods:
                candidate = method(clause)
                if candidate is not None:
                    found.append(candidate)
                    break
        if not found:
            slot = self._changed_slot(s)  # "she's living in Leeds now": where she lives
            if slot is not None:
                return [slot]
            about = self._about_them(s)
            if about is not None:
                return [about]
            episode = self._episode(s)
            return [episode] if episode is not None else []
        left = _uncovered(s, found)
        telling = [w for w in left if w[:1].isdigit()] + re.findall(
            r"(?<=\s)(?-i:[A-Z])[\w'-]+", " " + s
        )
        telling = [w for w in telling if stem(w.lower()) in {stem(x) for x in left}]
        told = [w for w in left if not UPDATE_WORDS.fullmatch(w) and w not in EVALUATIVE]
        if telling or len(left) >= 4 or (named and told):  # a replaced value is not quoted (stale)
            # "my friend Bea is getting married in Sicily": the name, and the rest verbatim
            episode = self._episode(s, said=True)
            if episode is not None:
                found.append(episode)
        return found

    def _old_then_new(self, s: str) -> list[str]:
        """The sides of a sentence where an ended value gives way to a new one (``NEW_VALUE``),
        or [] when it is not one."""
        cuts = list(NEW_VALUE.finditer(s))
        if not cuts:
            return []
        first, rest = s[: cuts[0].start()], s[cuts[0].end() :]
        if not re.match(r"(?:i|i'm|i've|we|we're|we've)\b", first, re.IGNORECASE):
            return []  # "Hana moved out of Leeds, she's in York now": one change, read whole
        if not (ENDED_CUE.search(first) or cuts[0]["cue"] or CHANGE_CUES.search(rest)):
            return []
        parts: list[str] = []
        start, cue = 0, False
        for m in [*cuts, None]:
            part = s[start : m.start() if m else len(s)].strip(" ,;")
            if cue and not CHANGE_CUES.search(part):
                part = f"{part.rstrip('.!')} now"
            if part:
                parts.append(part)
            if m is not None:
                start, cue = m.end(), bool(m["cue"])
        return parts if len(parts) > 1 else []

    def _changed_slot(self, s: str) -> Candidate | None:
        """A sentence no rule reads that says something changed ("now", "anymore", "no
        longer", "these days", "instead") about one relation (a name, a home, work) of one
        person or pet: kept in the user's words under that key (``<who>.<field>``), so it
        replaces the value stored there (which stays as its history)."""
        if not self._changing or IRREALIS_START.search(s):
            return None
        fields = [field for field, said in RELATION_FIELDS if said.search(s)]
        if len(fields) != 1:
            return None
        field = fields[0]
        mine = re.search(
            rf"\b(?:my|our|the) (?:little |older |younger |big |old |new |baby )?(?P<noun>{_PET}|"
            rf"{_REL})\b",
            s,
            re.IGNORECASE,
        )
        start = re.match(r"^(?P<w>[\w'-]+)", s)
        first = start["w"].lower() if start else ""
        who: _Named | None = None
        if mine is not None:
            who = self._entity(mine.group(0))
        elif first in ("i", "i'm", "i've", "we", "we're", "we've"):
            who = _Named("user", "")
        elif first in ("he", "she", "they", "it", "he's", "she's", "they're", "it's"):
            who = self._entity(first.split("'")[0])
        elif start is not None:
            who = self._entity(start["w"])
        if who is None or (who.subject == "user" and field == "name"):
            return None  # "we call him Max now": not the user's name
        if field == "work":  # the user's workplace when one is named, else the job
            named_place = re.search(r"\b(?:at|for|with) (?:the )?(?-i:[A-Z])", s)
            field = "workplace" if who.subject == "user" and named_place else "job"
        said = s
        if mine is None and who.noun and first.split("'")[0] in ("he", "she", "they", "it"):
            plural = first.startswith("they")  # "she's living in…": "My uncle is living in…"
            said = re.sub(
                r"^(?:he|she|it|they)(?:'s|'re)?",
                lambda m: f"My {who.noun}" + ((" are" if plural else " is") if "'" in m[0] else ""),
                s,
                count=1,
                flags=re.IGNORECASE,
            )
        text = clean_text(said if said[-1] in ".!" else said + ".")
        if text is None:
            return None
        return Candidate("fact", text, f"{who.subject}.{field}", 0.75, 0.0, 0.5)

    # -- facts ---------------------------------------------------------------------------

    def _name(self, s: str) -> Candidate | None:
        m = re.match(
            r"^(?:my name is|my name's|i'm called|call me|people call me|you can call me)\s+"
            + NAME,
            s,
            re.IGNORECASE,
        )
        if not m or not _is_name(m["name"], capitalised=False):
            return None
        name = m["name"].title() if m["name"].islower() else m["name"]
        return Candidate("fact", f"My name is {name}.", "user.name", 0.9, 0.0, 0.7)

    def _named(self, s: str) -> Candidate | None:
        have = re.match(
            rf"^i have an? (?:[a-z]+ )?(?P<noun>{_PET}|{_REL})(?: who is| who's| that is)?"
            rf"(?: called| named)\s+{NAME}",
            s,
            re.IGNORECASE,
        )
        my = re.match(
            rf"^(?:my|our|the) (?:little |older |younger |big |old |new )?(?P<noun>{_PET}|{_REL})"
            rf"{_NAMING}(?P<actually> actually| now| really)?(?P<called> called| named)?\s+{NAME}",
            s,
            re.IGNORECASE,
        )
        m = have or my
        if not m:
            return None
        noun = m["noun"].lower()
        explicit = have is not None or bool(my and (my["called"] or "name" in my.group(0)))
        if not _is_name(m["name"], capitalised=not explicit):
            return None
        kind_of = f"pet.{PETS[noun]}" if noun in PETS else f"people.{RELATIONS[noun]}"
        subject = f"{kind_of}.name"
        self.last_named = _Named(subject, noun)
        return Candidate("fact", f"My {noun} is called {m['name']}.", subject, 0.9, 0.3, 0.6)

    def _pronoun(self, s: str) -> Candidate | None:
        m = re.match(
            rf"^(?:(?:he|she|it|they)(?:'s| is| are|'re)(?: actually| really)? (?:called|named)"
            rf"|(?:his|her|its|their) name(?:'s| is)(?: actually| really)?)\s+{NAME}",
            s,
            re.IGNORECASE,
        )
        if not m or self.last_named is None or not _is_name(m["name"], capitalised=False):
            return None
        named = self.last_named
        return Candidate(
            "fact", f"My {named.noun} is called {m['name']}.", named.subject, 0.85, 0.3, 0.6
        )

    def _rename(self, s: str) -> Candidate | None:
        """ "we call the puppy Pepper now", "we renamed him Pepper", "the dog is called Pepper
        now": the same subject as the first naming, so the store keeps the old one as history."""
        m = re.match(
            rf"^(?:we|i)(?: now| have| 've| just| finally)? (?:call|named|renamed|name|"
            rf"decided to call|started calling|are calling|'re calling) (?:the|our|my) "
            rf"(?:little |new |old )?(?P<noun>{_PET}|{_REL}) (?:to )?{NAME}",
            s,
            re.IGNORECASE,
        ) or re.match(
            rf"^(?:the|our) (?:little |new |old )?(?P<noun>{_PET}) (?:is|'s) (?:now |actually )?"
            rf"(?:called|named) {NAME}",
            s,
            re.IGNORECASE,
        )
        if m:
            noun = m["noun"].lower()
            if not _is_name(m["name"], capitalised=False):
                return None
            kind_of = f"pet.{PETS[noun]}" if noun in PETS else f"people.{RELATIONS[noun]}"
            self.last_named = _Named(f"{kind_of}.name", noun)
            return Candidate(
                "fact", f"My {noun} is called {m['name']}.", f"{kind_of}.name", 0.9, 0.3, 0.6
            )
        m = re.match(
            rf"^(?:we|i)(?: now)? (?:call|named|renamed|are calling|'re calling) "
            rf"(?:him|her|it|them) (?:to )?{NAME}",
            s,
            re.IGNORECASE,
        )
        if not m or self.last_named is None or not _is_name(m["name"], capitalised=False):
            return None
        named = self.last_named
        return Candidate(
            "fact", f"My {named.noun} is called {m['name']}.", named.subject, 0.85, 0.3, 0.6
        )

    def _got_pet(self, s: str) -> Candidate | None:
        """ "we got a kitten, we called her Whiskers": the new pet's name."""
        m = re.match(
            rf"^(?:we|i)(?: just| finally| have| 've)? (?:got|adopted|bought|rescued|have|"
            rf"brought home|took in) (?:a|an|our|my) (?:new |little |baby |tiny )?"
            rf"(?P<noun>{_PET})\b.{{0,40}}?\b(?:called|named|call|name) (?:her |him |it |them )?"
            rf"{NAME}",
            s,
            re.IGNORECASE,
        )
        if not m or not _is_name(m["name"], capitalised=True):
            return None
        return self._naming(m["noun"].lower(), m["name"], 0.85)

    def _moved(self, s: str) -> Candidate | None:
        """ "the pottery class moved to Thursdays", "the dentist called, it's moved to Thursday
        at two": a rescheduled plan. ``moves`` (topic words, new time) lets the service change
        the time in the memory about that topic (the old text stays as its history)."""
        m = re.match(
            r"^(?:i|we)(?: have|'ve|'ve just| just)? (?:moved|changed|rescheduled|postponed|"
            rf"pushed back|switched) (?P<topic>(?:(?:the|my|our) )?.{{2,60}}?) (?:to|till|until) "
            rf"(?P<when>{WHEN_PHRASE})[.!]*$",
            s,
            re.IGNORECASE,
        ) or re.match(
            r"^(?P<topic>.{2,80}?),? (?:(?:it|that|this|which|they)(?:'s| is| has| was|'ve| have)?"
            r"|(?:is|has|was|'s))? ?(?:now |been |just |got )*(?:moved|changed|rescheduled|"
            r"postponed|pushed back|pushed|brought forward|switched)(?: back| forward)? "
            rf"(?:to|till|until) (?P<when>{WHEN_PHRASE})[.!]*$",
            s,
            re.IGNORECASE,
        )
        if not m:
            return None
        topic = [w for w in words(m["topic"]) if w not in FUNCTION_WORDS and w not in MOVE_NOISE]
        text = clean_text(s if s[-1] in ".!" else s + ".")
        if not topic or text is None:
            return None
        when = m["when"].strip()
        return Candidate("episode", text, None, 0.85, 0.0, 0.6, moves=(" ".join(topic), when))

    def _retimed(self, s: str) -> Candidate | None:
        """ "the dentist is on Thursday now", "practice is Tuesdays these days": a sentence
        that says something changed and names a day or time moves the memory about its topic
        to that time, like ``_moved``."""
        span = WHEN_SPAN.search(s)
        if not self._changing or span is None or IRREALIS_START.search(s):
            return None
        if re.match(r"^(?:i|i'm|we|we're|you)\b", s, re.IGNORECASE):
            return None  # "I'm off on Friday now": about the user's week, not a plan's time
        rest = s[: span.start()] + " " + s[span.end() :]
        topic = [
            w
            for w in words(rest)
            if w not in FUNCTION_WORDS and w not in MOVE_NOISE and not CHANGE_CUES.fullmatch(w)
        ]
        text = clean_text(s if s[-1] in ".!" else s + ".")
        if not topic or text is None:
            return None
        when = re.sub(r"^(?:on|every|at|in|next) ", "", span.group(0).strip(), flags=re.I)
        return Candidate("episode", text, None, 0.8, 0.0, 0.6, moves=(" ".join(topic), when))

    def _ended(self, s: str) -> Candidate | None:
        """ "I sold the Fiat", "I gave up the violin", "I've quit coffee", "I left Brasa", "I'm
        not vegetarian anymore", "I don't play tennis anymore": what the user stopped having or
        doing. The memory about it is replaced by this sentence (``moves`` with no time: the
        service finds the memory naming it, a keyed fact first; the old text stays as its
        history; with none, the sentence is kept as an episode)."""
        m = (
            re.match(
                rf"^(?:i|we)(?: have|'ve)?(?: just| finally| recently| already| now)? "
                rf"{_STOP_VERBS} "
                r"(?:my |the |our |a |an )?(?P<x>[\w'&. -]{2,40}?)"
                r"(?:[,.;!]| and | because | after | since | last | this | for | so |$)",
                s,
                re.IGNORECASE,
            )
            or re.match(
                r"^i(?:'m| am) (?:not|no longer) (?:an? |the )?(?P<x>[\w' -]{2,40}?)"
                r"(?: anymore| any more)?(?:[,.;!]|$)",
                s,
                re.IGNORECASE,
            )
            or re.match(
                r"^(?:i|we) (?:don't|do not|no longer) (?:really )?"
                r"(?!(?:eat|drink|touch|like|love|enjoy|adore|hate|mind|work|live|know|think|want|need)\b)"
                r"(?P<verb>[a-z]+(?: to| with| at| in)?) (?:my |the |a |an )?(?P<x>[\w' -]{2,40}?)"
                r" (?:anymore|any more)(?:[,.;!]|$)",
                s,
                re.IGNORECASE,
            )
        )
        if not m:
            return None
        left = re.match(r"^i(?: have|'ve)?(?: just| finally| recently| already)? left ", s, re.I)
        if left and not re.match(r"(?-i:[A-Z])|(?:my )?(?:job|work)\b", m["x"]):
            return None  # "I left my keys at home": only a named place or the job is left
        topic = [w for w in words(m["x"]) if w not in FUNCTION_WORDS and w not in STOP_NOISE]
        if "verb" in m.groupdict() and m["verb"]:
            topic = [m["verb"].split()[0].lower(), *topic]
        text = clean_text(s if s[-1] in ".!" else s + ".")
        if not topic or text is None or topic[-1] in ("it", "that", "time", "any", "anything"):
            return None
        if topic[0] in ("it", "that", "this", "sure", "worried", "sorry", "happy", "ok", "okay"):
            return None
        return Candidate("fact", text, None, 0.85, 0.0, 0.5, moves=(" ".join(topic), ""))

    def _entity(self, who: str) -> _Named | None:
        """Whom a change is about: the user ("I", "we"), "my sister", "the puppy", a pronoun (the
        one named last) or a name ("Mira": ``people.named.mira``, found by the service).
        ``subject`` is the key without its field ("people.sister")."""
        who = who.strip()
        low = who.lower()
        if low in ("i", "we", "me", "my partner and i", "my family and i"):
            return _Named("user", "")
        m = re.fullmatch(
            rf"(?:my|our|the) (?:little |older |younger |big |old |new |baby )?(?P<noun>{_PET}|"
            rf"{_REL})",
            low,
        )
        if m:
            noun = m["noun"]
            if noun in PETS:
                return _Named(f"pet.{PETS[noun]}", noun)
            if RELATIONS[noun] in MANY:
                return None  # "my friend moved": which one?
            return _Named(f"people.{RELATIONS[noun]}", noun)
        if low in ("he", "she", "they", "it") and self.last_named is not None:
            named = self.last_named.subject
            base = named.removesuffix(".name") if named.endswith(".name") else named
            return _Named(base, self.last_named.noun)
        if re.fullmatch(r"(?-i:[A-Z])[\w'-]+", who) and low not in NOT_NAMES:
            slug = _slug(who)
            return _Named(f"people.named.{slug}", who) if slug else None
        return None

    def _relocated(self, s: str) -> Candidate | None:
        """ "we've relocated to Glasgow", "my sister moved from Osaka to Kyoto", "my parents
        have moved to Málaga", "she's moved back to Leeds": where someone lives now, under the
        same key as where they lived (``<who>.home``), so the old place becomes its history."""
        m = re.match(
            r"^(?P<who>i|we|(?:my|our) [\w-]+(?: [\w-]+)??|he|she|they|(?-i:[A-Z])[\w'-]+)"
            r"(?: have| has|'ve|'s)?(?: just| finally| recently| now| all| also| since)* "
            r"(?:moved|relocated|moved house|upped sticks|emigrated|settled)(?: back| away| over)?"
            r"(?: from (?P<old>[^,;]{2,40}?))? (?:to|into) (?:live in )?(?P<x>.{2,80})",
            s,
            re.IGNORECASE,
        )
        if not m:
            return None
        who = self._entity(m["who"])
        place = _place(m["x"])
        if who is None or not place or place.lower().split()[0] in NOT_PLACE_STARTS:
            return None
        if who.subject == "user":
            return Candidate("fact", f"I live in {place}.", "user.home", 0.85, 0.0, 0.5)
        if who.subject.startswith("people.named."):
            text = f"{who.noun} lives in {place}."
        else:
            verb = "live" if who.noun in PLURAL_RELATIONS else "lives"
            text = f"My {who.noun} {verb} in {place}."
        return Candidate("fact", text, f"{who.subject}.home", 0.85, 0.0, 0.5)

    def _renamed(self, s: str) -> Candidate | None:
        """ "we've renamed the tortoise to Gus", "my best friend goes by Margaret now", "she
        changed her name to Noor": the same key as the first naming (``<who>.name``)."""
        m = re.match(
            rf"^(?:we|i)(?: have|'ve| just| finally| now)* (?:renamed|re-named|changed the name "
            rf"of) (?P<who>(?:the|our|my) (?:little |new |old )?(?:{_PET}|{_REL})|him|her|it|them)"
            rf" (?:to |as )?{NAME}",
            s,
            re.IGNORECASE,
        ) or re.match(
            r"^(?P<who>(?:my|our|the) [\w-]+(?: [\w-]+)?|he|she|they|it|(?-i:[A-Z])[\w'-]+)"
            r"(?: now| actually| these days)? (?:goes by|go by|is going by|'s going by|"
            r"prefers to be called|wants to be called|(?:has |'s )?changed (?:his|her|their|its) "
            rf"name to|is called|'s called) {NAME}(?P<now> now| these days| nowadays)?",
            s,
            re.IGNORECASE,
        )
        if not m or not _is_name(m["name"], capitalised=True):
            return None
        if " called " in m.group(0).lower() and not m.groupdict().get("now"):
            return None  # "my dog is called Rex": a first naming (``_named``)
        who_text = m["who"].lower()
        who_text = {"him": "he", "her": "she", "them": "they"}.get(who_text, who_text)
        who = self._entity(who_text if who_text in ("he", "she", "they", "it") else m["who"])
        if who is None or who.subject == "user":
            return None
        self.last_named = _Named(f"{who.subject}.name", who.noun)
        if who.subject.startswith("people.named."):
            return Candidate(
                "fact", f"{who.noun} is called {m['name']}.", f"{who.subject}.name", 0.85, 0.3, 0.6
            )
        verb = "are" if who.noun in PLURAL_RELATIONS else "is"
        text = f"My {who.noun} {verb} called {m['name']}."
        return Candidate("fact", text, f"{who.subject}.name", 0.9, 0.3, 0.6)

    def _split_up(self, s: str) -> Candidate | None:
        """ "Lena and I aren't together anymore", "I broke up with my boyfriend", "we split
        up": the memory naming the partner is replaced by this sentence (its history keeps
        the old one)."""
        together = (
            r"(?:have |'ve )?(?:just |finally )?(?:broke up|broken up|split up|split|separated|"
            r"divorced|are not together|aren't together|are no longer together|'re not together|"
            r"'re no longer together|are over|called it off|called off the wedding)"
        )
        m = (
            re.match(rf"^(?P<who>[\w' -]{{2,30}}?) and i {together}\b", s, re.I)
            or re.match(
                rf"^i {together} (?:with|from) (?P<who>[\w' -]{{2,30}}?)"
                r"(?:[,.;!]| last | in | after | because |$)",
                s,
                re.IGNORECASE,
            )
            or re.match(rf"^(?P<who>we) {together}\b", s, re.I)
        )
        if not m:
            return None
        who = m["who"].strip()
        low = who.lower()
        rel = re.fullmatch(rf"my (?:ex-?)?(?P<noun>{_REL})", low)
        if rel is not None and RELATIONS[rel["noun"]] in PARTNERS:
            topic = rel["noun"]
        elif low == "we":
            topic = " ".join(sorted(PARTNERS))
        elif re.fullmatch(r"(?-i:[A-Z])[\w'-]+", who) and low not in NOT_NAMES:
            topic = low
        else:
            return None
        text = clean_text(s if s[-1] in ".!" else s + ".")
        if text is None:
            return None
        return Candidate("fact", text, None, 0.85, -0.3, 0.7, moves=(topic, ""))

    def _substitution(self, s: str) -> Candidate | None:
        """A value replaced by another anywhere in a sentence: "my boss is Greta, not
        Gretchen", "I meant Ripon, not Harrogate", "switched from Mondays to Tuesdays". The
        service replaces the old word in the memories that hold it (``replaces``); when none
        does, the sentence is kept as it is."""
        cap = r"(?-i:[A-Z])[\w'-]+(?: (?-i:[A-Z])[\w'-]+){0,2}"
        m = re.search(
            rf"(?<![\w'])(?P<new>{cap})(?: with an? \w\b)?(?: now| instead| actually)?,? "
            rf"(?:not|instead of) (?P<old>{cap})\b",
            s,
        )
        if m is None:
            m = re.search(
                r"\b(?:switched|changed|moved|gone|went|upgraded|swapped)(?: it| them)? "
                r"from (?P<old>[\w'-]+(?: [\w'-]+){0,2}?) "
                r"to (?P<new>[\w'-]+(?: [\w'-]+){0,2}?)"
                r"(?=[,.;!]|$| now\b| instead\b| last\b| this\b| in\b| for\b| because\b)",
                s,
                re.IGNORECASE,
            )
        if m is None or m["new"].lower() == m["old"].lower():
            return None
        if m["new"].lower() in NOT_NAMES or m["new"].split()[0].lower() in ("i", "it"):
            return None
        text = clean_text(s if s[-1] in ".!" else s + ".")
        if text is None:
            return None
        return Candidate("fact", text, None, 0.9, 0.0, 0.5, replaces=(m["old"], m["new"]))

    def _switched(self, s: str) -> list[Candidate]:
        """ "I've switched jobs, I'm at Deloitte now"; "I stopped learning French, I'm doing
        Italian instead"."""
        m = re.match(
            r"^i(?:'ve| have)? (?:just )?(?:switched|changed|got a new) jobs?,? (?:and )?"
            r"(?:i'm|i am|i work) (?:now )?(?:working )?(?:at|for|with) (?P<x>.{2,60})",
            s,
            re.IGNORECASE,
        ) or re.match(
            r"^i(?:'ve| have)? (?:just )?(?:started (?:a new job |working )?|got a (?:new )?job |"
            r"(?:was|got|have been|'ve been) hired )(?:at|for|with|by) (?P<x>.{2,60})",
            s,
            re.IGNORECASE,
        )
        if m:
            place = _trim_object(m["x"])
            if place:
                return [Candidate("fact", f"I work at {place}.", "user.workplace", 0.85, 0.0, 0.5)]
        m = re.match(
            r"^i (?:stopped|quit|gave up|dropped) (?:learning|studying|taking|doing) "
            r"(?P<old>[\w' -]{2,30}?)(?:[,;] (?:and )?| and )i'm (?:now )?(?:doing|learning|"
            r"studying|taking) (?P<new>[\w' -]{2,30}?)(?: instead| now)?[.!]*$",
            s,
            re.IGNORECASE,
        )
        if not m:
            return []
        old, new = _trim_object(m["old"]), _trim_object(m["new"])
        old_slug, new_slug = _slug(old), _slug(new)
        if not old or not new or old_slug is None or new_slug is None:
            return []
        return [
            Candidate(
                "fact", f"I stopped learning {old}.", f"user.learning.{old_slug}", 0.85, 0.0, 0.5
            ),
            Candidate("fact", f"I'm learning {new}.", f"user.learning.{new_slug}", 0.85, 0.0, 0.5),
        ]

    def _named_moved(self, s: str) -> Candidate | None:
        """ "Mira moved to Berlin": someone named before (the service finds who by the name)."""
        m = re.match(
            r"^(?P<name>(?-i:[A-Z])[\w'-]+) (?:has |just |recently |now )*(?:moved|lives|is living)"
            r"(?: back)? (?:to|in) (?P<x>.{2,60})",
            s,
            re.IGNORECASE,
        )
        if not m or m["name"].lower() in NOT_NAMES or m["name"].lower() in ("i", "we"):
            return None
        place = _trim_object(m["x"])
        slug = _slug(m["name"])
        if not place or slug is None:
            return None
        return Candidate(
            "fact", f"{m['name']} lives in {place}.", f"people.named.{slug}.home", 0.8, 0.0, 0.5
        )

    def _mentioned(self, s: str) -> None:
        """ "my mum's having surgery", "we adopted a puppy": "she" or "he" in the next sentences
        is the mum or the puppy."""
        pet = re.search(
            rf"\b(?:my|our|a|an|the) (?:new |little |baby )?(?P<noun>{_PET})\b", s, re.I
        )
        if pet is not None:
            noun = pet["noun"].lower()
            subject = f"pet.{PETS[noun]}.name"
            if self.last_named is None or self.last_named.subject != subject:
                self.last_named = _Named(subject, noun)
            return
        m = re.search(
            rf"\bmy (?:little |older |younger |big |old |new )?(?P<noun>{_REL})\b", s, re.I
        )
        if m is None:
            return
        noun = m["noun"].lower()
        rel = RELATIONS[noun]
        if rel in MANY:
            return
        if self.last_named is None or not self.last_named.subject.startswith(f"people.{rel}."):
            self.last_named = _Named(f"people.{rel}.name", noun)

    def _about_them(self, s: str) -> Candidate | None:
        """ "she's obsessed with dinosaurs", "he chews everything" (the person or pet named
        last): kept as "My niece is obsessed with dinosaurs." """
        named = self.last_named
        m = re.match(r"^(?:he|she|they)(?P<be>'s|'re| is| are)?\b\s*(?P<rest>.+)$", s, re.I)
        if named is None or m is None or len(m["rest"].split()) < 2:
            return None
        rest = m["rest"].rstrip(" .!")
        if m["be"]:
            has = m["be"] == "'s" and re.match(r"(got|been|had)\b", rest, re.I)
            rest = f"{'has' if has else 'is'} {rest}"
        text = clean_text(f"My {named.noun} {rest}.")
        if text is None:
            return None
        return Candidate("episode", text, None, 0.6, _valence(s), _salience(s, 0.4))

    def _their_job(self, s: str) -> Candidate | None:
        """ "he's a carpenter" (the person named last)."""
        m = re.match(
            r"^(?P<who>he|she|they|my [\w-]+(?: [\w-]+)??)(?:'s| is| are|'re) (?:now )?an? "
            r"(?P<x>[\w' -]{2,40}?)(?: now| these days)?[.!]*$",
            s,
            re.I,
        )
        if not m:
            return None
        who = m["who"].lower()
        named = self.last_named if who in ("he", "she", "they") else None
        if who.startswith("my "):
            entity = self._entity(who)
            if entity is not None and entity.subject.startswith("people."):
                named = _Named(f"{entity.subject}.name", entity.noun)
        if named is None or not named.subject.startswith("people."):
            return None
        job = _trim_object(m["x"])
        if not job or job.lower().split()[-1] not in OCCUPATIONS:
            return None
        base = named.subject.rsplit(".", 1)[0] if named.subject.endswith(".name") else named.subject
        return Candidate(
            "fact", _article(f"My {named.noun} is a {job}."), f"{base}.job", 0.8, 0.0, 0.5
        )

    def _appositive(self, s: str) -> Candidate | None:
        """ "My sister Ana lives in Porto": the name (the rest of the clause is read too)."""
        m = re.match(
            rf"^(?:my|our) (?:little |older |younger |big |old |new )?(?P<noun>{_PET}|{_REL}),? "
            r"(?P<name>(?-i:[A-Z])[\w'-]+)(?= [a-z]|,|$)",
            s,
            re.IGNORECASE,
        ) or re.match(  # "Biscuit, our beagle, …", "Pepper is the puppy's new name"
            r"^(?P<name>(?-i:[A-Z])[\w'-]+)(?:,| is) (?:my|our|the) (?:little |older |younger |"
            rf"big |old |new )?(?P<noun>{_PET}|{_REL})(?:'s (?:new |real |actual )?name)?\b",
            s,
            re.IGNORECASE,
        )
        if not m or not _is_name(m["name"], capitalised=True):
            return None
        if m["name"].lower() in ("i", "we", "it", "he", "she", "they", "that", "this"):
            return None
        return self._naming(m["noun"].lower(), m["name"], 0.85)

    def _naming(self, noun: str, name: str, confidence: float) -> Candidate:
        """ "My <pet or relation> is called <name>." under its subject key (a friend or a
        colleague: one memory per name, people have several)."""
        if noun in PETS:
            subject = f"pet.{PETS[noun]}.name"
        elif RELATIONS[noun] in MANY:
            slug = _slug(name) or "someone"
            subject = f"people.{RELATIONS[noun]}.{slug}"
            self.last_named = _Named(subject, noun)
            return Candidate("fact", f"{name} is my {noun}.", subject, confidence, 0.3, 0.6)
        else:
            subject = f"people.{RELATIONS[noun]}.name"
        self.last_named = _Named(subject, noun)
        return Candidate("fact", f"My {noun} is called {name}.", subject, confidence, 0.3, 0.6)

    def _called(self, s: str) -> Candidate | None:
        """ "I run a little bookshop called Page Turner", "the physio is called Sean"."""
        m = re.search(
            r"\b(?P<det>my|our|a|an|the) (?P<thing>[a-z][a-z ]{1,30}?) (?:is |'s )?"
            r"(?:called|named) (?P<name>(?-i:[A-Z])[\w'-]*(?: (?-i:[A-Z])[\w'-]*)*)",
            s,
        )
        if not m:
            return None
        thing = m["thing"].strip()
        last = thing.split()[-1]
        if last in RELATIONS:
            return self._naming(last, m["name"], 0.8)
        if last in PETS:
            return self._naming(last, m["name"], 0.8)
        slug = _slug(thing)
        if slug is None:
            return None
        owner = "My" if re.search(r"\b(i|my|our|we)\b", s, re.IGNORECASE) else "The"
        return Candidate(
            "fact", f"{owner} {thing} is called {m['name']}.", f"names.{slug}", 0.75, 0.0, 0.5
        )

    def _lives(self, s: str) -> Candidate | None:
        """Where a family member or friend lives ("my sister lives in Porto", "she lives in…")."""
        m = re.match(
            rf"^(?:my (?:little |older |younger |big |old |new )?(?P<noun>{_REL})"
            r"(?:,? (?-i:[A-Z])[\w'-]+,?)?|(?P<pron>she|he|they)) (?:still |now |also )?"
            r"(?:lives|live|is living|are living|has moved|just moved|moved|recently moved)"
            r"(?: back)? (?P<prep>in|near|close to|outside|outside of|by|on|to) (?P<x>.{2,80})",
            s,
            re.IGNORECASE,
        )
        if not m:
            return None
        if m["noun"]:
            noun = m["noun"].lower()
            subject = f"people.{RELATIONS[noun]}.home"
        elif self.last_named is not None and self.last_named.subject.startswith("people."):
            noun = self.last_named.noun
            named = self.last_named.subject
            subject = (named.removesuffix(".name") if named.endswith(".name") else named) + ".home"
        else:
            return None
        place = _trim_object(m["x"])
        if not place:
            return None
        prep = "in" if m["prep"].lower() == "to" else m["prep"].lower()
        verb = "live" if noun in PLURAL_RELATIONS else "lives"
        return Candidate("fact", f"My {noun} {verb} {prep} {place}.", subject, 0.85, 0.0, 0.5)

    def _no_longer(self, s: str) -> Candidate | None:
        """ "I don't work there anymore", "I quit my job", "I'm not a nurse anymore": the same
        subject as the old value, which the store keeps as history."""
        m = re.match(
            r"^i (?:don't|do not|no longer|stopped|have stopped) (?:work|working) "
            r"(?:(?:at|for) (?P<x>.{2,80}?)|there)(?: anymore| any more)?[.!]*$",
            s,
            re.IGNORECASE,
        )
        if m:
            where = f"at {_trim_object(m['x'])}" if m["x"] else "there"
            return Candidate("fact", f"I no longer work {where}.", "user.workplace", 0.85, 0.0, 0.5)
        m = re.match(
            r"^i'm (?:no longer|not) (?:with|at) (?P<x>(?-i:[A-Z]).{1,80}?)(?: anymore| any more)?"
            r"[.!]*$",
            s,
            re.IGNORECASE,
        )
        if m:
            where = f"at {_trim_object(m['x'])}"
            return Candidate("fact", f"I no longer work {where}.", "user.workplace", 0.85, 0.0, 0.5)
        m = re.match(
            r"^i (?:just |finally )?(?:quit|left|lost) (?:my job|work|my work)"
            r"(?: (?:at|with) (?P<x>.{2,80}))?",
            s,
            re.IGNORECASE,
        ) or re.match(r"^i (?:just |finally )?(?:quit|left) (?P<x>(?-i:[A-Z]).{1,80})", s)
        if m:
            where = f"at {_trim_object(m['x'])}" if m["x"] else "there"
            return Candidate("fact", f"I no longer work {where}.", "user.workplace", 0.85, 0.0, 0.6)
        m = re.match(
            r"^i (?:don't|do not|no longer) live (?:(?:in|at) (?P<x>.{2,80}?)|there)"
            r"(?: anymore| any more)?[.!]*$",
            s,
            re.IGNORECASE,
        )
        if m:
            where = f"in {_trim_object(m['x'])}" if m["x"] else "there"
            return Candidate("fact", f"I no longer live {where}.", "user.home", 0.85, 0.0, 0.5)
        m = re.match(
            r"^i (?:got|was|have been|'ve been|just got) (?:laid off|made redundant|fired|let go|"
            r"sacked)(?: (?:from|at|by) (?P<x>.{2,80}))?",
            s,
            re.IGNORECASE,
        )
        if m:
            where = f"at {_trim_object(m['x'])}" if m["x"] else "there"
            return Candidate("fact", f"I no longer work {where}.", "user.workplace", 0.85, 0.0, 0.6)
        if re.match(r"^i(?:'ve| have)? (?:just |finally )?retired\b", s, re.IGNORECASE):
            text = clean_text(s if s[-1] in ".!" else s + ".")
            if text is not None:
                return Candidate("fact", text, "user.job", 0.85, 0.0, 0.6)
        m = re.match(
            r"^i'm (?:not|no longer) an? (?P<x>.{2,60}?)(?: anymore| any more)?[.!]*$",
            s,
            re.IGNORECASE,
        )
        if m and m["x"].lower().split()[-1] in OCCUPATIONS:
            return Candidate(
                "fact", f"I'm no longer a {_trim_object(m['x'])}.", "user.job", 0.85, 0.0, 0.5
            )
        return None

    def _avoid(self, s: str) -> Candidate | None:
        """What the user does not eat or drink, or avoids (a constraint for suggestions)."""
        m = re.match(
            r"^i (?:don't|do not|never|can't|cannot|try not to|no longer) "
            r"(?P<verb>eat|drink|touch) (?P<x>.{2,60})",
            s,
            re.IGNORECASE,
        ) or re.match(r"^i (?:avoid|stay away from|steer clear of) (?P<x>.{2,60})", s, re.I)
        if not m:
            return None
        obj = _trim_object(m["x"])
        slug = _slug(obj)
        if slug is None or obj.lower().startswith(("it", "that", "this", "time", "a lot")):
            return None
        verb = m.groupdict().get("verb")
        text = f"I don't {verb.lower()} {obj}." if verb else f"I avoid {obj}."
        return Candidate("preference", text, f"avoids.{slug}", 0.85, -0.6, 0.6)

    def _worry(self, s: str) -> Candidate | None:
        """ "I'm worried about my mum's visit next week" (a worry is worth asking about later)."""
        m = re.match(
            r"^i'm (?:really |very |so |a bit |a little |kind of |kinda |pretty |quite |"
            r"super |getting )?(?P<feel>worried|nervous|anxious|stressed|scared|concerned|"
            r"freaking out|uneasy|dreading) (?:about|for|over|because of|that) (?P<x>.{2,160})",
            s,
            re.IGNORECASE,
        ) or re.match(
            r"^i (?:keep |really )?(?P<feel>worry|dread) (?:about )?(?P<x>.{2,160})", s, re.I
        )
        if not m:
            return None
        what = _trim_clause(m["x"])
        slug = _slug(what)
        pronoun = what.lower() in ("her", "him", "them", "it", "that", "this")
        if pronoun and self.last_said:  # "I'm worried about her", after "my mum's having…"
            what = f"{what} ({self.last_said.rstrip(' .!')})"
            slug = _slug(self.last_said)
        if not what or slug is None or what.lower() in ("it", "that", "this", "you"):
            return None
        feel = m["feel"].lower()
        text = (
            f"I'm {feel} about {what}." if feel not in ("worry", "dread") else f"I {feel} {what}."
        )
        return Candidate("episode", text, f"worries.{slug}", 0.8, -0.5, 0.8)

    def _plan(self, s: str) -> Candidate | None:
        """ "I'm going to visit my mum next month", "we're planning to move": a plan."""
        m = re.match(
            r"^(?P<who>i'm|i am|we're|we are) (?:going to|gonna|planning to|planning on|"
            r"hoping to|thinking of|thinking about|about to) (?P<x>.{3,160})",
            s,
            re.IGNORECASE,
        ) or re.match(
            r"^(?P<who>i|we) (?:plan|intend|hope|want|'d like|would like|have decided|decided) "
            r"to (?P<x>.{3,160})",
            s,
            re.IGNORECASE,
        )
        if not m:
            return None
        what = _trim_clause(m["x"])
        slug = _slug(what)
        if not what or slug is None or what.lower().startswith(("be ", "say", "ask", "tell")):
            return None
        lead = s[: m.start("x")].strip()
        return Candidate("episode", f"{lead} {what}.", f"plans.{slug}", 0.75, 0.2, 0.7)

    def _correction(self, s: str) -> Candidate | None:
        """ "it's Ana, not Anna": the old word is replaced in what is stored (``replaces``)."""
        m = (
            re.match(
                rf"^(?:it's|it is|its|her name is|his name is|the name is|that's|it was|"
                rf"it's spelled|it's spelt|i said|i meant|i mean) (?P<new>{_NAME_BODY})"
                r"(?: with an? \w\b)?[,;]? "
                rf"(?:and )?not (?P<old>[^\W\d_][\w'-]*)(?:[.!]*$|[,;] .*$)",
                s,
                re.IGNORECASE,
            )
            or re.match(
                r"^(?:my |our |the )?[\w' -]{1,30}? "
                r"(?:isn't|is not|is no longer|'s not|'s no longer) (?P<old>(?-i:[A-Z])[\w'-]*)"
                r"(?: anymore| any more)?[,;]? (?:it's|she's|he's|they're|it is) "
                r"(?P<new>(?-i:[A-Z])[\w'-]*)(?: now)?[.!]*$",
                s,
                re.IGNORECASE,
            )
            or re.match(
                r"^not (?P<old>[^\W\d_][\w'-]*)[,;]? (?:it's |but |it was )?"
                r"(?P<new>[^\W\d_][\w'-]*)[.!]*$",
                s,
                re.IGNORECASE,
            )
        )
        if not m or m["new"].lower() == m["old"].lower():
            return None
        new, old = m["new"], m["old"]
        return Candidate(
            "fact", f"It's {new}, not {old}.", None, 0.9, 0.0, 0.5, replaces=(old, new)
        )

    def _job_at(self, s: str) -> list[Candidate]:
        m = re.match(
            r"^i(?:'m| work as)(?: now)? (?:an? |the )?(?P<job>[\w' -]{2,40}?) "
            r"(?:at|for|in) (?P<place>.{2,80})",
            s,
            re.IGNORECASE,
        )
        if not m or m["job"].lower().split()[-1] not in OCCUPATIONS:
            return []
        job, place = m["job"].strip(), _trim_object(m["place"])
        if not place:
            return []
        return [
            Candidate("fact", _article(f"I work as a {job}."), "user.job", 0.85, 0.0, 0.5),
            Candidate("fact", f"I work at {place}.", "user.workplace", 0.85, 0.0, 0.5),
        ]

    def _favorite(self, s: str) -> Candidate | None:
        m = re.match(
            r"^my (?:all-time |absolute |new |current |latest |real )?favou?rite "
            r"(?P<thing>[\w ]{1,30}?) (?:is|are) (?P<value>.{1,80})",
            s,
            re.IGNORECASE,
        ) or re.match(
            r"^(?P<value>(?-i:[A-Z])[^,;]{0,60}?) (?:is|are) (?:now |definitely )?my "
            r"(?:new |current |all-time )?favou?rite (?P<thing>[\w ]{1,30}?)(?: now)?[.!]*$",
            s,
            re.IGNORECASE,
        )
        if not m:
            return None
        value = _trim_object(m["value"])
        thing = m["thing"].strip().lower()
        slug = _slug(thing)
        if not value or slug is None:
            return None
        return Candidate(
            "preference", f"My favourite {thing} is {value}.", f"favorite.{slug}", 0.85, 0.6, 0.5
        )

    def _like(self, s: str) -> Candidate | None:
        verbs = "|".join(re.escape(v) for v in sorted(LIKE_VERBS, key=len, reverse=True))
        m = re.match(
            rf"^i (?:really |just |honestly )?"
            rf"(?P<neg>don't (?:really )?|do not (?:really )?|no longer |never )?"
            rf"(?:really |absolutely |just |kind of |kinda |totally |truly )?"
            rf"(?P<verb>{verbs}) (?P<object>.{{2,120}})",
            s,
            re.IGNORECASE,
        )
        if not m:
            return None
        obj = _trim_object(m["object"])
        if obj.lower().startswith(("it", "that", "this", "you", "when", "how", "him", "her")):
            return None
        slug = _slug(re.sub(r"^to ", "", obj, flags=re.IGNORECASE))
        if slug is None:
            return None
        verb = m["verb"].lower()
        valence = LIKE_VERBS[verb]
        if m["neg"]:
            if valence < 0:
                return None  # "I don't hate it": no clear preference
            valence = -0.5
            verb = f"don't {verb}"
        return Candidate(
            "preference",
            f"I {verb} {obj}.",
            f"likes.{slug}",
            0.8,
            valence,
            0.6 if abs(valence) >= 0.8 else 0.4,
        )

    def _about_me(self, s: str) -> Candidate | None:
        rules: tuple[tuple[str, str, str | None], ...] = (
            (r"^i'm (?P<x>\d{1,3})(?: years old| years| yo)?[.!]?$", "user.age",
             "I'm {x} years old."),
            (r"^i work (?:at|for) (?P<x>.{2,80})", "user.workplace", "I work at {x}."),
            (r"^i(?:'ve| have)? (?:just |recently )?(?:joined|started at|started working at|"
             r"got a job at) (?P<x>(?-i:[A-Z]).{1,80})", "user.workplace", "I work at {x}."),
            (r"^i (?:live|reside) in (?P<x>.{2,80})", "user.home", "I live in {x}."),
            (r"^(?:i|we)(?:'ve| have)?(?: been)? (?:live|lived|living|staying|settled|based)"
             r"(?: here)? in (?P<x>(?-i:[A-Z]).{1,80})", "user.home", "I live in {x}."),
            (r"^(?:i'm|we're|we are|i am) (?:now )?in (?P<x>(?-i:[A-Z])[^,;]{1,60}?) now[.!]*$",
             "user.home", "I live in {x}."),
            (r"^(?:home is|home's) (?:now )?(?P<x>(?-i:[A-Z]).{1,60})", "user.home",
             "I live in {x}."),
            (r"^i(?:'ve| have)?(?: been)? (?:work|worked|working|teach|teaching|taught|"
             r"volunteer|volunteering)(?: nights| days| shifts| weekends| part-time| full-time)? "
             r"(?:at|for) "
             r"(?P<x>(?:(?-i:[A-Z])|the |a |an ).{2,80})", "user.workplace",
             "I work at {x}."),
            (r"^i(?:'m|'ve been| have been) at (?P<x>(?-i:[A-Z])[^,;]{1,60}?)"
             r"(?: now| these days| for [\w ]+)?[.!]*$", "user.workplace", "I work at {x}."),
            (r"^i (?:just |recently )?moved to (?P<x>.{2,80})", "user.home", "I live in {x}."),
            (r"^i(?:'m| come) from (?P<x>.{2,80})", "user.hometown", "I'm from {x}."),
            (r"^i grew up in (?P<x>.{2,80})", "user.hometown", "I grew up in {x}."),
            (r"^my birthday is (?:on )?(?P<x>.{2,40})", "user.birthday", "My birthday is {x}."),
            (r"^i was born (?:on|in) (?P<x>.{2,40})", "user.birthday", "I was born on {x}."),
            (r"^i'm allergic to (?P<x>.{2,60})", "health.allergy.", "I'm allergic to {x}."),
            (r"^i'm (?:really |very |so )?(?:afraid|scared|terrified|frightened) of (?P<x>.{2,60})",
             "fears.", "I'm afraid of {x}."),
            (r"^i(?:'m|'ve been| have been|'ve started| have started| started| just started)? ?"
             r"(?:learning|studying|taking classes in|practising|practicing|learn)"
             r"(?: to play| how to play| to)? (?P<x>.{2,60})", "user.learning.",
             "I'm learning {x}."),
            (r"^i(?:'m| have| 've|'ve started| started)? ?(?:taking|having|started) "
             r"(?P<x>.{2,40}?) (?:lessons|classes)\b", "user.learning.", "I'm learning {x}."),
            (r"^i(?:'ve| have)? (?:taken up|picked up|got into|gotten into) (?P<x>.{2,60})",
             "user.hobby.", "I've taken up {x}."),
            (r"^my (?:new |main |favourite |favorite )?hobby is (?P<x>.{2,60})", "user.hobby.",
             "My hobby is {x}."),
            (r"^i play (?P<x>(?:the )?.{2,40})", "user.plays.", "I play {x}."),
            (r"^i(?:'m| am) (?P<x>lactose|gluten|dairy|wheat|egg|soy) intolerant",
             "health.allergy.", "I'm {x} intolerant."),
            (r"^i(?:'m| am| have) (?P<x>coeliac|celiac)(?: disease)?", "health.allergy.gluten",
             "I'm {x}: no gluten."),
            (r"^i(?:'m| am) (?:a )?(?P<x>vegetarian|vegan|pescatarian)\b", "avoids.meat",
             "I'm {x}."),
            (r"^i(?:'m| am) (?:training|preparing|studying) for (?P<x>.{2,80})", "plans.",
             "I'm training for {x}."),
            (r"^i (?:work|am working) (?:from home |remotely |part[- ]time |full[- ]time )?"
             r"as an? (?P<x>.{2,60})", "user.job", "I work as a {x}."),
            (r"^i'm (?:now )?(?:renting|living|based) (?:an? (?:flat|house|apartment|room|place) )?"
             r"in (?P<x>.{2,80})", "user.home", "I live in {x}."),
            (r"^i'm (?:an? )?(?:big |huge |massive |real )?fan of (?P<x>.{2,60})", "user.hobby.",
             "I'm a big fan of {x}."),
            (r"^i'm an? (?P<x>.{2,60})", "", "I'm a {x}."),
        )  # fmt: skip
        for pattern, subject, template in rules:
            m = re.match(pattern, s, re.IGNORECASE)
            if not m:
                continue
            value = _trim_object(m["x"])
            if subject in ("user.home", "user.workplace"):  # "Lyon for years": Lyon
                value = _place(m["x"])
            if not value:
                return None
            slug = _slug(value)
            if slug is None:
                return None
            if subject == "":  # "I'm a W": a job when W ends in an occupation
                last = value.lower().split()[-1]
                subject = "user.job" if last in OCCUPATIONS else f"user.is.{slug}"
            elif subject == "user.learning.":  # "French for work": French
                head = re.split(r" (?:for|with|at|in|to|because|so|since|on) ", value)[0]
                subject = subject + (_slug(head) or slug)
            elif subject.endswith("."):
                subject = subject + slug
            text = (template or "{x}").format(x=value)
            text = _article(text)
            valence = -0.5 if subject.startswith(("fears.", "health.")) else 0.0
            return Candidate("fact", text, normalize_subject(subject), 0.8, valence, 0.5)
        return None

    # -- episodes ------------------------------------------------------------------------

    def _episode(self, s: str, *, said: bool = False) -> Candidate | None:
        words = s.split()
        if len(words) < 4:
            return None
        lower = s.lower()
        about_me = said or re.search(r"\b(i|i'm|my|me|we|our)\b", lower) is not None
        about_me = about_me or lower.split()[0] in DROPPED_SUBJECT_VERBS  # "made pancakes…"
        event = EVENT_START.match(s) or (about_me and TIME_WORDS.search(s))
        named = re.search(r"\s(?-i:[A-Z])[\w'-]+", s) is not None  # "Bea", "Sicily"
        if not (event or about_me or named):
            return None
        text = clean_text(s if s[-1] in ".!" else s + ".")
        if text is None:
            return None
        if not event:  # something the user said about their life: kept in their words
            return Candidate("episode", text, None, 0.5, _valence(s), _salience(s, 0.35))
        return Candidate("episode", text, None, 0.6, _valence(s), _salience(s, 0.5))
