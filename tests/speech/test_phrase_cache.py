"""Phrase audio cache: hits, misses, persistence, eviction and warming."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from talktrack.errors import ConfigError, MediaError
from talktrack.speech.phrase_cache import PhraseCache

RATE = 8000


def _tone(text: str) -> npt.NDArray[np.int16]:
    """Distinct, deterministic stand-in audio for a phrase."""
    n = 400 + 40 * len(text)
    freq = 200 + 10 * (sum(map(ord, text)) % 50)
    return (8000 * np.sin(2 * np.pi * freq * np.arange(n) / RATE)).astype(np.int16)


class CountingSynth:
    """Fake synthesizer that records which phrases it was asked for."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, text: str) -> npt.NDArray[np.int16]:
        with self._lock:
            self.calls.append(text)
        return _tone(text)


def test_miss_then_hit_in_memory() -> None:
    cache = PhraseCache(None, voice_id="piper:x", rate=RATE)
    assert cache.get("Got it.") is None
    cache.put("Got it.", _tone("Got it."))
    got = cache.get("Got it.")
    assert got is not None and got.dtype == np.int16
    np.testing.assert_array_equal(got, _tone("Got it."))
    assert (cache.hits, cache.misses) == (1, 1)
    assert "Got it." in cache and "Other." not in cache
    assert len(cache) == 1


def test_key_folds_case_and_whitespace_but_not_voice_or_rate() -> None:
    cache = PhraseCache(None, voice_id="piper:x", rate=RATE)
    cache.put("Great question.", _tone("a"))
    assert cache.get("  great   QUESTION. ") is not None
    assert cache.key("Great question.") != PhraseCache(None, voice_id="piper:y", rate=RATE).key("Great question.")
    assert cache.key("Great question.") != PhraseCache(None, voice_id="piper:x", rate=16000).key("Great question.")


def test_cached_audio_cannot_be_mutated_by_callers() -> None:
    cache = PhraseCache(None, voice_id="v", rate=RATE)
    source = _tone("Sure.")
    cache.put("Sure.", source)
    source[:] = 0  # the caller reusing its buffer must not corrupt the cache
    got = cache.get("Sure.")
    assert got is not None and np.abs(got).max() > 0
    with pytest.raises(ValueError):
        got[0] = 1


def test_persists_across_instances(tmp_path: Path) -> None:
    first = PhraseCache(tmp_path, voice_id="piper:x", rate=RATE)
    first.put("Thanks for calling.", _tone("Thanks for calling."))
    wavs = list(tmp_path.glob("*.wav"))
    assert len(wavs) == 1 and len(wavs[0].stem) == 40  # sha1 hex
    assert not list(tmp_path.glob("*.tmp"))

    second = PhraseCache(tmp_path, voice_id="piper:x", rate=RATE)
    assert len(second) == 0  # loaded lazily
    assert "thanks for calling." in second
    got = second.get("thanks for calling.")
    assert got is not None
    np.testing.assert_array_equal(got, _tone("Thanks for calling."))
    assert (second.hits, second.misses, len(second)) == (1, 0, 1)

    other_voice = PhraseCache(tmp_path, voice_id="espeak-ng:x", rate=RATE)
    assert other_voice.get("Thanks for calling.") is None
    other_rate = PhraseCache(tmp_path, voice_id="piper:x", rate=16000)
    assert other_rate.get("Thanks for calling.") is None


def test_damaged_file_is_a_miss_and_is_rewritten(tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path, voice_id="v", rate=RATE)
    path = cache.path_for("Got it.")
    assert path is not None
    path.write_bytes(b"RIFF garbage")
    assert cache.get("Got it.") is None
    synth = CountingSynth()
    assert cache.warm(["Got it."], synth) == 1
    assert PhraseCache(tmp_path, voice_id="v", rate=RATE).get("Got it.") is not None


def test_lru_evicts_least_recently_used() -> None:
    cache = PhraseCache(None, voice_id="v", rate=RATE, max_items=2)
    cache.put("one", _tone("one"))
    cache.put("two", _tone("two"))
    assert cache.get("one") is not None  # "two" is now the oldest
    cache.put("three", _tone("three"))
    assert len(cache) == 2
    assert "two" not in cache
    assert "one" in cache and "three" in cache


def test_evicted_entries_come_back_from_disk(tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path, voice_id="v", rate=RATE, max_items=1)
    cache.put("one", _tone("one"))
    cache.put("two", _tone("two"))
    assert len(cache) == 1
    got = cache.get("one")
    assert got is not None
    np.testing.assert_array_equal(got, _tone("one"))


def test_warm_synthesizes_only_missing(tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path, voice_id="v", rate=RATE)
    cache.put("Got it.", _tone("Got it."))
    synth = CountingSynth()
    phrases = ["Got it.", "Great question.", "great question.", "Makes sense."]
    assert cache.warm(phrases, synth) == 2
    assert synth.calls == ["Great question.", "Makes sense."]
    assert cache.warm(phrases, synth) == 0
    assert (cache.hits, cache.misses) == (0, 0)  # warming does not skew live statistics

    restarted = PhraseCache(tmp_path, voice_id="v", rate=RATE)
    fresh = CountingSynth()
    assert restarted.warm(phrases, fresh) == 0
    assert fresh.calls == []
    assert len(restarted) == 3


def test_put_rejects_wrong_audio_format() -> None:
    cache = PhraseCache(None, voice_id="v", rate=RATE)
    with pytest.raises(MediaError, match="float32"):
        cache.put("Hi.", np.zeros(10, dtype=np.float32))
    with pytest.raises(MediaError, match="shape"):
        cache.put("Hi.", np.zeros((10, 2), dtype=np.int16))


def test_bad_settings_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rate=0"):
        PhraseCache(None, voice_id="v", rate=0)
    with pytest.raises(ConfigError, match="max_items=0"):
        PhraseCache(None, voice_id="v", rate=RATE, max_items=0)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot be created"):
        PhraseCache(blocker / "sub", voice_id="v", rate=RATE)


def test_concurrent_use_is_consistent(tmp_path: Path) -> None:
    cache = PhraseCache(tmp_path, voice_id="v", rate=RATE, max_items=8)
    phrases = [f"Phrase number {i}." for i in range(20)]

    def worker(i: int) -> None:
        for text in phrases[i::4] + phrases:
            cache.put(text, _tone(text))
            got = cache.get(text)
            assert got is not None
            np.testing.assert_array_equal(got, _tone(text))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(worker, range(4)))
    assert len(cache) <= 8
    assert cache.misses == 0
    assert len(list(tmp_path.glob("*.wav"))) == 20
    assert not list(tmp_path.glob("*.tmp"))
