"""Language tracking: the switching policy on text, and identification on real recorded speech."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from talktrack.bench.language_eval import Heard, hear, load_prompts, switches_to
from talktrack.errors import ConfigError, MediaError, ModelMissingError
from talktrack.speech.language import (
    SETTLE_TURNS,
    LanguageTracker,
    TextLanguage,
    detect_audio_language,
    restrict,
    shared_text_language,
)
from talktrack.speech.stt_whisper import WhisperSTT
from talktrack.speech.whisper_models import BASE_PIP, base_multilingual_dir, tiny_en_dir

SUBSET = 20  # prompts per language in the integration tests: about 30 s on two cores


class FixedText(TextLanguage):
    """A text detector that always answers the same, to test the policy alone."""

    def __init__(self, probs: Mapping[str, float]) -> None:
        self.languages = tuple(probs)
        self.probs = dict(probs)

    def probabilities(self, text: str) -> dict[str, float]:
        return dict(self.probs)


def tracker(language: str = "en", names: Sequence[str] = ()) -> LanguageTracker:
    return LanguageTracker(language, names=names, text=shared_text_language())


# -- policy on text -----------------------------------------------------------------------


def test_spanish_request_switches_an_english_call() -> None:
    call = tracker("en")
    change = call.observe("Hola, ¿me puede hablar en español?")
    assert change is not None
    assert (change.previous, change.language) == ("en", "es")
    assert change.confidence >= 0.9
    assert "text es" in change.reason
    assert call.language == "es"
    assert call.last_reason == change.reason


def test_english_request_switches_a_spanish_call_back() -> None:
    call = tracker("es")
    assert call.observe("Sí, claro, me interesa la demostración.") is None
    change = call.observe("Sorry, can we do this in English?")
    assert change is not None and change.language == "en"


@pytest.mark.parametrize("start", ["en", "es"])
@pytest.mark.parametrize(
    "said",
    [
        "OK",
        "Okay.",
        "no",
        "No, no.",
        "Dana",
        "Dana?",
        "Carlos García.",
        "john at acme dot com",
        "juan arroba acme punto com",
        "It's john@acme.com",
        "5 5 5, 1 2 3 4.",
        "cinco cinco cinco",
        "Mm-hmm.",
        "",
    ],
)
def test_shared_words_names_numbers_and_addresses_never_switch(start: str, said: str) -> None:
    call = tracker(start)
    assert call.observe(said) is None, call.last_reason
    assert call.language == start


def test_no_switch_from_many_ambiguous_turns_in_a_row() -> None:
    call = tracker("en")
    for said in ["OK", "no", "Dana", "john at acme dot com", "OK", "no", "Dana"]:
        assert call.observe(said, {"en": 0.4, "es": 0.6}) is None, call.last_reason


@pytest.mark.parametrize(
    ("start", "said", "to"), [("en", "Sí.", "es"), ("en", "Gracias.", "es"), ("es", "Thanks!", "en")]
)
def test_clear_short_replies_switch(start: str, said: str, to: str) -> None:
    change = tracker(start).observe(said)
    assert change is not None and change.language == to
    assert "short reply" in change.reason


def test_short_reply_of_both_languages_or_against_the_audio_keeps() -> None:
    call = tracker("en")
    assert call.observe("Yes, sí.") is None
    assert call.observe("Gracias.", {"en": 0.9, "es": 0.1}) is None
    assert "audio" in call.last_reason


def test_known_names_are_no_evidence() -> None:
    call = tracker("en", names=["José García", "Acme Ibérica"])
    assert call.observe("José García, Acme Ibérica.", {"en": 0.2, "es": 0.8}) is None
    assert call.last_reason.startswith("no evidence")


def test_hysteresis_after_a_switch() -> None:
    call = tracker("en")
    assert call.observe("Hola, ¿me puede hablar en español?") is not None
    # A stray English word right after the switch does not bounce the call back...
    for _ in range(SETTLE_TURNS):
        assert call.observe("Thanks.") is None
        assert "just switched" in call.last_reason
    # ...but an English sentence does.
    change = call.observe("Sorry, can we do this in English please?")
    assert change is not None and change.language == "en"


def test_text_and_audio_must_agree_or_the_text_be_sure() -> None:
    sure_spanish = FixedText({"en": 0.01, "es": 0.99})
    words = "palabras sin nombres propios"
    opposed = LanguageTracker("en", text=sure_spanish)
    assert opposed.observe(words, {"en": 0.9, "es": 0.1}) is None
    assert "not clear enough" in opposed.last_reason
    near_even = LanguageTracker("en", text=sure_spanish)
    change = near_even.observe(words, {"en": 0.55, "es": 0.45})
    assert change is not None and change.language == "es"
    # A sure audio verdict does not overrule a near-even text (Whisper over-hears English on phone lines).
    audio_only_sure = LanguageTracker("es", text=FixedText({"en": 0.45, "es": 0.55}))
    assert audio_only_sure.observe(words, {"en": 0.999, "es": 0.001}) is None


def test_a_transcript_in_a_foreign_script_leaves_the_audio_to_decide() -> None:
    # Whisper's auto mode sometimes writes Spanish speech in Arabic letters.
    assert tracker("en").observe("للمنو") is None
    change = tracker("en").observe("للمنو", {"en": 0.03, "es": 0.97})
    assert change is not None and change.language == "es"
    assert "audio es" in change.reason


def test_two_leaning_turns_in_a_row_switch() -> None:
    call = LanguageTracker("en", text=FixedText({"en": 0.2, "es": 0.8}))
    assert call.observe("palabras que casi dicen") is None
    change = call.observe("palabras que casi dicen")
    assert change is not None and change.language == "es"
    assert "second turn in a row" in change.reason


def test_more_languages_can_be_allowed() -> None:
    languages = ("en", "es", "fr")
    call = LanguageTracker("en", languages, text=TextLanguage(languages))
    change = call.observe("Bonjour, est-ce qu'on peut parler en français, s'il vous plaît ?")
    assert change is not None and change.language == "fr"


def test_bad_languages_are_reported() -> None:
    with pytest.raises(ConfigError, match="(?s)'fr'.*fix: start the call"):
        LanguageTracker("fr")
    with pytest.raises(ConfigError, match="'xx'"):
        TextLanguage(("en", "xx"))
    with pytest.raises(ConfigError, match="covers"):
        LanguageTracker("en", ("en", "es", "fr"), text=shared_text_language())


def test_restrict_keeps_allowed_languages_and_applies_weights() -> None:
    probs = {"en": 0.5, "es": 0.2, "pt": 0.3}
    assert restrict(probs, ("en", "es")) == pytest.approx({"en": 5 / 7, "es": 2 / 7})
    assert restrict(probs, ("en", "es"), {"en": 0.1}) == pytest.approx({"en": 0.05 / 0.25, "es": 0.2 / 0.25})
    assert restrict({"pt": 1.0}, ("en", "es")) == {}


def test_text_language_is_shared_safely_between_threads() -> None:
    text = shared_text_language()
    assert shared_text_language(("en", "es")) is text
    sentences = ["Hola, ¿qué tal?", "Sorry, can we do this in English?", "Me parece bien el martes."] * 20
    alone = [text.probabilities(s) for s in sentences]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(text.probabilities, sentences))
    assert all(t == pytest.approx(a, abs=1e-9) for t, a in zip(together, alone, strict=True))
    assert set(alone[0]) == {"en", "es"}
    assert text.probabilities("123 456") == {"en": 0.0, "es": 0.0}


# -- real speech: asterisk's English and Spanish prompts through Whisper base ---------------


@pytest.fixture(scope="session")
def base_stt(tmp_path_factory: pytest.TempPathFactory) -> WhisperSTT:
    try:
        model_dir = base_multilingual_dir(tmp_path_factory.mktemp("whisper-cache"))
    except ModelMissingError:
        pytest.skip(f"multilingual Whisper base not installed ({BASE_PIP})")
    return WhisperSTT(model_dir, language=None, cpu_threads=2)


@pytest.fixture(scope="module")
def heard(base_stt: WhisperSTT) -> dict[str, list[Heard]]:
    """A fixed, evenly spread subset of 1.5-3 s prompts per language, heard once."""
    out: dict[str, list[Heard]] = {}
    for lang in ("en", "es"):
        try:
            prompts = [p for p in load_prompts(lang) if 1.5 <= p.seconds <= 3.0]
        except MediaError as exc:
            pytest.skip(str(exc))
        step = max(1, len(prompts) // SUBSET)
        out[lang] = [hear(base_stt, p) for p in prompts[::step][:SUBSET]]
        assert len(out[lang]) == SUBSET
    return out


def _share(hits: list[bool]) -> float:
    return sum(hits) / len(hits)


@pytest.mark.integration
def test_audio_identification_on_real_speech(heard: dict[str, list[Heard]]) -> None:
    for lang, turns in heard.items():
        hits = [max(h.audio_probs, key=lambda k: h.audio_probs[k]) == lang for h in turns]
        assert _share(hits) >= 0.85, (lang, [(h.prompt.name, h.audio_probs) for h in turns])


@pytest.mark.integration
def test_text_identification_on_real_transcripts(heard: dict[str, list[Heard]]) -> None:
    text = shared_text_language()
    everything = [h for turns in heard.values() for h in turns]

    def top(s: str) -> str:
        probs = text.probabilities(s)
        return max(probs, key=lambda k: probs[k])

    assert _share([top(h.prompt.text) == h.prompt.language for h in everything]) >= 0.95
    whisper = [top(h.transcript) == h.prompt.language for h in everything]
    assert _share(whisper) >= 0.9, [(h.prompt.name, h.transcript) for h in everything]


@pytest.mark.integration
def test_tracker_on_real_speech(heard: dict[str, list[Heard]]) -> None:
    text = shared_text_language()
    everything = [h for turns in heard.values() for h in turns]
    missed = [(h.prompt.name, h.transcript) for h in everything if not switches_to(h, text)]
    assert 1 - len(missed) / len(everything) >= 0.95, missed
    stayed = [LanguageTracker(h.prompt.language, text=text).observe(h.transcript, h.audio_probs) for h in everything]
    assert sum(change is not None for change in stayed) <= 1


@pytest.mark.integration
def test_a_real_call_switches_to_spanish_and_back(heard: dict[str, list[Heard]]) -> None:
    text = shared_text_language()
    # Prompts each identified on their own: this test is about the turns of one call.
    clear = {lang: [h for h in turns if switches_to(h, text)] for lang, turns in heard.items()}
    script = [clear["en"][0], clear["en"][1], clear["es"][0], clear["es"][1], clear["es"][2], clear["en"][2]]
    call = tracker("en")
    changes = [call.observe(h.transcript, h.audio_probs) for h in script]
    assert [c.language if c else None for c in changes] == [None, None, "es", None, None, "en"]


@pytest.mark.integration
def test_audio_helper_refuses_short_audio_and_english_only_models(base_stt: WhisperSTT) -> None:
    half_second = np.random.default_rng(1).normal(0.0, 0.05, 8_000).astype(np.float32)
    assert detect_audio_language(base_stt, half_second) == {}
    with pytest.raises(ConfigError, match="(?s)English-only.*base_multilingual_dir"):
        detect_audio_language(WhisperSTT(tiny_en_dir()), half_second)


def test_bench_reports_missing_prompts(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="apt-get install asterisk-core-sounds-es"):
        load_prompts("es", sounds_dir=tmp_path, doc_dir=tmp_path)
