"""Language identification and switching on real recorded speech: asterisk's English and Spanish prompts.

Each prompt is one prospect turn as an 8 kHz line delivers it. A call starts in English, switches to Spanish
at a random turn and sometimes back; the tracker must follow on the very next turn. Single-turn accuracies of
audio alone, text alone and both together are measured on the same prompts.
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import tempfile
import time
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from talktrack.audio.resample import float_at
from talktrack.bench.stats import pct, table
from talktrack.errors import MediaError
from talktrack.speech.language import (
    DEFAULT_LANGUAGES,
    LanguageTracker,
    TextLanguage,
    detect_audio_language,
    shared_text_language,
)
from talktrack.speech.stt_whisper import SAMPLE_RATE, WhisperSTT
from talktrack.speech.whisper_models import base_multilingual_dir

SOUNDS_DIR = Path("/usr/share/asterisk/sounds")
DOC_DIR = Path("/usr/share/doc")
TARGET_SWITCH_RATE = 0.90
# A prompt stands for a sentence-long turn: at least 1 s and three words (shorter ones are product
# names such as "Bluetooth" or labels such as "Call waiting", which the tracker rightly ignores).
MIN_PROMPT_S = 1.0
MAX_PROMPT_S = 10.0
MIN_WORDS = 3
_WORDS = re.compile(r"[^\W\d_]{2,}")  # "N B S" is a spelled name, not three words


@dataclass(frozen=True)
class Prompt:
    """One recorded prompt: its language, what it says, and 16 kHz float audio."""

    language: str
    name: str
    text: str
    audio: npt.NDArray[np.float32]

    @property
    def seconds(self) -> float:
        return self.audio.size / SAMPLE_RATE


@dataclass(frozen=True)
class Heard:
    """What the engines made of one prompt."""

    prompt: Prompt
    audio_probs: dict[str, float]
    transcript: str
    detect_ms: float


@dataclass(frozen=True)
class LanguageScores:
    """Switching over simulated calls, plus single-turn accuracies on the same prompts."""

    prompts: dict[str, int]
    calls: int
    turns: int
    switches: int
    switch_rate: float  # switches recognised on the very turn the prospect changed language
    false_switches: int  # changes to a language the prospect was not speaking
    turn_accuracy: float  # turns after which the tracker holds the prospect's language
    audio_accuracy: float  # Whisper base's top allowed language (audio of 1 s and more)
    text_accuracy: float  # lingua on the prompts' reference transcripts
    whisper_text_accuracy: float  # lingua on Whisper base's own transcripts (language="auto")
    combined_accuracy: float  # the tracker switching to the prompt's language from the other one
    p50_ms: float  # identification per turn: Whisper language ID + tracker
    p95_ms: float

    @property
    def passed(self) -> bool:
        return self.switch_rate >= TARGET_SWITCH_RATE


def load_prompts(language: str, *, sounds_dir: Path = SOUNDS_DIR, doc_dir: Path = DOC_DIR) -> list[Prompt]:
    """Every sentence-long prompt of a language's core sounds, sorted by name."""
    transcripts = doc_dir / f"asterisk-core-sounds-{language}" / f"core-sounds-{language}.txt.gz"
    wav_dir = sounds_dir / language
    if not transcripts.is_file() or not wav_dir.is_dir():
        raise MediaError(
            f"asterisk's {language!r} prompts are not installed ({wav_dir}, {transcripts})",
            fix=f"apt-get install asterisk-core-sounds-{language} asterisk-core-sounds-{language}-wav",
        )
    prompts: list[Prompt] = []
    with gzip.open(transcripts, "rt", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            name, sep, text = line.partition(":")
            name, text = name.strip(), text.strip()
            path = wav_dir / f"{name}.wav"
            # Lines about sub-folders or tones ("[beep]") are not prompts with words.
            if not sep or line.startswith(";") or "/" in name or "[" in text or not path.is_file():
                continue
            if len(_WORDS.findall(text)) < MIN_WORDS:
                continue
            audio = _read_wav(path)
            if MIN_PROMPT_S <= audio.size / SAMPLE_RATE <= MAX_PROMPT_S:
                prompts.append(Prompt(language, name, text, audio))
    return sorted(prompts, key=lambda p: p.name)


def hear(stt: WhisperSTT, prompt: Prompt, languages: Sequence[str] = DEFAULT_LANGUAGES) -> Heard:
    """Run Whisper's language ID (timed) and an auto-language transcription on one prompt."""
    started = time.perf_counter()
    probs = detect_audio_language(stt, prompt.audio, languages)
    detect_ms = (time.perf_counter() - started) * 1000.0
    transcript = stt.transcribe(prompt.audio, language="auto").text
    return Heard(prompt, probs, transcript, detect_ms)


def switches_to(heard: Heard, text: TextLanguage, languages: Sequence[str] = DEFAULT_LANGUAGES) -> bool:
    """True when a fresh tracker in another language switches to the prompt's language on this turn."""
    start = next(lang for lang in languages if lang != heard.prompt.language)
    change = LanguageTracker(start, languages, text=text).observe(heard.transcript, heard.audio_probs)
    return change is not None and change.language == heard.prompt.language


def evaluate_language(
    cache_dir: Path,
    *,
    per_language: int = 100,
    calls: int = 40,
    seed: int = 7,
    stt: WhisperSTT | None = None,
) -> LanguageScores:
    """Score identification and switching with Whisper base (joined into cache_dir once) and lingua."""
    rng = random.Random(seed)
    languages = DEFAULT_LANGUAGES
    stt = stt or WhisperSTT(base_multilingual_dir(cache_dir), language=None)
    text = shared_text_language(languages)
    pool: dict[str, list[Heard]] = {}
    for lang in languages:
        prompts = load_prompts(lang)
        chosen = rng.sample(prompts, min(per_language, len(prompts)))
        pool[lang] = [hear(stt, prompt, languages) for prompt in chosen]
    everything = [h for heard in pool.values() for h in heard]

    def share(hits: list[bool]) -> float:
        return round(sum(hits) / max(len(hits), 1), 3)

    audio_hits = [bool(h.audio_probs) and _top(h.audio_probs) == h.prompt.language for h in everything]
    text_hits = [_top(text.probabilities(h.prompt.text)) == h.prompt.language for h in everything]
    whisper_hits = [_top(text.probabilities(h.transcript)) == h.prompt.language for h in everything]
    combined_hits = [switches_to(h, text, languages) for h in everything]

    switches = recognised = false_switches = turns = right_turns = 0
    latencies: list[float] = []
    for _ in range(calls):
        script = _call_script(rng)
        tracker = LanguageTracker(script[0], languages, text=text)
        said = {lang: rng.sample(pool[lang], len(pool[lang])) for lang in languages}
        for i, lang in enumerate(script):
            heard = said[lang].pop()
            started = time.perf_counter()
            change = tracker.observe(heard.transcript, heard.audio_probs)
            latencies.append(heard.detect_ms + (time.perf_counter() - started) * 1000.0)
            turns += 1
            right_turns += tracker.language == lang
            if i > 0 and lang != script[i - 1]:
                switches += 1
                recognised += change is not None and change.language == lang
            if change is not None and change.language != lang:
                false_switches += 1
    return LanguageScores(
        prompts={lang: len(heard) for lang, heard in pool.items()},
        calls=calls,
        turns=turns,
        switches=switches,
        switch_rate=round(recognised / max(switches, 1), 3),
        false_switches=false_switches,
        turn_accuracy=round(right_turns / max(turns, 1), 3),
        audio_accuracy=share(audio_hits),
        text_accuracy=share(text_hits),
        whisper_text_accuracy=share(whisper_hits),
        combined_accuracy=share(combined_hits),
        p50_ms=pct(latencies, 50) or 0.0,
        p95_ms=pct(latencies, 95) or 0.0,
    )


def _call_script(rng: random.Random) -> list[str]:
    """Languages turn by turn: English, then Spanish from a random turn, and back in half of the calls."""
    length = rng.randint(6, 10)
    switch_at = rng.randint(1, length - 2)
    script = ["en"] * switch_at + ["es"] * (length - switch_at)
    if rng.random() < 0.5 and switch_at + 2 < length:
        back_at = rng.randint(switch_at + 2, length - 1)
        script[back_at:] = ["en"] * (length - back_at)
    return script


def _top(probs: dict[str, float]) -> str | None:
    return max(probs, key=lambda lang: probs[lang]) if probs and max(probs.values()) > 0 else None


def _read_wav(path: Path) -> npt.NDArray[np.float32]:
    with wave.open(str(path)) as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise MediaError(f"{path} is not 16-bit mono", fix="reinstall the asterisk-core-sounds-*-wav packages")
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.int16)
    return float_at(pcm, rate, SAMPLE_RATE)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the scores; exit status 1 when the switch target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cache-dir", type=Path, help="where the Whisper base model is joined (default: a temp dir)")
    parser.add_argument("--per-language", type=int, default=100)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="talktrack-lang-") as tmp:
        scores = evaluate_language(
            args.cache_dir or Path(tmp), per_language=args.per_language, calls=args.calls, seed=args.seed
        )
    rows = [
        ("prompts (en/es)", f"{scores.prompts.get('en', 0)}/{scores.prompts.get('es', 0)}"),
        ("audio-only accuracy", f"{scores.audio_accuracy:.1%}"),
        ("text-only accuracy (reference)", f"{scores.text_accuracy:.1%}"),
        ("text-only accuracy (Whisper auto)", f"{scores.whisper_text_accuracy:.1%}"),
        ("combined (tracker switches)", f"{scores.combined_accuracy:.1%}"),
        ("calls / turns / switches", f"{scores.calls} / {scores.turns} / {scores.switches}"),
        (f"switch on next turn (target {TARGET_SWITCH_RATE:.0%})", f"{scores.switch_rate:.1%}"),
        ("false switches", str(scores.false_switches)),
        ("turn accuracy", f"{scores.turn_accuracy:.1%}"),
        ("identification p50 / p95 ms", f"{scores.p50_ms:.0f} / {scores.p95_ms:.0f}"),
    ]
    print(table(["language", "value"], rows))
    return 0 if scores.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
