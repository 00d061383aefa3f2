"""G.711 μ-law and A-law codecs (ITU-T G.711) over numpy arrays.

Decoding uses 256-entry tables; encoding uses 65536-entry tables indexed by the
16-bit sample, so both directions are a single vectorised lookup per frame.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_BIAS = 0x84


def _ulaw_decode_one(byte: int) -> int:
    u = ~byte & 0xFF
    t = ((u & 0x0F) << 3) + _BIAS
    t <<= (u & 0x70) >> 4
    return (_BIAS - t) if (u & 0x80) else (t - _BIAS)


def _alaw_decode_one(byte: int) -> int:
    a = byte ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if (a & 0x80) else -t


def _ulaw_encode_one(sample: int) -> int:
    # The reference algorithm (Sun's g711.c) works on 14-bit magnitudes.
    value = sample >> 2
    mask = 0xFF
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, 8159) + 0x21
    for seg, end in enumerate((0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)):
        if value <= end:
            return ((seg << 4) | ((value >> (seg + 1)) & 0x0F)) ^ mask
    return 0x7F ^ mask


def _alaw_encode_one(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    magnitude = sample if sample >= 0 else -sample - 1
    magnitude = min(magnitude, 32767) >> 3
    if magnitude < 32:
        code = sign | (magnitude >> 1)
    else:
        exponent = magnitude.bit_length() - 5
        code = sign | (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return code ^ 0x55


_ULAW_DEC = np.array([_ulaw_decode_one(b) for b in range(256)], dtype=np.int16)
_ALAW_DEC = np.array([_alaw_decode_one(b) for b in range(256)], dtype=np.int16)
_SAMPLES = range(-32768, 32768)
_ULAW_ENC = np.array([_ulaw_encode_one(s) for s in _SAMPLES], dtype=np.uint8)
_ALAW_ENC = np.array([_alaw_encode_one(s) for s in _SAMPLES], dtype=np.uint8)

ULAW_SILENCE = 0xFF
ALAW_SILENCE = 0xD5


def ulaw_decode(data: bytes) -> npt.NDArray[np.int16]:
    """μ-law bytes → int16 samples."""
    return _ULAW_DEC[np.frombuffer(data, dtype=np.uint8)]


def alaw_decode(data: bytes) -> npt.NDArray[np.int16]:
    """A-law bytes → int16 samples."""
    return _ALAW_DEC[np.frombuffer(data, dtype=np.uint8)]


def ulaw_encode(samples: npt.NDArray[np.int16]) -> bytes:
    """int16 samples → μ-law bytes."""
    return bytes(_ULAW_ENC[samples.astype(np.int32) + 32768])


def alaw_encode(samples: npt.NDArray[np.int16]) -> bytes:
    """int16 samples → A-law bytes."""
    return bytes(_ALAW_ENC[samples.astype(np.int32) + 32768])
