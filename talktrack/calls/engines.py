"""Speech engines shared by every call in a process: loaded once, warmed once."""

from __future__ import annotations

import time
from dataclasses import dataclass

from loguru import logger

from talktrack.settings import Settings
from talktrack.speech.smart_turn import SmartTurn
from talktrack.speech.stt_whisper import WhisperSTT
from talktrack.speech.tts_piper import PiperTTS
from talktrack.speech.whisper_models import tiny_en_dir


@dataclass
class SpeechEngines:
    """STT, end-of-turn model and TTS; each is thread-safe and serves all calls."""

    stt: WhisperSTT
    smart_turn: SmartTurn
    tts: PiperTTS

    @classmethod
    def load(cls, settings: Settings) -> SpeechEngines:
        """Load the local models named by the settings (ModelMissingError names a missing one)."""
        started = time.monotonic()
        stt = WhisperSTT(
            tiny_en_dir(settings.whisper_model_dir),
            window_s=settings.stt_window_s,
            cpu_threads=settings.stt_threads,
            workers=settings.stt_workers,
        )
        engines = cls(stt=stt, smart_turn=SmartTurn(), tts=PiperTTS(settings.piper_voice))
        engines.stt.warmup()
        engines.smart_turn.warmup()
        engines.tts.warmup()
        logger.info(f"speech engines ready in {time.monotonic() - started:.1f}s")
        return engines
