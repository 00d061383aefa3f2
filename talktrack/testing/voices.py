"""The scripted prospect's voices (8 kHz int16), cached per setting: many callers share one model."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from talktrack.audio.resample import resample
from talktrack.speech.tts_espeak import EspeakTTS
from talktrack.speech.tts_piper import PiperTTS
from talktrack.testing.scenario import Voice

RATE = 8000


@lru_cache(maxsize=4)
def _piper(length_scale: float) -> PiperTTS:
    return PiperTTS(length_scale=length_scale)


def prospect_voice(voice: Voice) -> Callable[[str], np.ndarray]:
    """A text → 8 kHz int16 function for the scenario's voice (clips are shared across calls)."""
    return lambda text: _clip(voice.engine, voice.voice, voice.rate_wpm, voice.length_scale, voice.pitch, text)


@lru_cache(maxsize=1024)
def _clip(engine: str, name: str, rate_wpm: int, length_scale: float, pitch: float, text: str) -> np.ndarray:
    if engine == "espeak":
        return EspeakTTS(voice=name, rate_wpm=rate_wpm).synthesize_at(text, RATE)
    piper = _piper(length_scale)
    audio = piper.synthesize(text)
    # Playing the samples back faster raises the pitch: a different speaker, same words.
    shifted = resample(audio, int(round(piper.sample_rate * pitch)), RATE)
    clip = np.asarray(shifted, dtype=np.int16)
    clip.setflags(write=False)
    return clip
