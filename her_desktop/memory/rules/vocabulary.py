"""The rules' word lists and patterns: pets, relations, occupations, times, the cues of
a change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

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
    "butcher optician porter guard miner nanny florist chemist biologist geologist dietitian "
    "nutritionist physiotherapist physio optometrist radiographer surveyor planner banker "
    "teller broker estate agent landlord shopkeeper grocer fishmonger welder roofer painter "
    "decorator joiner plasterer locksmith mechanic machinist electrician technologist "
    "sommelier bartender barman barmaid host hostess cabbie taxi lecturer headteacher "
    "principal counsellor counselor social worker carer paralegal solicitor barrister clerk "
    "archivist curator animator illustrator producer director presenter reporter copywriter "
    "marketer recruiter pharmacist dentist hygienist veterinary zookeeper ranger "
    "firefighter policeman policewoman detective dispatcher pilot steward stewardess"
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
_DROPPED_SUBJECT_VERBS: Final = (
    "made went got had took saw bought finished started visited met cooked baked booked "
    "ran walked watched read wrote called lost found tried"
)
DROPPED_SUBJECT_VERBS: Final = frozenset(_DROPPED_SUBJECT_VERBS.split())
_SMALL_TALK: Final = (
    "lol haha hahaha lmao omg ugh hmm yeah yep nope okay day days today tonight morning evening "
    "night week weekend cold hot warm rain raining sunny weather tired long good bad great fine "
    "nice lovely busy really pretty quite kind sort bit lot lots thing things stuff going doing "
    "feel feeling think thought guess know mean like just well also anyway though tho though "
    "honestly literally basically totally time right wrong sure fun funny"
)
SMALL_TALK: Final = frozenset(_SMALL_TALK.split())
"""words that tell nothing of the user's life on their own ("so cold today lol")"""
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
    (
        "name",
        re.compile(
            r"\b(?:call|calls|calling|called|name|named|renamed|goes by|go by)\b|"
            r"^[\w' -]{2,40}? (?:is|'s) (?:now |actually )?(?-i:[A-Z])[\w'-]+[.!]*$",
            re.I,
        ),
    ),
    (
        "home",
        re.compile(
            r"\b(?:live|lives|lived|living|moved|moving|relocated|relocating|based|settled|"
            r"emigrated)(?: back| over| away| out| here| there| now| in with [\w ]{2,20}?)* "
            r"(?:in|to|into|from|near|at|out of|outside)\b|"
            r"\b(?:house|flat|apartment|home) (?:in|near)\b|"
            r"(?:'s|'re|'m|\bis|\bare|\bam) (?:now |still |currently )?(?:in|out in|up in|"
            r"down in|over in) (?-i:[A-Z])[\w'-]+(?: (?-i:[A-Z])[\w'-]+)* "
            r"(?:now|these days|nowadays)\b",
            re.I,
        ),
    ),
    (
        "work",
        re.compile(
            r"\b(?:work|works|worked|working)(?: now| still| there| anymore| any more)*"
            r"(?: (?:at|for|in|as|with)\b|[.!]*$)|\bjob\b|\bemployed\b|\bemployer\b",
            re.I,
        ),
    ),
    (
        "learning",
        re.compile(
            r"\b(?:learn|learns|learning|learnt|learned|lessons|studying|study|studies|"
            r"practising|practicing|taking up|took up)\b",
            re.I,
        ),
    ),
)
"""a relation a value can be of, and the words that say it (a change's key, ``_changed_slot``;
a memory's slot, ``slots``)"""
UPDATE_WORDS: Final = re.compile(
    r"\b(now|anymore|any more|no longer|actually|instead|moved|renamed|changed|not)\b", re.I
)
