"""A summary of what the user said, made in Python from their own lines.

"Remind me what I said", "can you sum that up", "what's on my list again?": the small default
LM, asked to sum up, mixes up who said what, leaves out half, or adds what nobody said. The
user's lines are all there in the conversation, so the summary is built from them:

- the request is recognised (:func:`recap_request`): a recap, summary or reminder of what
  *they* said ("what did I just tell you?", "what was I going on about?", "in a nutshell?",
  "sum up my day", "what's on my list?"), never a summary of something else ("summarise the
  plot of Hamlet");
- the lines summed up are their latest statements in this conversation (their questions and
  earlier requests left out), with the other sentences of the request's own message ("I lost
  my keys and missed the bus. Can you sum up my day?");
- each line is said back to them (their "I" as "you", their "you" as "me", fillers such as
  "okay so" dropped, shortened to its first clauses), joined into one or two short sentences
  opening with "You said";
- lines that mostly tell of a hard time get a short word of sympathy after the summary (a
  request that itself tells of one is acknowledged before it, by the dialogue stage).

A request about something they have not said in this conversation ("what did I tell you
about my sister?" with no sister in it), or with nothing said yet, is left to the LM (memory
may hold it from an earlier conversation): :func:`recap` returns None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from her_desktop.llm.acknowledge import troubled
from her_desktop.memory.retrieval import second_person

__all__ = ["RECAP_LINES", "recap", "recap_request", "said_back"]

RECAP_LINES = 4
"""At most this many of the user's latest statements are summed up."""
REQUEST_CHARS = 240
"""The request is looked for in this many characters at the end of the message."""
LINE_WORDS = 22
"""A line longer than this is cut at its last clause break before it (or at this many words)."""
MIN_LEAD_WORDS = 5
"""Words before a request in its own sentence that count as something they told ("I lost my
keys and missed the bus, can you sum up my day?")."""
RECAP_WORDS = 48
"""The lines' words in all, at most (a line gets its share, ``LINE_WORDS`` at most): the reply
filter keeps a voice reply to 55 words and would drop the last sentence of a longer one."""
_SAID = (
    r"(?:just |already |earlier |before )?(?:said|told you|mentioned|was saying|was telling you|"
    r"was talking about|was going on about|talked about|been saying|been telling you|"
    r"been talking about|been going on about|have said|have told you|'ve said|'ve told you|"
    r"'ve been saying|'ve been telling you|'ve been talking about|'ve mentioned|listed)"
)
_NEEDED = r"(?:wanted|needed|need|have to|had to)"
"""What they need to do: their list, only when asked to be reminded of it ("remind me what I
need to bring"; "tell me what I need to know about mortgages" asks for advice)."""
_REQUESTS = (
    # "what did I just tell you?", "what have I been saying?", "what did I say I needed to do?"
    r"\bwhat (?:did|have|had) i (?:just |already |earlier )?(?:say|said|tell you|told you|mention|"
    r"mentioned|talk about|talked about|been saying|been telling you|been talking about|"
    r"been going on about|list|listed|need|needed|want|wanted)\b",
    # "what was I saying?", "what was I going on about?"
    r"\bwhat was i (?:just )?(?:saying|talking about|going on about|telling you|on about)\b",
    r"\bwhat (?:was|is) (?:it )?(?:that )?i (?:just )?(?:said|told you|mentioned)\b",
    # "remind me what I said", "tell me what I told you", "repeat back what I said"
    rf"\b(?:remind me|tell me|repeat(?: back)?|go over|run (?:me )?through|recap|sum up|"
    rf"summ?ari[sz]e|list|read back)(?: of| about)? (?:again )?(?:what|everything|all) "
    rf"(?:that )?i(?:'ve| have)? {_SAID}",
    rf"\bremind me(?: of| about)? (?:again )?(?:what|everything|all) (?:that )?i {_NEEDED}",
    # "sum it up", "summarise that", "recap please", "repeat that back to me"
    r"\b(?:sum(?:med)? (?:it|that|this|everything|all (?:of )?(?:that|this|it)) up|"
    r"(?:summ?ari[sz]e|recap) (?:it|that|this|everything|all (?:of )?(?:that|this|it))|"
    r"repeat (?:it|that|everything) back|give (?:it|that) (?:back )?to me (?:in|as) a "
    r"(?:summary|sentence|nutshell))\b(?:\s*(?:for me|again|please|quickly|briefly|real quick|"
    r"so far|in (?:a|one) (?:sentence|nutshell)))*\s*[?.!]*\s*$",
    r"^(?:\w+[,\s]+){0,3}(?:recap|summary|summari[sz]e|sum up|in a nutshell)\s*(?:please)?"
    r"\s*[?.!]*\s*$",
    # "sum up my day", "summarise my week for me"
    r"\b(?:sum up|summ?ari[sz]e|recap) (?:my|the) (?:day|week|weekend|morning|evening|list|"
    r"situation|problem|worries|plans?|rant|ramble|rambling)\b",
    # "give me a quick summary of what I've said so far", "the short version of what I said"
    r"\b(?:summary|recap|rundown|gist|short version|tl;?dr|nutshell version)(?: of| on)? "
    r"(?:what|everything|all) (?:that )?i(?:'ve| have)? " + _SAID,
    r"\b(?:summary|recap|rundown|gist|short version) of (?:it|that|this|everything|my day|"
    r"my week|what's been said|our chat|the conversation|this conversation)\b",
    # "what were the two things I mentioned?", "what's on my list again?"
    r"\bwhat (?:were|was|are|is) (?:the|those|that|these) (?:\w+ ){0,2}(?:things?|options?|"
    r"points?|stuff|problems?|ideas?|reasons?|jobs?|tasks?) (?:that )?i (?:just )?(?:mentioned|"
    r"said|told you|listed|gave you|talked about|(?:said i )?(?:need|needed|have|had|wanted|"
    r"want) to)\b",
    r"\bwhat(?:'s| is| was) on (?:my|the|our) (?:to-?do |shopping )?list\b",
    # "summarise our conversation", "what have we talked about?", "do you remember what I said?"
    r"\b(?:summ?ari[sz]e|recap|sum up) (?:our|the|this) (?:conversation|chat|talk)\b",
    r"\bwhat (?:have|did) we (?:just )?(?:talk|talked|been talking|chat|chatted) about\b",
    r"\bremember what i (?:just |earlier )?(?:said|told you|was saying|mentioned)\b",
)
_REQUEST = re.compile("|".join(f"(?:{r})" for r in _REQUESTS), re.IGNORECASE)
_LOOKUP = re.compile(
    r"\b(?:name|called|birthday|address|phone number|how old|age)\b", re.IGNORECASE
)
"""One thing they told her ("what did I tell you my dog's name was?"): memory's question."""
_ABOUT = re.compile(
    r"\b(?:about|regarding|re) (?:my |the |our |that |those |this )?(?P<topic>[a-z][a-z' -]{1,40}?)"
    r"\s*(?:again|earlier|before|just now|so far)?\s*[?.!]*\s*$",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"^(?:(?:ok(?:ay)?|so|oh|um+|uh+|erm+|well|anyway|anyways|right|yeah|yes|like|honestly|"
    r"basically|actually|also|hey|hmm+|ah|sorry)\b[,\s]*)+",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)")
