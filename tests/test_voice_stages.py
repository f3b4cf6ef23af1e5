"""The voice stages on fakes: listening, transcribing, speaking, barge-in, and a whole turn.

Twins on the real engines: tests/test_voice_real.py.
"""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from her_desktop.audio.echo import HalfDuplexGate
from her_desktop.audio.vad import UtteranceSegmenter
from her_desktop.bus import Bus
from her_desktop.config import VADSettings
from her_desktop.dialogue import DialogueStage
from her_desktop.events import (
    AudioClip,
    CancelReply,
    DeviceStatus,
    DialogueState,
    Event,
    FinalTranscript,
    ListenMode,
    PushToTalk,
    ReplyFinished,
    ReplySentence,
    ReplyStarted,
    SpeakingFinished,
    SpeakingStarted,
    SpeechEnded,
    SpeechProgress,
    SpeechStarted,
    StageError,
    UserText,
)
from her_desktop.llm.base import GenerationParams
from her_desktop.stt.base import Transcript
from her_desktop.voice.file_sink import FileSink
from her_desktop.voice.listener import ListenStage
from her_desktop.voice.player_sink import PlayerSink
from her_desktop.voice.speaker import ChunkTag, SpeakStage
from her_desktop.voice.transcriber import TranscribeStage, reads_finished
from tests.fakes import FakeEngine, FakeSTT, FakeTTS
from tests.test_audio_devices import FakeSoundDevice, fake_sd  # noqa: F401
from tests.waiting import wait_until


