"""The scripted prospect's voice in simulations: espeak-ng, audibly unlike the agent's voice."""

from __future__ import annotations

import shutil
import struct
import subprocess

import numpy as np
import numpy.typing as npt

from talktrack.audio.resample import resample
from talktrack.errors import ConfigError, MediaError, ModelMissingError

ESPEAK_BINARY = "espeak-ng"
_TIMEOUT_S = 30.0


class EspeakTTS:
    """Synthesizer that runs one espeak-ng process per phrase (stateless, so thread-safe)."""

    def __init__(
        self,
        voice: str = "en-us+f3",
        rate_wpm: int = 165,
        pitch: int | None = None,
        *,
        binary: str = ESPEAK_BINARY,
    ) -> None:
        found = shutil.which(binary)
        if found is None:
            raise ModelMissingError(
                f"the {binary!r} command is not installed or not on PATH",
                fix="apt-get install espeak-ng",
            )
        if not voice or any(c.isspace() for c in voice):
            raise ConfigError(f"espeak-ng voice {voice!r} is invalid", fix="use e.g. 'en-us+f3' or 'es'")
        if not 80 <= rate_wpm <= 450:
            raise ConfigError(f"espeak-ng rate_wpm={rate_wpm} is out of range", fix="use 80-450 (default 165)")
        if pitch is not None and not 0 <= pitch <= 99:
            raise ConfigError(f"espeak-ng pitch={pitch} is out of range", fix="use 0-99 (default 50)")
        self._binary = found
        self._voice = voice
        self._rate_wpm = rate_wpm
        self._pitch = pitch

    @property
    def voice_id(self) -> str:
        """Stable id of voice, pace and pitch, suitable as part of an audio cache key."""
        pitch = "" if self._pitch is None else f"/p{self._pitch}"
        return f"espeak-ng:{self._voice}@{self._rate_wpm}wpm{pitch}"

    def _synthesize_native(self, text: str) -> tuple[npt.NDArray[np.int16], int]:
        """Voice `text`; returns int16 mono samples and their rate (mbrola voices differ)."""
        if not text.strip():
            return np.zeros(0, dtype=np.int16), 22050
        cmd = [self._binary, "--stdout", "-b", "1", "-v", self._voice, "-s", str(self._rate_wpm)]
        if self._pitch is not None:
            cmd += ["-p", str(self._pitch)]
        # Text goes through stdin so a phrase starting with "-" is never read as an option.
        try:
            proc = subprocess.run(
                cmd,
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise MediaError(
                f"espeak-ng took over {_TIMEOUT_S:g}s for a {len(text)}-character text",
                fix="split the text into shorter phrases",
            ) from exc
        if proc.returncode != 0 or not proc.stdout:
            err = proc.stderr.decode("utf-8", "replace").strip()
            raise ConfigError(
                f"espeak-ng failed for voice {self._voice!r}: {err or f'exit {proc.returncode}'}",
                fix="pick a voice listed by `espeak-ng --voices` (e.g. 'en-us+f3', 'es')",
            )
        return _parse_stream_wav(proc.stdout)

    def synthesize_at(self, text: str, rate: int) -> npt.NDArray[np.int16]:
        """Voice `text` as int16 mono at `rate` Hz."""
        if rate <= 0:
            raise ConfigError(f"sample rate {rate} is invalid", fix="use e.g. 8000 or 16000")
        audio, native = self._synthesize_native(text)
        return np.asarray(resample(audio, native, rate), dtype=np.int16)


def _parse_stream_wav(data: bytes) -> tuple[npt.NDArray[np.int16], int]:
    """Decode espeak-ng's streamed WAV, whose size fields are placeholders (0x7fffffff)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise MediaError("espeak-ng did not write WAV audio", fix="check that `espeak-ng --version` works")
    pos, rate, channels, bits = 12, 0, 0, 0
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            _fmt, channels, rate, _rate_bytes, _align, bits = struct.unpack("<HHIIHH", data[body : body + 16])
        elif chunk_id == b"data":
            if bits != 16 or channels < 1 or rate <= 0:
                raise MediaError(
                    f"espeak-ng wrote {bits}-bit/{channels}-channel audio, expected 16-bit",
                    fix="use the Debian espeak-ng package",
                )
            payload = data[body:]  # the size field is not trustworthy on a stream
            payload = payload[: len(payload) // (2 * channels) * 2 * channels]
            samples = np.frombuffer(payload, dtype="<i2").astype(np.int16)
            if channels > 1:
                samples = samples.reshape(-1, channels)[:, 0].copy()
            return samples, int(rate)
        pos = body + size + (size & 1)
    raise MediaError("espeak-ng output has no audio data", fix="check `espeak-ng --version` works")
