"""Signal levels and an energy gate for telling speech from line silence."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# Below this a G.711 frame is line noise; Piper, espeak and real speech all sit far above it.
AUDIBLE_DBFS = -45.0


def rms_dbfs(samples: npt.NDArray[np.int16]) -> float:
    """RMS level of int16 samples in dB relative to full scale (-120 for digital silence)."""
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(samples.astype(np.float64)))))
    return -120.0 if rms < 1e-3 else 20.0 * float(np.log10(rms / 32768.0))


def is_audible(samples: npt.NDArray[np.int16], threshold_dbfs: float = AUDIBLE_DBFS) -> bool:
    """True when a frame carries sound a listener would hear."""
    return rms_dbfs(samples) > threshold_dbfs


def speech_bounds(
    samples: npt.NDArray[np.int16], rate: int, threshold_dbfs: float = AUDIBLE_DBFS, frame_ms: int = 10
) -> tuple[int, int] | None:
    """First and one-past-last sample of audible content, to 10 ms resolution; None if silent."""
    step = rate * frame_ms // 1000
    n = samples.size // step
    if n == 0:
        return None
    frames = samples[: n * step].astype(np.float64).reshape(n, step)
    rms = np.sqrt(np.mean(np.square(frames), axis=1))
    loud = np.nonzero(rms > 32768.0 * 10 ** (threshold_dbfs / 20.0))[0]
    if loud.size == 0:
        return None
    return int(loud[0] * step), int((loud[-1] + 1) * step)