class Collector:
    def __init__(self, bus: Bus) -> None:
        self.events: list[Event] = []
        bus.subscribe(Event, self.on_event, name="collector")

    async def on_event(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


class EnergyVAD:
    """Scripted VAD: a block is speech when it is loud."""

    def prob(self, chunk: object) -> float:
        return 0.9 if float(np.abs(np.asarray(chunk)).mean()) > 0.05 else 0.05

    def reset(self) -> None:
        pass


def clip(samples: np.ndarray) -> AudioClip:
    """What the listener hands on: 16 kHz mono float32 with its rate."""
    return AudioClip(samples, 16000)


def tone(seconds: float, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    return (amp * np.sin(2 * np.pi * 300 * t)).astype(np.float32)


def blocks_of(audio: np.ndarray) -> list[np.ndarray]:
    audio = np.pad(audio, (0, -len(audio) % 512))
    return [audio[i : i + 512] for i in range(0, len(audio), 512)]


def segmenter() -> UtteranceSegmenter:
    return UtteranceSegmenter(EnergyVAD(), VADSettings(end_silence_ms=300, pre_roll_ms=96))


# -- listening -------------------------------------------------------------------------------


async def test_listener_cuts_speech_into_utterances_with_levels() -> None:
    bus = Bus()
    seen = Collector(bus)
    listener = ListenStage(bus, segmenter())
    await listener.start()
    for block in blocks_of(np.concatenate([np.zeros(8000), tone(1.0), np.zeros(16000)])):
        listener.feed(block)
    assert await listener.drain()
    await wait_until(lambda: seen.of(SpeechEnded))
    ended = seen.of(SpeechEnded)[0]
    assert isinstance(ended, SpeechEnded)
    assert 1.0 <= ended.duration_s <= 1.5  # the speech plus pre-roll and the end silence
    assert len(seen.of(SpeechStarted)) == 1
    await listener.stop()


async def test_half_duplex_ignores_the_microphone_while_she_speaks() -> None:
    bus = Bus()
    seen = Collector(bus)
    gate = HalfDuplexGate(tail_s=0.3)
    listener = ListenStage(bus, segmenter(), echo=gate)
    await listener.start()
    gate.render(tone(5.0), 16000)  # she is speaking for the next five seconds
    for block in blocks_of(np.concatenate([tone(1.0), np.zeros(16000)])):
        listener.feed(block)
    assert await listener.drain()
    await asyncio.sleep(0.05)
    assert not seen.of(SpeechStarted)
    await listener.stop()


async def test_push_to_talk_opens_and_closes_the_utterance() -> None:
    bus = Bus()
    seen = Collector(bus)
    listener = ListenStage(bus, segmenter(), mode="push_to_talk")
    await listener.start()
    for block in blocks_of(tone(0.5)):  # not pressed: ignored
        listener.feed(block)
    await bus.publish(PushToTalk(True))
    await wait_until(lambda: listener._inbox.empty())
    for block in blocks_of(np.zeros(8000)):  # even silence counts while the key is held
        listener.feed(block)
    await listener.drain()
    await bus.publish(PushToTalk(False))
    await wait_until(lambda: seen.of(SpeechEnded))
    ended = seen.of(SpeechEnded)[0]
    assert isinstance(ended, SpeechEnded)
    assert ended.duration_s == pytest.approx(0.5, abs=0.1)
    await listener.stop()


async def test_listen_mode_off_hears_nothing() -> None:
    bus = Bus()
    seen = Collector(bus)
    listener = ListenStage(bus, segmenter())
    await listener.start()
    await bus.publish(ListenMode("off"))
    await wait_until(lambda: listener.mode == "off")
    for block in blocks_of(np.concatenate([tone(1.0), np.zeros(16000)])):
        listener.feed(block)
    await listener.drain()
    await asyncio.sleep(0.05)
    assert not seen.of(SpeechStarted)
    await listener.stop()


async def test_bad_samples_never_stop_listening() -> None:
    bus = Bus()
    seen = Collector(bus)
    listener = ListenStage(bus, segmenter())
    await listener.start()
    bad = np.full(512, np.nan, dtype=np.float32)
    bad[::3] = np.inf
    for block in [bad, *blocks_of(np.concatenate([tone(1.0), np.zeros(16000)]))]:
        listener.feed(block)
    await listener.drain()
    await wait_until(lambda: seen.of(SpeechEnded))
    assert not seen.of(StageError)
    await listener.stop()


# -- transcribing ----------------------------------------------------------------------------


async def test_transcript_becomes_a_voice_turn_and_silence_does_not() -> None:
    bus = Bus()
    seen = Collector(bus)
    stage = TranscribeStage(bus, FakeSTT(["what time is it", ""]))
    await stage.start()
    await bus.publish(SpeechEnded(1, clip(tone(1.0)), duration_s=1.0))
    await bus.publish(SpeechEnded(2, clip(np.zeros(16000, np.float32)), duration_s=1.0))
    await wait_until(lambda: len(seen.of(FinalTranscript)) == 2)
    turns = seen.of(UserText)
    assert [t.text for t in turns if isinstance(t, UserText)] == ["what time is it"]
    assert all(isinstance(t, UserText) and t.source == "voice" for t in turns)
    await stage.stop()


async def test_a_missing_speech_model_is_reported_once_in_plain_words() -> None:
    bus = Bus()
    seen = Collector(bus)
    stage = TranscribeStage(bus, FakeSTT(fail="the speech model folder is missing"))
    await stage.start()
    for i in range(3):
        await bus.publish(SpeechEnded(i, clip(tone(0.5))))
    await wait_until(lambda: len(seen.of(FinalTranscript)) == 3)
    errors = seen.of(StageError)
    assert len(errors) == 1
    assert isinstance(errors[0], StageError)
    assert "typing still works" in errors[0].message
    await stage.stop()


# -- speaking --------------------------------------------------------------------------------


async def speak(bus: Bus, turn: int, sentences: list[str]) -> None:
    await bus.publish(ReplyStarted(turn))
    for i, text in enumerate(sentences):
        await bus.publish(ReplySentence(turn, i, text))
    await bus.publish(ReplyFinished(turn, " ".join(sentences), "stop"))


async def test_sentences_are_spoken_in_order_and_reported_heard() -> None:
    bus = Bus()
    seen = Collector(bus)
    sink = FileSink()
    tts = FakeTTS()
    stage = SpeakStage(bus, tts, sink)
    await stage.start()
    await speak(bus, 7, ["Hello there.", "How are you today?"])
    await wait_until(lambda: seen.of(SpeakingFinished))
    done = seen.of(SpeakingFinished)[0]
    assert isinstance(done, SpeakingFinished)
    assert done.spoken_text == "Hello there. How are you today?"
    assert not done.interrupted
    assert len(seen.of(SpeakingStarted)) == 1
    assert tts.spoken == ["Hello there.", "How are you today?"]
    assert sink.audio().size == int(16000 * 0.05 * 2) + int(16000 * 0.05 * 4)
    await stage.stop()


async def test_barge_in_stops_her_and_keeps_only_what_was_heard() -> None:
    bus = Bus()
    seen = Collector(bus)
    sink = FileSink(realtime=True)
    stage = SpeakStage(bus, FakeTTS(seconds_per_word=0.2), sink)
    await stage.start()
    sentences = ["One two three four five six seven eight nine ten.", "Never heard at all."]
    await speak(bus, 9, sentences)
    await wait_until(lambda: seen.of(SpeakingStarted))
    # a quarter of the first sentence has played (by the sink's own clock, not the wall's)
    await wait_until(lambda: sink.played_fraction(ChunkTag(9, 0)) >= 0.25)
    t0 = time.monotonic()
    await bus.publish(SpeechStarted(1))
    await wait_until(lambda: seen.of(SpeakingFinished))
    silent_after = sink.idle and time.monotonic() - t0
    cancel = [e for e in seen.of(CancelReply) if isinstance(e, CancelReply)]
    assert cancel
    assert cancel[0].reason == "barge-in"
    assert cancel[0].turn_id == 9
    done = seen.of(SpeakingFinished)[0]
    assert isinstance(done, SpeakingFinished)
    assert done.interrupted
    assert done.spoken_text.startswith("One two")
    assert "ten" not in done.spoken_text
    assert "Never" not in done.spoken_text
    assert silent_after is not False
    played_s = sink.audio().size / 16000
    await asyncio.sleep(0.3)
    assert sink.audio().size / 16000 == pytest.approx(played_s, abs=0.02)  # nothing after
    sink.close()
    await stage.stop()


async def test_a_missing_voice_is_reported_and_the_turn_still_ends() -> None:
    bus = Bus()
    seen = Collector(bus)
    stage = SpeakStage(bus, FakeTTS(fail='the voice "nova" is not installed'), FileSink())
    await stage.start()
    await speak(bus, 3, ["Hello.", "Still here."])
    await wait_until(lambda: seen.of(SpeakingFinished))
    errors = [e for e in seen.of(StageError) if isinstance(e, StageError)]
    assert len(errors) == 1
    assert "nova" in errors[0].message
    await stage.stop()


# -- the dialogue with voice -----------------------------------------------------------------


async def test_history_keeps_what_was_heard_after_a_barge_in() -> None:
    bus = Bus()
    seen = Collector(bus)
    engine = FakeEngine(["One two three four five six. ", "Seven eight nine ten eleven."])
    dialogue = DialogueStage(
        bus, engine, system_prompt="You are kind.", params=GenerationParams(max_tokens=50)
    )
    dialogue.speak_aloud()
    sink = FileSink(realtime=True)
    speaker = SpeakStage(bus, FakeTTS(seconds_per_word=0.25), sink)
    await dialogue.start()
    await speaker.start()
    turn = UserText("count for me")
    await bus.publish(turn)
    await wait_until(lambda: seen.of(SpeakingStarted))
    await wait_until(lambda: sink.played_fraction(ChunkTag(turn.turn_id, 0)) >= 0.4)
    await bus.publish(SpeechStarted(1))
    await wait_until(lambda: seen.of(SpeakingFinished) and dialogue.state == "idle")
    assert [m.role for m in dialogue.history] == ["user", "assistant"]
    said = dialogue.history[1].content
    assert said.startswith("One two")
    assert "eleven" not in said
    states = [e.state for e in seen.of(DialogueState) if isinstance(e, DialogueState)]
    assert "speaking" in states
    assert states[-1] == "idle"
    sink.close()
    await speaker.stop()
    await dialogue.stop()


async def test_state_stays_speaking_until_the_audio_ends() -> None:
    bus = Bus()
    seen = Collector(bus)
    dialogue = DialogueStage(
        bus, FakeEngine(["Hi there."]), system_prompt="x", params=GenerationParams(max_tokens=20)
    )
    dialogue.speak_aloud()
    sink = FileSink(realtime=True)
    speaker = SpeakStage(bus, FakeTTS(seconds_per_word=0.3), sink)
    await dialogue.start()
    await speaker.start()
    await bus.publish(UserText("hello"))
    await wait_until(lambda: seen.of(ReplyFinished))
    assert dialogue.state == "speaking"  # the text is done, her voice is not
    await wait_until(lambda: seen.of(SpeakingFinished))
    await wait_until(lambda: dialogue.state == "idle")
    sink.close()
    await speaker.stop()
    await dialogue.stop()


async def test_a_pause_transcript_is_the_final_one_when_nothing_follows() -> None:
    bus = Bus()
    seen = Collector(bus)
    stt = FakeSTT(["what a lovely day", "what a lovely day it is today"])
    stage = TranscribeStage(bus, stt, end_silence_s=0.6)
    await stage.start()
    speech = tone(1.0)
    await bus.publish(SpeechProgress(1, clip(speech), pause=True))
    await bus.publish(SpeechEnded(1, clip(np.concatenate([speech, np.zeros(9600, np.float32)]))))
    await wait_until(lambda: seen.of(UserText))
    assert stt.finals == 1  # the pause's decode was the final one
    assert stage.reused_pauses == 1
    # the user went on talking after the pause: the whole utterance is decoded again
    await bus.publish(SpeechProgress(2, clip(speech), pause=True))
    await bus.publish(SpeechEnded(2, clip(np.concatenate([speech, tone(2.0), np.zeros(9600)]))))
    await wait_until(lambda: len(seen.of(UserText)) == 2)
    assert stt.finals == 3
    assert stage.reused_pauses == 1
    texts = [e.text for e in seen.of(UserText) if isinstance(e, UserText)]
    assert texts == ["what a lovely day", "what a lovely day it is today"]
    await stage.stop()


def _delivered(bus: Bus, subscriber: str) -> int:
    return sum(s.delivered for s in bus.stats() if s.name == subscriber)


class GatedSTT(FakeSTT):
    """A final decode that stays inside the "model" until released (a slow Whisper)."""

    def __init__(self) -> None:
        super().__init__(["hello there"])
        self.inside = threading.Event()
        self.release = threading.Event()

    def transcribe(self, audio: np.ndarray, *, partial: bool = False) -> Transcript:
        if not partial:
            self.inside.set()
            self.release.wait(30.0)
        return super().transcribe(audio, partial=partial)


async def test_a_partial_is_skipped_while_a_decode_runs_and_the_loop_goes_on() -> None:
    """No lock is held across a decode: while the final is inside the model, progress is
    dropped at once (not queued behind it), and the final arrives once the model answers."""
    bus = Bus()
    seen = Collector(bus)
    stt = GatedSTT()
    stage = TranscribeStage(bus, stt)
    await stage.start()
    await bus.publish(SpeechEnded(1, clip(tone(1.0))))
    await wait_until(stt.inside.is_set)
    await bus.publish(SpeechProgress(2, clip(tone(0.5))))
    await wait_until(lambda: _delivered(bus, "transcriber:partial") == 1)  # handled at once
    assert stt.partials == 0  # skipped, not waiting for the decode in flight
    stt.release.set()
    await wait_until(lambda: seen.of(UserText))
    await bus.publish(SpeechProgress(2, clip(tone(0.5))))
    await wait_until(lambda: stt.partials == 1)  # free again: progress is decoded
    await stage.stop()


async def test_listener_announces_a_pause_before_the_end_is_confirmed() -> None:
    bus = Bus()
    seen = Collector(bus)
    listener = ListenStage(bus, segmenter())
    await listener.start()
    for block in blocks_of(np.concatenate([tone(1.0), np.zeros(16000)])):
        listener.feed(block)
    await listener.drain()
    await wait_until(lambda: seen.of(SpeechEnded))
    pauses = [e for e in seen.of(SpeechProgress) if isinstance(e, SpeechProgress) and e.pause]
    assert len(pauses) == 1
    ended = seen.of(SpeechEnded)[0]
    assert isinstance(ended, SpeechEnded)
    assert pauses[0].ts <= ended.ts
    assert len(pauses[0].audio) < len(ended.audio)
    await listener.stop()


@pytest.mark.parametrize(
    ("text", "finished"),
    [
        ("What time is it?", True),
        ("I had a long day.", True),
        ("Thanks!", False),  # one word: wait for the full pause
        ("Hi Samantha!", False),  # a greeting that often leads into more
        ("Where is it?", True),
        ("I want to go to the.", False),
        ("So I was thinking...", False),
        ("Well, and", False),
        ("", False),
    ],
)
def test_reads_finished(text: str, finished: bool) -> None:
    assert reads_finished(text) is finished


async def test_a_finished_sentence_ends_the_turn_before_the_full_pause() -> None:
    bus = Bus()
    seen = Collector(bus)
    seg = UtteranceSegmenter(EnergyVAD(), VADSettings(end_silence_ms=800, pre_roll_ms=96))
    listener = ListenStage(bus, seg, predictive_end_ms=256)
    transcriber = TranscribeStage(bus, FakeSTT(["What time is it?"]), end_silence_s=0.8)
    await listener.start()
    await transcriber.start()
    for block in blocks_of(np.concatenate([tone(1.0), np.zeros(512 * 5, np.float32)])):
        listener.feed(block)
    await listener.drain()
    await wait_until(lambda: listener._text == "finished")  # the pause read as a question
    for block in blocks_of(np.zeros(16000, np.float32)):
        listener.feed(block)
    await wait_until(lambda: seen.of(UserText))
    ended = seen.of(SpeechEnded)[0]
    assert isinstance(ended, SpeechEnded)
    # ended 256 ms into the pause, not after the 800 ms end rule
    assert ended.duration_s < 1.0 + 0.096 + 0.45
    assert transcriber.reused_pauses == 1
    await transcriber.stop()
    await listener.stop()


async def test_a_speaker_lost_mid_reply_ends_the_turn_and_says_so(
    fake_sd: FakeSoundDevice,  # noqa: F811
) -> None:
    """The real PlayerSink on a fake PortAudio: the device dies while she speaks."""
    fake_sd.add("Speakers", outputs=2, rate=16000, rates={16000}, default=True)
    bus = Bus()
    seen = Collector(bus)
    sink = PlayerSink()
    stage = SpeakStage(bus, FakeTTS(seconds_per_word=0.2), sink)
    await stage.start()
    await speak(bus, 3, ["One two three four five.", "Six seven eight."])
    await wait_until(lambda: fake_sd.streams and not sink.player.idle)  # the sentence is queued
    stream = fake_sd.last("output")
    for _ in range(40):  # 400 ms of the first sentence reach the speaker
        stream.pull(160)
    await wait_until(lambda: seen.of(SpeakingStarted))
    fake_sd.remove_all()
    stream.die()
    await wait_until(lambda: seen.of(SpeakingFinished))
    done = seen.of(SpeakingFinished)[0]
    assert isinstance(done, SpeakingFinished)
    assert done.interrupted
    assert done.spoken_text.startswith("One two")
    assert "eight" not in done.spoken_text
    status = [e for e in seen.of(DeviceStatus) if isinstance(e, DeviceStatus)]
    assert status
    assert status[0].kind == "output"
    assert not status[0].available
    assert status[0].message.startswith("speaker unavailable: ")
    assert not stage.speaking
    # the sink supervises the device: plugged back in, it is reopened and said so
    fake_sd.add("Speakers", outputs=2, rate=16000, rates={16000}, default=True)
    await wait_until(
        lambda: any(isinstance(e, DeviceStatus) and e.available for e in seen.of(DeviceStatus)),
        within_s=20,
    )
    await stage.stop()
