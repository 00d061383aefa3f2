"""Per-agent cache of voiced fixed phrases, in memory (LRU) and optionally on disk as WAV."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import wave
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from talktrack.errors import ConfigError, MediaError
from talktrack.speech.clauses import normalize_for_cache

Audio = npt.NDArray[np.int16]


class PhraseCache:
    """Audio for phrases an agent says often, keyed by normalized text, voice and sample rate."""

    def __init__(
        self,
        directory: Path | None,
        *,
        voice_id: str,
        rate: int,
        max_items: int = 512,
    ) -> None:
        if rate <= 0:
            raise ConfigError(f"phrase cache rate={rate} is invalid", fix="use e.g. 8000 or 16000")
        if max_items < 1:
            raise ConfigError(f"phrase cache max_items={max_items} is invalid", fix="use >= 1")
        if directory is not None:
            directory = Path(directory)
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"phrase cache directory {directory} cannot be created: {exc}",
                    fix="point it at a writable directory, or pass None to cache in memory only",
                ) from exc
        self.directory = directory
        self.voice_id = voice_id
        self.rate = rate
        self.max_items = max_items
        self._items: OrderedDict[str, Audio] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    @property
    def hits(self) -> int:
        """Lookups answered from memory or disk."""
        return self._hits

    @property
    def misses(self) -> int:
        """Lookups that found nothing."""
        return self._misses

    def key(self, text: str) -> str:
        """The cache key of `text` for this voice and rate."""
        return f"{self.voice_id}|{self.rate}|{normalize_for_cache(text)}"

    def path_for(self, text: str) -> Path | None:
        """Where `text`'s WAV lives on disk, or None for a memory-only cache."""
        if self.directory is None:
            return None
        return self.directory / f"{hashlib.sha1(self.key(text).encode('utf-8')).hexdigest()}.wav"

    def get(self, text: str) -> Audio | None:
        """Cached int16 audio at `rate` for `text` (read-only array), or None."""
        audio = self._lookup(text)
        with self._lock:
            if audio is None:
                self._misses += 1
            else:
                self._hits += 1
        return audio

    def put(self, text: str, audio: npt.NDArray[np.generic]) -> None:
        """Store int16 mono audio at `rate` for `text`, on disk too when a directory is set."""
        if audio.dtype != np.int16 or audio.ndim != 1:
            raise MediaError(
                f"phrase audio for {text!r} is {audio.dtype} with shape {audio.shape}",
                fix="pass int16 mono samples at the cache's rate: tts.synthesize_at(text, rate)",
            )
        stored = np.array(audio, dtype=np.int16, copy=True)
        stored.setflags(write=False)
        self._remember(self.key(text), stored)
        path = self.path_for(text)
        if path is not None:
            _write_wav_atomic(path, stored, self.rate)

    def warm(self, texts: Iterable[str], synth: Callable[[str], npt.NDArray[np.int16]]) -> int:
        """Cache every text, voicing only the missing ones; returns how many were voiced."""
        voiced = 0
        seen: set[str] = set()
        for text in texts:
            key = self.key(text)
            if key in seen:
                continue
            seen.add(key)
            # Loading from disk here (not counted as a hit) makes the first live lookup fast.
            if self._lookup(text) is None:
                self.put(text, synth(text))
                voiced += 1
        return voiced

    def __contains__(self, text: object) -> bool:
        if not isinstance(text, str):
            return False
        with self._lock:
            if self.key(text) in self._items:
                return True
        path = self.path_for(text)
        return path is not None and path.is_file()

    def __len__(self) -> int:
        """Number of phrases held in memory (the disk may hold more)."""
        with self._lock:
            return len(self._items)

    def _lookup(self, text: str) -> Audio | None:
        key = self.key(text)
        with self._lock:
            audio = self._items.get(key)
            if audio is not None:
                self._items.move_to_end(key)
                return audio
        path = self.path_for(text)
        if path is None:
            return None
        # Disk reads happen outside the lock so one slow read does not stall every call.
        audio = _read_wav(path, self.rate)
        if audio is not None:
            self._remember(key, audio)
        return audio

    def _remember(self, key: str, audio: Audio) -> None:
        with self._lock:
            self._items[key] = audio
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)


def _write_wav_atomic(path: Path, audio: Audio, rate: int) -> None:
    """Write a 16-bit mono WAV so readers never see a half-written file."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(audio.astype("<i2", copy=False).tobytes())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise


def _read_wav(path: Path, rate: int) -> Audio | None:
    """Load a cached WAV; anything missing, damaged or in another format counts as a miss."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2 or wav.getframerate() != rate:
                return None
            frames = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error):
        return None
    audio = np.frombuffer(frames, dtype="<i2").astype(np.int16)
    audio.setflags(write=False)
    return audio
