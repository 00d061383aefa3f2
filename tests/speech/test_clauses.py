"""Clause splitting for early playback, and cache-key normalization."""

from __future__ import annotations

import pytest

from talktrack.speech.clauses import normalize_for_cache, split_clauses


def _same_words(text: str, clauses: list[str]) -> bool:
    return " ".join(clauses).split() == text.split()


def test_first_clause_breaks_at_dash() -> None:
    text = "Great question — SOC 2 Type II, yes."
    assert split_clauses(text) == ["Great question —", "SOC 2 Type II, yes."]


def test_sentences_are_split() -> None:
    text = "Sure. We integrate with HubSpot! Want me to send the details?"
    assert split_clauses(text) == [
        "Sure.",
        "We integrate with HubSpot!",
        "Want me to send the details?",
    ]


def test_short_reply_is_one_clause() -> None:
    assert split_clauses("Got it.") == ["Got it."]
    assert split_clauses("  Hi there  ") == ["Hi there"]


def test_empty_text_gives_no_clauses() -> None:
    assert split_clauses("") == []
    assert split_clauses(" \n\t ") == []


@pytest.mark.parametrize(
    "text",
    [
        "It's $1,200 a year.",
        "Version 3.5 is out.",
        "We can talk at 10:30 tomorrow.",
        "Write to sales@acme.io today.",
        "Dr. Patel signed off.",
        "We use tools e.g. Slack and Zoom.",
        "Our U.S. team handles it.",
    ],
)
def test_never_splits_inside_numbers_abbreviations_emails_or_times(text: str) -> None:
    assert split_clauses(text) == [text]


def test_abbreviations_do_not_end_a_sentence_but_real_ends_do() -> None:
    text = "Dr. Smith from the U.S. office, e.g. our lead, joins at 10 a.m. Does that work?"
    clauses = split_clauses(text, first_max_words=24)
    assert clauses == [
        "Dr. Smith from the U.S. office, e.g. our lead, joins at 10 a.m.",
        "Does that work?",
    ]


def test_no_as_an_answer_ends_a_sentence_but_no_before_a_number_does_not() -> None:
    assert split_clauses("No. We don't.") == ["No.", "We don't."]
    assert split_clauses("See No. 5 please.") == ["See No. 5 please."]


def test_first_clause_is_short_when_a_natural_break_exists() -> None:
    text = "Honestly, that depends, because pricing scales with the number of seats you need."
    clauses = split_clauses(text)
    assert clauses[0] == "Honestly, that depends,"
    assert len(clauses[0].split()) <= 6
    assert _same_words(text, clauses)


def test_first_clause_stays_whole_without_a_natural_break() -> None:
    text = "I completely understand why that matters to your team."
    assert split_clauses(text) == [text]


def test_first_max_words_is_respected() -> None:
    text = "Yes, we do, and the setup takes about a week."
    assert split_clauses(text, first_max_words=2)[0] == "Yes,"
    assert split_clauses(text, first_max_words=3)[0] == "Yes, we do,"


def test_long_sentence_splits_at_punctuation() -> None:
    text = (
        "The plan includes onboarding, training for your whole team, a dedicated success "
        "manager, quarterly reviews, and priority support; we also include the API at no "
        "extra cost for the first year."
    )
    clauses = split_clauses(text, max_words=14)
    assert all(len(c.split()) <= 14 for c in clauses)
    assert len(clauses) >= 3
    assert _same_words(text, clauses)
    assert all(c.rstrip().endswith((",", ";", ".")) for c in clauses)


def test_long_sentence_without_punctuation_splits_before_a_conjunction() -> None:
    text = (
        "Most of our customers felt exactly the same way about their old dialer and then they "
        "saw how much time the team saved every single week on follow ups"
    )
    clauses = split_clauses(text, max_words=20)
    assert len(clauses) == 2
    assert clauses[1].startswith("and then")
    assert _same_words(text, clauses)


def test_long_unbreakable_sentence_is_left_whole() -> None:
    text = " ".join(["word"] * 30) + "."
    assert split_clauses(text, max_words=10) == [text]


def test_closing_quotes_and_brackets_keep_the_break() -> None:
    text = 'They said "call us back." (We did!) Then nothing.'
    assert split_clauses(text) == ['They said "call us back."', "(We did!)", "Then nothing."]


def test_ellipsis_is_a_soft_break() -> None:
    text = "Hmm... let me check the calendar for next Tuesday afternoon."
    assert split_clauses(text)[0] == "Hmm..."


@pytest.mark.parametrize(
    "text",
    [
        "Great question — SOC 2 Type II, yes. We renewed it in March; the report is under NDA.",
        "Ok!!! So... what now? Let's see: 1,200 seats, $3.50 each, e.g. roughly $4,200.",
        "a , b ; c : d - e — f . g ? h !",
        "One two three four five six seven eight nine ten eleven twelve thirteen fourteen.",
    ],
)
def test_no_empty_clauses_and_words_round_trip(text: str) -> None:
    for first, most in ((1, 1), (3, 5), (6, 24), (50, 50)):
        clauses = split_clauses(text, first_max_words=first, max_words=most)
        assert clauses
        assert all(c.strip() and c == c.strip() for c in clauses)
        assert _same_words(text, clauses)


def test_punctuation_only_pieces_join_a_neighbour() -> None:
    assert split_clauses("— Well, yes, we can do that for you today.")[0] == "— Well, yes,"
    assert split_clauses("Sure thing. !!") == ["Sure thing. !!"]
    assert split_clauses("— …") == ["— …"]


def test_bad_limits_are_rejected() -> None:
    with pytest.raises(ValueError, match="first_max_words=0"):
        split_clauses("Hello there.", first_max_words=0)


def test_normalize_for_cache_folds_case_whitespace_and_quotes() -> None:
    assert normalize_for_cache("  Got   it. ") == normalize_for_cache("got it.")
    assert normalize_for_cache("We’re\nready") == "we're ready"
    assert normalize_for_cache("Got it.") != normalize_for_cache("Got it?")
