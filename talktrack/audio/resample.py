"""Sample-rate conversion (soxr, high quality)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soxr


def resample(samples: npt.NDArray[np.generic], src_rate: int, dst_rate: int) -> npt.NDArray[np.generic]:
    """Resample mono audio; int16 in gives int16 out, float in gives float32 out."""
    if src_rate == dst_rate or samples.size == 0:
        return samples
    if samples.dtype == np.int16:
        scaled = soxr.resample(samples.astype(np.float32) / 32768.0, src_rate, dst_rate, quality="HQ")
        as_int: npt.NDArray[np.int16] = np.clip(np.round(scaled * 32768.0), -32768, 32767).astype(np.int16)
        return as_int
    as_float: npt.NDArray[np.float32] = np.asarray(
        soxr.resample(samples.astype(np.float32), src_rate, dst_rate, quality="HQ"), dtype=np.float32
    )
    return as_float


def float_at(pcm: npt.NDArray[np.int16], src_rate: int, dst_rate: int) -> npt.NDArray[np.float32]:
    """int16 samples → float32 in [-1, 1) at ``dst_rate`` (what the speech models take)."""
    return np.asarray(resample(pcm.astype(np.float32) / 32768.0, src_rate, dst_rate), dtype=np.float32)


class StreamResampler:
    """Resampler for a continuous stream of int16 chunks (keeps filter state between chunks)."""

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        self._rs = (
            None if src_rate == dst_rate else soxr.ResampleStream(src_rate, dst_rate, 1, dtype="int16", quality="HQ")
        )

    def process(self, chunk: npt.NDArray[np.int16], last: bool = False) -> npt.NDArray[np.int16]:
        """Feed one chunk; returns what is ready (may be shorter than the exact ratio)."""
        if self._rs is None:
            return chunk
        return np.asarray(self._rs.resample_chunk(chunk, last=last), dtype=np.int16)
