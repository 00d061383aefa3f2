"""Voicemail beep detection: a streaming, sans-I/O detector over 8 kHz int16 audio.

A voicemail beep is a tone (or two or three tones in a row, or a two-tone chord) between 350 and 2000 Hz
lasting 100 ms to 1.5 s. What sets it apart from speech and music is how clean it is, so every 32 ms frame
(10 ms apart) is judged on its spectrum, and each run of clean frames on its whole:

* purity: the one or two strongest peaks in 330-2100 Hz carry nearly all of the frame's energy. A vowel
  spreads its energy over many harmonics, music over the notes of a chord and their harmonics. Line noise
  lowers a beep's purity too (to about 0.9 at 10 dB SNR), so a less pure tone still counts when what is
  left over is no more than the background noise heard before it, which a voice's other harmonics are not;
* stability: a beep's pitch comes from an oscillator and stays put, while a voice's pitch glides;
* a flat envelope: music's notes swell and decay, a beep does not;
* standing alone: its energy rises from below half of its steady level and falls back below it;
* a chord whose tones are harmonics of one pitch (an octave, a fifth) is what a voice or an instrument
  makes, so it must be nearly pure to count.

Consecutive clean frames on one pitch make a tone; a step of at least 8 % to another clean pitch starts
the next tone of a multi-tone beep, with no gap between them (tones 10 ms or more apart are separate
beeps). A beep is reported when it ends: on the first frame after its level drops, 20-30 ms after its
last sample. Start and end are where its energy crosses half of its steady value, so a beep's ramps
shorten it by about 1.3 times their length.

Not beeps: a tone that goes on past 1.6 s (1.5 s plus measuring slack: a dial, busy or fax answer tone),
which ``feed_events`` reports once as a ``LongTone``; DTMF key pairs; the North American dial, ringback
and busy tone pairs; the three rising tones of a Special Information Tone; four or more tones in a row (a
melody); a decaying chime such as Asterisk's beeperr. A single fax CNG burst (1100 Hz, 0.5 s) is
indistinguishable from a beep; only its 3 s cadence tells it apart.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from talktrack.audio.dtmf import COLUMNS, ROWS

RATE = 8000
_N = 256  # 32 ms frames: 31 Hz bins separate a chord's tones and still fit 7 frames into a 100 ms beep
_HOP = 80  # 10 ms between frames: timing to a few ms once the level crossings are interpolated
_BAND_HZ = (330.0, 2100.0)  # beeps sit in 350-2000 Hz; a little slack for off-nominal oscillators
_ZONE = 1  # a tone's energy is its peak bin and one bin either side (98 % or more of it with a Hann window)
_CHORD = 10 ** (-15 / 10)  # a second peak this strong (re the first) is a chord's other tone
_FLOOR_DBFS = -42.0  # quieter tones are line noise, not a beep anyone meant to be heard
_PURITY_START = 0.8  # share of a frame's energy in its tone(s) to begin a tone ...
_PURITY_KEEP = 0.7  # ... and to carry on with one (hysteresis: a noisy frame does not split a beep)
_PURE = 0.95  # a tone this pure needs no excuse for what else is in the frame; a less pure one (down to
_NOISY = 0.85  # this, a tone 7.5 dB above white noise) must leave no more than the background noise it had
_NOISE_MARGIN = 4.0  # before it, give or take this factor: a voice's other harmonics, music's chords do not
_SAME_TONE = 0.015  # a frame within 1.5 % of a tone's pitch continues that tone
_NEXT_TONE = 0.08  # a multi-tone beep steps by at least this much (a whole tone is 12 %); less is a glide
_DROP_DB = 6.0  # a tone whose level falls this far below its peak has ended
_MIN_TONE_S = 0.07  # each tone of a beep lasts at least this long (counting frames wholly inside it)
_MAX_TONES = 3
_BATCH = 128  # frames analysed at once, at most
_REF_FRAMES = 5  # a tone's pitch is the median of its first steady frames
_MAX_BRIDGED = 2  # unclear frames a tone may carry on through (20 ms, the width of a switch between tones)
# Durations run between the half-power points, so a beep's ramps shorten it by about 1.3 x their length:
# a 100 ms beep with ramps of up to 10 ms measures at least 87 ms, an 80 ms blip at most 79 ms.
_MIN_BEEP_S = 0.082
_MAX_BEEP_S = 1.6  # 1.5 s plus measuring slack: anything longer is a call-progress or fax tone
_STABILITY = 0.01  # spread of a tone's pitch over its middle 80 % (an oscillator drifts far less; noise jitters it)
_FLAT_DB = 1.5  # spread of a tone's level over its middle 80 % (a piano's note decays faster than this)
_PAIR_TOLERANCE = 0.02  # DTMF receivers accept 1.5 % off; call-progress tones are as loose
_HARMONIC_RATIOS = (1.5, 2.0, 3.0, 4.0)
_NOISE_BLOCK = 10  # frames per block of the background-noise tracker ...
_NOISE_BLOCKS = 15  # ... which remembers the quietest moment of the last 1.5 s
# Tone pairs that are never a voicemail beep: every DTMF key and the dial, ringback and busy tones.
_NOT_BEEP_PAIRS = tuple((r, c) for r in ROWS for c in COLUMNS) + ((350.0, 440.0), (440.0, 480.0), (480.0, 620.0))
# ITU-T Q.35 Special Information Tone ("the number you have dialled is not in service"): three rising tones.
_SIT = ((913.8, 985.2), (1370.6, 1428.5), (1776.7,))


@dataclass(frozen=True)
class Beep:
    """A beep heard in the stream; times in seconds from the stream's first sample."""

    start_s: float
    end_s: float
    frequency_hz: float  # the dominant tone; for a multi-tone beep, that of the last tone
    level_dbfs: float  # that tone's sine peak relative to full scale
    reported_s: float  # stream time of the last sample the detector needed to decide

    @property
    def duration_s(self) -> float:
        """How long the beep sounded."""
        return self.end_s - self.start_s


