"""In-band DTMF: tone generation and a streaming detector (Goertzel single-bin DFTs over 8 kHz int16 audio).

The detector follows the spirit of ITU-T Q.24: both a row and a column tone must be present, each standing
clearly above the other tones of its group, with limited twist between them; together they must carry most
of the block's energy (speech spreads its energy over many frequencies, a key press does not); the pair
must last about 40 ms, and a pause must separate one key from the next.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

KEYS = ("123A", "456B", "789C", "*0#D")
ROWS = (697.0, 770.0, 852.0, 941.0)
COLUMNS = (1209.0, 1336.0, 1477.0, 1633.0)
_DIGITS = "".join(KEYS)

_BLOCK_S = 102 / 8000  # 12.75 ms: resolves neighbouring DTMF tones and reacts fast
_MIN_TONE_S = 0.030  # hits must span this long: 4 half-overlapping blocks, which every 40 ms key holds
_MIN_GAP_S = 0.025  # a key ends after this much audio without it
_MIN_LEVEL_DBFS = -36.0  # per tone; Q.24 receivers accept down to about -25 dBm0 (≈ -28 dBFS)
_NORMAL_TWIST = 10 ** (8 / 10)  # row tone may be up to 8 dB above the column tone
_REVERSE_TWIST = 10 ** (4 / 10)  # column tone may be up to 4 dB above the row tone
_RELATIVE_PEAK = 10 ** (8 / 10)  # the strongest tone of a group beats the others in it by 8 dB
_MIN_TONE_SHARE = 0.7  # share of the block's energy the two tones must carry
_RAMP_S = 0.002  # tone on/off ramps keep the spectrum clean at the edges


def dtmf_tones(
    digits: str, *, rate: int = 8000, tone_ms: int = 100, gap_ms: int = 60, level_dbfs: float = -10.0
) -> npt.NDArray[np.int16]:
    """Each digit as a tone pair (each tone at ``level_dbfs``, sine peak re full scale) followed by a pause."""
    tone_len, gap_len = rate * tone_ms // 1000, rate * gap_ms // 1000
    if tone_len <= 0 or gap_len < 0:
        raise ValueError(f"tone_ms must be positive and gap_ms not negative (got {tone_ms}, {gap_ms})")
    amplitude = 32767.0 * 10 ** (level_dbfs / 20)
    t = np.arange(tone_len) / rate
    ramp_len = min(int(rate * _RAMP_S), tone_len // 2)
    envelope = np.ones(tone_len)
    if ramp_len:
        rise = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp_len) / ramp_len)
        envelope[:ramp_len], envelope[-ramp_len:] = rise, rise[::-1]
    pieces = []
    for digit in digits:
        row, col = _frequencies(digit)
        pair = amplitude * envelope * (np.sin(2 * np.pi * row * t) + np.sin(2 * np.pi * col * t))
        pieces += [pair, np.zeros(gap_len)]
    if not pieces:
        return np.zeros(0, dtype=np.int16)
    return np.clip(np.round(np.concatenate(pieces)), -32768, 32767).astype(np.int16)


def dtmf_frames(digits: str, *, frame_samples: int = 160, tone_ms: int = 100) -> list[npt.NDArray[np.int16]]:
    """``dtmf_tones`` cut into frames of ``frame_samples`` (a line's 20 ms), the last padded with silence."""
    pcm = dtmf_tones(digits, tone_ms=tone_ms)
    pcm = np.concatenate([pcm, np.zeros(-pcm.size % frame_samples, dtype=np.int16)])
    return [pcm[i : i + frame_samples] for i in range(0, pcm.size, frame_samples)]


def _frequencies(digit: str) -> tuple[float, float]:
    index = _DIGITS.find(digit.upper()) if len(digit) == 1 else -1
    if index < 0:
        raise ValueError(f"not a DTMF key: {digit!r}; use one of 0-9, *, #, A-D")
    return ROWS[index // 4], COLUMNS[index % 4]


class DtmfDetector:
    """Streaming DTMF detector: feed audio in chunks of any size, get each key once when it is recognised."""

    def __init__(self, rate: int = 8000) -> None:
        if rate < 4000:
            raise ValueError(f"DTMF needs at least 4 kHz sampling to carry 1633 Hz, got {rate}")
        self.rate = rate
        self._block = round(rate * _BLOCK_S)
        self._hop = self._block // 2  # half-overlapping blocks: finer timing at the same frequency resolution
        self._hits_to_begin = 1 + int(np.ceil((rate * _MIN_TONE_S - self._block) / self._hop))
        self._misses_to_end = int(np.ceil(rate * _MIN_GAP_S / self._hop))
        angles = 2 * np.pi * np.outer(np.arange(self._block), ROWS + COLUMNS) / rate
        self._basis = np.concatenate([np.cos(angles), np.sin(angles)], axis=1)  # (block, 16)
        self._min_power = (10 ** (_MIN_LEVEL_DBFS / 20) * 32768 * self._block / 2) ** 2
        self._pending = np.zeros(0, dtype=np.float64)
        self._current: str | None = None  # the key being held down
        self._candidate: str | None = None
        self._hits = 0
        self._misses = 0

    def process(self, pcm: npt.NDArray[np.int16]) -> list[str]:
        """Digits recognised in this chunk (in order); state carries over to the next chunk."""
        samples = np.concatenate([self._pending, np.asarray(pcm, dtype=np.float64).ravel()])
        count = 0 if samples.size < self._block else 1 + (samples.size - self._block) // self._hop
        self._pending = samples[count * self._hop :]
        if count == 0:
            return []
        frames = np.lib.stride_tricks.sliding_window_view(samples, self._block)[:: self._hop][:count]
        digits = []
        for key in self._classify(frames):
            digit = self._step(key)
            if digit is not None:
                digits.append(digit)
        return digits

    def reset(self) -> None:
        """Forget buffered audio and any key in progress (e.g. after the line was cleared)."""
        self._pending = np.zeros(0, dtype=np.float64)
        self._current, self._candidate, self._hits, self._misses = None, None, 0, 0

    def _classify(self, frames: npt.NDArray[np.float64]) -> list[str | None]:
        """The key each block carries, or None; all checks vectorised over the blocks."""
        frames = frames - frames.mean(axis=1, keepdims=True)  # DC offset would count as energy, not tone
        projections = frames @ self._basis
        power = projections[:, :8] ** 2 + projections[:, 8:] ** 2  # |DFT|² at each tone, as Goertzel gives
        energy = np.einsum("ij,ij->i", frames, frames)
        rows, cols = power[:, :4], power[:, 4:]
        r, c = np.argmax(rows, axis=1), np.argmax(cols, axis=1)
        row, col = rows.max(axis=1), cols.max(axis=1)
        ok = (row >= self._min_power) & (col >= self._min_power)
        ok &= (row <= col * _NORMAL_TWIST) & (col <= row * _REVERSE_TWIST)
        # The strongest tone of each group must be the only one within the relative-peak margin.
        ok &= np.sum(rows * _RELATIVE_PEAK > row[:, None], axis=1) == 1
        ok &= np.sum(cols * _RELATIVE_PEAK > col[:, None], axis=1) == 1
        # A pure tone of amplitude A gives |DFT|² = (A·N/2)² and energy N·A²/2, so the share is 2·|DFT|²/(N·E).
        ok &= 2 * (row + col) >= _MIN_TONE_SHARE * self._block * energy
        return [KEYS[i][j] if hit else None for i, j, hit in zip(r.tolist(), c.tolist(), ok.tolist(), strict=True)]

    def _step(self, key: str | None) -> str | None:
        if self._current is not None:
            self._misses = 0 if key == self._current else self._misses + 1
            if self._misses < self._misses_to_end:
                return None
            self._current, self._candidate, self._hits = None, None, 0
            return None
        if key is None or key != self._candidate:
            self._candidate, self._hits = key, int(key is not None)
        else:
            self._hits += 1
        if self._candidate is not None and self._hits >= self._hits_to_begin:
            self._current, self._misses = self._candidate, 0
            return self._current
        return None
