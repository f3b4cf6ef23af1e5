"""Translations of what the phrasebook does not hold: a short side prompt, checked in Python.

The small default LM translates badly inside the conversation (the persona and the history pull
it off task: "I need a break" came out as "Je n'ai pas envie de prendre un moment de repos").
So a translation request ("how do you say X in Italian", ``turn_guide.translation_request``)
that ``phrasebook`` cannot answer is put to the LM alone: a one-line instruction, two
hand-checked example pairs for the language, the words to translate, greedy decoding, a token
cap from the length of the words, on the engine's background path where it has one (a side
context: the conversation's cached prompt is kept).

The answer is checked before she says it: the model must have been sure of its words (where
the engine reports each token's probability: no more than two guessed pieces), and then
(:func:`check_translation`) one line, not the English again, a question still a question
(not answered: "can you help me" → "¡Sí, puedo ayudarte!"), in the target language by a
cheap test (its common short words and letters outnumber those of English and of the other
languages known here, or its script), a sane length for the source, the source's digits
kept, no English word left in; and put back into English by the model (a second greedy side
prompt), it must keep the source's content words (:func:`kept_meaning`). When a check fails,
or for a language with no test here, she declines plainly ("I'm not sure enough of my Welsh
to translate that well.") instead of saying something wrong with confidence.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

from her_desktop.llm.base import (
    GenerationParams,
    GenerationStats,
    LLMEngine,
    LLMError,
    Message,
    NotSupportedError,
)

__all__ = [
    "back_prompt",
    "check_translation",
    "content_words",
    "decline",
    "kept_meaning",
    "language_scores",
    "sure",
    "translate",
    "translation_prompt",
]

DEADLINE_S = 60.0
"""The side prompt's time limit by default (the dialogue passes its reply deadline): past it
she declines."""
UNSURE_P = 0.5
MAX_UNSURE_TOKENS = 2
"""A translation in which the model chose more than this many tokens with a probability
under ``UNSURE_P`` is declined: it was guessing ("Ich mag keine Maisch", a scarf for an
umbrella). Measured on the tasks part: right translations had at most two such tokens."""
MISSED_WORDS = 1
"""A translation whose words, put back into English by the model, lose more than this many of
the source's content words ("sofa", "tomorrow", "learning") is declined; with three content
words or fewer, none may be lost. Seen on the tasks part: "the cat is sleeping on the sofa" →
"… en la silla" (a chair), "we are going to the beach tomorrow" → "Stamattina…" (this
morning)."""
MIN_WORD_RATIO = 0.4
MAX_WORD_RATIO = 3.0
"""A translation has between these many words per source word (sources of 3+ words)."""

_EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "French": (
        ("I'm hungry.", "J'ai faim."),
        ("We're going to the cinema tonight.", "Nous allons au cinéma ce soir."),
    ),
    "Spanish": (
        ("I'm hungry.", "Tengo hambre."),
        ("We're going to the cinema tonight.", "Vamos al cine esta noche."),
    ),
    "German": (
        ("I'm hungry.", "Ich habe Hunger."),
        ("We're going to the cinema tonight.", "Wir gehen heute Abend ins Kino."),
    ),
    "Italian": (
        ("I'm hungry.", "Ho fame."),
        ("We're going to the cinema tonight.", "Stasera andiamo al cinema."),
    ),
    "Portuguese": (
        ("I'm hungry.", "Estou com fome."),
        ("We're going to the cinema tonight.", "Vamos ao cinema hoje à noite."),
    ),
    "Dutch": (
        ("I'm hungry.", "Ik heb honger."),
        ("We're going to the cinema tonight.", "We gaan vanavond naar de bioscoop."),
    ),
}


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_WORDS: dict[str, frozenset[str]] = {
    "English": _set(
        "the is are was were and my your you i i'm have has to of with this that it it's we "
        "they be been will would what where when how can do don't not very today"
    ),
    "French": _set(
        "le la les un une des du et est je j' tu il elle nous vous ils elles sont pas ne que qui "
        "dans pour sur avec mon ma mes ton ta son sa au aux ce cette suis ai as été très "
        "aujourd'hui c'est n'est l' d' m' t' s' qu'"
    ),
    "Spanish": _set(
        "el la los las un una unos unas y es son está están estoy yo tú él ella nosotros no que "
        "en por para con mi mis tu su al del muy hoy me te se lo"
    ),
    "German": _set(
        "der die das ein eine einen und ist sind ich du er sie wir nicht mit auf für zu den dem "
        "im bin habe hat mein meine dein sehr heute mir dich mich es"
    ),
    "Italian": _set(
        "il lo la gli le un una di e è sono io tu lui lei noi non che in per con mio mia mi ti "
        "al del della molto oggi ho ha sto l' d' c'è"
    ),
    "Portuguese": _set(
        "o a os as um uma de do da e é são eu você ele ela nós não que em para com meu minha no "
        "na muito hoje estou está"
    ),
    "Dutch": _set(
        "de het een en is zijn ik jij hij zij wij niet met op voor in van mijn je heb ben "
        "vandaag ook dat"
    ),
}
_LETTERS: dict[str, str] = {
    "French": "çœèêëîïôûù",
    "Spanish": "ñ¿¡áíóú",
    "German": "ßäöü",
    "Italian": "ìò",
    "Portuguese": "ãõç",
}
_SCRIPTS: dict[str, tuple[str, ...]] = {
    "Japanese": ("HIRAGANA", "KATAKANA", "CJK"),
    "Chinese": ("CJK",),
    "Mandarin": ("CJK",),
    "Cantonese": ("CJK",),
    "Korean": ("HANGUL",),
    "Russian": ("CYRILLIC",),
    "Ukrainian": ("CYRILLIC",),
    "Greek": ("GREEK",),
    "Arabic": ("ARABIC",),
    "Hebrew": ("HEBREW",),
    "Hindi": ("DEVANAGARI",),
    "Thai": ("THAI",),
}
_PREFIX = re.compile(
    r"^(?:(?:in|the)\s+\w+(?:\s+translation)?|translation|\w+ translation)\s*[:：]\s*", re.I
)
_WORD = re.compile(r"[^\W\d_]+(?:'|’)?", re.UNICODE)
_QUESTION = re.compile(
    r"^(?:can|could|would|will|do|does|did|is|are|was|were|have|has|may|shall|should|where|"
    r"what(?! an?\b)|when|who|whom|whose|which|why|how(?! (?:lovely|nice|kind|beautiful|sad|"
    r"wonderful|great|funny|strange|odd|sweet)\b))\b",
    re.IGNORECASE,
)
"""A source that opens like a question: its translation keeps the question mark."""
_ENGLISH_LOOK = re.compile(r"th|sh|wh|oo|ee|ck|ght|w|y|ing$")
"""Spellings common in English words and rare in the other languages checked here: a word
of the source left untranslated ("Ich mag keine Mushrooms") is caught, a shared word
("table", "hospital", "restaurant") is not."""


def supported(lang: str) -> bool:
    """A translation into ``lang`` can be checked here."""
    return lang in _WORDS or lang in _SCRIPTS


def decline(lang: str) -> str:
    """What she says when she cannot stand behind a translation."""
    return f"I'm not sure enough of my {lang} to translate that well."


_STOP = _set(
    "the a an is are was were be been am i i'm you your we our they their he she his her it "
    "its it's my me us them this that these those and or but of to in on at for with from by "
    "as so not no do does did don't can could would will should shall have has had just very "
    "really please what where when how who which there here then than too also some any go "
    "going get got let let's like want wish see say tell make take put come"
)
"""Words left out of the comparison: function words, and verbs a reading back swaps freely
("I would like a coffee" → "I want a coffee")."""


_CONTRACTIONS = (
    (re.compile(r"\bcan(?:'t|not)\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'d\b"), " would"),
    (re.compile(r"'s\b"), ""),
)
"""English contractions spelt out, so "I'm very tired" and its reading back "I am very tired"
have the same words (a contraction split at its apostrophe left "m" or "don" and "t" to find)."""
_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
)
_NUMBERS = {word: str(n) for n, word in enumerate(_NUMBER_WORDS.split())}
_SAME_MEANING = tuple(
    frozenset(group.split())
    for group in (
        "tired exhausted weary",
        "asleep sleeping sleeps sleep slept",
        "sofa couch settee",
        "home house",
        "start begin",
        "big large",
        "small little",
        "happy glad",
        "beautiful lovely nice pretty gorgeous fine",
        "wet soaked drenched",
        "buy purchase",
        "film movie",
        "shop store",
        "holiday vacation holidays",
        "mum mom mother",
        "dad father",
        "kids children",
        "speak talk",
        "near close",
    )
)
"""Words a reading back may swap for each other without the meaning slipping (few, and never
two different things: "beach" and "sea" are not one)."""
_NEGATION = frozenset({"not", "no", "never", "nothing", "nobody", "none", "neither", "nor"})


def _english_words(text: str) -> list[str]:
    """The words of an English text, lower case, contractions and number words spelt out."""
    flat = text.lower().replace("’", "'")
    for pattern, spelt in _CONTRACTIONS:
        flat = pattern.sub(spelt, flat)
    return [_NUMBERS.get(w, w) for w in re.findall(r"[^\W_]+", flat)]


def content_words(text: str) -> list[str]:
    """The words of an English text that carry its meaning (no function words)."""
    return [w for w in _english_words(text) if w not in _STOP]


def _same_word(a: str, b: str) -> bool:
    """The same word or one of its forms ("sleeping", "sleeps"): a shared start of 4+ letters;
    or two words of the same meaning (``_SAME_MEANING``)."""
    if any(a in group and b in group for group in _SAME_MEANING):
        return True
    if len(a) < 4 or len(b) < 4:
        return a == b
    return a[:4] == b[:4]


def _negated(text: str) -> bool:
    return not _NEGATION.isdisjoint(_english_words(text))


def kept_meaning(source: str, back: str) -> bool:
    """``back`` (the translation put back into English) keeps the content words of ``source``
    (at most :data:`MISSED_WORDS` lost, none when there are three or fewer) and its negation
    ("I don't like mushrooms" read back "I like mushrooms" lost its meaning)."""
    wanted = content_words(source)
    found = content_words(back)
    missed = [w for w in wanted if not any(_same_word(w, f) for f in found)]
    if _negated(source) != _negated(back):
        return False
    return len(missed) <= (0 if len(wanted) <= 3 else MISSED_WORDS)


def back_prompt(text: str, lang: str) -> list[Message]:
    """The side prompt that puts a translation back into English (the examples reversed)."""
    instruction = (
        f"You translate {lang} into English. Reply with the English translation only, on "
        "one line: no quotes, no notes."
    )
    pairs = [(translated, english) for english, translated in _EXAMPLES.get(lang, ())]
    return _side_prompt(instruction, pairs, text)


def translation_prompt(phrase: str, lang: str) -> list[Message]:
    """The side prompt: one instruction, the language's example pairs, the words."""
    instruction = (
        f"You translate English into {lang}. Reply with the {lang} translation only, on "
        "one line: no quotes, no notes, no English."
    )
    return _side_prompt(instruction, list(_EXAMPLES.get(lang, ())), phrase)


