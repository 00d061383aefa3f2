"""Deterministic test signals at 8 kHz int16: beeps, music on hold, noise, and real Asterisk prompts.

Levels follow ``talktrack.audio.dtmf``: a tone's ``level_dbfs`` is its sine peak relative to full scale.
Everything random takes a seed, so a test or a benchmark hears the same audio on every run.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from talktrack.audio.g711 import ulaw_decode, ulaw_encode
from talktrack.errors import MediaError

RATE = 8000
ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds")
# Files among the prompts that are tones rather than a voice.
TONE_PROMPTS = frozenset(
    {"beep", "beeperr", "ascending-2tone", "descending-2tone", "confbridge-join", "confbridge-leave"}
)

Int16 = npt.NDArray[np.int16]
Float = npt.NDArray[np.float64]


def to_int16(x: npt.ArrayLike) -> Int16:
    """Round and clip to int16, as a line's codec would."""
    return np.clip(np.round(np.asarray(x, dtype=np.float64)), -32768, 32767).astype(np.int16)


def _amplitude(level_dbfs: float) -> float:
    return 32767.0 * 10 ** (level_dbfs / 20)


def _envelope(n: int, ramp_s: float) -> Float:
    """Flat with raised-cosine ramps: a click at a hard edge would spread energy over every frequency."""
    envelope = np.ones(n)
    ramp = min(int(round(ramp_s * RATE)), n // 2)
    if ramp:
        rise = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
        envelope[:ramp], envelope[n - ramp :] = rise, rise[::-1]
    return envelope


def _tone(freqs: Sequence[float], n: int) -> Float:
    t = np.arange(n) / RATE
    return np.asarray(sum(np.sin(2 * np.pi * f * t) for f in freqs), dtype=np.float64)


def beep(freq_hz: float, duration_s: float, level_dbfs: float = -12.0, *, ramp_s: float = 0.004) -> Int16:
    """A pure tone with short ramps, the beep most voicemail systems play."""
    n = int(round(duration_s * RATE))
    if n <= 0:
        raise ValueError(f"duration_s must be positive, got {duration_s}")
    return to_int16(_amplitude(level_dbfs) * _envelope(n, ramp_s) * _tone([freq_hz], n))


def chord_beep(freqs_hz: Sequence[float], duration_s: float, level_dbfs: float = -12.0) -> Int16:
    """Several tones at once, each at ``level_dbfs`` (Asterisk's beeperr is a 344+688 Hz chord)."""
    n = int(round(duration_s * RATE))
    if n <= 0 or not freqs_hz:
        raise ValueError(f"need a positive duration and at least one frequency, got {duration_s}, {freqs_hz}")
    return to_int16(_amplitude(level_dbfs) * _envelope(n, 0.004) * _tone(freqs_hz, n))


def multi_tone_beep(
    tones: Sequence[tuple[float, float]], level_dbfs: float = -12.0, *, gap_s: float = 0.0, ramp_s: float = 0.004
) -> Int16:
    """Tones one after another, each ``(freq_hz, duration_s)``, with an optional silent gap between them."""
    if not tones:
        raise ValueError("multi_tone_beep needs at least one (freq_hz, duration_s) tone")
    gap = np.zeros(int(round(gap_s * RATE)), dtype=np.int16)
    pieces: list[Int16] = []
    for i, (freq, duration) in enumerate(tones):
        if i and gap.size:
            pieces.append(gap)
        pieces.append(beep(freq, duration, level_dbfs, ramp_s=ramp_s))
    return np.concatenate(pieces)


def machine_beep(
    freq_hz: float = 1000.0,
    duration_s: float = 0.5,
    level_dbfs: float = -15.0,
    *,
    ramp_s: float = 0.02,
    harmonics_db: float = -24.0,
    seed: int = 0,
) -> Int16:
    """An answering machine's beep: slow ramps, weak 2nd and 3rd harmonics, a slightly off-nominal pitch."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * RATE))
    if n <= 0:
        raise ValueError(f"duration_s must be positive, got {duration_s}")
    freq = freq_hz * (1 + rng.uniform(-0.01, 0.01))  # a cheap oscillator is off by up to a percent
    t = np.arange(n) / RATE
    weak = 10 ** (harmonics_db / 20)
    wave_ = np.sin(2 * np.pi * freq * t)
    for k in (2, 3):
        if k * freq < RATE / 2:
            wave_ += weak / (k - 1) * np.sin(2 * np.pi * k * freq * t + rng.uniform(0, 2 * np.pi))
    return to_int16(_amplitude(level_dbfs) * _envelope(n, ramp_s) * wave_)


def white_noise(n: int, level_dbfs: float = -40.0, *, seed: int = 0) -> Int16:
    """Gaussian white noise whose RMS is ``level_dbfs`` below the RMS of a full-scale sine."""
    rms = _amplitude(level_dbfs) / np.sqrt(2)
    return to_int16(np.random.default_rng(seed).normal(0.0, rms, n))


def pink_noise(n: int, level_dbfs: float = -40.0, *, seed: int = 0) -> Int16:
    """1/f noise, RMS as in ``white_noise``; rumble below 50 Hz removed.

    Shaped in the frequency domain 8 s at a time, the pieces overlapped with power-complementary windows,
    so an hour of it costs no more per second than a second of it.
    """
    if n <= 0:
        return np.zeros(0, dtype=np.int16)
    rng = np.random.default_rng(seed)
    block, hop = 1 << 16, 1 << 15
    freqs = np.fft.rfftfreq(block, 1 / RATE)
    shaping = np.where(freqs >= 50.0, 1 / np.sqrt(np.maximum(freqs, 1.0)), 0.0)
    window = np.sin(np.pi * (np.arange(block) + 0.5) / block)  # w(t)² + w(t + hop)² = 1
    count = -(-(n + hop) // hop)
    out = np.zeros((count + 1) * hop)
    for i in range(count):
        out[i * hop : i * hop + block] += window * np.fft.irfft(np.fft.rfft(rng.standard_normal(block)) * shaping)
    shaped = out[hop : hop + n]
    rms = float(np.sqrt(np.mean(shaped**2))) or 1.0
    return to_int16(shaped / rms * _amplitude(level_dbfs) / np.sqrt(2))


def mix(signal: Int16, noise: Int16, snr_db: float) -> Int16:
    """``signal`` plus ``noise`` scaled to ``snr_db`` below it.

    The signal's power is taken between its first and last non-zero sample, so the silence a test pads a
    beep with does not change the SNR. ``noise`` must be at least as long as ``signal``; it is cut to fit.
    """
    if noise.size < signal.size:
        raise ValueError(f"noise ({noise.size} samples) is shorter than the signal ({signal.size} samples)")
    x = signal.astype(np.float64)
    active = np.flatnonzero(x)
    if active.size == 0:
        raise ValueError("the signal is silent, so an SNR relative to it means nothing")
    signal_power = float(np.mean(x[active[0] : active[-1] + 1] ** 2))
    n = noise[: signal.size].astype(np.float64)
    noise_power = float(np.mean(n**2)) or 1.0
    return to_int16(x + n * np.sqrt(signal_power / noise_power / 10 ** (snr_db / 10)))


def mulaw_roundtrip(x: Int16) -> Int16:
    """The audio as it arrives over a G.711 μ-law line."""
    return ulaw_decode(ulaw_encode(np.asarray(x, dtype=np.int16)))


def silence(duration_s: float) -> Int16:
    """Digital silence."""
    return np.zeros(int(round(duration_s * RATE)), dtype=np.int16)


# Music on hold: chords under a melody, every note with harmonics, as a small keyboard would play it.
_PROGRESSIONS = ((0, 7, 9, 5), (0, 5, 7, 0), (9, 5, 0, 7), (0, 9, 2, 7))  # I-V-vi-IV and friends
_MAJOR = (0, 2, 4, 5, 7, 9, 11)


def _note_hz(semitones_from_a4: float) -> float:
    return 440.0 * 2 ** (semitones_from_a4 / 12)


def _instrument(freq: float, n: int, rng: np.random.Generator, style: str) -> Float:
    t = np.arange(n) / RATE
    partials: tuple[float, ...]
    if style == "pad":  # slow swell, rich harmonics, held
        partials = (1.0, 0.5, 0.33, 0.25)
        env = np.minimum(t / 0.08, 1.0) * np.exp(-t / 3.0)
        vibrato = 0.0
    elif style == "piano":  # fast attack, exponential decay
        partials = (1.0, 0.6, 0.3, 0.15, 0.1)
        env = np.minimum(t / 0.005, 1.0) * np.exp(-t / 0.5)
        vibrato = 0.0
    elif style == "flute":  # breathy, few harmonics, vibrato
        partials = (1.0, 0.25, 0.08)
        env = np.minimum(t / 0.04, 1.0) * (1 - 0.15 * np.minimum(t / 0.3, 1.0))
        vibrato = 0.006
    else:  # "bell": inharmonic partials, long ring
        partials = (1.0, 0.5, 0.35, 0.2)
        env = np.minimum(t / 0.002, 1.0) * np.exp(-t / 0.8)
        vibrato = 0.0
    ratios = (1.0, 2.76, 5.4, 8.93) if style == "bell" else tuple(range(1, len(partials) + 1))
    phase_mod = vibrato * freq / 5.5 * np.sin(2 * np.pi * 5.5 * t) if vibrato else 0.0
    out = np.zeros(n)
    for amp, ratio in zip(partials, ratios, strict=True):
        if ratio * freq < RATE / 2 - 200:
            out += amp * np.sin(2 * np.pi * ratio * freq * t + ratio * phase_mod + rng.uniform(0, 2 * np.pi))
    fade = _envelope(n, 0.01)
    return np.asarray(out * env * fade, dtype=np.float64)


def music_on_hold(duration_s: float = 8.0, *, seed: int = 0, level_dbfs: float = -16.0) -> Int16:
    """A simple synthesized hold tune: bass and chords under a melody, with harmonics; RMS at ``level_dbfs``.

    The seed picks the key, tempo, chord progression, the melody's instrument and its rhythm (some tunes
    leave rests between melody notes, the hardest case for a beep detector: the chords then sound alone).
    """
    rng = np.random.default_rng(seed)
    n_total = int(round(duration_s * RATE))
    out = np.zeros(n_total + 6 * RATE)  # room for the last bar's notes to ring past the end
    key = int(rng.integers(-5, 5))  # semitones from A4
    beat = 60.0 / rng.uniform(80, 140)
    progression = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]
    lead = ("piano", "flute", "bell", "piano")[int(rng.integers(4))]
    rest_chance = float(rng.uniform(0.0, 0.3))
    chord_gain = float(rng.uniform(0.35, 0.7))
    bar = 4 * beat
    t, bar_index = 0.0, 0
    while t < duration_s:
        root = key - 12 + progression[bar_index % len(progression)]
        start = int(t * RATE)
        n_bar = int(bar * RATE)
        for interval in (0, 4, 7) if root % 12 not in (2, 4, 9, 11) else (0, 3, 7):
            out[start : start + n_bar] += chord_gain * _instrument(_note_hz(root + interval - 12), n_bar, rng, "pad")
        out[start : start + n_bar] += 0.5 * _instrument(_note_hz(root - 24), n_bar, rng, "piano")
        beat_t = 0.0
        while beat_t < bar - 1e-9:
            length = beat * float(rng.choice([0.5, 1.0, 1.0, 2.0]))
            length = min(length, bar - beat_t)
            if rng.uniform() >= rest_chance:
                degree = int(rng.integers(0, 10))
                pitch = key + 12 * (degree // 7) + _MAJOR[degree % 7]
                s = int((t + beat_t) * RATE)
                m = int(length * RATE)
                out[s : s + m] += _instrument(_note_hz(pitch), m, rng, lead)
            beat_t += length
        t += bar
        bar_index += 1
    out = out[:n_total]
    rms = float(np.sqrt(np.mean(out**2))) or 1.0
    return to_int16(out / rms * _amplitude(level_dbfs) / np.sqrt(2))


def asterisk_prompt(name: str, lang: str = "en") -> Int16:
    """One of Debian's Asterisk prompts (``asterisk-core-sounds-<lang>-wav``) as 8 kHz int16 samples.

    ``name`` may include a sub-folder ("digits/5") and may end in ".wav".
    """
    folder = ASTERISK_SOUNDS / lang
    if not folder.is_dir():
        raise MediaError(
            f"the Asterisk sound prompts for {lang!r} are not installed ({folder} is missing)",
            fix=f"sudo apt-get install asterisk-core-sounds-{lang}-wav (or run `make test-deps`)",
        )
    path = folder / (name if name.endswith(".wav") else f"{name}.wav")
    if not path.is_file():
        raise MediaError(f"no Asterisk prompt {name!r} in {folder}", fix="pick a name from asterisk_prompt_names()")
    with wave.open(str(path), "rb") as wav:
        if (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) != (RATE, 2, 1):
            raise MediaError(f"{path} is not 8 kHz 16-bit mono WAV", fix="reinstall the -wav sound package")
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.int16)


def asterisk_prompt_names(lang: str = "en", *, speech_only: bool = True) -> list[str]:
    """Every installed prompt of a language (sub-folders included), sorted; empty if none are installed.

    ``speech_only`` leaves out the prompts that are tones (beep, beeperr, the 2-tone and conference chimes)
    and the ``silence`` folder.
    """
    folder = ASTERISK_SOUNDS / lang
    if not folder.is_dir():
        return []
    names = sorted(str(p.relative_to(folder).with_suffix("")) for p in folder.rglob("*.wav"))
    if speech_only:
        names = [n for n in names if Path(n).name not in TONE_PROMPTS and not n.startswith("silence/")]
    return names
