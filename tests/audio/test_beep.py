from pathlib import Path

import numpy as np
import pytest

from talktrack.audio.beep import Beep, BeepDetector, LongTone
from talktrack.audio.dtmf import dtmf_tones
from talktrack.errors import MediaError
from talktrack.testing.tones import (
    RATE,
    asterisk_prompt,
    asterisk_prompt_names,
    beep,
    chord_beep,
    machine_beep,
    mix,
    mulaw_roundtrip,
    multi_tone_beep,
    music_on_hold,
    pink_noise,
    silence,
    white_noise,
)

SOUNDS = Path("/usr/share/asterisk/sounds/en")
needs_sounds = pytest.mark.skipif(not SOUNDS.is_dir(), reason="asterisk-core-sounds-en-wav is not installed")
TOLERANCE_S = 0.03


def detect(pcm, chunk=800):
    """Every beep with the stream time at which the chunk that reported it ended."""
    detector = BeepDetector()
    found = []
    for start in range(0, len(pcm), chunk):
        end = min(start + chunk, len(pcm))
        found += [(b, end / RATE) for b in detector.feed(pcm[start:end])]
    found += [(b, len(pcm) / RATE) for b in detector.flush()]
    return found


def beeps(pcm, chunk=800):
    return [b for b, _ in detect(pcm, chunk)]


def events(pcm, chunk=800):
    detector = BeepDetector()
    found = []
    for start in range(0, len(pcm), chunk):
        found += detector.feed_events(pcm[start : start + chunk])
    return found + detector.flush()


def after_greeting(tone, lead=None, tail_s=0.8):
    """A voicemail greeting's end: a real prompt, a short pause, the tone, then the line waits (μ-law)."""
    lead = asterisk_prompt("vm-intro") if lead is None else lead
    pause = silence(0.3)
    audio = mulaw_roundtrip(np.concatenate([lead, pause, tone, silence(tail_s)]))
    start = (lead.size + pause.size) / RATE
    return audio, start, start + tone.size / RATE


def assert_one_beep(found, start, end, tolerance=TOLERANCE_S):
    assert len(found) == 1, found
    assert found[0].start_s == pytest.approx(start, abs=tolerance)
    assert found[0].end_s == pytest.approx(end, abs=tolerance)


@needs_sounds
@pytest.mark.parametrize("duration", [0.1, 0.4, 1.0, 1.5])
@pytest.mark.parametrize("freq", [350, 440, 1000, 1400, 2000])
def test_a_beep_after_a_greeting_is_heard_once_with_its_timing(freq, duration):
    audio, start, end = after_greeting(beep(freq, duration, -15.0))
    found = beeps(audio)
    assert_one_beep(found, start, end)
    assert found[0].frequency_hz == pytest.approx(freq, rel=0.01)
    assert found[0].level_dbfs == pytest.approx(-15.0, abs=1.0)


@needs_sounds
def test_asterisk_beep_is_heard():
    tone = asterisk_prompt("beep")
    audio, start, end = after_greeting(tone)
    found = beeps(audio)
    assert_one_beep(found, start, end)
    assert 650 < found[0].frequency_hz < 750


@needs_sounds
@pytest.mark.parametrize(("name", "last_hz"), [("ascending-2tone", 880), ("descending-2tone", 440)])
def test_asterisk_two_tone_prompts_are_one_beep(name, last_hz):
    audio, start, end = after_greeting(asterisk_prompt(name))
    found = beeps(audio)
    assert_one_beep(found, start, end)
    assert found[0].frequency_hz == pytest.approx(last_hz, rel=0.01)


@needs_sounds
@pytest.mark.parametrize(
    ("tone", "last_hz"),
    [
        (multi_tone_beep([(600, 0.2), (900, 0.2)], -15.0), 900),
        (multi_tone_beep([(1400, 0.15), (1000, 0.15), (700, 0.3)], -15.0), 700),
        (multi_tone_beep([(440, 0.1), (880, 0.1)], -20.0), 880),
        (chord_beep([600, 1000], 0.5, -18.0), 1000),
        (chord_beep([440, 660], 0.3, -18.0), 440),
    ],
)
def test_multi_tone_beeps_and_chords_are_one_beep(tone, last_hz):
    audio, start, end = after_greeting(tone)
    found = beeps(audio)
    assert_one_beep(found, start, end)
    assert found[0].frequency_hz == pytest.approx(last_hz, rel=0.01)