_CLAUSE_BREAK = re.compile(r",\s|\s(?:and|but|so|because)\s")
_KEEP_CASE = re.compile(r"^(?:I\b|I'|[A-Z]{2,}|[A-Z][a-z]+[A-Z])")


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_LOWER_FIRST = _set(
    "you your you're you've you'd you'll yours yourself the a an it it's its they they're "
    "their she she's he he's his her there this that these those we our and but so for at "
    "in on then today yesterday last tomorrow tonight one two three some all most everyone "
    "everything nothing someone something after before now maybe just still finally when "
    "what if my mum dad"
)
_THEIR_YOU: dict[str, str] = {
    "you're": "I'm", "you've": "I've", "you'd": "I'd", "you'll": "I'll", "yourself": "myself",
    "yours": "mine", "your": "my", "you are": "I am", "you were": "I was",
}  # fmt: skip
_THEIR_YOU_RE = re.compile(
    r"(?<![\w'])(" + "|".join(sorted(_THEIR_YOU, key=len, reverse=True)) + r"|you)(?![\w'])",
    re.IGNORECASE,
)
_SUBJECT_BEFORE = re.compile(
    r"(?:^|[,;:]|\b(?:and|but|if|when|because|that|so|or|though|while))\s*$", re.IGNORECASE
)
_CONJUNCTION = re.compile(r"^(?:and|but|so|because|then|plus)\b", re.IGNORECASE)
_LEAD_OUT = re.compile(
    r"(?:[\s,;:-]+|\b(?:can|could|would|will) you\b|\bplease\b|\b(?:so|and|but|now|ok|okay|"
    r"anyway|just)\b)*$",
    re.IGNORECASE,
)
"""The words that lead into a request at the end of a sentence ("…, so can you")."""
_ABOUT_ASKING = re.compile(
    r"\b(?:sorry|rambl\w*|babbl\w*|nutshell|brief\w*|quick\w*|going on|went on|confus\w*|"
    r"lost track|forgot what)\b",
    re.IGNORECASE,
)
"""Words before a request that are about the asking ("sorry I rambled, …"), not news."""
_SMALL_TALK = re.compile(
    r"^\W*(?:(?:hi|hello|hey|hiya|morning|evening|good (?:morning|evening|afternoon)|thanks|"
    r"thank you|cheers|ok(?:ay)?|cool|great|nice|yeah|yes|yep|no|nope|sure|right|hmm+|haha|lol|"
    r"sorry|you there|still there)\b\W*)+(?:\w+\W*)?$",
    re.IGNORECASE,
)
"""A line with nothing to sum up: a greeting, a thanks, a yes."""
_SYMPATHY = "I'm sorry it's been so hard."
_STOP = _set(
    "the a an my our your it that this what again just please me you i about to of day today "
    "week weekend morning afternoon evening night life situation problem problems stuff things "
    "plans news worries earlier before all everything"
)
"""Words that name no topic of their own ("what did I tell you about my day?": all of it)."""


