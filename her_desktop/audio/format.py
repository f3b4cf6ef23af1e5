"""The format of everything the microphone side hands on — capture, echo cancelling, voice
activity, end of turn, speech recognition, the voice's tone: mono float32 at one rate.

Devices run at their own rates; capture resamples to :data:`CAPTURE_RATE` before anything else
sees the audio, and playback resamples whatever it is given to the speaker's rate.
"""

from __future__ import annotations

from typing import Final

CAPTURE_RATE: Final = 16_000
"""Samples per second of all captured audio (Whisper's, Silero VAD's and WebRTC's rate)."""
VAD_BLOCK: Final = 512
"""Samples per voice-activity block (Silero VAD's window at 16 kHz)."""
VAD_BLOCK_MS: Final = VAD_BLOCK * 1000 // CAPTURE_RATE
"""32 ms."""
