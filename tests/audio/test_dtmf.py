import importlib.util
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from talktrack.audio.dtmf import COLUMNS, KEYS, ROWS, DtmfDetector, dtmf_tones
from talktrack.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

ALL_KEYS = "123A456B789C*0#D"
SOUNDS = Path("/usr/share/asterisk/sounds/en")
# Prompts that are tones rather than a voice.
NOT_SPEECH = ("beep", "tone", "ding", "dong")


def detect(pcm, chunk=160):
    detector = DtmfDetector()
    found = []
    for start in range(0, len(pcm), chunk):
        found += detector.process(pcm[start : start + chunk])
    return "".join(found)


def white_noise(size, level_dbfs, seed=0):
    return np.random.default_rng(seed).normal(0, 32768 * 10 ** (level_dbfs / 20), size)


def to_int16(x):
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def test_tones_have_the_keypad_frequencies_and_level():
    tones = dtmf_tones("9", tone_ms=200, gap_ms=50, level_dbfs=-20.0)
    assert tones.dtype == np.int16 and len(tones) == 8000 * 250 // 1000
    tone = tones[:1600].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(tone * np.hanning(tone.size)))
    freqs = np.fft.rfftfreq(tone.size, 1 / 8000)
    peaks = sorted(freqs[np.argsort(spectrum)[-2:]])
    assert peaks == pytest.approx([ROWS[2], COLUMNS[2]], abs=5)
    # Two equal sines at -20 dBFS each: the pair's RMS is the level of one full-scale sine less 20 dB.
    rms_dbfs = 20 * np.log10(np.sqrt(np.mean(tone[100:-100] ** 2)) / (32767 / np.sqrt(2)))
    assert rms_dbfs == pytest.approx(-20 + 10 * np.log10(2), abs=0.2)
    assert not tones[1600:].any()  # the pause after the key is silent


def test_tone_sequence_length_and_bad_keys():
    assert len(dtmf_tones("12#", tone_ms=80, gap_ms=40)) == 3 * 8 * 120
    assert dtmf_tones("").size == 0
    assert np.array_equal(dtmf_tones("a"), dtmf_tones("A"))
    for bad in ("E", "12x", "5 "):
        with pytest.raises(ValueError):
            dtmf_tones(bad)


def test_keys_table_matches_the_keypad():
    assert "".join(KEYS) == ALL_KEYS


@pytest.mark.parametrize("chunk", [1, 37, 160, 1000, 100_000])
def test_own_tones_are_detected_at_any_chunk_size(chunk):
    assert detect(dtmf_tones(ALL_KEYS), chunk) == ALL_KEYS


def test_quiet_tones_in_noise():
    tones = dtmf_tones(ALL_KEYS, level_dbfs=-25.0).astype(np.float64)
    noisy = to_int16(tones + white_noise(tones.size, -45.0))  # 20 dB below each tone
    assert detect(noisy) == ALL_KEYS


@pytest.mark.parametrize(("encode", "decode"), [(ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)])
def test_tones_survive_g711(encode, decode):
    for level in (-10.0, -25.0):
        assert detect(decode(encode(dtmf_tones(ALL_KEYS, level_dbfs=level)))) == ALL_KEYS


def test_tones_through_mulaw_with_line_noise():
    tones = dtmf_tones("0246813579", level_dbfs=-25.0).astype(np.float64)
    line = ulaw_decode(ulaw_encode(to_int16(tones + white_noise(tones.size, -50.0, seed=3))))
    assert detect(line) == "0246813579"


@pytest.mark.parametrize("offset", range(0, 51, 10))
def test_forty_ms_keys_are_heard_and_twenty_ms_blips_are_not(offset):
    lead = np.zeros(offset, dtype=np.int16)
    assert detect(np.concatenate([lead, dtmf_tones("47", tone_ms=40, gap_ms=40)])) == "47"
    assert detect(np.concatenate([lead, dtmf_tones("47", tone_ms=20, gap_ms=40)])) == ""


def test_a_pause_separates_repeated_keys_but_a_dropout_does_not():
    assert detect(dtmf_tones("55", tone_ms=60, gap_ms=40)) == "55"
    tone = dtmf_tones("5", tone_ms=200, gap_ms=0)
    tone[800:880] = 0  # 10 ms dropout in the middle of one press
    assert detect(tone) == "5"


@pytest.mark.parametrize(("col_minus_row_db", "heard"), [(-10, ""), (-6, "5"), (0, "5"), (3, "5"), (6, "")])
def test_twist_limits(col_minus_row_db, heard):
    t = np.arange(1200) / 8000
    row = 3000 * np.sin(2 * np.pi * ROWS[1] * t)
    col = 3000 * 10 ** (col_minus_row_db / 20) * np.sin(2 * np.pi * COLUMNS[1] * t)
    assert detect(to_int16(row + col)) == heard


