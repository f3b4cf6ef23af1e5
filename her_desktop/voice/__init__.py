"""The voice stages: listening (capture + VAD), transcribing, speaking."""