def _side_prompt(instruction: str, pairs: list[tuple[str, str]], text: str) -> list[Message]:
    """A system instruction, example exchanges (asked, answered), then ``text``."""
    messages = [Message("system", instruction)]
    for asked, answered in pairs:
        messages += [Message("user", asked), Message("assistant", answered)]
    messages.append(Message("user", text))
    return messages


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return " ".join(
        "".join(
            ch for ch in decomposed if not unicodedata.combining(ch) and ch not in ".,!?¡¿\"'"
        ).split()
    )


def _tokens(text: str) -> list[str]:
    words = []
    for raw in text.lower().replace("’", "'").split():
        word = raw.strip('.,!?¡¿;:"«»()')
        if "'" in word[:-1]:  # j'ai → j' + ai
            head, tail = word.split("'", 1)
            words += [head + "'", tail]
        elif word:
            words.append(word)
    return words


def language_scores(text: str) -> dict[str, float]:
    """How much ``text`` looks like each language known here: its common short words (a word
    shared by several languages counts a share) and its own letters."""
    tokens = _tokens(text)
    scores = dict.fromkeys(_WORDS, 0.0)
    for token in tokens:
        owners = [lang for lang, words in _WORDS.items() if token in words]
        for lang in owners:
            scores[lang] += 1.0 / len(owners)
    lowered = text.lower()
    for lang, letters in _LETTERS.items():
        scores[lang] += 0.5 * sum(lowered.count(ch) for ch in letters)
    return scores


