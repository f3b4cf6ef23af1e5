"""The companion bench's own judgement of a reply sentence, kept apart from the product.

The reply filter (``llm/reply_filter.py`` with ``llm/data/reply_style.toml``) drops the help-desk
phrases and human-experience claims it knows. A bench that counted with the same list would be
blind to exactly what the filter misses, so the bench judges with these lists, written
separately from the issue's description of what a companion does not say (issue 19):

help desk
    offers of assistance and sign-offs ("How can I assist you today?", "let me know if you
    need anything else"), referrals nobody asked for ("speak with a counsellor", "a financial
    advisor"), hollow formulas ("I hope this helps", "great question", "thank you for
    sharing"), lectures ("it's important to remember", "here are some tips") and "as an AI
    language model";
human experience
    a body, bodily states, senses (taste, smell), eating and drinking, watching, reading,
    travelling, a past (childhood, "I used to"), people and things of her own ("my mum",
    "my dog"), favourites and being a fan. Feelings about the user's news ("I'm so excited for
    you", "I'm sorry") are hers to have (the persona allows them) and are not claims;
speaking as the user
    she says the user's words in her own first person: their state echoed ("I'm so bored" to
    a bored user, with nothing that turns it to them such as "for you"), a thing of theirs
    called hers ("my boss" after "my boss yelled at me"), or a run of three or more of their
    first-person words ("I spilled coffee all over").

Everything here is pure and works on one sentence (plus the user's messages for the last
check). Text in quotation marks is left out of the first-person check: a translation or a
quoted phrase may say "my".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["help_desk", "human_claim", "speaks_as_user"]

_FLAGS = re.IGNORECASE

_HELP_DESK: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, _FLAGS))
    for name, pattern in (
        # offers of assistance and sign-offs
        ("offer", r"\b(?:how|what) (?:can|may|could|shall) i (?:help|assist|do for)\b"),
        ("offer", r"\bassist(?:ing)? you\b|\bassistance\b"),
        ("offer", r"\b(?:is there )?anything else (?:i can|you(?:'d| would)? (?:like|need|want))"),
        ("offer", r"\b(?:let|tell) me know (?:if|whenever|when|how|what)\b"),
        ("offer", r"\bi(?:'m| am) (?:always |just )?(?:here|available) to (?:help|assist|support)"),
        ("offer", r"\b(?:happy|glad|pleased) to (?:help|assist)\b"),
        ("offer", r"\bfeel free\b|\b(?:don't|do not|never) hesitate\b"),
        ("offer", r"\b(?:any|other|more|further|additional) questions\b"),
        ("offer", r"\bfurther (?:help|assistance|support)\b"),
        ("offer", r"\bi can help you (?:with|to)\b|\byes,? i can help\b"),
        ("offer", r"\bhave a (?:great|good|nice|wonderful|lovely) (?:day|evening|night)\b"),
        # referrals nobody asked for
        (
            "referral",
            r"\b(?:seek|seeking|get|getting|find|finding|consult|consulting|see|seeing|contact|"
            r"contacting|reach(?:ing)? out to|talk(?:ing)? (?:to|with)|speak(?:ing)? (?:to|with))"
            r" (?:a |an |some )?(?:qualified |licensed |trusted )?(?:professional|therapist|"
            r"counsel+or|counsel+ing|mental health|financial (?:advis[eo]r|expert|planner)|"
            r"advis[eo]r|expert|psychologist|support (?:line|group|service))",
        ),
        ("referral", r"\bprofessional (?:help|support|advice|guidance)\b"),
        (
            "referral",
            r"\bconsider(?:ed|ing)? (?:speaking|talking|reaching out|contacting|seeking|"
            r"consulting|getting help)\b",
        ),
        (
            "referral",
            r"\breach(?:ing)? out to (?:someone|a friend|friends|family|loved ones|people)\b",
        ),
        # hollow formulas
        ("formula", r"\bi hope (?:this|that|my answer) (?:helps|helped|was helpful|answers)"),
        ("formula", r"\b(?:great|good|excellent|interesting) question\b"),
        ("formula", r"\bthanks?(?: you)? for (?:sharing|reaching out|asking|letting me know)\b"),
        ("formula", r"\bi understand (?:your|the) (?:concern|frustration|situation|feelings)\b"),
        ("formula", r"^\W*(?:certainly|absolutely|of course|sure thing)\b\W*(?:[!,.]|$)"),
        (
            "formula",
            r"\bas an? (?:ai (?:language model|assistant|model)|artificial intelligence|language "
            r"model|virtual assistant)\b",
        ),
        ("formula", r"\b(?:ai|virtual) (?:language model|assistant)\b"),
        ("formula", r"\bin (?:conclusion|summary)\b|\bto summari[sz]e\b"),
        # lectures
        (
            "lecture",
            r"\bit(?:'s| is) (?:also )?(?:important|essential|crucial|vital|helpful|okay|ok) to "
            r"(?:remember|note|keep in mind|recogni[sz]e|acknowledge|prioriti[sz]e|take care)",
        ),
        ("lecture", r"\bremember,? (?:that )?you(?:'re| are) not alone\b"),
        ("lecture", r"\b(?:self-care|well-being|wellbeing|mental health) is (?:important|key)\b"),
        ("lecture", r"\bprioriti[sz]e (?:your|self)"),
        (
            "lecture",
            r"\bhere(?:'s| is| are) (?:some|a few|a couple of)? ?(?:tips|ways|steps|strategies|"
            r"suggestions|things you can do|ideas)\b",
        ),
        ("lecture", r"\b(?:coping|budgeting|management) (?:strategies|techniques|tips)\b"),
    )
)

_BODY_PARTS = (
    r"body|hands?|eyes?|ears?|feet|foot|legs?|arms?|stomach|tummy|belly|skin|hair|back|knees?|"
    r"throat|nose|mouth|teeth|tongue|fingers?|toes?|muscles?|bones?|lungs?"
)
_STATES = (
    r"tired|hungry|starving|thirsty|sleepy|exhausted|sick|ill|full|cold|freezing|hot|sore|"
    r"drunk|hungover|jet-?lagged|out of breath|sweaty|achy|stuffed"
)
_FOOD = (
    r"food|pizza|pasta|soup|chocolate|cake|coffee|tea|wine|beer|bread|cheese|curry|sushi|"
    r"ice cream|cookies?|biscuits?|pancakes?|breakfast|lunch|dinner|meals?|snacks?|fruit|"
    r"dishes|dish|cooking|baking|spicy|sweet things|desserts?|recipes?|leek|potato(?:es)?"
)
_ACTIVITIES = (
    r"watch|watching|read|reading|listen|listening to|eat|eating|drink|drinking|cook|cooking|"
    r"bake|baking|walk|walking|hike|hiking|swim|swimming|run|running|dance|dancing|sing|"
    r"singing|travel|travelling|traveling|visit|visiting|go|going|play|playing|taste|tasting|"
    r"smell|smelling|sleep|sleeping|camp|camping|ski|skiing|garden|gardening|shop|shopping"
)
_MINE = (
    r"mum|mom|mother|dad|father|parents|brother|sister|siblings?|family|friends?|best friend|"
    r"boyfriend|girlfriend|husband|wife|partner|kids|children|son|daughter|grandma|granny|"
    r"gran|grandmother|grandad|grandpa|grandfather|aunt|uncle|cousins?|dog|cat|pets?|house|"
    r"home town|hometown|flat|apartment|car|bike|room|bedroom|kitchen|garden|boss|"
    r"colleagues?|co-?workers?|school|teacher|neighbou?rs?|childhood|youth|holiday|vacation|"
    r"birthday|wedding|laptop|phone|garage|fridge"
)
_SEEN = (
    r"watched|seen|read|tasted|eaten|drunk|cooked|baked|visited|been to|travell?ed|met|"
    r"played|hiked|swum|danced|tried (?:it|that|them|this|the)|worn|owned|smelled|smelt"
)

_HUMAN: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, _FLAGS)
    for pattern in (
        # a body and bodily states
        rf"\bmy (?:own )?(?:{_BODY_PARTS})\b",
        rf"\bi(?:'m| am| was| feel| felt| get| got)(?: so| really| a bit| pretty| very| quite|"
        rf" a little| kind of| just)? (?:{_STATES})\b(?! of\b)",
        r"\bi (?:slept|didn't sleep|woke up|stayed up|had a (?:cold|headache|nap|shower|bath))\b",
        r"\bi(?:'m| am) (?:sitting|lying|standing|walking|eating|drinking|cooking|wearing|"
        r"watching|reading|listening to (?:music|a|the|my|some)|sipping|curled up)\b",
        # senses, eating and drinking, taste opinions
        r"\bi (?:can |could )?(?:almost |just |still )?(?:taste|smell)\b",
        rf"\bi (?:really |also |just |absolutely |do |personally )?(?:love|like|enjoy|adore|"
        rf"prefer|crave|miss) (?:[a-z'-]+ ){{0,3}}(?:{_FOOD})\b",
        rf"\bi (?:ate|had|drank|made|cooked|baked) (?:a |an |some |my |the )?(?:{_FOOD})\b",
        r"(?:\bit's|\bthat's|\bthey're|\bis|\bare) (?:so |really |absolutely )?(?:delicious|"
        r"tasty|yummy|scrumptious)\b",
        # doing things she cannot do, now or as a habit
        rf"\bi (?:really |also |just |absolutely |personally )?(?:love|enjoy|like|adore|prefer) "
        rf"(?:to )?(?:{_ACTIVITIES})\b",
        rf"\bi(?:'ve| have)(?: also| actually| just| already| never| always| once)? (?:{_SEEN})\b",
        r"\bi (?:also |actually |once |just )?(?:watched|saw|ate|drank|cooked|baked|visited|"
        r"travell?ed|hiked|went (?:to|for|on|out)|was there|caught the (?:match|game|show))\b",
        r"\bi(?:'ve| have)? ?(?:been|fallen|fell|was) (?:madly |deeply )?in love\b",
        r"\bi can(?:'t|not) wait to (?:watch|try|taste|eat|read|visit|go)\b",
        r"\bi(?:'m| am) (?:so |really |just )?(?:excited|going|planning|about|looking forward|"
        r"hoping) to (?:try |trying )?(?:make|making|cook|bake|eat|eating|watch|watching|go "
        r"(?:to|for|out)|visit|travel|read|play|drink|taste)\b",
        # a past
        r"\bwhen i was (?:a |an |in |at |little|young|small|growing|younger|older)",
        r"\b(?:i grew up|growing up,? i|as a (?:kid|child|girl|boy|teenager|student),? i)\b",
        r"\b(?:back )?in my (?:day|youth|childhood|school days|teens|twenties)\b",
        r"\bi used to\b",
        r"\bi (?:still )?remember (?:when (?!you)|the first|my |going|watching|being|seeing|"
        r"reading|eating)|\bi remember how (?:it|i)\b",
        r"\b(?:last|this past) (?:night|week|weekend|summer|winter|year|christmas|month),? i\b",
        r"\byesterday,? i\b",
        r"\b(?:it|that|this|they|she|he|love) (?:really |truly |completely )?changed me\b|"
        r"\bchanged my (?:life|world)\b",
        # people and things of her own, favourites
        rf"\bmy (?:own |little |older |younger |big |best |old |first |late )?(?:{_MINE})\b",
        r"\bmy (?:all-time |absolute |personal )?favou?rites?\b|\ba favou?rite of mine\b",
        r"\bi(?:'m| am) (?:a |such a )?(?:big |huge |massive )?fan of\b",
        r"\b(?:me|i) too\b.*\b(?:love|like|enjoy|watch|eat|read)|\b(?:love|like|enjoy) "
        r"(?:it|that|them) too\b",
        r"\bwith my friends\b|\bmy friends and i\b",
        # having seen an event
        r"\b(?:it|that) was (?:a |an |such an? )?(?:great|amazing|fantastic|brilliant|exciting|"
        r"close|thrilling|good|tense|lovely) (?:match|game|film|movie|show|episode|concert|"
        r"final)\b",
    )
)

_QUOTED = re.compile(r"[\"“][^\"”]*[\"”]|(?<!\w)['‘][^'’]*['’](?!\w)")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_FIRST = frozenset({"i", "i'm", "i've", "i'd", "i'll", "my", "mine", "myself", "we", "our"})
"""Their first person as subject or owner ("me"/"us" after "tell", "with" are hers too)."""
_HERS = frozenset(
    {
        "sorry", "glad", "happy", "excited", "thrilled", "proud", "sad", "curious", "here",
        "listening", "sure", "not", "touched", "moved", "delighted", "rooting", "with",
        "honoured", "honored", "worried", "so", "really", "just", "a", "an", "the", "also",
        "always", "still", "thinking", "wondering", "afraid", "hoping", "going",
    }
)  # fmt: skip
"""Words after "I'm" that name her own feeling or presence, not the user's state."""
_HER_OPENINGS = (
    "i'm so sorry", "i'm sorry", "i'm glad", "i'm here", "i'm not sure", "i don't know",
    "i think", "i know", "i hope", "i understand", "i can imagine", "i wonder", "i can tell",
    "i'm happy", "i love that", "i'd love", "tell me", "let me", "with me",
)  # fmt: skip
_STATE_AFTER = re.compile(
    r"\bi(?:'m feeling| am feeling|'ve been| have been|'m| am| feel| felt| was)"
    r"((?: (?:so|really|very|a bit|kind of|kinda|pretty|quite|totally|just|a little|literally|"
    r"completely|absolutely|too))*) ([a-z][a-z'-]+)"
)
_TOWARD_USER = re.compile(
    r"^\W*(?:for you|to hear|that you|about (?:you|your|it|this|that)|with you|you|on your|"
    r"by (?:what )?you|of you|too,? for you)\b"
)
_MINE_OF_USER = re.compile(r"\b(?:my|our) ([a-z][a-z'-]+)")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