@dataclass(frozen=True)
class LongTone:
    """A steady tone that has gone on too long to be a beep (dial, busy or fax tone), reported once."""

    start_s: float
    frequency_hz: float
    level_dbfs: float
    reported_s: float


@dataclass
class _Frame:
    """One analysed frame."""

    key: float  # the pitch that names the frame: its peak, or a chord's lower tone
    level: float  # dBFS of its tone(s)
    purity: float
    total: float  # energy of the frame
    dominant: float  # frequency of the strongest peak
    partner: float  # a chord's other tone, or 0.0
    power: npt.NDArray[np.float64]
    steady: bool = True  # False for a loud but unclear frame bridged over (where two tones meet)
    drift: bool = False  # bridged over although clean, its pitch a little off the tone's

    @property
    def residual(self) -> float:
        """Energy outside the tone(s)."""
        return self.total * (1.0 - self.purity)


@dataclass
class _Run:
    """Consecutive clean frames, split into tones where the pitch jumps."""

    first: int  # index of the first frame
    before: list[npt.NDArray[np.float64]]  # spectra of the frames just before it, to time the onset
    glide: bool  # it began where another run glided away from a steady pitch, as a voice does
    noise: float  # background noise energy per frame before it began
    frames: list[_Frame] = field(default_factory=list)
    tone_starts: list[int] = field(default_factory=lambda: [0])
    peak_db: float = -200.0  # the current tone's loudest frame
    bridged: int = 0  # unclear frames in a row just taken in
    long: bool = False
    ref: float | None = None  # the current tone's pitch, once its first frames have settled it

    def tone_ref(self) -> float:
        """The current tone's pitch, from its first steady frames (later ones may be the next tone's)."""
        if self.ref is None:
            keys = [f.key for f in self.frames[self.tone_starts[-1] :] if f.steady][:_REF_FRAMES]
            if not keys:
                return self.frames[-1].key
            if len(keys) < 3:
                return keys[0]
            if len(keys) < _REF_FRAMES:
                return statistics.median(keys)
            self.ref = statistics.median(keys)  # settled: a run can go on for seconds, so compute it once
        return self.ref

    def new_tone(self, start: int | None = None) -> None:
        """The next tone begins at frame ``start`` (default: the next frame), or the current one over again."""
        if start is not None:
            self.tone_starts.append(start)
        self.peak_db = -200.0
        self.ref = None

    def pitches(self, tones: list[tuple[int, int]]) -> list[float]:
        """The pitch of each tone, frames [a, b)."""
        return [float(np.median([f.key for f in self.frames[a:b] if f.steady])) for a, b in tones]


