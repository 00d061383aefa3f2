import pytest

from talktrack.calls.turn_taker import TurnPolicy, is_lead_in, looks_like_sentence, transcript_says_done


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Hello?", "question"),
        ("Does your SOC 2 cover Type II?", "question"),
        ("Yes.", "short_answer"),
        ("About forty people.", "short_answer"),
        ("Sure, go ahead.", "short_answer"),
        ("We export everything to a spreadsheet once a month.", None),
        ("We use, um", None),
        ("It's me and the", None),
        ("", None),
    ],
)
def test_transcript_breaks_smart_turn_ties(text, reason):
    assert transcript_says_done(text, TurnPolicy()) == reason


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("Honestly, we just do a weekly export.", True),
        ("Just me and our CFO.", True),
        ("We export to a spreadsheet and", False),
        ("We use, um", False),
        ("Well", False),
        ("", False),
    ],
)
def test_a_finished_looking_sentence_waits_less_than_a_fragment(text, sentence):
    assert looks_like_sentence(text) is sentence


@pytest.mark.parametrize(
    ("text", "lead_in"),
    [
        ("Sure.", True),
        ("Well,", True),
        ("Sorry.", True),
        ("Yes.", True),
        ("Hello?", False),
        ("Sure, go ahead.", False),
        ("Forty.", False),
        ("", False),
    ],
)
def test_a_lone_lead_in_word_waits_for_the_rest_of_the_sentence(text, lead_in):
    assert is_lead_in(text) is lead_in