@needs_sounds
def test_answering_machine_beep_with_ramps_and_harmonics():
    audio, start, end = after_greeting(machine_beep(1000.0, 0.5, -20.0, ramp_s=0.01, harmonics_db=-25.0))
    # Its start and end are where it reaches half power, a few ms into its ramps.
    assert_one_beep(beeps(audio), start, end)


@pytest.mark.parametrize("freq", [400, 1000, 1800])
def test_short_blips_are_not_beeps_but_a_tenth_of_a_second_is(freq):
    lead = silence(0.5)
    assert beeps(mulaw_roundtrip(np.concatenate([lead, beep(freq, 0.08, -12.0), silence(0.5)]))) == []
    assert len(beeps(mulaw_roundtrip(np.concatenate([lead, beep(freq, 0.1, -12.0), silence(0.5)])))) == 1


@pytest.mark.parametrize("tone", [beep(1000, 2.0, -12.0), chord_beep([350, 440], 3.0, -15.0)])
def test_a_tone_longer_than_one_and_a_half_seconds_is_a_long_tone_not_a_beep(tone):
    audio = mulaw_roundtrip(np.concatenate([silence(0.5), tone, silence(0.5)]))
    found = events(audio)
    assert [type(e) for e in found] == [LongTone]
    assert found[0].start_s == pytest.approx(0.5, abs=TOLERANCE_S)
    assert found[0].reported_s < 0.5 + 1.7  # said once, while the tone still sounds


def test_dtmf_keys_are_not_beeps():
    for tone_ms in (40, 70, 100, 200):
        for level in (-25.0, -10.0):
            keys = mulaw_roundtrip(dtmf_tones("123A456B789C*0#D", tone_ms=tone_ms, level_dbfs=level))
            assert beeps(keys, chunk=1000) == [], (tone_ms, level)


def test_busy_tone_and_special_information_tone_are_not_beeps():
    busy = [chord_beep([480, 620], 0.5, -15.0), silence(0.5)] * 4
    sit = [multi_tone_beep([(913.8, 0.274), (1370.6, 0.274), (1776.7, 0.38)], -15.0), silence(1.0)]
    assert beeps(mulaw_roundtrip(np.concatenate(busy + sit)), chunk=1000) == []


@needs_sounds
def test_a_minute_of_real_speech_has_no_beep():
    names = asterisk_prompt_names("en")
    assert "beep" not in names and len(names) > 300
    prompts, seconds = [], 0.0
    for name in names[::5]:
        prompts += [asterisk_prompt(name), silence(0.2)]
        seconds += prompts[-2].size / RATE + 0.2
        if seconds > 60:
            break
    assert seconds > 60
    assert beeps(mulaw_roundtrip(np.concatenate(prompts)), chunk=4000) == []


@pytest.mark.parametrize("seed", range(4))
def test_music_on_hold_has_no_beep(seed):
    assert beeps(mulaw_roundtrip(music_on_hold(15.0, seed=seed)), chunk=4000) == []


@needs_sounds
@pytest.mark.parametrize("noise", [white_noise, pink_noise])
@pytest.mark.parametrize("freq", [440, 1400])
def test_a_beep_in_noise_at_10_db_snr(noise, freq):
    greeting = asterisk_prompt("vm-intro")
    clean = np.concatenate([greeting, silence(0.3), beep(freq, 0.4, -20.0), silence(0.8)])
    # Noise levels are those of a sine of the same RMS: -30 dBFS is 10 dB below the -20 dBFS beep.
    line = clean.astype(np.float64) + noise(clean.size, -30.0, seed=freq)
    audio = mulaw_roundtrip(np.clip(np.round(line), -32768, 32767).astype(np.int16))
    start = (greeting.size + int(0.3 * RATE)) / RATE
    assert_one_beep(beeps(audio), start, start + 0.4)


