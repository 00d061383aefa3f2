import numpy as np
import pytest

from talktrack.audio.g711 import (
    ALAW_SILENCE,
    ULAW_SILENCE,
    alaw_decode,
    alaw_encode,
    ulaw_decode,
    ulaw_encode,
)

ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int16)


def test_ulaw_matches_the_reference_codec():
    audioop = pytest.importorskip("audioop")
    assert ulaw_encode(ALL_SAMPLES) == audioop.lin2ulaw(ALL_SAMPLES.tobytes(), 2)
    every_byte = bytes(range(256))
    assert ulaw_decode(every_byte).tobytes() == audioop.ulaw2lin(every_byte, 2)


def test_alaw_matches_the_reference_codec():
    audioop = pytest.importorskip("audioop")
    assert alaw_encode(ALL_SAMPLES) == audioop.lin2alaw(ALL_SAMPLES.tobytes(), 2)
    every_byte = bytes(range(256))
    assert alaw_decode(every_byte).tobytes() == audioop.alaw2lin(every_byte, 2)


@pytest.mark.parametrize(("encode", "decode"), [(ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)])
def test_round_trip_error_is_within_one_quantisation_step(encode, decode):
    tone = (np.sin(np.arange(8000) * 2 * np.pi * 440 / 8000) * 20000).astype(np.int16)
    back = decode(encode(tone)).astype(np.int32)
    err = np.abs(back - tone.astype(np.int32))
    # G.711 steps grow with amplitude: ~1/16 of the segment, at most 1024 at full scale.
    assert err.max() <= 1024
    snr = 10 * np.log10(np.sum(tone.astype(np.float64) ** 2) / np.sum(err.astype(np.float64) ** 2))
    assert snr > 30


def test_silence_bytes_decode_to_near_zero():
    assert abs(int(ulaw_decode(bytes([ULAW_SILENCE]))[0])) == 0
    assert abs(int(alaw_decode(bytes([ALAW_SILENCE]))[0])) <= 8
    assert ulaw_encode(np.zeros(4, dtype=np.int16)) == bytes([ULAW_SILENCE]) * 4