def _in_script(text: str, scripts: Sequence[str]) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    inside = sum(1 for ch in letters if unicodedata.name(ch, "").startswith(tuple(scripts)))
    return inside / len(letters) >= 0.6


def clean(output: str) -> str:
    """The translation out of what the LM wrote: its first line, without a label ("In
    French:") or quotes around it."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    text = _PREFIX.sub("", lines[0]).strip()
    text = text.strip("\"'“”‘’«» ").strip()
    return re.sub(r"\s*\((?:[^()]*)\)\s*$", "", text).strip()


def _sentence_count(text: str) -> int:
    return max(1, len(re.findall(r"[^.!?。！？]+[.!?。！？]+", text + ".")))


def _left_in_english(source: str, text: str) -> bool:
    """A lower-case word of the source, English-looking, left as it was."""
    english = {w for w in _WORD.findall(source) if w.islower() and len(w) >= 4}
    return any(
        w.lower() in english and _ENGLISH_LOOK.search(w.lower()) for w in _WORD.findall(text)
    )


def check_translation(source: str, output: str, lang: str) -> str | None:
    """The translation to say (cleaned), or None when it fails a check (see the module)."""
    text = clean(output)
    if not text or len(text) > 4 * len(source) + 40:
        return None
    if _fold(text) == _fold(source):
        return None  # the English again
    for digits in re.findall(r"\d+", source):
        if digits not in text:
            return None
    if _sentence_count(text) > _sentence_count(source):
        return None  # an answer to the words ("Of course! How can I help?"), not them
    if lang in _SCRIPTS:
        return text if _in_script(text, _SCRIPTS[lang]) else None
    if lang not in _WORDS:
        return None
    if _QUESTION.match(source.strip()) and not re.search(r"[?]", text):
        return None  # a question answered ("¡Sí, puedo ayudarte!"), not translated
    source_words = _WORD.findall(source)
    out_words = _WORD.findall(text)
    if len(source_words) >= 3:
        ratio = len(out_words) / len(source_words)
        if not MIN_WORD_RATIO <= ratio <= MAX_WORD_RATIO:
            return None
    if _left_in_english(source, text):
        return None
    scores = language_scores(text)
    target = scores[lang]
    if any(score > target for other, score in scores.items() if other != lang):
        return None  # another language (English included) fits better
    if scores["English"] > 0 and scores["English"] >= target:
        return None
    return text


def sure(logprobs: Sequence[float]) -> bool:
    """The model chose at most ``MAX_UNSURE_TOKENS`` tokens with a probability under
    ``UNSURE_P`` (natural-log probabilities; none known: sure)."""
    floor = math.log(UNSURE_P)
    return sum(1 for lp in logprobs if lp < floor) <= MAX_UNSURE_TOKENS


def _answer(lang: str, text: str) -> str:
    end = "" if text[-1] in ".?!" else "."
    return f"In {lang}: {text}{end}"


def _params(phrase: str, deadline_s: float) -> GenerationParams:
    return GenerationParams(
        max_tokens=min(160, 12 + 6 * len(phrase.split())),
        temperature=0.0,
        deadline_s=deadline_s,
        stop=("\n",),
    )


async def translate(
    engine: LLMEngine, phrase: str, lang: str, *, deadline_s: float = DEADLINE_S
) -> str:
    """Her reply to "translate ``phrase`` into ``lang``": the checked translation, or a plain
    decline. Never raises for an LM failure (she declines instead)."""
    if not supported(lang) or not phrase.strip():
        return decline(lang)
    messages = translation_prompt(phrase, lang)
    params = _params(phrase, deadline_s)
    try:
        try:
            output, logprobs = await engine.background_generate_scored(messages, params)
        except NotSupportedError:
            stats = GenerationStats()
            output = "".join([piece async for piece in engine.stream(messages, params, stats)])
            logprobs = []
    except LLMError:
        return decline(lang)
    if not sure(logprobs):
        return decline(lang)
    checked = check_translation(phrase, output, lang)
    if checked is None:
        return decline(lang)
    back = await _generate(engine, back_prompt(checked, lang), _params(checked, deadline_s))
    if back is None or not kept_meaning(phrase, clean(back)):
        return decline(lang)  # the model's own reading of it lost part of the meaning
    return _answer(lang, checked)


async def _generate(
    engine: LLMEngine, messages: list[Message], params: GenerationParams
) -> str | None:
    """The model's greedy text for a side prompt, or None when it failed."""
    try:
        try:
            output, _ = await engine.background_generate_scored(messages, params)
        except NotSupportedError:
            stats = GenerationStats()
            output = "".join([piece async for piece in engine.stream(messages, params, stats)])
    except LLMError:
        return None
    return output
