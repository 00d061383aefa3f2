import wave

import numpy as np

from talktrack.calls.recorder import CallRecorder


def test_stereo_wav_places_each_side_by_time(tmp_path):
    rec = CallRecorder(t0=100.0)
    rec.prospect(np.full(160, 1000, dtype=np.int16), 100.0)
    rec.agent(np.full(160, -2000, dtype=np.int16), 100.5)
    # A frame stamped earlier than the previous one's end never overwrites it.
    rec.agent(np.full(160, -3000, dtype=np.int16), 100.5)
    path = rec.write_wav(tmp_path / "call.wav")
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, 8000, 2)
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, 2)
    assert data[0:160, 0].tolist() == [1000] * 160
    assert data[4000:4160, 1].tolist() == [-2000] * 160
    assert data[4160:4320, 1].tolist() == [-3000] * 160
    assert not data[200:4000, 1].any()