@needs_sounds
@pytest.mark.parametrize("duration", [0.1, 0.5])
@pytest.mark.parametrize("offset", range(0, 160, 40))
def test_a_beep_is_reported_within_60_ms_of_its_end(duration, offset):
    lead = asterisk_prompt("vm-intro")[offset:]  # the beep ends anywhere within a 20 ms chunk
    audio, _, end = after_greeting(beep(1000, duration, -15.0), lead=lead)
    [(found, reported_at)] = detect(audio, chunk=160)  # a line delivers 20 ms at a time
    assert 0 < reported_at - end <= 0.060
    assert found.reported_s <= reported_at


def test_chunk_size_does_not_change_what_is_heard():
    audio = mulaw_roundtrip(
        np.concatenate(
            [
                pink_noise(RATE, -50.0),
                beep(700, 0.3, -15.0),
                silence(0.4),
                multi_tone_beep([(500, 0.15), (800, 0.15)], -18.0),
                silence(0.3),
                beep(1200, 2.0, -15.0),
                silence(0.2),
            ]
        )
    )
    by_sample = events(audio, chunk=1)
    assert [type(e) for e in by_sample] == [Beep, Beep, LongTone]
    assert events(audio, chunk=160) == by_sample
    assert events(audio, chunk=1000) == by_sample
    assert events(audio, chunk=audio.size) == by_sample


def test_a_beep_still_sounding_when_the_stream_ends_is_reported_by_flush():
    detector = BeepDetector()
    assert detector.feed(mulaw_roundtrip(np.concatenate([silence(0.5), beep(1000, 0.4, -15.0)]))) == []
    [found] = detector.flush()
    assert found.end_s == pytest.approx(0.9, abs=TOLERANCE_S)
    # flush starts a new stream at time 0
    again = detector.feed(np.concatenate([silence(0.3), beep(800, 0.3, -15.0), silence(0.3)]))
    assert [b.start_s for b in again] == [pytest.approx(0.3, abs=TOLERANCE_S)]


def test_reset_forgets_a_beep_in_progress():
    detector = BeepDetector()
    tone = np.concatenate([silence(0.2), beep(1000, 0.5, -15.0), silence(0.3)])
    assert detector.feed(tone[:3000]) == []
    detector.reset()
    assert detector.feed(tone[3000:]) == []
    assert len(detector.feed(tone)) == 1


def test_silence_and_quiet_tones_are_not_beeps():
    assert beeps(np.zeros(2 * RATE, dtype=np.int16), chunk=1000) == []
    assert beeps(np.concatenate([silence(0.5), beep(1000, 0.4, -50.0), silence(0.5)]), chunk=1000) == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros(160, dtype=np.float64), "int16"),
        (np.zeros(160, dtype=np.int32), "int16"),
        (np.zeros((160, 2), dtype=np.int16), "1-D"),
        ([0] * 160, "numpy array"),
    ],
)
def test_bad_input_is_a_clear_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        BeepDetector().feed(bad)


def test_mix_sets_the_snr_against_the_signal_alone():
    tone = np.concatenate([silence(0.5), beep(1000, 0.5, -20.0, ramp_s=0.0), silence(0.5)])
    noise = white_noise(tone.size, -40.0, seed=3)
    mixed = mix(tone, noise, 10.0).astype(np.float64)
    added = mixed - tone
    active = slice(int(0.5 * RATE), int(1.0 * RATE))
    snr = 10 * np.log10(np.mean(tone[active].astype(np.float64) ** 2) / np.mean(added**2))
    assert snr == pytest.approx(10.0, abs=0.3)
    with pytest.raises(ValueError):
        mix(tone, noise[:100], 10.0)


def test_missing_prompt_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr("talktrack.testing.tones.ASTERISK_SOUNDS", tmp_path)
    with pytest.raises(MediaError, match="asterisk-core-sounds-en-wav"):
        asterisk_prompt("vm-intro")
    assert asterisk_prompt_names("en") == []
