"""Passages made sayable: first person for the company, asides dropped, sentences split."""

from __future__ import annotations

import pytest

from talktrack.knowledge.speech import rephrase, sentences_of


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("Backbeam holds a SOC 2 Type II report.", "We hold a SOC 2 Type II report."),
        ("Backbeam is a data processor (see the DPA).", "We're a data processor."),
        ("Backbeam backs up records and files.", "We back up records and files."),
        ("Backbeam employees cannot browse customer data.", "Our employees cannot browse customer data."),
        ("Backbeam has a 24/7 on-call rotation.", "We have a 24/7 on-call rotation."),
        ("Backbeam's list of subprocessors is published.", "Our list of subprocessors is published."),
        (
            "It makes backups unreadable to everyone, including Backbeam.",
            "It makes backups unreadable to everyone, including us.",
        ),
        ("The Backbeam service has a 99.9% uptime commitment", "Our service has a 99.9% uptime commitment."),
        (
            "Backbeam uses incremental backups and typically consumes little.",
            "We use incremental backups and typically consume little.",
        ),
        ("Backups run daily, e.g. at night [2].", "Backups run daily, for example, at night."),
    ],
)
def test_rephrase(written: str, spoken: str) -> None:
    assert rephrase(written, "Backbeam") == spoken


def test_without_a_company_only_asides_go() -> None:
    assert rephrase("Backbeam holds a report (Type II)", None) == "Backbeam holds a report."


def test_sentences_of_splits_lines_and_sentences_and_drops_fragments() -> None:
    text = "Agent: Hi there. How are you?\nProspect: Fine.\nOK"
    assert sentences_of(text) == ["Agent: Hi there.", "How are you?", "Prospect: Fine."]
