"""The streaming sentence splitter: rules, earliness, and properties that hold for any text."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from her_desktop.sentences import SentenceSplitter, split_sentences

ZWJ = "\u200d"
FAMILY = "👩\u200d👩\u200d👧\u200d👦"  # four emoji joined by ZWJ (7 code points)
THUMB = "👍🏽"  # emoji + skin tone
FLAG = "🇯🇵"  # two regional indicators
HEART = "❤️"  # emoji + variation selector 16
RAINBOW_FLAG = "🏳️\u200d🌈"
CLUSTERS = [FAMILY, THUMB, FLAG, HEART, RAINBOW_FLAG, "😊"]

PROPS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def stream(text: str, cuts: list[int] | None = None, **options: int | None) -> list[str]:
    """Feed ``text`` cut at ``cuts`` (default: one character at a time), then flush."""
    splitter = SentenceSplitter(**options)  # type: ignore[arg-type]
    points = sorted({c for c in (cuts if cuts is not None else range(len(text))) if c > 0})
    out: list[str] = []
    prev = 0
    for cut in [*points, len(text)]:
        out += splitter.feed(text[prev:cut])
        prev = cut
    return out + splitter.flush()


def visible(text: str) -> str:
    return "".join(text.split())


def emissions(pieces: list[str], **options: int | None) -> list[list[str]]:
    """What each ``feed`` returned, then what ``flush`` returned (last entry)."""
    splitter = SentenceSplitter(**options)  # type: ignore[arg-type]
    return [splitter.feed(p) for p in pieces] + [splitter.flush()]


# ---------------------------------------------------------------------------------- rules

BASIC = [
    ("Hello there. How are you?", ["Hello there.", "How are you?"]),
    ("Really?! No way!!! Okay.", ["Really?!", "No way!!!", "Okay."]),
    ('She said "Stop." Then she left.', ['She said "Stop."', "Then she left."]),
    ("(It was late.) We went home.", ["(It was late.)", "We went home."]),
    ("**Note.** Read this.", ["**Note.**", "Read this."]),
    ('"Wow!" she said. Then left.', ['"Wow!" she said.', "Then left."]),
    ("First paragraph\n\nSecond paragraph", ["First paragraph", "Second paragraph"]),
    ("Steps:\n- buy milk\n- eat it", ["Steps:", "- buy milk", "- eat it"]),
    ("A line\nthat wraps.", ["A line", "that wraps."]),
    ("Hello.World is one word.", ["Hello.World is one word."]),
    ("   padded.   \n\n  ", ["padded."]),
    ("", []),
    (" \n\t ", []),
    ("No terminator at all", ["No terminator at all"]),
    ("Hindi works। Arabic too؟ Yes‽ Done.", ["Hindi works।", "Arabic too؟", "Yes‽", "Done."]),
]

ABBREVIATIONS = [
    ("Dr. Smith is here. He said hi.", ["Dr. Smith is here.", "He said hi."]),
    ("Mr. and Mrs. Jones met Ms. Lee.", ["Mr. and Mrs. Jones met Ms. Lee."]),
    ("Prof. Xu lives on Main St. Louis is far.", ["Prof. Xu lives on Main St. Louis is far."]),
    (
        "Martin Luther King Jr. was born in Atlanta.",
        ["Martin Luther King Jr. was born in Atlanta."],
    ),
    ("It's cats vs. Dogs today.", ["It's cats vs. Dogs today."]),
    ("Fruit, e.g. Apples, i.e. Red ones.", ["Fruit, e.g. Apples, i.e. Red ones."]),
    ("It takes approx. Ten minutes.", ["It takes approx. Ten minutes."]),
    ("J. R. R. Tolkien wrote it.", ["J. R. R. Tolkien wrote it."]),
    ("J.K. Rowling wrote it too.", ["J.K. Rowling wrote it too."]),
    ("No. 5 is my favourite.", ["No. 5 is my favourite."]),
    ("No. I won't.", ["No.", "I won't."]),
    ("It starts Dec. 25 at noon.", ["It starts Dec. 25 at noon."]),
    ("See p. 12 and Fig. 3 there.", ["See p. 12 and Fig. 3 there."]),
    ("It happened in Jan. Then it stopped.", ["It happened in Jan.", "Then it stopped."]),
    ("Meet at 5 p.m. on Friday.", ["Meet at 5 p.m. on Friday."]),
    ("Meet at 5 p.m. Bring food.", ["Meet at 5 p.m.", "Bring food."]),
    ("She lives in the U.S. and works.", ["She lives in the U.S. and works."]),
    ("She lives in the U.S. Her job is fun.", ["She lives in the U.S.", "Her job is fun."]),
    ("He works at Acme Inc. and likes it.", ["He works at Acme Inc. and likes it."]),
    ("He works at Acme Inc. It is big.", ["He works at Acme Inc.", "It is big."]),
    ("Acme Ltd. was founded early.", ["Acme Ltd. was founded early."]),
    # etc. followed by a capitalised word: chosen to END the sentence (documented).
    ("apples, pears, etc. Then we left.", ["apples, pears, etc.", "Then we left."]),
    ("apples, pears, etc. and more.", ["apples, pears, etc. and more."]),
    ("It costs approx. 5 dollars.", ["It costs approx. 5 dollars."]),
]

NUMBERS = [
    ("Pi is 3.14 roughly. Nice.", ["Pi is 3.14 roughly.", "Nice."]),
    ("It costs $4.99. Want it?", ["It costs $4.99.", "Want it?"]),
    ("Update to v1.2.3 now. Done.", ["Update to v1.2.3 now.", "Done."]),
    ("You owe 1,000.50 today.", ["You owe 1,000.50 today."]),
    ("I'm 25. You?", ["I'm 25.", "You?"]),
    ("1. Buy milk\n2. Eat it\n10. Done", ["1. Buy milk", "2. Eat it", "10. Done"]),
    ("  3. Indented item", ["3. Indented item"]),
    ("a. First\nb. Second\niv. Fourth", ["a. First", "b. Second", "iv. Fourth"]),
    ("Count 1. Then 2.", ["Count 1.", "Then 2."]),
]

ELLIPSES = [
    ("Well... maybe not.", ["Well... maybe not."]),
    ("Well… maybe not.", ["Well… maybe not."]),
    # Followed by a capital (even "I"): a boundary, i.e. a spoken pause (documented).
    ("Well... I think so.", ["Well...", "I think so."]),
    ("Hmm… Okay then.", ["Hmm…", "Okay then."]),
    ("Wait... 3 options remain.", ["Wait...", "3 options remain."]),
    ("So...then what?", ["So...then what?"]),
]

EMOJI = [
    ("I'm so happy for you! 😊 What's next?", ["I'm so happy for you! 😊", "What's next?"]),
    ("Great!😊 Next one.", ["Great!😊", "Next one."]),
    ("Done. 😊😊 Next.", ["Done. 😊😊", "Next."]),
    (f"Nice! {THUMB} Thanks.", [f"Nice! {THUMB}", "Thanks."]),
    (f"We did it! {FAMILY} Yay.", [f"We did it! {FAMILY}", "Yay."]),
    (f"Tokyo! {FLAG} Next.", [f"Tokyo! {FLAG}", "Next."]),
    (f'"Love it! {HEART}" Yes.', [f'"Love it! {HEART}"', "Yes."]),
    (f"Proud! {RAINBOW_FLAG}\nNew line.", [f"Proud! {RAINBOW_FLAG}", "New line."]),
    ("😊 Hi there. Bye.", ["😊 Hi there.", "Bye."]),
]

CODE = [
    ("Use `os.path.join. Really` now. Ok.", ["Use `os.path.join. Really` now.", "Ok."]),
    ("Open file.txt and read. Done.", ["Open file.txt and read.", "Done."]),
    ("See https://example.com/a.b now. Ok.", ["See https://example.com/a.b now.", "Ok."]),
    ("Mail a.b@c.com today. Thanks.", ["Mail a.b@c.com today.", "Thanks."]),
    ("Try ``a ` b. C`` here. Ok.", ["Try ``a ` b. C`` here.", "Ok."]),
    ("Open `span. Never\nCloses. Here.", ["Open `span. Never", "Closes.", "Here."]),
    (
        "Here you go:\n```python\nimport os. Path\nprint(1. 2)\n\nx = 'A. B'\n```\nRun it. Ok.",
        [
            "Here you go:",
            "```python\nimport os. Path\nprint(1. 2)\n\nx = 'A. B'\n```",
            "Run it.",
            "Ok.",
        ],
    ),
    ("```\nnever closed. Still code.\n", ["```\nnever closed. Still code."]),
    ("````\n```\nstill. Inside.\n````\nAfter.", ["````\n```\nstill. Inside.\n````", "After."]),
    ("Inline ```triple. Ticks``` stay. Ok.", ["Inline ```triple. Ticks``` stay.", "Ok."]),
]

CJK = [
    ("你好。我很好！你呢？", ["你好。", "我很好！", "你呢？"]),
    ("「好的。」他说。", ["「好的。」", "他说。"]),
    ("『本当？』そうです。", ["『本当？』", "そうです。"]),
    ("真的吗？！太好了。", ["真的吗？！", "太好了。"]),
    ("これはペンです．あれは本です．", ["これはペンです．", "あれは本です．"]),
    ("数字は3．14です。", ["数字は3．14です。"]),
    ("太好了！😊 你呢？", ["太好了！😊", "你呢？"]),
    ("そうですね…でも違う。", ["そうですね…でも違う。"]),
    ("半角｡次", ["半角｡", "次"]),
]


@pytest.mark.parametrize(
    ("text", "expected"), BASIC + ABBREVIATIONS + NUMBERS + ELLIPSES + EMOJI + CODE + CJK
)
def test_examples(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected
    # The same answer when streamed one character at a time and in 3-character pieces.
    assert stream(text) == expected
    assert stream(text, list(range(0, len(text), 3))) == expected


# ---------------------------------------------------------------------------------- length


def test_run_on_is_cut_at_last_space_before_max_chars() -> None:
    text = "word " * 30
    chunks = split_sentences(text, max_chars=40)
    assert all(len(c) <= 40 for c in chunks)
    assert chunks[0] == " ".join(["word"] * 8)  # 39 chars; the next word would pass 40
    assert visible("".join(chunks)) == visible(text)


def test_run_on_prefers_a_clause_mark_in_the_second_half() -> None:
    text = "one two three four five six, seven eight nine ten eleven twelve thirteen"
    chunks = split_sentences(text, max_chars=40)
    assert chunks[0] == "one two three four five six,"
    assert all(len(c) <= 40 for c in chunks)


def test_run_on_ignores_an_early_clause_mark() -> None:
    text = "Hi, " + "abcd " * 20
    chunks = split_sentences(text, max_chars=40)
    assert chunks[0] != "Hi,"
    assert len(chunks[0]) > 30


def test_run_on_without_spaces_is_hard_cut() -> None:
    text = "x" * 95
    assert split_sentences(text, max_chars=40) == ["x" * 40, "x" * 40, "x" * 15]


def test_cjk_run_on_cut_at_ideographic_comma() -> None:
    text = "我们今天去公园玩" * 3 + "，" + "然后回家吃饭" * 5
    chunks = split_sentences(text, max_chars=30)
    assert chunks[0].endswith("，")
    assert all(len(c) <= 30 for c in chunks)


@pytest.mark.parametrize("cluster", [FAMILY, THUMB, FLAG, HEART, RAINBOW_FLAG])
def test_hard_cut_never_splits_an_emoji_cluster(cluster: str) -> None:
    for prefix in range(1, 12):
        text = "a" * prefix + cluster + "b" * 12
        chunks = split_sentences(text, max_chars=10)
        assert all(len(c) <= 10 for c in chunks)
        assert any(cluster in c for c in chunks), (prefix, chunks)


def test_run_on_is_emitted_while_streaming_not_at_the_end() -> None:
    splitter = SentenceSplitter(max_chars=50)
    out: list[str] = []
    for _ in range(40):
        out += splitter.feed(" and then")
    assert out, "a run-on must not wait for the end of the stream"
    assert all(len(c) <= 50 for c in out)


def test_code_block_is_one_chunk_even_above_max_chars() -> None:
    code = "```\n" + "x = 1. y\n" * 20 + "```"
    chunks = split_sentences("Look:\n" + code + "\nDone.", max_chars=40)
    assert chunks == ["Look:", code, "Done."]


def test_min_chars_merges_short_sentences() -> None:
    text = "Hi. Yes. How are you today? Ok."
    assert split_sentences(text, min_chars=10) == ["Hi. Yes. How are you today?", "Ok."]
    assert split_sentences(text) == ["Hi.", "Yes.", "How are you today?", "Ok."]


def test_min_chars_never_merges_prose_into_a_code_block() -> None:
    text = "Code:\n```\nx\n```"
    assert split_sentences(text, min_chars=50) == ["Code:", "```\nx\n```"]


def test_first_min_chars_cuts_the_first_chunk_at_a_comma() -> None:
    text = "Well, I think that is a great idea, really. Yes, sure."
    assert split_sentences(text, first_min_chars=4) == [
        "Well,",
        "I think that is a great idea, really.",
        "Yes, sure.",
    ]
    # Too short for the threshold: the first comma is skipped, a later one is taken.
    assert split_sentences(text, first_min_chars=10) == [
        "Well, I think that is a great idea,",
        "really.",
        "Yes, sure.",
    ]
    # Off by default.
    assert split_sentences(text)[0] == "Well, I think that is a great idea, really."


def test_first_min_chars_ignores_numbers_and_cjk_needs_no_space() -> None:
    assert split_sentences("It is 1,000,000 big, ok.", first_min_chars=3) == [
        "It is 1,000,000 big,",
        "ok.",
    ]
    assert split_sentences("我觉得，这个很好。", first_min_chars=2) == ["我觉得，", "这个很好。"]


@pytest.mark.parametrize(
    "options", [{"min_chars": 0}, {"max_chars": 0}, {"first_min_chars": 0}, {"min_chars": -3}]
)
def test_invalid_options_are_refused(options: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SentenceSplitter(**options)


# ---------------------------------------------------------------------------------- earliness


def test_sentence_comes_out_with_the_token_that_carries_the_space() -> None:
    # LM tokens carry their leading space: " How" completes "Hello there.".
    got = emissions(["Hello", " there", ".", " How", " are", " you", "?"])
    assert got == [[], [], [], ["Hello there."], [], [], [], ["How are you?"]]


def test_char_by_char_emits_on_the_first_visible_character_after_the_space() -> None:
    text = "Hello there. How"
    splitter = SentenceSplitter()
    emitted_at = [i for i, ch in enumerate(text) if splitter.feed(ch)]
    assert emitted_at == [text.index("H", 1)]
    assert splitter.flush() == ["How"]


def test_newline_after_terminator_emits_immediately() -> None:
    assert emissions(["Hello there.", "\n"]) == [[], ["Hello there."], []]
    assert emissions(["- item one", "\n", "- item two"]) == [[], ["- item one"], [], ["- item two"]]


def test_abbreviation_waits_and_does_not_split() -> None:
    assert emissions(["Dr", ".", " Smith", " is", " here", ".", " He"]) == [
        [],
        [],
        [],
        [],
        [],
        [],
        ["Dr. Smith is here."],
        ["He"],
    ]


def test_emoji_after_the_terminator_is_awaited_and_attached() -> None:
    got = emissions(["So", " happy", "!", " 😊", " What", "'s", " next", "?"])
    assert got[:5] == [[], [], [], [], ["So happy! 😊"]]
    assert got[-1] == ["What's next?"]


def test_cjk_terminator_needs_no_space() -> None:
    assert emissions(["你好", "。", "我"]) == [[], [], ["你好。"], ["我"]]
    # A closing quote may follow, so the character after it is awaited.
    assert emissions(["「好", "。", "」", "他"]) == [[], [], [], ["「好。」"], ["他"]]


def test_code_block_comes_out_when_the_closing_fence_completes() -> None:
    got = emissions(["```py\n", "x = 1. Y\n", "``", "`", "\n", "Ok."])
    assert got == [[], [], [], [], ["```py\nx = 1. Y\n```"], [], ["Ok."]]


def test_first_min_chars_gets_first_audio_out_at_the_comma() -> None:
    got = emissions(["Well", ",", " I", " think", " so", ",", " yes", "."], first_min_chars=4)
    assert got[2] == ["Well,"]
    assert got[-1] == ["I think so, yes."]  # only the first chunk is cut at a comma


def test_flush_resets_for_the_next_stream() -> None:
    splitter = SentenceSplitter(first_min_chars=3)
    assert splitter.feed("```\nopen fence, never closed.") == []
    assert splitter.flush() == ["```\nopen fence, never closed."]
    assert splitter.flush() == []
    assert splitter.feed("Oh, hello. Bye") == ["Oh,", "hello."]
    assert splitter.flush() == ["Bye"]
    assert splitter.feed("") == []


# ---------------------------------------------------------------------------------- properties

FRAGMENTS = [
    "Hello", "there", "how", "What", "i", "I", "a", "B", "Dr.", "Mr.", "e.g.", "etc.", "U.S.",
    "J.", "No.", "3.14", "$4.99", "v1.2.3", "1,000.50", "10.", "...", "…", ".", "!", "?", "?!",
    ",", ";", ":", "—", "(", ")", '"', "'", "*", "`", "```", "`os.path.join`", "\n", "\n\n",
    "。", "！", "？", "．", "「", "」", "你好", "3", "https://example.com/a.b", "a.b@c.com",
    "\t", "  ", "\r\n", *CLUSTERS,
]  # fmt: skip

fragment_texts = st.lists(
    st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(["", " ", " ", "  "])),
    max_size=40,
).map(lambda parts: "".join(f + sep for f, sep in parts))

options_strategy = st.fixed_dictionaries(
    {
        "min_chars": st.integers(1, 30),
        "max_chars": st.integers(1, 120),
        "first_min_chars": st.none() | st.integers(1, 40),
    }
)


@st.composite
def text_and_cuts(draw: st.DrawFn, texts: st.SearchStrategy[str]) -> tuple[str, list[int]]:
    text = draw(texts)
    cuts = draw(st.lists(st.integers(0, max(len(text), 1)), max_size=max(len(text), 1)))
    return text, cuts


@PROPS
@given(text_and_cuts(fragment_texts), options_strategy)
def test_no_character_is_lost_and_nothing_empty(
    case: tuple[str, list[int]], options: dict[str, int | None]
) -> None:
    text, cuts = case
    chunks = stream(text, cuts, **options)
    assert visible("".join(chunks)) == visible(text)
    assert visible(" ".join(chunks)) == visible(text)
    assert all(c and c == c.strip() for c in chunks)


@PROPS
@given(text_and_cuts(fragment_texts), options_strategy)
def test_result_does_not_depend_on_the_chunking(
    case: tuple[str, list[int]], options: dict[str, int | None]
) -> None:
    # Holds with first_min_chars too: every rule depends on the text only.
    text, cuts = case
    assert stream(text, cuts, **options) == split_sentences(text, **options)  # type: ignore[arg-type]


@PROPS
@given(text_and_cuts(fragment_texts), st.integers(1, 120))
def test_chunking_invariance_default_options(case: tuple[str, list[int]], max_chars: int) -> None:
    text, cuts = case
    assert stream(text, cuts, max_chars=max_chars) == split_sentences(text, max_chars=max_chars)


@PROPS
@given(
    text_and_cuts(fragment_texts.map(lambda t: t.replace("`", "'"))),
    st.integers(1, 80),
    st.none() | st.integers(1, 40),
)
def test_max_chars_is_respected_outside_code_blocks(
    case: tuple[str, list[int]], max_chars: int, first_min: int | None
) -> None:
    text, cuts = case
    chunks = stream(text, cuts, max_chars=max_chars, first_min_chars=first_min)
    assert all(len(c) <= max_chars for c in chunks), chunks


emoji_texts = st.lists(
    st.sampled_from([*CLUSTERS, "word", "x", " ", "!", ".", ",", "\n", "？"]), max_size=60
).map("".join)


@PROPS
@given(text_and_cuts(emoji_texts), st.integers(8, 40))
def test_emoji_clusters_are_never_split(case: tuple[str, list[int]], max_chars: int) -> None:
    text, cuts = case
    chunks = stream(text, cuts, max_chars=max_chars)
    joined = "\x00".join(chunks)
    for cluster in CLUSTERS:
        assert joined.count(cluster) == text.count(cluster), (cluster, chunks)
    for c in chunks:
        assert not c.startswith(("\u200d", "\ufe0f", "🏽", "🇵")), chunks
        assert not c.endswith("\u200d"), chunks


@settings(max_examples=300, deadline=None)
@given(text_and_cuts(st.text(max_size=200)), options_strategy)
def test_fuzz_arbitrary_unicode_never_raises(
    case: tuple[str, list[int]], options: dict[str, int | None]
) -> None:
    text, cuts = case
    chunks = stream(text, cuts, **options)
    assert visible("".join(chunks)) == visible(text)
    assert all(c and c == c.strip() for c in chunks)
    assert chunks == split_sentences(text, **options)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- cost


def test_feed_keeps_a_scan_position_and_a_small_buffer() -> None:
    """White-box: consumed text is dropped, so each token costs time for itself only."""
    reply = (
        "Sure! Here's what I'd suggest, e.g. for Dr. Lee at 5 p.m. today. "
        "It costs about $4.99… maybe less. 😊 Also, `os.path.join` helps.\n"
    ) * 400
    code = "```python\n" + "print('a. b. c.')\n" * 3000 + "```\n"
    text = reply + code + reply
    tokens = [text[i : i + 4] for i in range(0, len(text), 4)]
    splitter = SentenceSplitter()
    biggest = 0
    out: list[str] = []
    started = time.perf_counter()
    for token in tokens:
        out += splitter.feed(token)
        biggest = max(biggest, len(splitter._buf))
    out += splitter.flush()
    elapsed = time.perf_counter() - started
    print(
        f"\nsentences: {len(text)} chars in {len(tokens)} pieces: {elapsed * 1e3:.1f} ms, "
        f"{elapsed / len(tokens) * 1e6:.2f} µs per piece, {len(out)} chunks"
    )
    assert biggest < 200  # the longest sentence plus a piece, not the whole reply/code block
    assert visible("".join(out)) == visible(text)
    assert out.count(code.strip()) == 1
