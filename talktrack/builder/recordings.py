"""Transcribe call recordings with Whisper base and tell the rep from the prospect."""

from __future__ import annotations

import re
import wave
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from talktrack.audio.resample import resample
from talktrack.builder.errors import BuildError
from talktrack.builder.transcript import PROSPECT, REP, Transcript, Utterance, fix_vocabulary
from talktrack.errors import TalkTrackError
from talktrack.speech.stt_whisper import WhisperSTT

RATE = 16_000
FRAME_S = 0.02
# Speech is what stands this far above the file's own noise floor (and within reach of its peak).
ABOVE_FLOOR_DB = 15.0
BELOW_PEAK_DB = 40.0
# Pauses shorter than this stay inside one utterance (breaths, commas, sentence ends).
MIN_PAUSE_S = 0.3
# On a mono file a silence at least this long is taken as the other speaker's turn.
TURN_GAP_S = 0.65
MIN_SPEECH_S = 0.15
# Stereo: pieces of one channel this close together are one utterance, up to Whisper's window.
STEREO_JOIN_S = 1.5
MAX_UTTERANCE_S = 28.0
PAD_S = 0.1
# Left-channel speech at least this much quieter than the right at the same time is echo.
BLEED_DB = 10.0
# Sample width in bytes -> numpy type and full scale (8-bit WAV is unsigned).
_WIDTHS: dict[int, tuple[str, float]] = {1: ("u1", 128.0), 2: ("<i2", 32768.0), 4: ("<i4", 2147483648.0)}
_WORD = re.compile(r"[a-z0-9]+")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Segment:
    """A stretch of speech on one channel (or, on a mono file, by one alternating speaker)."""

    speaker: str
    channel: int
    start: int
    end: int