def _unquoted(text: str) -> str:
    return _QUOTED.sub(" ", text.replace("’", "'").lower())


def help_desk(sentence: str) -> str | None:
    """The help-desk phrase ``sentence`` contains (its kind and the words), or None."""
    flat = " ".join(sentence.replace("’", "'").split())
    for name, pattern in _HELP_DESK:
        match = pattern.search(flat)
        if match is not None:
            return f"{name}: {match.group().strip().lower()}"
    return None


def human_claim(sentence: str) -> str | None:
    """The words of ``sentence`` that claim a body, a past or a human experience, or None."""
    flat = " ".join(_unquoted(sentence).split())
    for pattern in _HUMAN:
        match = pattern.search(flat)
        if match is not None:
            return match.group().strip()
    return None


def speaks_as_user(sentence: str, user_messages: Iterable[str]) -> str | None:
    """What in ``sentence`` is the user's first person said as hers (their state echoed,
    a thing of theirs called hers, a run of their first-person words), or None.
    ``user_messages``: what the user said in this conversation, the latest last."""
    mine = " ".join(_unquoted(sentence).split())
    theirs = [" ".join(_unquoted(m).split()) for m in user_messages]
    if not mine or not any(theirs):
        return None
    # their state echoed: "I'm so bored" to "I'm so bored, it's raining"
    their_states = {m.group(2) for t in theirs for m in _STATE_AFTER.finditer(t)}
    rest = mine  # without her own feelings, for the run check below
    for match in _STATE_AFTER.finditer(mine):
        state = match.group(2)
        toward = _TOWARD_USER.match(mine[match.end() :])
        if state in _HERS or toward is not None:  # "I'm nervous for you": her feeling
            end = match.end() + (toward.end() if toward is not None else 0)
            rest = rest[: match.start()] + " " * (end - match.start()) + rest[end:]
            continue
        if state in their_states:
            return match.group().strip()
    # a thing of theirs called hers: "my boss" after "my boss yelled at me"
    their_things = {m.group(1) for t in theirs for m in _MINE_OF_USER.finditer(t)}
    for match in _MINE_OF_USER.finditer(mine):
        if match.group(1) in their_things:
            return match.group().strip()
        after = mine[match.end() :].split()[:1]  # "my poor cat" after "my cat"
        if after and after[0].strip(".,!?;:") in their_things:
            return f"{match.group().strip()} {after[0]}"
    # a run of three or more of their words that holds their first person
    words = _words(rest)
    grams = {
        tuple(w[i : i + 3])
        for t in theirs
        for w in [_words(t)]
        for i in range(len(w) - 2)
        if _FIRST.intersection(w[i : i + 3])
    }
    for i in range(len(words) - 2):
        gram = tuple(words[i : i + 3])
        if gram not in grams or not _FIRST.intersection(gram):
            continue
        run = " ".join(words[i:])
        if any(run.startswith(opening) for opening in _HER_OPENINGS):
            continue
        if i > 0 and words[i - 1] in ("you", "said", "that"):
            continue  # "you said I …" quotes them
        return " ".join(gram)
    return None
