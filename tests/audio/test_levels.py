import numpy as np

from talktrack.audio.levels import is_audible, rms_dbfs, speech_bounds


def test_rms_dbfs_of_full_scale_square_and_silence():
    assert abs(rms_dbfs(np.full(160, 32767, dtype=np.int16))) < 0.01
    assert rms_dbfs(np.zeros(160, dtype=np.int16)) == -120.0
    assert rms_dbfs(np.zeros(0, dtype=np.int16)) == -120.0


def test_is_audible_separates_speech_level_from_line_noise():
    rng = np.random.default_rng(0)
    hiss = (rng.standard_normal(160) * 30).astype(np.int16)  # about -60 dBFS
    voice = (rng.standard_normal(160) * 3000).astype(np.int16)
    assert not is_audible(hiss)
    assert is_audible(voice)


def test_speech_bounds_finds_the_audible_part_to_10ms():
    x = np.zeros(8000, dtype=np.int16)
    x[2000:5000] = 5000
    start, end = speech_bounds(x, 8000)
    assert start == 2000
    assert 5000 <= end <= 5000 + 80  # the 10 ms frame holding the last audible sample
    assert speech_bounds(np.zeros(800, dtype=np.int16), 8000) is None
