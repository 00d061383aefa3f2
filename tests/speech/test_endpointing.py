import numpy as np

from talktrack.speech.endpointing import Endpointer, EndpointSettings, EventKind

RATE = 8000


def energy_confidence(window: bytes) -> float:
    """A stand-in for Silero: loud windows are speech."""
    x = np.frombuffer(window, dtype=np.int16).astype(np.float64)
    return 1.0 if np.sqrt(np.mean(x**2)) > 1000 else 0.0


def speech(seconds: float) -> np.ndarray:
    return np.full(int(RATE * seconds), 3000, dtype=np.int16)


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(RATE * seconds), dtype=np.int16)


def feed(ep: Endpointer, audio: np.ndarray) -> list:
    events = []
    for i in range(0, audio.size, 160):
        events += ep.feed(audio[i : i + 160])
    return events


def test_onset_pause_resume_and_commit():
    ep = Endpointer(RATE, energy_confidence, EndpointSettings(start_s=0.1, stop_s=0.16, preroll_s=0.3))
    events = feed(ep, quiet(1.0))
    assert events == [] and not ep.in_utterance
    events = feed(ep, speech(0.5))
    assert [e.kind for e in events] == [EventKind.ONSET]
    # The onset is dated back to the first voiced window, within one window.
    assert abs(events[0].mark - RATE * 1.0) <= ep.window
    events = feed(ep, quiet(0.3))
    assert [e.kind for e in events] == [EventKind.PAUSE]
    pause = events[0]
    assert abs(pause.mark - RATE * 1.5) <= ep.window  # the last voiced sample
    assert pause.at - pause.mark >= int(0.16 * RATE) - ep.window
    events = feed(ep, speech(0.3))
    assert [e.kind for e in events] == [EventKind.RESUME]
    utterance = ep.utterance()
    # Pre-roll + speech + pause + speech, all kept for STT.
    assert utterance.size >= int(RATE * (0.3 + 0.5 + 0.3 + 0.3)) - 2 * ep.window
    ep.commit()
    assert not ep.in_utterance
    assert ep.utterance().size <= int(RATE * 0.3) + 4 * ep.window


def test_short_noise_does_not_start_an_utterance():
    ep = Endpointer(RATE, energy_confidence, EndpointSettings(start_s=0.1))
    events = feed(ep, np.concatenate([quiet(0.2), speech(0.05), quiet(0.5)]))
    assert events == []


def test_sixteen_khz_uses_512_sample_windows():
    ep = Endpointer(16000, energy_confidence)
    assert ep.window == 512


def test_prepend_stitches_a_continued_turn_back_together():
    ep = Endpointer(RATE, energy_confidence, EndpointSettings(preroll_s=0.1))
    feed(ep, speech(0.5))
    feed(ep, quiet(0.3))
    first, first_start = ep.utterance(), ep.utterance_start
    ep.commit()
    feed(ep, quiet(0.1))
    feed(ep, speech(0.4))  # the prospect goes on
    ep.prepend(first, first_start)
    whole = ep.utterance()
    assert ep.utterance_start == first_start
    # Nothing is doubled and nothing is lost: the stitched audio spans the whole stream since the start.
    assert whole.size == ep.position - first_start
    loud = np.abs(whole.astype(np.int32)) > 1000
    assert loud.sum() >= int(RATE * 0.5) + int(RATE * 0.4) - 2 * ep.window
