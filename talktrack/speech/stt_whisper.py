"""Whisper speech-to-text on CTranslate2 with a short encoder window and a loop guard."""

from __future__ import annotations

import re
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
import numpy.typing as npt
import tokenizers
from faster_whisper.feature_extractor import FeatureExtractor
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens

from talktrack.errors import ConfigError, MediaError, ModelMissingError

SAMPLE_RATE = 16_000
FULL_WINDOW_S = 30.0
_FRAMES_PER_S = 100  # the feature extractor's hop is 10 ms
_MAX_LENGTH = 448  # Whisper's decoder context
# Whisper's own thresholds: a window is silence when both hold.
NO_SPEECH_THRESHOLD = 0.6
LOGPROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4
# Quick talkers reach ~6 tokens/s (digits and punctuation are tokens too); a decoder stuck
# in a loop runs to the length cap instead.
_MAX_TOKENS_PER_S = 12.0
_TOKEN_SLACK = 8
_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
_BEST_OF = 5
_LONGEST_PHRASE = 32
_WORDS = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class SttResult:
    """One transcription: text plus what it cost."""

    text: str
    language: str
    duration_ms: float
    audio_ms: float
    used_fallback: bool
    no_speech_prob: float


@dataclass(frozen=True)
class _Decoded:
    tokens: tuple[int, ...]
    text: str
    avg_logprob: float
    no_speech_prob: float
    language: str

    @property
    def silent(self) -> bool:
        return self.no_speech_prob > NO_SPEECH_THRESHOLD and self.avg_logprob < LOGPROB_THRESHOLD


