"""Reading call recordings and telling the speakers apart (no speech recognition here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from talktrack.builder.errors import BuildError
from talktrack.builder.recordings import RATE, mono_segments, pick_rep, read_wav, stereo_segments
from talktrack.builder.samples import SAMPLES_DIR, RenderedTurn, render_call, write_wav
from talktrack.speech.tts_piper import PiperTTS


@pytest.fixture(scope="module")
def call() -> tuple[np.ndarray, tuple[RenderedTurn, ...]]:
    return render_call(SAMPLES_DIR / "calls" / "call2.yaml", PiperTTS())


def speaker_at(timeline: tuple[RenderedTurn, ...], start: int, end: int) -> str:
    middle = (start + end) / 2 / RATE
    return min(timeline, key=lambda t: abs((t.start_s + t.end_s) / 2 - middle)).speaker


def test_stereo_has_one_speaker_per_channel(tmp_path: Path, call: tuple[np.ndarray, tuple[RenderedTurn, ...]]) -> None:
    stereo, timeline = call
    write_wav(tmp_path / "call.wav", stereo)
    channels = read_wav(tmp_path / "call.wav")
    assert channels.shape == (2, stereo.shape[0])
    segments = stereo_segments(channels)
    assert len(segments) == len(timeline)
    for segment in segments:
        expected = "channel 1" if speaker_at(timeline, segment.start, segment.end) == "rep" else "channel 2"
        assert segment.speaker == expected


def test_mono_alternates_speakers_at_turn_gaps(call: tuple[np.ndarray, tuple[RenderedTurn, ...]]) -> None:
    stereo, timeline = call
    mono = stereo.astype(np.float32).sum(axis=1) / 32768.0
    segments = mono_segments(mono)
    assert len(segments) == len(timeline)
    first = segments[0].speaker
    for segment in segments:
        truth = speaker_at(timeline, segment.start, segment.end)
        assert (segment.speaker == first) == (truth == timeline[0].speaker)


def test_rep_is_who_names_the_company_and_asks() -> None:
    rep, why = pick_rep(
        {"channel 1": ["Sure, go ahead.", "How much is it?"], "channel 2": ["It's Sarah from Backbeam.", "Okay?"]},
        "Backbeam",
    )
    assert rep == "channel 2" and "1 mention(s) of Backbeam" in why
    tie, why = pick_rep({"speaker A": ["Hello."], "speaker B": ["Hi."]}, "Backbeam")
    assert tie == "speaker A" and why.startswith("tie")


def test_wav_at_another_rate_is_resampled(tmp_path: Path) -> None:
    tone = (np.sin(np.arange(8000) * 2 * np.pi * 440 / 8000) * 8000).astype(np.int16)
    write_wav(tmp_path / "8k.wav", tone, rate=8000)
    assert read_wav(tmp_path / "8k.wav").shape == (1, RATE)


def test_bad_recordings_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="gone.wav: recording not found"):
        read_wav(tmp_path / "gone.wav")
    fake = tmp_path / "notes.wav"
    fake.write_text("these are meeting notes, not audio")
    with pytest.raises(BuildError, match="notes.wav: not a PCM WAV recording"):
        read_wav(fake)
    empty = tmp_path / "empty.wav"
    write_wav(empty, np.zeros(0, dtype=np.int16))
    with pytest.raises(BuildError, match="empty.wav: unsupported WAV layout"):
        read_wav(empty)
