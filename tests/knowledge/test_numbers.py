"""Numbers however they are written, for the grounding checks."""

from __future__ import annotations

import pytest

from talktrack.knowledge.numbers import numbers_in


@pytest.mark.parametrize(
    ("said", "numbers"),
    [
        ("a fourteen-day free trial", {"14"}),
        ("It starts at $4 per user", {"4"}),
        ("TLS 1.2 or higher", {"1.2"}),
        ("one point two", {"1.2"}),
        ("1,200 users", {"1200"}),
        ("two hundred and fifty-six", {"256"}),
        ("four dollars and fifty cents", {"4", "50"}),
        ("10:30 tomorrow", {"10", "30"}),
        ("the one you use", set()),
        ("SOC 2 Type 2", {"2"}),
        ("Twenty-four seven support", {"24", "7"}),
        ("version 1.2.3", {"1.2.3"}),
        ("two thousand twenty four", {"2024"}),
        ("one point two five", {"1.25"}),
        ("4.50 dollars", {"4.5"}),
    ],
)
def test_numbers_in_words_and_digits_are_the_same(said: str, numbers: set[str]) -> None:
    assert numbers_in(said) == numbers