class BeepDetector:
    """Streaming beep detector: feed 8 kHz int16 audio in chunks of any size, get each beep when it ends."""

    def __init__(self) -> None:
        self._window = np.hanning(_N + 1)[:-1]
        # Sine peak amplitude from the energy of its bins: A² = 4·E / (N·Σw²).
        self._to_dbfs = 10 * np.log10(4 / (_N * float(np.sum(self._window**2)))) - 20 * np.log10(32767.0)
        self._lo = int(np.ceil(_BAND_HZ[0] * _N / RATE))
        self._hi = int(np.floor(_BAND_HZ[1] * _N / RATE))
        self._band = np.arange(self._hi - self._lo + 1)[None, :]
        self._around = np.arange(-1, 2)
        self._index: dict[int, npt.NDArray[np.intp]] = {}  # sample indices of each frame, by frames per chunk
        self._floor_energy = 10 ** ((_FLOOR_DBFS - self._to_dbfs) / 10)
        self._min_tone_frames = round(_MIN_TONE_S * RATE / _HOP)
        self._max_frames = int(_MAX_BEEP_S * RATE / _HOP) + 3
        self.reset()

    def reset(self) -> None:
        """Start a new stream at time 0, forgetting buffered audio and any tone in progress."""
        self._pending = np.zeros(0, dtype=np.float64)
        self._frame = 0  # index of the next frame; frame i covers samples [i·hop, i·hop + N)
        self._run: _Run | None = None
        self._recent: list[npt.NDArray[np.float64]] = []  # spectra of the last two frames
        self._glided = False  # the previous frame ended a run by gliding away from its pitch
        self._totals: deque[float] = deque(maxlen=3)
        self._block_min = np.inf
        self._block_mins: deque[float] = deque(maxlen=_NOISE_BLOCKS)

    def feed(self, samples: npt.NDArray[np.int16]) -> list[Beep]:
        """Beeps that ended in this chunk (in order); state carries over to the next chunk."""
        return [event for event in self.feed_events(samples) if isinstance(event, Beep)]

    def feed_events(self, samples: npt.NDArray[np.int16]) -> list[Beep | LongTone]:
        """Like ``feed``, plus a ``LongTone`` when a steady tone passes 1.6 s."""
        _check(samples)
        data = np.concatenate([self._pending, samples.astype(np.float64)])
        count = 0 if data.size < _N else 1 + (data.size - _N) // _HOP
        self._pending = data[count * _HOP :]
        events: list[Beep | LongTone] = []
        for first in range(0, count, _BATCH):  # a long recording fed at once still needs little memory
            events += self._frames(data[first * _HOP :], min(_BATCH, count - first))
        return events

    def flush(self) -> list[Beep]:
        """The stream has ended: report a beep still sounding (its end is the last sample), then reset."""
        beeps = self.feed(np.zeros(_N, dtype=np.int16))
        self.reset()
        return beeps

    def _frames(self, data: npt.NDArray[np.float64], count: int) -> list[Beep | LongTone]:
        """The next ``count`` frames, starting at the start of ``data``."""
        index = self._index.get(count)
        if index is None:
            index = self._index[count] = np.arange(0, count * _HOP, _HOP)[:, None] + np.arange(_N)
        spectra = np.fft.rfft(data[index] * self._window, axis=1)
        power = spectra.real**2 + spectra.imag**2
        total = power[:, 2:].sum(axis=1) + 1e-9  # below 60 Hz is hum and DC, not sound
        lo, hi = self._lo, self._hi + 1
        zone = power[:, lo - 1 : hi - 1] + power[:, lo:hi] + power[:, lo + 1 : hi + 1]  # energy of each bin ±1
        if self._run is None:
            # Most audio is speech, noise or silence: when no frame could be clean, only the noise tracker
            # and the onset memory need it, which saves three quarters of the work.
            best = zone.max(axis=1)  # at least the energy around the strongest bin, and more than a chord's tone
            if not np.any((2 * best >= _PURITY_START * total) & (2 * best >= self._floor_energy)):
                for energy, row in zip(total.tolist(), power, strict=True):
                    self._quiet(energy, row)
                return []
        events: list[Beep | LongTone] = []
        for frame in self._analyse(power, total, zone):
            event = self._step(frame)
            if event is not None:
                events.append(event)
        return events

    def _analyse(
        self, power: npt.NDArray[np.float64], total: npt.NDArray[np.float64], zone: npt.NDArray[np.float64]
    ) -> list[_Frame]:
        """Each frame's tone(s), level and purity; vectorised over the chunk with as few numpy calls as can be."""
        lo = self._lo
        rows = np.arange(power.shape[0])
        band = power[:, lo : lo + zone.shape[1]]
        j1 = band.argmax(axis=1)
        j2 = np.where(np.abs(self._band - j1[:, None]) <= 2, 0.0, band).argmax(axis=1)
        e1, e2 = zone[rows, j1], zone[rows, j2]
        k = np.stack([j1, j2], axis=1) + lo
        around = power[rows[:, None, None], k[..., None] + self._around]  # (frames, 2 peaks, 3 bins)
        # A peak's frequency to a fraction of a bin: a parabola through the log power of its three bins.
        log = np.log(around + 1e-9)
        curvature = log[..., 0] - 2 * log[..., 1] + log[..., 2]
        offset = np.where(curvature < 0, 0.5 * (log[..., 0] - log[..., 2]) / np.minimum(curvature, -1e-9), 0.0)
        hz = (k + np.clip(offset, -0.5, 0.5)) * (RATE / _N)
        # A tone is a true peak: not the slope of a voice's 250 Hz pitch at the band's edge, nor the shoulder
        # of the first tone where a frame cuts it off.
        is_peak = (around[..., 1] >= around[..., 0]) & (around[..., 1] >= around[..., 2])
        chord = (e2 >= _CHORD * e1) & is_peak[:, 1]
        tone = e1 + np.where(chord, e2, 0.0)
        key = np.where(chord, hz.min(axis=1), hz[:, 0])  # the lower tone names a chord, whichever is louder
        level = 10 * np.log10(tone + 1e-9) + self._to_dbfs
        purity = np.where(is_peak[:, 0], tone / total, 0.0)
        partner = np.where(chord, hz[:, 1], 0.0)
        columns = zip(
            key.tolist(),
            level.tolist(),
            purity.tolist(),
            total.tolist(),
            hz[:, 0].tolist(),
            partner.tolist(),
            power,
            strict=True,
        )
        return [_Frame(k, lv, p, t, d, pa, row) for k, lv, p, t, d, pa, row in columns]

    def _step(self, frame: _Frame) -> Beep | LongTone | None:
        clean = frame.level >= _FLOOR_DBFS and frame.purity >= _PURITY_START
        event = None if self._run is None else self._continue(self._run, frame, clean)
        if self._run is None and clean:
            self._run = _Run(self._frame, list(self._recent), self._glided, self._noise())
            self._append(self._run, frame)
        if self._run is None:
            self._quiet(frame.total, frame.power)
        else:
            self._glided = False
            self._recent = [*self._recent[-1:], frame.power]
            self._frame += 1
        return event

    def _quiet(self, total: float, power: npt.NDArray[np.float64]) -> None:
        """A frame outside any tone: it tells the background noise, and may precede a tone's onset."""
        self._track_noise(total)
        self._glided = False
        self._recent = [*self._recent[-1:], power]
        self._frame += 1

    def _continue(self, run: _Run, frame: _Frame, clean: bool) -> Beep | LongTone | None:
        """Take the frame into the run, or end the run (and say whether it was a beep)."""
        ref = run.tone_ref()
        same = abs(frame.key - ref) <= _SAME_TONE * ref
        if same and frame.purity >= _PURITY_KEEP and frame.level >= max(_FLOOR_DBFS, run.peak_db - _DROP_DB):
            return self._append(run, frame)
        # Where two tones meet, a frame holds both, cut off: judge it by all of its energy.
        if 10 * math.log10(frame.total) + self._to_dbfs < run.peak_db - _DROP_DB:
            self._run = None  # the tone stopped, and silence or quieter sound follows it
            return self._finish(run, frame.power)
        tone = run.frames[run.tone_starts[-1] :]
        steady = sum(f.steady for f in tone)
        if clean and not same:
            if steady >= self._min_tone_frames:
                if abs(frame.key - ref) >= _NEXT_TONE * ref:  # the next tone of a multi-tone beep
                    run.new_tone(len(run.frames))
                    return self._append(run, frame)
                if run.bridged < _MAX_BRIDGED:  # perhaps a frame where one tone meets the next
                    frame.drift = True
                    return self._bridge(run, frame)
                self._run, self._glided = None, True  # the pitch glides on: a voice, not an oscillator
                return None
            if steady <= _MAX_BRIDGED and len(run.tone_starts) > 1:
                # The next tone's first frames still held some of the last one: they were the switch.
                for f in tone:
                    f.steady = False
                run.new_tone()
                return self._append(run, frame)
            self._run = None  # a clean blip after the tone(s): judge what came before it
            return self._finish(run, frame.power)
        if run.bridged < _MAX_BRIDGED:  # loud but unclear: where one tone meets the next?
            return self._bridge(run, frame)
        self._run = None  # the tone stopped: speech or noise follows it
        return self._finish(run, frame.power)

    def _bridge(self, run: _Run, frame: _Frame) -> LongTone | None:
        """Take in an unclear frame without letting it count as part of a tone; wait and see what follows."""
        frame.steady = False
        run.bridged += 1
        return self._append(run, frame)

    def _track_noise(self, total: float) -> None:
        """Minimum statistics: the background is the quietest 30 ms of the last 1.5 s outside any tone."""
        self._totals.append(total)
        self._block_min = min(self._block_min, sum(self._totals) / len(self._totals))
        if self._frame % _NOISE_BLOCK == 0:
            self._block_mins.append(self._block_min)
            self._block_min = np.inf

    def _noise(self) -> float:
        """The background noise energy per frame; 0 until 1.5 s have been heard (a call may open with speech)."""
        return min(self._block_mins) if len(self._block_mins) == _NOISE_BLOCKS else 0.0

    def _append(self, run: _Run, frame: _Frame) -> LongTone | None:
        if frame.steady:
            run.peak_db = max(run.peak_db, frame.level)
            run.bridged = 0
        if run.long:
            return None
        run.frames.append(frame)
        if len(run.frames) < self._max_frames:
            return None
        run.long = True
        if len(run.tone_starts) > 1:
            return None
        return LongTone(
            start_s=(run.first * _HOP + _N / 2 - _HOP / 2) / RATE,
            frequency_hz=round(float(np.median([f.dominant for f in run.frames])), 1),
            level_dbfs=round(float(np.median([f.level for f in run.frames])), 1),
            reported_s=((self._frame * _HOP) + _N) / RATE,
        )

    def _finish(self, run: _Run, ending: npt.NDArray[np.float64]) -> Beep | None:
        """The run is over (``ending`` is the frame that ended it): a Beep if it has all of a beep's traits."""
        if run.long or run.glide:
            return None
        tones = list(zip(run.tone_starts, [*run.tone_starts[1:], len(run.frames)], strict=True))
        if tones[-1][1] - tones[-1][0] < self._min_tone_frames:
            tones.pop()  # a trailing blip (the first sound after the beep) is no tone of it
        if tones and _ends_drifting(run.frames[tones[-1][0] : tones[-1][1]]):
            return None  # a beep stops; a voice's pitch slides away before it does
        if not 0 < len(tones) <= _MAX_TONES or not all(self._is_beep_tone(run, a, b) for a, b in tones):
            return None
        if _is_sit(run.pitches(tones)):
            return None
        (a0, b0), (a1, b1) = tones[0], tones[-1]
        onset = self._onset(run, a0, b0)
        offset = self._offset(run, a1, b1, ending)
        if onset is None or offset is None or not _MIN_BEEP_S <= offset - onset <= _MAX_BEEP_S:
            return None
        inner = [f for f in run.frames[a1 + 1 : b1 - 1] if f.steady]
        return Beep(
            start_s=round(onset, 4),
            end_s=round(offset, 4),
            frequency_hz=round(float(np.median([f.dominant for f in inner])), 1),
            level_dbfs=round(float(np.median([f.level for f in inner])), 1),
            reported_s=((self._frame * _HOP) + _N) / RATE,
        )

    def _is_beep_tone(self, run: _Run, a: int, b: int) -> bool:
        """One tone of the run, frames [a, b): long, pure, steady in pitch and level, not a known tone pair."""
        if b - a < self._min_tone_frames:
            return False
        inner = [f for f in run.frames[a + 1 : b - 1] if f.steady]  # the first and last straddle its edges
        if len(inner) < self._min_tone_frames - 2:
            return False
        # The middle 80 % of frames: a tone's first frames may still hold some of the previous tone.
        keys_lo, keys_hi = np.percentile([f.key for f in inner], [10, 90])
        levels_lo, levels_hi = np.percentile([f.level for f in inner], [10, 90])
        if keys_hi - keys_lo > _STABILITY * keys_lo or levels_hi - levels_lo > _FLAT_DB:
            return False
        purity = float(np.median([f.purity for f in inner]))
        residual = float(np.median([f.residual for f in inner]))
        chord = [(f.key, max(f.partner, f.dominant)) for f in inner if f.partner > 0]
        if len(chord) * 2 < len(inner):
            return purity >= _PURE or (purity >= _NOISY and residual <= _NOISE_MARGIN * run.noise)
        lo, hi = (float(np.median(side)) for side in zip(*chord, strict=True))
        if any(abs(lo - x) <= _PAIR_TOLERANCE * x and abs(hi - y) <= _PAIR_TOLERANCE * y for x, y in _NOT_BEEP_PAIRS):
            return False
        if any(abs(hi / lo - ratio) <= 0.015 * ratio for ratio in _HARMONIC_RATIOS):
            return purity >= _PURE
        return purity >= _PURE or (purity >= _NOISY and residual <= _NOISE_MARGIN * run.noise)

    def _tone_bins(self, run: _Run, a: int, b: int) -> npt.NDArray[np.intp]:
        """FFT bins holding the tone of frames [a, b) (both tones of a chord)."""
        frames = run.frames[a:b]
        freqs = [float(np.median([f.key for f in frames]))]
        partners = [max(f.partner, f.dominant) for f in frames if f.partner > 0]
        if len(partners) * 2 >= len(frames):
            freqs.append(float(np.median(partners)))
        centres = [round(f * _N / RATE) for f in freqs]
        return np.unique(np.concatenate([np.arange(c - _ZONE, c + _ZONE + 1) for c in centres]))

    def _onset(self, run: _Run, a: int, b: int) -> float | None:
        """Start time: where the tone's energy crosses half its steady value (a Hann frame centred on the edge).

        None if it never does: the pitch was already sounding, so this is no tone starting on its own.
        """
        bins = self._tone_bins(run, a, b)
        energy = [float(np.sum(p[bins])) for p in [*run.before, *(f.power for f in run.frames[a:b])]]
        inside = len(run.before)
        half = 0.5 * float(np.median(energy[inside + 1 : len(energy) - 1]))
        first = run.first - inside
        for j in range(inside + (b - a) // 2, 0, -1):
            if energy[j - 1] < half <= energy[j]:
                return self._crossing(first + j - 1, energy[j - 1], energy[j], half)
        return None

    def _offset(self, run: _Run, a: int, b: int, ending: npt.NDArray[np.float64]) -> float | None:
        """End time: where the last tone's energy falls through half its steady value; None if it never does."""
        bins = self._tone_bins(run, a, b)
        energy = [float(np.sum(p[bins])) for p in [*(f.power for f in run.frames[a:]), ending]]
        half = 0.5 * float(np.median(energy[1 : b - a - 1]))
        first = run.first + a
        for j in range(max(1, (b - a) // 2), len(energy)):
            if energy[j - 1] >= half > energy[j]:
                return self._crossing(first + j - 1, energy[j - 1], energy[j], half)
        return None

    @staticmethod
    def _crossing(frame: int, e0: float, e1: float, level: float) -> float:
        """Time (s) between the centres of ``frame`` and the next one where the energy passes ``level``."""
        fraction = (level - e0) / (e1 - e0) if e1 != e0 else 0.5
        return (frame * _HOP + _N / 2 + fraction * _HOP) / RATE


def _ends_drifting(frames: list[_Frame]) -> bool:
    last_steady = max((i for i, f in enumerate(frames) if f.steady), default=-1)
    return any(f.drift for f in frames[last_steady + 1 :])


def _is_sit(pitches: list[float]) -> bool:
    return len(pitches) == len(_SIT) and all(
        any(abs(p - f) <= _PAIR_TOLERANCE * f for f in options) for p, options in zip(pitches, _SIT, strict=True)
    )


def _check(samples: npt.NDArray[np.int16]) -> None:
    if not isinstance(samples, np.ndarray):
        raise ValueError(f"expected a numpy array of int16 samples, got {type(samples).__name__}")
    if samples.dtype != np.int16:
        raise ValueError(
            f"expected int16 samples (8 kHz 16-bit PCM), got dtype {samples.dtype}; "
            "convert first, e.g. np.clip(np.round(x), -32768, 32767).astype(np.int16)"
        )
    if samples.ndim != 1:
        raise ValueError(f"expected mono audio as a 1-D array, got shape {samples.shape}; pass one channel")
