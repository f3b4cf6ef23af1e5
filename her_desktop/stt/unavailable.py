"""A recogniser that could not be set up: it says why, every time it is asked to work.

``app.create_stt`` returns it when the configured model cannot be found, so the app still starts
(typing works) and the problem is reported in plain words by the transcribing stage.
"""

from __future__ import annotations

from her_desktop.stt.base import AudioArray, STTEngine, STTInfo, STTModelError, Transcript


class UnavailableSTT(STTEngine):
    def __init__(self, model: str, problem: str) -> None:
        self.model = model
        self.problem = problem

    def load(self) -> None:
        raise STTModelError(self.problem)

    def transcribe(self, audio: AudioArray, *, partial: bool = False) -> Transcript:
        raise STTModelError(self.problem)

    def info(self) -> STTInfo:
        return STTInfo(
            engine="unavailable",
            model=self.model,
            model_dir="",
            device="",
            compute_type="",
            language="",
            loaded=False,
        )
