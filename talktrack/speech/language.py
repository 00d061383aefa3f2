"""Which language the prospect speaks, from Whisper's audio language ID and lingua on the transcript.

The policy the tracker keeps:

* A reply made of one or two words switches only when a word is a known reply of exactly one language
  ("sí", "gracias", "thanks"); "OK", "no", names, numbers and e-mail addresses are no evidence at all.
* A longer reply switches when text and audio agree and together put the other language at >= 0.9; when they
  disagree, only a sure text against a near-even audio verdict (>= 0.97 together) switches.
* Evidence leaning the same other way (>= 0.7) on two turns in a row also switches.
* Right after a switch, short replies and leaning turns cannot switch again for two turns, so a stray
  "OK, thanks" does not bounce the call back.

Transcribe with language="auto" (or the top allowed language), never forced to the call's current one:
forced to English, Whisper translates Spanish speech into English text, which then looks English.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

from talktrack.errors import ConfigError

if TYPE_CHECKING:  # the tracker itself needs no speech model, so importing it loads none
    from talktrack.speech.stt_whisper import WhisperSTT

DEFAULT_LANGUAGES = ("en", "es")
# Whisper base's en/es verdict (weighted as below) on asterisk's prompts gets Spanish right 50 % of the time
# under 0.75 s, 81 % at 0.75-1 s, 80-94 % at 1-1.5 s, 93 % at 1.5-2 s and 98 % from 2 s (English 97-100 %).
# Under 1 s it is no evidence: the replies that short ("OK", "sí") are left to the words.
MIN_AUDIO_S = 1.0
# On 8 kHz lines Whisper base hears English in Spanish speech: English prompts score log(p_es/p_en) <= -3.1,
# a quarter of Spanish ones score below +1.7. Scaling English by ~1/12 moves Spanish from 84 % to 96 %
# right while English stays at 100 % (prompts of 1 s and more).
NARROWBAND_WEIGHTS: Mapping[str, float] = {"en": 0.08}
SWITCH_P = 0.9
STRONG_P = 0.97  # text and audio disagree: a sure text against a near-even audio verdict
LEAN_P = 0.7
SHORT_WORDS = 2
SETTLE_TURNS = 2
# No source is ever certain; Whisper base on a phone line (95 % right over 1 s) is trusted less than
# lingua on a sentence (97-99 %), so a sure text outweighs a near-even audio verdict but not the reverse.
TEXT_CAP = 0.98
AUDIO_CAP = 0.95


@dataclass(frozen=True)
class Lexicon:
    """What a language's short replies, spoken digits and spoken e-mail words are (lower case, no accents)."""

    replies: frozenset[str]
    numbers: frozenset[str] = frozenset()
    spoken_at: str = ""  # "john at acme dot com"
    spoken_dot: str = ""