def looks_like_loop(tokens: Sequence[int] | str) -> bool:
    """True when a decode repeats itself back to back like a Whisper hallucination loop."""
    units: Sequence[Any] = _WORDS.findall(tokens.lower()) if isinstance(tokens, str) else tokens
    # A word said 5 times running or a short phrase 4 times is not talk. A short window
    # also tends to emit a whole sentence twice, so a 6+ unit phrase twice in a row counts.
    for size in range(1, min(len(units) // 2, _LONGEST_PHRASE) + 1):
        need = 5 if size == 1 else 4 if size <= 4 else 3 if size == 5 else 2
        if _max_repeats(units, size) >= need:
            return True
    return False


def compression_ratio(text: str) -> float:
    """Gzip ratio of the text as Whisper measures it; above 2.4 means repetitive."""
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


def _max_repeats(units: Sequence[Any], size: int) -> int:
    # A stretch where every unit equals the one `size` places later is a phrase said again.
    best = run = 0
    for i in range(len(units) - size):
        run = run + 1 if units[i] == units[i + size] else 0
        best = max(best, run)
    return best // size + 1


def _too_many_tokens(count: int, audio_s: float) -> bool:
    return count > _TOKEN_SLACK + _MAX_TOKENS_PER_S * audio_s


class WhisperSTT:
    """Thread-safe Whisper transcriber; share one instance between concurrent turns."""

    def __init__(
        self,
        model_dir: Path,
        *,
        window_s: float = 10.0,
        cpu_threads: int = 1,
        workers: int = 1,
        compute_type: str = "int8",
        language: str | None = "en",
    ) -> None:
        model_dir = Path(model_dir)
        if not (model_dir / "model.bin").is_file() or not (model_dir / "tokenizer.json").is_file():
            what = "does not exist" if not model_dir.is_dir() else "lacks model.bin or tokenizer.json"
            raise ModelMissingError(
                f"Whisper model directory {model_dir} {what}",
                fix="use talktrack.speech.whisper_models.tiny_en_dir() or point "
                "TALKTRACK_WHISPER_MODEL_DIR at a CTranslate2 Whisper model directory",
            )
        if not 1.0 <= window_s <= FULL_WINDOW_S:
            raise ConfigError(
                f"stt window {window_s} s is outside 1-30 s",
                fix="set TALKTRACK_STT_WINDOW_S to 10 (windows of 7.5 s or less hallucinate)",
            )
        self.model_dir = model_dir
        self.cpu_threads = cpu_threads
        self.workers = workers
        self.compute_type = compute_type
        # Encoder input must be an even number of frames (the first conv layer has stride 2).
        self.window_frames = int(round(window_s * _FRAMES_PER_S / 2)) * 2
        self.window_s = self.window_frames / _FRAMES_PER_S
        try:
            self._model = ctranslate2.models.Whisper(
                str(model_dir),
                device="cpu",
                compute_type=compute_type,
                intra_threads=cpu_threads,
                inter_threads=workers,
            )
        except ValueError as exc:
            raise ConfigError(
                f"cannot load {model_dir} with compute type {compute_type!r}: {exc}",
                fix="use compute_type 'int8' (fastest on CPU), 'int8_float32' or 'float32'",
            ) from exc
        except RuntimeError as exc:
            raise ModelMissingError(
                f"Whisper model in {model_dir} cannot be loaded: {exc}",
                fix="reinstall the package that ships it, or delete a joined copy so it is joined again",
            ) from exc
        self.multilingual: bool = bool(self._model.is_multilingual)
        self._features = FeatureExtractor(feature_size=self._model.n_mels)
        hf = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer = Tokenizer(
            hf, self.multilingual, task="transcribe", language="en" if self.multilingual else None
        )
        tok = self._tokenizer
        # Read every lazily computed token id now so worker threads only ever read.
        self._eot: int = tok.eot
        self._sot: int = tok.sot
        self._transcribe: int = tok.transcribe
        self._no_timestamps: int = tok.no_timestamps
        self._suppress: list[int] = list(get_suppressed_tokens(tok, [-1]) or [])
        self.language = self._check_language(language)
        self._stock: Any = None
        self._stock_lock = threading.Lock()

    def transcribe(self, audio: npt.NDArray[np.floating[Any]], language: str | None = None) -> SttResult:
        """Transcribe 16 kHz mono float audio; None uses the default language, "auto" detects."""
        started = time.perf_counter()
        samples = self._checked_audio(audio)
        lang = self.language if language is None else self._check_language(language)
        audio_s = samples.size / SAMPLE_RATE
        if samples.size == 0 or float(np.max(np.abs(samples))) < 1e-4:
            # Digital silence gives flat features that Whisper fills with invented words.
            return self._result("", lang or "en", started, audio_s, False, 1.0)
        if audio_s > FULL_WINDOW_S:
            return self._long(samples, lang, started)
        used_fallback = False
        if audio_s <= self.window_s:
            decoded = self._fast(samples, lang)
            if not decoded.silent and self._degenerate(decoded, audio_s):
                decoded = self._full(samples, lang)
                used_fallback = True
        else:
            decoded = self._full(samples, lang)
        text = "" if decoded.silent else decoded.text
        return self._result(text, decoded.language, started, audio_s, used_fallback, decoded.no_speech_prob)

    def detect_language(self, audio: npt.NDArray[np.floating[Any]]) -> dict[str, float]:
        """Return language probabilities for the audio ({"en": 1.0} for English-only models)."""
        if not self.multilingual:
            return {"en": 1.0}
        samples = self._checked_audio(audio)
        window = self.window_frames if samples.size <= self.window_s * SAMPLE_RATE else None
        encoded = self._encode(samples, window or int(FULL_WINDOW_S * _FRAMES_PER_S))
        return {token[2:-2]: float(p) for token, p in self._model.detect_language(encoded)[0]}

    def warmup(self) -> None:
        """Run one tiny inference so the first real turn does not pay for lazy set-up."""
        noise = np.random.default_rng(0).normal(0.0, 0.01, SAMPLE_RATE).astype(np.float32)
        encoded = self._encode(noise, self.window_frames)
        prompt = self._prompt(self.language or "en")
        self._model.generate(encoded, [prompt], beam_size=1, max_length=len(prompt) + 2)

    # -- decoding paths -------------------------------------------------------------------

    def _fast(self, samples: npt.NDArray[np.float32], lang: str | None) -> _Decoded:
        encoded = self._encode(samples, self.window_frames)
        lang = lang or self._top_language(encoded)
        # One token past the plausible count is enough to flag a runaway; stopping there
        # keeps a looping decode from burning time before the fallback.
        audio_s = samples.size / SAMPLE_RATE
        cap = _TOKEN_SLACK + int(_MAX_TOKENS_PER_S * audio_s) + 1
        return self._generate(encoded, lang, cap, temperature=0.0)

    def _full(self, samples: npt.NDArray[np.float32], lang: str | None) -> _Decoded:
        """Whisper's standard 30 s window, raising the temperature while the decode degenerates."""
        encoded = self._encode(samples, int(FULL_WINDOW_S * _FRAMES_PER_S))
        lang = lang or self._top_language(encoded)
        audio_s = samples.size / SAMPLE_RATE
        tried: list[_Decoded] = []
        for temperature in _TEMPERATURES:
            decoded = self._generate(encoded, lang, _MAX_LENGTH // 2, temperature=temperature)
            # Whisper's own retry rule: a real repeat said twice is fine here, a runaway is not.
            if decoded.silent or not self._runaway(decoded, audio_s):
                return decoded
            tried.append(decoded)
        return max(tried, key=lambda d: d.avg_logprob)

    def _long(self, samples: npt.NDArray[np.float32], lang: str | None, started: float) -> SttResult:
        segments, info = self._stock_model().transcribe(
            samples, language=lang, beam_size=1, condition_on_previous_text=False
        )
        kept = list(segments)
        text = "".join(s.text for s in kept).strip()
        no_speech = float(np.mean([s.no_speech_prob for s in kept])) if kept else 1.0
        audio_s = samples.size / SAMPLE_RATE
        return self._result(text, info.language, started, audio_s, False, no_speech)

    def _stock_model(self) -> Any:
        # Loaded only for audio beyond 30 s, which calls rarely have; it holds its own weights.
        with self._stock_lock:
            if self._stock is None:
                from faster_whisper import WhisperModel

                self._stock = WhisperModel(
                    str(self.model_dir),
                    device="cpu",
                    compute_type=self.compute_type,
                    cpu_threads=self.cpu_threads,
                    num_workers=self.workers,
                )
            return self._stock

    def _generate(
        self,
        encoded: ctranslate2.StorageView,
        lang: str,
        max_new_tokens: int,
        *,
        temperature: float,
    ) -> _Decoded:
        prompt = self._prompt(lang)
        sampling: dict[str, Any] = (
            {"beam_size": 1}
            if temperature == 0.0
            else {
                "beam_size": 1,
                "num_hypotheses": _BEST_OF,
                "sampling_topk": 0,
                "sampling_temperature": temperature,
            }
        )
        result = self._model.generate(
            encoded,
            [prompt],
            # ctranslate2 stops Whisper after max_length // 2 new tokens, like Whisper's own
            # sample_len = n_text_ctx // 2.
            max_length=min(2 * max_new_tokens, _MAX_LENGTH),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
            **sampling,
        )[0]
        tokens = tuple(result.sequences_ids[0])
        # ctranslate2 returns the length-normalised log-probability; Whisper averages over
        # the tokens plus the end-of-text token.
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        text = self._tokenizer.decode([t for t in tokens if t < self._eot]).strip()
        return _Decoded(tokens, text, avg_logprob, float(result.no_speech_prob), lang)

    def _degenerate(self, decoded: _Decoded, audio_s: float) -> bool:
        return looks_like_loop(decoded.tokens) or self._runaway(decoded, audio_s)

    @staticmethod
    def _runaway(decoded: _Decoded, audio_s: float) -> bool:
        return compression_ratio(decoded.text) > COMPRESSION_RATIO_THRESHOLD or _too_many_tokens(
            len(decoded.tokens), audio_s
        )

    # -- helpers --------------------------------------------------------------------------

    def _encode(self, samples: npt.NDArray[np.float32], frames: int) -> ctranslate2.StorageView:
        window = np.zeros(frames * self._features.hop_length, dtype=np.float32)
        clip = samples[: window.size]
        window[: clip.size] = clip
        features = np.ascontiguousarray(self._features(window)[np.newaxis, :, :frames])
        return self._model.encode(ctranslate2.StorageView.from_array(features))

    def _top_language(self, encoded: ctranslate2.StorageView) -> str:
        token, _ = self._model.detect_language(encoded)[0][0]
        return str(token[2:-2])

    def _prompt(self, lang: str) -> list[int]:
        if not self.multilingual:
            return [self._sot, self._no_timestamps]
        lang_id = self._tokenizer.tokenizer.token_to_id(f"<|{lang}|>")
        return [self._sot, lang_id, self._transcribe, self._no_timestamps]

    def _check_language(self, language: str | None) -> str | None:
        if language == "auto":
            language = None
        if language is None:
            return None if self.multilingual else "en"
        if not self.multilingual:
            if language != "en":
                raise ConfigError(
                    f"language {language!r} needs a multilingual model, but {self.model_dir} is English-only",
                    fix="use language 'en', or the multilingual base model "
                    "(talktrack.speech.whisper_models.base_multilingual_dir)",
                )
            return language
        if self._tokenizer.tokenizer.token_to_id(f"<|{language}|>") is None:
            raise ConfigError(
                f"language {language!r} is not a Whisper language code",
                fix="use a two-letter code such as 'en' or 'es', or 'auto' to detect it",
            )
        return language

    @staticmethod
    def _checked_audio(audio: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        array = np.asarray(audio)
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.floating):
            raise MediaError(
                f"speech audio must be 1-D float mono at 16 kHz, got {array.dtype} with shape {array.shape}",
                fix="pass mono float32 samples in [-1, 1] (int16: samples.astype(np.float32) "
                "/ 32768) resampled to 16 kHz with talktrack.audio.resample.resample",
            )
        return array.astype(np.float32, copy=False)

    @staticmethod
    def _result(text: str, lang: str, started: float, audio_s: float, fallback: bool, no_speech: float) -> SttResult:
        return SttResult(
            text=text,
            language=lang,
            duration_ms=(time.perf_counter() - started) * 1000.0,
            audio_ms=audio_s * 1000.0,
            used_fallback=fallback,
            no_speech_prob=no_speech,
        )
