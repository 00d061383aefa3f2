"""Non-speech sounds a prospect makes: a cough, a door slam, breathing (synthesized, 8 kHz int16)."""

from __future__ import annotations

import numpy as np

RATE = 8000


def _burst(
    duration_s: float, attack_s: float, decay_s: float, seed: int, low_hz: float, high_hz: float, level: float
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(duration_s * RATE)
    noise = rng.standard_normal(n)
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0
    shaped = np.fft.irfft(spectrum, n)
    t = np.arange(n) / RATE
    envelope = np.minimum(t / attack_s, 1.0) * np.exp(-np.maximum(t - attack_s, 0) / decay_s)
    out = shaped / (np.max(np.abs(shaped)) + 1e-9) * envelope * level * 32767
    return np.asarray(out, dtype=np.int16)


def cough() -> np.ndarray:
    """A short, broadband cough (~250 ms)."""
    return _burst(0.28, 0.02, 0.07, seed=7, low_hz=200, high_hz=3000, level=0.6)


def door() -> np.ndarray:
    """A door slam: a sharp low thump with a fast decay."""
    return _burst(0.35, 0.003, 0.05, seed=11, low_hz=40, high_hz=900, level=0.9)


def breath() -> np.ndarray:
    """A soft exhale."""
    return _burst(0.5, 0.15, 0.2, seed=13, low_hz=500, high_hz=3500, level=0.08)


SOUNDS = {"cough": cough, "door": door, "breath": breath}
