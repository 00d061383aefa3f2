import pytest

from talktrack.calls.turn_taker import TurnPolicy, transcript_says_done


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
