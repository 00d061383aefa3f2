"""espeak-ng synthesis for the scripted prospect's voice."""

from __future__ import annotations

import shutil
import struct

import numpy as np
import numpy.typing as npt
import pytest

from talktrack.errors import ConfigError, MediaError, ModelMissingError
from talktrack.speech.tts_espeak import EspeakTTS, _parse_stream_wav

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (Debian package espeak-ng: apt-get install espeak-ng)",
)


def _rms(x: npt.NDArray[np.int16]) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0


def _stream_wav(samples: npt.NDArray[np.int16], rate: int, channels: int = 1) -> bytes:
    """A WAV the way espeak-ng streams it: size fields set to 0x7fffffff placeholders."""
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 0x7FFFFFFF)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", 0x7FFFFFFF)
        + samples.astype("<i2").tobytes()
    )


def test_missing_binary_names_the_fix() -> None:
    with pytest.raises(ModelMissingError) as info:
        EspeakTTS(binary="espeak-ng-not-installed-here")
    assert "espeak-ng-not-installed-here" in info.value.message
    assert info.value.fix == "apt-get install espeak-ng"


def test_stream_wav_with_placeholder_sizes_is_parsed() -> None:
    samples = np.array([0, 1000, -1000, 32767, -32768], dtype=np.int16)
    audio, rate = _parse_stream_wav(_stream_wav(samples, 22050))
    assert rate == 22050
    assert audio.dtype == np.int16
    np.testing.assert_array_equal(audio, samples)


def test_stereo_stream_keeps_first_channel() -> None:
    frames = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.int16)
    audio, _ = _parse_stream_wav(_stream_wav(frames.reshape(-1), 16000, channels=2))
    np.testing.assert_array_equal(audio, [1, 3, 5])


def test_non_wav_output_is_a_media_error() -> None:
    with pytest.raises(MediaError):
        _parse_stream_wav(b"Error: something went wrong")


@needs_espeak
def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ConfigError, match="rate_wpm=10"):
        EspeakTTS(rate_wpm=10)
    with pytest.raises(ConfigError, match="pitch=150"):
        EspeakTTS(pitch=150)
    with pytest.raises(ConfigError, match="voice"):
        EspeakTTS(voice="en us")


@needs_espeak
def test_voice_id_reflects_voice_rate_and_pitch() -> None:
    assert EspeakTTS().voice_id == "espeak-ng:en-us+f3@165wpm"
    assert EspeakTTS("es", rate_wpm=150, pitch=40).voice_id == "espeak-ng:es@150wpm/p40"


@pytest.mark.integration
@needs_espeak
@pytest.mark.parametrize("rate", [8000, 16000])
def test_output_is_nonsilent_int16_at_requested_rate(rate: int) -> None:
    text = "Hi, this is Dana from accounts. Who am I speaking with?"
    audio = EspeakTTS().synthesize_at(text, rate)
    assert audio.dtype == np.int16 and audio.ndim == 1
    assert _rms(audio) > 500
    words = len(text.split())
    assert 0.15 * words < audio.size / rate < 0.8 * words


@pytest.mark.integration
@needs_espeak
def test_faster_rate_gives_shorter_audio() -> None:
    text = "We already use a competitor and we are pretty happy with it."
    slow = EspeakTTS(rate_wpm=120).synthesize_at(text, 8000)
    fast = EspeakTTS(rate_wpm=240).synthesize_at(text, 8000)
    assert fast.size < 0.75 * slow.size


@pytest.mark.integration
@needs_espeak
def test_spanish_voice() -> None:
    audio = EspeakTTS("es").synthesize_at("Hola, ¿quién habla? Estoy ocupado ahora mismo.", 8000)
    assert _rms(audio) > 500
    assert audio.size / 8000 > 1.0


@pytest.mark.integration
@needs_espeak
def test_text_starting_with_a_dash_is_spoken_not_parsed_as_an_option() -> None:
    audio = EspeakTTS().synthesize_at("-s 400 is not an option here", 8000)
    assert audio.size / 8000 > 1.0


@pytest.mark.integration
@needs_espeak
def test_unknown_voice_names_the_voice() -> None:
    with pytest.raises(ConfigError, match="xx-nonexistent"):
        EspeakTTS("xx-nonexistent").synthesize_at("Hello.", 8000)


@pytest.mark.integration
@needs_espeak
def test_empty_text_gives_empty_audio() -> None:
    assert EspeakTTS().synthesize_at("  ", 8000).size == 0
