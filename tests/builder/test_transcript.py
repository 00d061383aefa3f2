"""Respelling misheard script terms in transcripts."""

from __future__ import annotations

from talktrack.builder.transcript import fix_vocabulary, script_terms


def test_script_terms_are_names_not_sentence_starts() -> None:
    terms = script_terms(["Hi there, it's Sarah from Backbeam.", "We back up Salesforce, HubSpot and Zendesk."])
    assert terms == {"Sarah", "Backbeam", "Salesforce", "HubSpot", "Zendesk"}


def test_misheard_names_are_respelled() -> None:
    terms = {"Backbeam", "Salesforce", "Zendesk", "OwnBackup"}
    text, fixed = fix_vocabulary("It's Sarah from Backbean, calling about sales for backups in Zindesk.", terms)
    assert text == "It's Sarah from Backbeam, calling about Salesforce backups in Zendesk."
    assert fixed == 3


def test_ordinary_words_stay() -> None:
    text = "We backup sales data, and we use own backup today."
    fixed_text, _ = fix_vocabulary(text, {"OwnBackup", "Salesforce"})
    assert fixed_text == "We backup sales data, and we use OwnBackup today."