def test_single_tones_noise_and_silence_are_not_keys():
    t = np.arange(4000) / 8000
    assert detect(to_int16(8000 * np.sin(2 * np.pi * ROWS[0] * t))) == ""
    assert detect(to_int16(8000 * np.sin(2 * np.pi * 1000 * t))) == ""
    assert detect(to_int16(white_noise(16000, -15.0))) == ""
    assert detect(np.zeros(16000, dtype=np.int16)) == ""


def test_a_third_loud_tone_spoils_the_pair():
    t = np.arange(1600) / 8000
    pair = dtmf_tones("8", tone_ms=200, gap_ms=0).astype(np.float64)
    assert detect(to_int16(pair)) == "8"
    as_loud = 32767 * 10 ** (-10 / 20)  # the level of each of the key's tones
    assert detect(to_int16(pair + as_loud * np.sin(2 * np.pi * 500 * t))) == ""


def test_reset_forgets_a_half_heard_key():
    detector = DtmfDetector()
    tones = dtmf_tones("3", tone_ms=100, gap_ms=100)
    assert detector.process(tones[:200]) == []
    detector.reset()
    assert detector.process(tones[800:]) == []
    assert detector.process(tones) == ["3"]


def speech_files():
    if not SOUNDS.is_dir():
        return []
    files = [p for p in sorted(SOUNDS.glob("*.wav")) if not any(word in p.name for word in NOT_SPEECH)]
    return files[:: max(1, len(files) // 100)][:100]


@pytest.mark.skipif(not SOUNDS.is_dir(), reason="asterisk-core-sounds-en-wav is not installed")
def test_speech_never_triggers_a_key():
    files = speech_files()
    assert len(files) >= 50
    heard = {}
    seconds = 0.0
    for path in files:
        with wave.open(str(path)) as wav:
            assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (8000, 2, 1)
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
        seconds += pcm.size / 8000
        if digits := detect(ulaw_decode(ulaw_encode(pcm)), chunk=8000):  # as a prompt reaches us over a phone line
            heard[path.name] = digits
    assert seconds > 60
    assert heard == {}


# PJSIP's own tone generator (pjsua2 ToneGenerator) records a key sequence to a WAV file.
PJSUA_TONES = """
import os, sys, time, pjsua2 as pj
out, digits = sys.argv[1], sys.argv[2]
ep = pj.Endpoint(); ep.libCreate()
cfg = pj.EpConfig(); cfg.logConfig.level = 0; cfg.logConfig.consoleLevel = 0; cfg.uaConfig.threadCnt = 0
cfg.medConfig.clockRate = 8000; cfg.medConfig.sndClockRate = 8000
ep.libInit(cfg); ep.libStart(); ep.audDevManager().setNullDev()
rec = pj.AudioMediaRecorder(); rec.createRecorder(out)
tones = pj.ToneGenerator(); tones.createToneGenerator(8000, 1); tones.startTransmit(rec)
keys = pj.ToneDigitVector()
for d in digits:
    key = pj.ToneDigit(); key.digit = d; key.on_msec = 100; key.off_msec = 60; key.volume = 0; keys.append(key)
tones.playDigits(keys)
start = time.time()
while time.time() - start < 0.3 + 0.16 * len(digits):
    ep.libHandleEvents(20)
os._exit(0)  # pjsua2 aborts on a normal interpreter exit
"""


@pytest.mark.integration
@pytest.mark.skipif(importlib.util.find_spec("pjsua2") is None, reason="pjsua2-python (PJSIP 2.15) is not installed")
def test_pjsip_generated_keys_are_detected(tmp_path):
    script, wav = tmp_path / "tones.py", tmp_path / "tones.wav"
    script.write_text(PJSUA_TONES)
    subprocess.run([sys.executable, str(script), str(wav), ALL_KEYS], check=True, timeout=60, capture_output=True)
    data = wav.read_bytes()
    # The recorder's header sizes are only filled in on a clean shutdown, so read from the data chunk on.
    samples = data[data.index(b"data") + 8 :]
    pcm = np.frombuffer(samples[: len(samples) // 2 * 2], dtype=np.int16)
    assert pcm.size >= 8000 * 0.16 * (len(ALL_KEYS) - 1)
    assert detect(pcm) == ALL_KEYS
    assert detect(ulaw_decode(ulaw_encode(pcm))) == ALL_KEYS
