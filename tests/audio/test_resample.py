import numpy as np

from talktrack.audio.resample import StreamResampler, resample


def _tone(rate: int, hz: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * hz * t) * 12000).astype(np.int16)


def _peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[int(np.argmax(spectrum))])


def test_resample_keeps_length_ratio_dtype_and_pitch():
    tone = _tone(22050, 440)
    out = resample(tone, 22050, 8000)
    assert out.dtype == np.int16
    assert abs(out.size - 8000) <= 1
    assert abs(_peak_hz(out, 8000) - 440) < 2


def test_resample_removes_content_above_the_new_nyquist():
    tone = _tone(16000, 6000)  # above 4 kHz: must not alias into the 8 kHz band
    out = resample(tone, 16000, 8000)
    assert np.sqrt(np.mean(out.astype(np.float64) ** 2)) < 300


def test_float_input_gives_float32_and_same_rate_is_identity():
    x = np.linspace(-0.5, 0.5, 800, dtype=np.float64)
    assert resample(x, 8000, 16000).dtype == np.float32
    same = _tone(8000, 300)
    assert resample(same, 8000, 8000) is same


def test_stream_resampler_matches_one_shot_length():
    tone = _tone(8000, 300)
    stream = StreamResampler(8000, 16000)
    parts = [stream.process(tone[i : i + 160]) for i in range(0, tone.size, 160)]
    parts.append(stream.process(np.zeros(0, dtype=np.int16), last=True))
    joined = np.concatenate(parts)
    assert abs(joined.size - 16000) <= 2
    assert abs(_peak_hz(joined, 16000) - 300) < 2
