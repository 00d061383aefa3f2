"""Who answered, decided from words, timing, tones and the carrier."""

from __future__ import annotations

import pytest

from talktrack.calls.detection import Answer, AnswerDetector


def _turn(detector: AnswerDetector, start: float, end: float, text: str):  # type: ignore[no-untyped-def]
    detector.on_onset(start)
    return detector.on_turn(end, text, end - start)


@pytest.mark.parametrize("text", ["Hello?", "Hi, this is Dana.", "Yeah?", "Dana speaking.", "¿Bueno?", "Diga."])
def test_a_short_greeting_is_a_person_at_once(text: str) -> None:
    verdict = _turn(AnswerDetector(), 0.4, 1.1, text)
    assert verdict is not None and verdict.answer is Answer.HUMAN
    assert verdict.at_s == 1.1  # decided with the turn: no added wait before the opener


@pytest.mark.parametrize(
    "text",
    [
        "Hi, you've reached Dana Whitfield.",
        "Nobody is available to take your call at the moment.",
        "Please leave your message after the tone.",
        "Ha llamado a Dana, deje su mensaje después del tono.",
        "I'm away from my desk, I'll get back to you.",
    ],
)
def test_voicemail_words(text: str) -> None:
    verdict = _turn(AnswerDetector(), 0.3, 2.4, text)
    assert verdict is not None and verdict.answer is Answer.VOICEMAIL


@pytest.mark.parametrize(
    "text",
    [
        "For sales, press 1. For support, press 2.",
        "If you know your party's extension, you may dial it at any time.",
        "Para español, oprima dos.",
        "To leave a message, press 5. To reach the operator, press 0.",  # a menu, though it says "message"
    ],
)
def test_menus(text: str) -> None:
    verdict = _turn(AnswerDetector(), 0.3, 2.4, text)
    assert verdict is not None and verdict.answer is Answer.IVR


def test_a_greeting_that_runs_on_is_a_machine_before_its_words_are_known() -> None:
    detector = AnswerDetector(max_greeting_s=3.0)
    detector.on_onset(0.5)
    assert detector.poll(3.4) is None
    verdict = detector.poll(3.5)
    assert verdict is not None and verdict.answer is Answer.VOICEMAIL
    # …and the words then tell which machine: a menu.
    verdict = detector.on_turn(6.0, "If you know your party's extension, dial it now.", 5.5)
    assert verdict is not None and verdict.answer is Answer.IVR


def test_an_uncued_long_greeting_then_quiet_is_a_person() -> None:
    detector = AnswerDetector(after_greeting_silence_s=0.6)
    assert _turn(detector, 0.3, 2.6, "Good morning, Acme Corporation, front office.") is None
    assert detector.poll(3.0) is None
    verdict = detector.poll(3.2)
    assert verdict is not None and verdict.answer is Answer.HUMAN


def test_an_uncued_long_greeting_that_goes_on_is_a_machine() -> None:
    detector = AnswerDetector(after_greeting_silence_s=0.6)
    assert _turn(detector, 0.3, 2.6, "Good morning, Acme Corporation, front office.") is None
    verdict = detector.on_onset(2.9)
    assert verdict is not None and verdict.answer is Answer.VOICEMAIL


def test_hi_then_a_recording_is_corrected_to_voicemail() -> None:
    detector = AnswerDetector()
    assert _turn(detector, 0.3, 0.7, "Hi,").answer is Answer.HUMAN  # type: ignore[union-attr]
    verdict = _turn(detector, 1.2, 3.9, "you've reached Dana, leave a message.")
    assert verdict is not None and verdict.answer is Answer.VOICEMAIL
    assert "was human" in verdict.reason


def test_a_person_who_waited_for_us_stays_a_person() -> None:
    detector = AnswerDetector()
    assert _turn(detector, 0.3, 0.8, "Hello?").answer is Answer.HUMAN  # type: ignore[union-attr]
    # They listened to the opener, then say something that sounds like a greeting's words.
    assert _turn(detector, 4.5, 6.0, "Sorry, I'm not available right now.") is None
    assert detector.verdict is not None and detector.verdict.answer is Answer.HUMAN


def test_a_beep_means_voicemail_and_a_long_tone_a_fax() -> None:
    beep = AnswerDetector().on_beep(4.2)
    assert beep is not None and beep.answer is Answer.VOICEMAIL
    tone = AnswerDetector().on_long_tone(2.0, 2100.0)
    assert tone is not None and tone.answer is Answer.TONE


@pytest.mark.parametrize(
    ("answered_by", "answer"),
    [
        ("human", Answer.HUMAN),
        ("machine_start", Answer.VOICEMAIL),
        ("machine_end_beep", Answer.VOICEMAIL),
        ("fax", Answer.TONE),
        ("unknown", None),
    ],
)
def test_the_carriers_verdict(answered_by: str, answer: Answer | None) -> None:
    verdict = AnswerDetector().on_carrier(0.1, answered_by)
    assert (verdict.answer if verdict else None) is answer


def test_an_empty_turn_decides_nothing() -> None:
    assert _turn(AnswerDetector(), 0.3, 0.6, "") is None


def test_talk_that_went_on_may_still_turn_out_to_be_a_menu() -> None:
    detector = AnswerDetector(after_greeting_silence_s=0.6)
    assert _turn(detector, 0.3, 3.2, "Thank you for calling Acme Corporation today.") is None
    assert detector.on_onset(3.5).answer is Answer.VOICEMAIL  # type: ignore[union-attr]
    verdict = _turn(detector, 3.5, 12.0, "For sales, press 1. For support, press 2.")
    assert verdict is not None and verdict.answer is Answer.IVR


@pytest.mark.parametrize(
    "text",
    [
        "Welcome to the directory. Please enter the first three letters of your party's last name.",
        "Please stay on the line, your call will be answered by the next available representative.",
    ],
)
def test_directories_and_queues_are_phone_systems(text: str) -> None:
    verdict = _turn(AnswerDetector(), 0.3, 2.4, text)
    assert verdict is not None and verdict.answer is Answer.IVR