def read_wav(path: Path) -> npt.NDArray[np.float32]:
    """A WAV file as float32 channels at 16 kHz, shape (channels, samples); BuildError naming the file."""
    if not path.is_file():
        raise BuildError(f"{path}: recording not found", fix="check the paths given to --recordings")
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise BuildError(
            f"{path}: not a PCM WAV recording ({exc})",
            fix="convert it first, e.g. ffmpeg -i call.mp3 -ar 16000 -c:a pcm_s16le call.wav",
        ) from None
    if width not in (1, 2, 4) or channels not in (1, 2) or not raw:
        raise BuildError(
            f"{path}: unsupported WAV layout ({channels} channels, {8 * width}-bit, {len(raw)} bytes of audio)",
            fix="use 16-bit PCM, mono or stereo (one speaker per channel)",
        )
    code, scale = _WIDTHS[width]
    samples = np.frombuffer(raw[: len(raw) // (width * channels) * width * channels], dtype=np.dtype(code))
    floats = (samples.astype(np.float32) - (128.0 if width == 1 else 0.0)) / scale
    planes = floats.reshape(-1, channels).T
    return np.stack([np.asarray(resample(p, rate, RATE), dtype=np.float32) for p in planes])


def frame_levels(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Level of each 20 ms frame in dB full scale."""
    frame = int(FRAME_S * RATE)
    n = samples.size // frame
    frames = samples[: n * frame].astype(np.float64).reshape(n, frame)
    levels: npt.NDArray[np.float64] = 10.0 * np.log10(np.mean(frames * frames, axis=1) + 1e-12)
    return levels


def speech_spans(samples: npt.NDArray[np.float32], min_pause_s: float = MIN_PAUSE_S) -> list[tuple[int, int]]:
    """Sample spans of speech by frame energy, with pauses shorter than ``min_pause_s`` bridged."""
    levels = frame_levels(samples)
    if levels.size == 0:
        return []
    floor, peak = float(np.percentile(levels, 10)), float(levels.max())
    threshold = max(floor + ABOVE_FLOOR_DB, peak - BELOW_PEAK_DB)
    active = np.flatnonzero(levels > threshold)
    frame = int(FRAME_S * RATE)
    spans: list[list[int]] = []
    bridge = int(min_pause_s / FRAME_S)
    for index in active:
        if spans and index - spans[-1][1] <= bridge:
            spans[-1][1] = int(index) + 1
        else:
            spans.append([int(index), int(index) + 1])
    pad = int(PAD_S * RATE)
    return [
        (max(0, a * frame - pad), min(samples.size, b * frame + pad))
        for a, b in spans
        if (b - a) * FRAME_S >= MIN_SPEECH_S
    ]


def stereo_segments(channels: npt.NDArray[np.float32]) -> list[Segment]:
    """One speaker per channel; speech that is only the other channel's echo is dropped."""
    segments: list[Segment] = []
    for index, plane in enumerate(channels[:2]):
        other = channels[1 - index]
        for start, end in speech_spans(plane):
            own, theirs = _rms_db(plane[start:end]), _rms_db(other[start:end])
            if own + BLEED_DB < theirs:
                continue
            segments.append(Segment(f"channel {index + 1}", index, start, end))
    return _joined(sorted(segments, key=lambda s: s.start), STEREO_JOIN_S)


def mono_segments(samples: npt.NDArray[np.float32], turn_gap_s: float = TURN_GAP_S) -> list[Segment]:
    """Speech split at pauses; the speaker flips at every silence of ``turn_gap_s`` or more."""
    spans = speech_spans(samples, min_pause_s=MIN_PAUSE_S)
    segments: list[Segment] = []
    speaker = 0
    for start, end in spans:
        if segments and (start - segments[-1].end) / RATE + 2 * PAD_S >= turn_gap_s:
            speaker = 1 - speaker
        segments.append(Segment("speaker A" if speaker == 0 else "speaker B", 0, start, end))
    return _joined(segments, turn_gap_s)


def _joined(segments: list[Segment], max_gap_s: float) -> list[Segment]:
    """Join back-to-back segments of one speaker: Whisper hears a whole sentence better than its pieces."""
    joined: list[Segment] = []
    for segment in segments:
        last = joined[-1] if joined else None
        if (
            last is not None
            and last.speaker == segment.speaker
            and (segment.start - last.end) / RATE <= max_gap_s
            and (segment.end - last.start) / RATE <= MAX_UTTERANCE_S
        ):
            joined[-1] = Segment(last.speaker, last.channel, last.start, segment.end)
        else:
            joined.append(segment)
    return joined


def pick_rep(texts: dict[str, list[str]], company: str | None) -> tuple[str, str]:
    """The speaker who names the company (3 points each) and asks the most questions; returns it and why."""
    squashed = re.sub(r"[^a-z0-9]", "", (company or "").lower())
    scores: dict[str, tuple[int, int]] = {}
    for speaker, lines in texts.items():
        joined = " ".join(lines)
        mentions = re.sub(r"[^a-z0-9]", "", joined.lower()).count(squashed) if squashed else 0
        scores[speaker] = (mentions, joined.count("?"))
    ranked = sorted(scores, key=lambda s: (3 * scores[s][0] + scores[s][1], -list(texts).index(s)), reverse=True)
    rep = ranked[0]
    named = company or "the company"
    detail = "; ".join(f"{s}: {m} mention(s) of {named}, {q} question(s)" for s, (m, q) in scores.items())
    tie = len(ranked) > 1 and 3 * scores[ranked[1]][0] + scores[ranked[1]][1] == 3 * scores[rep][0] + scores[rep][1]
    return rep, ("tie, took the first speaker; " if tie else "") + detail


class Transcriber:
    """Whisper base (multilingual) over the speech segments of each recording."""

    def __init__(self, model_dir: Path, *, language: str | None = None, threads: int = 2) -> None:
        try:
            self.stt = WhisperSTT(model_dir, window_s=10.0, cpu_threads=threads, language=language)
        except TalkTrackError as exc:
            raise BuildError(f"cannot load the Whisper model in {model_dir}: {exc.message}", fix=exc.fix) from None
        self.language = language

    def transcribe(
        self,
        path: Path,
        *,
        company: str | None,
        terms: Collection[str] = (),
        progress: Progress | None = None,
    ) -> Transcript:
        """Transcribe one WAV: a stereo file has a speaker per channel, a mono file alternates at pauses."""
        channels = read_wav(path)
        stereo = channels.shape[0] == 2
        segments = stereo_segments(channels) if stereo else mono_segments(channels[0])
        if not segments:
            raise BuildError(f"{path}: no speech found in the recording", fix="check that the file is a call recording")
        longest = max(segments, key=lambda s: s.end - s.start)
        language = self.language or self._language(channels[longest.channel][longest.start : longest.end])
        said: list[tuple[Segment, str]] = []
        respelled = 0
        for n, segment in enumerate(segments, 1):
            audio = channels[segment.channel][segment.start : segment.end]
            text, fixed = fix_vocabulary(self.stt.transcribe(audio, language=language).text.strip(), terms)
            respelled += fixed
            if progress is not None:
                progress(f"{path.name}: segment {n}/{len(segments)}")
            if _WORD.search(text.lower()):
                said.append((segment, text))
        by_speaker: dict[str, list[str]] = {}
        for segment, text in said:
            by_speaker.setdefault(segment.speaker, []).append(text)
        if not by_speaker:
            raise BuildError(f"{path}: Whisper heard no words in the recording", fix="check the recording's audio")
        rep, reason = pick_rep(by_speaker, company)
        utterances = [
            Utterance(REP if s.speaker == rep else PROSPECT, s.start / RATE, s.end / RATE, text) for s, text in said
        ]
        notes = [] if stereo else [f"mono: speakers alternate at silences of {TURN_GAP_S:g} s or more"]
        if respelled:
            notes.append(f"{respelled} misheard name(s) respelled as in the script")
        if len(by_speaker) < 2:
            notes.append("only one speaker was heard; every line is taken as the rep's")
        method = "stereo" if stereo else "mono"
        return Transcript(path, utterances, method, language, f"rep = {rep} ({reason})", notes)

    def _language(self, audio: npt.NDArray[np.float32]) -> str:
        probabilities = self.stt.detect_language(audio)
        return max(probabilities, key=lambda code: probabilities[code])


def transcribe_all(
    paths: Sequence[Path],
    model_dir: Path,
    *,
    company: str | None,
    terms: Collection[str] = (),
    progress: Progress | None = None,
) -> list[Transcript]:
    """Check every recording first, then transcribe them one by one."""
    for path in paths:
        read_wav(path)  # a bad file fails before minutes of transcription are spent
    transcriber = Transcriber(model_dir)
    return [transcriber.transcribe(p, company=company, terms=terms, progress=progress) for p in paths]


def _rms_db(samples: npt.NDArray[Any]) -> float:
    if samples.size == 0:
        return -120.0
    return float(10.0 * np.log10(np.mean(samples.astype(np.float64) ** 2) + 1e-12))
