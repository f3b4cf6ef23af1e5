"""The text detectors: clear cases, negation/intensity/typos, and robustness on any input."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from her_desktop.affect.base import EMOTIONS, TextAffect
from her_desktop.affect.blend import BlendDetector
from her_desktop.affect.detectors import create_detector
from her_desktop.affect.lexicon import Lexicon, default_lexicon
from her_desktop.affect.text import LexiconDetector

DETECTOR = LexiconDetector()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Today I am absolutely overjoyed, the exhibition opened and people loved it", "joy"),
        ("I feel miserable and lonely since the divorce", "sadness"),
        ("The contractor ruined my floor and I am furious about it", "anger"),
        ("I am terrified the results will be positive", "fear"),
        ("Whoa, I never expected to see you here!", "surprise"),
        ("Please add oat milk to the shopping list", "neutral"),
        ("", "neutral"),
    ],
)
def test_clear_examples(text: str, label: str) -> None:
    assert DETECTOR.detect(text).label == label


def test_valence_follows_the_feeling() -> None:
    assert DETECTOR.detect("I'm delighted with the new flat").valence > 0.3
    assert DETECTOR.detect("I feel hopeless and sad").valence < -0.3
    assert abs(DETECTOR.detect("The invoice number is 4471").valence) < 0.1


def test_negated_joy_reads_as_sadness() -> None:
    plain = DETECTOR.detect("I am glad about the new job")
    negated = DETECTOR.detect("I am not glad about the new job")
    assert plain.label == "joy"
    assert negated.label == "sadness"
    assert negated.valence < 0 < plain.valence


def test_negated_anger_is_calm_and_negation_stops_at_but() -> None:
    assert DETECTOR.detect("I'm not angry with you").label != "anger"
    assert DETECTOR.detect("It wasn't planned, but I'm furious").label == "anger"


def test_words_that_mean_something_when_negated() -> None:
    assert DETECTOR.detect("I don't feel safe in the car park").label == "fear"


def test_intensifier_raises_the_emotion_and_arousal() -> None:
    mild = DETECTOR.detect("I am a bit worried about the trip")
    strong = DETECTOR.detect("I am extremely worried about the trip!!")
    assert mild.label == strong.label == "fear"
    assert strong.prob("fear") > mild.prob("fear")
    assert strong.arousal > mild.arousal


def test_typos_are_forgiven_but_real_words_are_not_mistaken() -> None:
    assert DETECTOR.detect("i feel so lonly").label == "sadness"  # missing letter
    assert DETECTOR.detect("I'm so happpy").label == "joy"  # doubled letter
    # "morning" is one letter from "mourning", "read" from "dread": real words, not typos
    assert DETECTOR.detect("I read the paper every morning").label == "neutral"


def test_phrases_win_over_their_words() -> None:
    # "no way" is surprise, not a negation; "can't wait" is joy
    assert DETECTOR.detect("No way, is that true?").label == "surprise"
    assert DETECTOR.detect("The festival is on Saturday and I can't wait").label == "joy"


def test_arousal_ranks_the_emotions() -> None:
    calm = DETECTOR.detect("I feel sad and tired")
    agitated = DETECTOR.detect("I am furious, this is outrageous!")
    assert agitated.arousal > calm.arousal


def _check(result: TextAffect) -> None:
    probs = [p for _, p in result.probs]
    assert [e for e, _ in result.probs] == list(EMOTIONS)
    assert math.isclose(sum(probs), 1.0, abs_tol=1e-9)
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert -1.0 <= result.valence <= 1.0
    assert 0.0 <= result.arousal <= 1.0
    assert 0.0 <= result.confidence <= 1.0
    assert result.label in EMOTIONS


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_any_unicode_gives_a_clamped_distribution(text: str) -> None:
    _check(DETECTOR.detect(text))


@given(st.text(alphabet=st.sampled_from("not very happy sad angry !?'\u2019 \n"), max_size=400))
def test_emotional_gibberish_stays_clamped(text: str) -> None:
    _check(DETECTOR.detect(text))


def test_megabyte_input_and_lone_surrogates() -> None:
    huge = "I am so happy!!! " * 70_000  # > 1 MB
    assert len(huge) > 1_000_000
    result = DETECTOR.detect(huge)
    _check(result)
    assert result.label == "joy"
    _check(DETECTOR.detect("\ud800 sad \udfff"))


def test_broken_lexicon_data_is_ignored_not_fatal() -> None:
    lexicon = Lexicon({"emotions": {"joy": {"yay": "x", "hurray": 1.0}, "bogus": []}})
    detector = LexiconDetector(lexicon)
    assert detector.detect("hurray").label == "joy"
    assert detector.detect("yay").label == "neutral"


def test_default_lexicon_covers_every_emotion() -> None:
    lexicon = default_lexicon()
    found = {e for weights in lexicon.single.values() for e in weights}
    assert found == set(EMOTIONS) - {"neutral"}


class _Fixed:
    def __init__(self, name: str, label: str, valence: float) -> None:
        self.name = name
        self._result = TextAffect.from_scores({label: 1.0}, valence, 0.5)  # type: ignore[dict-item]

    def detect(self, text: str) -> TextAffect:
        return self._result


def test_blend_mixes_probabilities_and_valence() -> None:
    blend = BlendDetector(_Fixed("a", "joy", 1.0), _Fixed("b", "sadness", -1.0), share=0.25)
    result = blend.detect("anything")
    assert result.label == "joy"
    assert result.prob("joy") == pytest.approx(0.75)
    assert result.prob("sadness") == pytest.approx(0.25)
    assert result.valence == pytest.approx(0.5)
    assert blend.name == "a+b"


def test_create_detector_without_embeddings_is_the_lexicon() -> None:
    assert create_detector(use_embeddings=False).name == "lexicon"


def test_create_detector_falls_back_to_the_lexicon(monkeypatch: pytest.MonkeyPatch) -> None:
    from her_desktop.affect import embedding

    monkeypatch.setattr(embedding, "find_model_dir", lambda: None)
    assert create_detector().name == "lexicon"

    def broken() -> None:
        raise OSError("truncated model file")

    monkeypatch.setattr(embedding, "find_model_dir", broken)
    assert create_detector().name == "lexicon"