# A language without a lexicon still switches on sentences; its short replies never switch.
LEXICONS: Mapping[str, Lexicon] = {
    "en": Lexicon(
        frozenset(
            "yes yeah yep yup sure thanks thank please sorry hi hey what pardon right fine great perfect "
            "absolutely exactly nope maybe english correct good cool".split()
        ),
        frozenset("zero one two three four five six seven eight nine ten".split()),
        spoken_at="at",
        spoken_dot="dot",
    ),
    "es": Lexicon(
        frozenset(
            "si gracias claro bueno hola alo vale perfecto exacto oiga diga digame bien espanol mande que "
            "como perdon disculpe adios buenas buenos dias tardes noches muchas listo correcto entiendo "
            "senor senora tambien nada".split()
        ),
        frozenset("cero uno una dos tres cuatro cinco seis siete ocho nueve diez".split()),
        spoken_at="arroba",
        spoken_dot="punto",
    ),
}
# Said alike in English and Spanish conversations, so they say nothing about the language.
NEUTRAL_WORDS = frozenset("ok okay okey no mm mhm hmm hm uh um ah eh oh aha aja wow ya yo bye hello".split())

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_SENTENCE_END = re.compile(r"[.!?…]+")
_WRITTEN_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b(?:https?://|www\.)\S+|\b[\w-]+(?:\.[a-z]{2,})+\b")


def _plain(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _normalised(probs: Mapping[str, float], languages: Sequence[str]) -> dict[str, float] | None:
    kept = {lang: max(float(probs.get(lang, 0.0)), 0.0) for lang in languages}
    total = sum(kept.values())
    return {lang: p / total for lang, p in kept.items()} if total > 1e-6 else None


def restrict(
    probs: Mapping[str, float], languages: Sequence[str], weights: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Keep only `languages`, scale by `weights` (prior corrections) and renormalise; {} when none is heard."""
    scaled = {lang: float(probs.get(lang, 0.0)) * (weights or {}).get(lang, 1.0) for lang in languages}
    return _normalised(scaled, languages) or {}


class TextLanguage:
    """Language probabilities of a text from lingua, built once with its models preloaded.

    lingua's LanguageDetector is documented as safe to share between threads, so one instance serves
    every call; build it at start-up (about 0.5 s and 65 MB for English and Spanish), not per call.
    """

    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        self.languages = _checked_languages(languages)
        self._detector: LanguageDetector | None = None
        if len(self.languages) > 1:
            codes = [getattr(IsoCode639_1, lang.upper()) for lang in self.languages]
            self._detector = (
                LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_preloaded_language_models().build()
            )

    def probabilities(self, text: str) -> dict[str, float]:
        """Probability per ISO 639-1 code; all zero when the text has no letters of these languages."""
        if self._detector is None:
            return {self.languages[0]: 1.0 if _WORD.search(text) else 0.0}
        values = self._detector.compute_language_confidence_values(text)
        found = {value.language.iso_code_639_1.name.lower(): float(value.value) for value in values}
        return {lang: found.get(lang, 0.0) for lang in self.languages}


_SHARED: dict[tuple[str, ...], TextLanguage] = {}
_SHARED_LOCK = threading.Lock()


def shared_text_language(languages: Sequence[str] = DEFAULT_LANGUAGES) -> TextLanguage:
    """The process-wide TextLanguage for these languages (built on first use)."""
    key = _checked_languages(languages)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = TextLanguage(key)
        return _SHARED[key]


def detect_audio_language(
    stt: WhisperSTT,
    audio_16k: npt.NDArray[np.floating[Any]],
    languages: Sequence[str] = DEFAULT_LANGUAGES,
    *,
    min_audio_s: float = MIN_AUDIO_S,
    weights: Mapping[str, float] | None = NARROWBAND_WEIGHTS,
) -> dict[str, float]:
    """Whisper's probabilities for `languages` only, renormalised; {} when the audio is too short to trust."""
    from talktrack.speech.stt_whisper import SAMPLE_RATE

    if not stt.multilingual:
        raise ConfigError(
            f"the Whisper model in {stt.model_dir} is English-only and cannot tell languages apart",
            fix="load WhisperSTT(base_multilingual_dir(cache_dir)) from talktrack.speech.whisper_models",
        )
    if np.asarray(audio_16k).size < min_audio_s * SAMPLE_RATE:
        return {}
    return restrict(stt.detect_language(audio_16k), _checked_languages(languages), weights)


@dataclass(frozen=True)
class LanguageChange:
    """The prospect now speaks `language`; `reason` is the line for the call's decision timeline."""

    previous: str
    language: str
    confidence: float
    reason: str


class LanguageTracker:
    """The language of one call, updated turn by turn from the transcript and Whisper's audio verdict."""

    def __init__(
        self,
        language: str = "en",
        languages: Sequence[str] = DEFAULT_LANGUAGES,
        *,
        names: Iterable[str] = (),
        text: TextLanguage | None = None,
    ) -> None:
        """`names` are words to ignore: the prospect's, the agent's and the company's names."""
        self.languages = _checked_languages(languages)
        language = language.lower()
        if language not in self.languages:
            raise ConfigError(
                f"the call's language {language!r} is not among its languages {list(self.languages)}",
                fix=f"start the call in one of {list(self.languages)} or add {language!r} to the playbook's languages",
            )
        if text is not None and set(text.languages) != set(self.languages):
            raise ConfigError(
                f"the text detector covers {list(text.languages)}, the call {list(self.languages)}",
                fix="pass shared_text_language(languages) for the same languages",
            )
        self.language = language
        self.last_reason = "call started"
        self._text = text or shared_text_language(self.languages)
        self._names = frozenset(_plain(word) for name in names for word in _WORD.findall(name))
        lexicons = [LEXICONS[lang] for lang in self.languages if lang in LEXICONS]
        self._numbers = frozenset().union(*(lex.numbers for lex in lexicons))
        self._replies = frozenset().union(*(lex.replies for lex in lexicons))
        at = "|".join(lex.spoken_at for lex in lexicons if lex.spoken_at)
        dot = "|".join(lex.spoken_dot for lex in lexicons if lex.spoken_dot)
        self._spoken_address = (
            re.compile(rf"\b[\w.+-]+\s+(?:{at})\s+[\w-]+(?:\s+(?:{dot})\s+[\w-]+)+", re.IGNORECASE)
            if at and dot
            else None
        )
        self._pending: str | None = None
        self._since_switch = SETTLE_TURNS

    def observe(self, text: str, audio_probs: Mapping[str, float] | None = None) -> LanguageChange | None:
        """Take one prospect turn; returns a change only when the evidence for another language is clear."""
        self._since_switch += 1
        target, confidence, reason = self._decide(text, audio_probs)
        self.last_reason = reason
        if target is None:
            return None
        change = LanguageChange(self.language, target, round(confidence, 3), reason)
        self.language = target
        self._pending = None
        self._since_switch = 0
        return change

    # -- policy pieces -----------------------------------------------------------------

    def _decide(self, text: str, audio_probs: Mapping[str, float] | None) -> tuple[str | None, float, str]:
        """The language to switch to (None: keep), its confidence and the reason."""
        words, cleaned = self._content(text)
        audio = _normalised(audio_probs, self.languages) if audio_probs else None
        if not words:
            return None, 0.0, "no evidence: only names, numbers, addresses or words both languages use"
        text_probs = _normalised(self._text.probabilities(cleaned), self.languages)
        if len(words) <= SHORT_WORDS and text_probs is not None:
            return self._short(words, text_probs, audio)
        # A transcript in no allowed language's script (Whisper's auto mode wrote Arabic letters for
        # Spanish speech) leaves the audio alone to decide, whatever its word count.
        combined = _combine(text_probs, audio)
        if combined is None:
            return None, 0.0, "no evidence: the text is in no allowed language's script and the audio was short"
        best = _top(combined)
        p = combined[best]
        why = f"{best} {p:.2f}: {_sources(text_probs, audio, best)}"
        if best == self.language:
            self._pending = None
            return None, p, why
        agree = all(_top(probs) == best for probs in (text_probs, audio) if probs is not None)
        if p >= (SWITCH_P if agree else STRONG_P):
            return best, p, why
        if p >= LEAN_P and self._pending == best and self._since_switch > SETTLE_TURNS:
            return best, p, f"second turn in a row leaning {why}"
        self._pending = best if p >= LEAN_P else None
        return None, p, f"{why}: not clear enough, keep {self.language}"

    def _short(
        self, words: list[str], text_probs: dict[str, float], audio: dict[str, float] | None
    ) -> tuple[str | None, float, str]:
        said = " ".join(words)
        hits = {lang for lang in self.languages if self._lexicon_hit(lang, words)}
        if len(hits) > 1 or (not hits and audio is None):
            return None, 0.0, f"short reply {said!r} could be any language: keep {self.language}"
        if not hits:
            return self._short_by_agreement(said, text_probs, audio or {})
        (target,) = hits
        why = f"short reply {said!r} is {target}"
        if target == self.language:
            self._pending = None
            return None, TEXT_CAP, why
        if audio is not None and _top(audio) != target:
            return None, 0.0, f"{why}, but the audio is not: keep {self.language}"
        return self._settled(target, audio[target] if audio is not None else TEXT_CAP, why)

    def _short_by_agreement(
        self, said: str, text_probs: dict[str, float], audio: dict[str, float]
    ) -> tuple[str | None, float, str]:
        """Without a known reply word, only text and audio agreeing strongly can switch ("Hasta pronto")."""
        combined = _combine(text_probs, audio) or {}
        target = _top(combined) if combined else self.language
        p = combined.get(target, 0.0)
        if target == self.language or _top(text_probs) != target or _top(audio) != target or p < SWITCH_P:
            return None, p, f"short reply {said!r} is not clearly another language: keep {self.language}"
        return self._settled(target, p, f"short reply {said!r}: {_sources(text_probs, audio, target)}")

    def _settled(self, target: str, confidence: float, why: str) -> tuple[str | None, float, str]:
        """Short evidence switches only when the call has not just switched (hysteresis)."""
        if self._since_switch <= SETTLE_TURNS:
            return None, confidence, f"{why}, but the call just switched: keep {self.language}"
        return target, confidence, why

    def _lexicon_hit(self, language: str, words: list[str]) -> bool:
        lexicon = LEXICONS.get(language)
        return lexicon is not None and any(_plain(word) in lexicon.replies for word in words)

    def _content(self, text: str) -> tuple[list[str], str]:
        """Words that can carry the language, and the text without names, numbers and addresses."""
        text = _WRITTEN_ADDRESS.sub(" ", text)
        if self._spoken_address is not None:
            text = self._spoken_address.sub(" ", text)
        kept: list[str] = []
        for sentence in _SENTENCE_END.split(text):
            found = _WORD.findall(sentence)
            # A capitalised word inside a sentence is a name, unless most words are capitalised
            # (Whisper sometimes title-cases a whole line).
            inner = [w for w in found[1:] if w[0].isupper() and len(re.split(r"['’]", w)[0]) > 1]
            inner = [w for w in inner if _plain(w) not in self._replies]  # "in English" is no name
            title_cased = len(inner) * 2 > len(found[1:])
            for word in found:
                plain = _plain(word)
                if plain not in self._names and plain not in self._numbers and (title_cased or word not in inner):
                    kept.append(word)
        return [w for w in kept if _plain(w) not in NEUTRAL_WORDS], " ".join(kept)


def _combine(text: dict[str, float] | None, audio: dict[str, float] | None) -> dict[str, float] | None:
    """Naive Bayes over the sources present, each capped so that neither is ever certain on its own."""
    capped = [
        {lang: min(max(p, 1 - cap), cap) for lang, p in probs.items()}
        for probs, cap in ((text, TEXT_CAP), (audio, AUDIO_CAP))
        if probs is not None
    ]
    if not capped:
        return None
    return _normalised({lang: float(np.prod([c[lang] for c in capped])) for lang in capped[0]}, list(capped[0]))


def _top(probs: Mapping[str, float]) -> str:
    return max(probs, key=lambda lang: probs[lang])


def _sources(text: dict[str, float] | None, audio: dict[str, float] | None, lang: str) -> str:
    parts = []
    if text is not None:
        parts.append(f"text {lang} {text[lang]:.2f}")
    parts.append(f"audio {lang} {audio[lang]:.2f}" if audio is not None else "no audio")
    return ", ".join(parts)


def _checked_languages(languages: Sequence[str]) -> tuple[str, ...]:
    checked = tuple(dict.fromkeys(lang.lower() for lang in languages))
    if not checked:
        raise ConfigError("no languages given", fix=f"pass ISO 639-1 codes such as {list(DEFAULT_LANGUAGES)}")
    for lang in checked:
        if len(lang) != 2 or not hasattr(IsoCode639_1, lang.upper()):
            raise ConfigError(
                f"language {lang!r} is not an ISO 639-1 code lingua knows",
                fix="use two-letter codes such as 'en', 'es', 'fr'",
            )
    return checked