def recap_request(text: str) -> bool:
    """``text`` asks her to sum up or repeat back what the user said (the request is its last
    sentence or so: only the end of a long message is searched)."""
    flat = " ".join(text[-REQUEST_CHARS:].replace("’", "'").split())
    return _REQUEST.search(flat) is not None and _LOOKUP.search(flat) is None


def said_back(line: str) -> str:
    """One of the user's lines as she says it back to them: their "I" as "you", their "you"
    (her) as "me" ("I told you I was tired" → "you told me you were tired")."""
    marks: list[str] = []

    def hers(match: re.Match[str]) -> str:
        word = match.group(1).lower()
        if word == "you":
            subject = _SUBJECT_BEFORE.search(line, 0, match.start()) is not None
            word_out = "I" if subject else "me"
        else:
            word_out = _THEIR_YOU[word]
        marks.append(word_out)
        return f"\x00{len(marks) - 1}\x00"

    held = _THEIR_YOU_RE.sub(hers, line)
    turned = second_person(held)
    turned = re.sub(r"\byou wasn't\b", "you weren't", turned, flags=re.IGNORECASE)
    return re.sub(r"\x00(\d+)\x00", lambda m: marks[int(m.group(1))], turned)


def _statements(text: str) -> list[str]:
    """The sentences of a message that tell something (not questions, not a recap request)."""
    out = []
    for sentence in _SENTENCE.split(" ".join(text.split())):
        sentence = sentence.strip()
        request = _REQUEST.search(sentence.replace("’", "'"))
        if request is not None:  # "I lost my keys, can you sum up my day?": what comes first
            sentence = _LEAD_OUT.sub("", sentence[: request.start()])
            if len(sentence.split()) < MIN_LEAD_WORDS or _ABOUT_ASKING.search(sentence):
                continue
        elif not sentence or sentence.endswith("?"):
            continue
        if _SMALL_TALK.match(sentence):  # "hi", "ok thanks"
            continue
        out.append(sentence)
    return out


def _shortened(line: str, limit: int = LINE_WORDS) -> str:
    """``line`` without fillers at its start or a full stop at its end, and cut to its first
    clauses when long."""
    line = _FILLER.sub("", line.strip()).strip(" ,")
    line = re.sub(r"\s*[.!…]+$", "", line)
    words = line.split()
    if len(words) <= limit:
        return line
    head = " ".join(words[:limit])
    breaks = [m.start() for m in _CLAUSE_BREAK.finditer(head) if m.start() > len(head) // 3]
    return head[: breaks[-1]] if breaks else head


def _clause(line: str) -> str:
    """A said-back line as a clause inside her sentence (lower case where it can be)."""
    first = line.split(maxsplit=1)[0] if line.split() else ""
    if _KEEP_CASE.match(first) or first.lower() not in _LOWER_FIRST:
        return line
    return line[:1].lower() + line[1:]


def _topic(request: str) -> list[str]:
    """The content words of what the request asks about ("… about my car?" → ["car"])."""
    match = _ABOUT.search(" ".join(request.replace("’", "'").split()))
    if match is None:
        return []
    return [w for w in re.findall(r"[a-z']+", match["topic"].lower()) if w not in _STOP]


def _mentions(lines: Sequence[str], words: Sequence[str]) -> bool:
    found = {w[:4] for line in lines for w in re.findall(r"[a-z']+", line.lower()) if len(w) > 2}
    return any(w[:4] in found for w in words)


def recap(user_text: str, earlier_user_messages: Sequence[str]) -> str | None:
    """Her reply to a request to sum up what the user said (``earlier_user_messages``: what
    they said before in this conversation, oldest first), or None when ``user_text`` is no such
    request or there is nothing of theirs here to sum up."""
    if not recap_request(user_text):
        return None
    lines = [s for m in earlier_user_messages for s in _statements(m)]
    lines += _statements(user_text)
    lines = lines[-RECAP_LINES:]
    if not lines:
        return None
    topic = _topic(user_text)
    if topic and not _mentions(lines, topic):
        return None  # about something not said here: memory may know it
    share = min(LINE_WORDS, max(8, RECAP_WORDS // len(lines)))
    clauses = [_clause(said_back(_shortened(line, share))) for line in lines]
    clauses = [c for c in clauses if c]
    if not clauses:
        return None
    first, rest = clauses[:2], clauses[2:]
    text = "You said " + _join(first) + "."
    if rest:
        also = _join(rest)
        also = _CONJUNCTION.sub("", also).strip(" ,") or also
        text += " Also " + also + "."
    hard = sum(troubled(line) for line in lines) * 2 > len(lines)  # mostly a hard time
    if hard and not troubled(user_text):  # a hard request is acknowledged first, by the stage
        text += " " + _SYMPATHY
    return text


def _join(clauses: Sequence[str]) -> str:
    """Clauses said as one: "A, and B" (a clause that opens with "and"/"but" keeps it)."""
    out = clauses[0]
    for clause in clauses[1:]:
        out += ", " + clause if _CONJUNCTION.match(clause) else ", and " + clause
    return out
