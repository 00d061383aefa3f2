"""End-of-turn probability from Smart Turn v3.2 (the ONNX model that ships inside pipecat-ai)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import onnxruntime as ort
from pipecat.audio.turn.smart_turn._whisper_features import compute_whisper_log_mel_features

from talktrack.errors import ModelMissingError

MODEL_RATE = 16000
_WINDOW_S = 8


def bundled_model_path() -> Path:
    """Path of the Smart Turn v3.2 CPU model inside the installed pipecat-ai package."""
    path = Path(str(resources.files("pipecat.audio.turn.smart_turn.data").joinpath("smart-turn-v3.2-cpu.onnx")))
    if not path.is_file():
        raise ModelMissingError(f"Smart Turn model not found at {path}", fix="pip install 'pipecat-ai==1.14.*'")
    return path


class SmartTurn:
    """Scores whether a prospect has finished their turn (1.0 = complete).

    One instance serves every call in the process; ``predict`` is thread-safe.
    """

    def __init__(self, model_path: Path | None = None, *, threads: int = 1) -> None:
        opts = ort.SessionOptions()
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = threads
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(model_path or bundled_model_path()), sess_options=opts, providers=["CPUExecutionProvider"]
        )

    def predict(self, audio: np.ndarray) -> float:
        """Probability that the turn is complete, for float32 mono audio at 16 kHz."""
        window = MODEL_RATE * _WINDOW_S
        audio = audio.astype(np.float32)
        if audio.size > window:
            audio = audio[-window:]
        elif audio.size < window:
            audio = np.pad(audio, (window - audio.size, 0))
        features = compute_whisper_log_mel_features(audio, do_normalize=True)[None, ...]
        outputs = self._session.run(None, {"input_features": features})
        return float(np.asarray(outputs[0]).reshape(-1)[0])

    def warmup(self) -> None:
        """Run one inference so the first real turn is not slow."""
        self.predict(np.zeros(MODEL_RATE, dtype=np.float32))
