from talktrack.calls.ledger import SpeechLedger


def test_heard_keeps_played_clauses_and_a_share_of_the_current_one():
    ledger = SpeechLedger()
    ledger.start("Got it. Backbeam backs up Salesforce every hour, and restores in minutes.")
    ledger.clause("Got it.", 4000)
    ledger.clause("Backbeam backs up Salesforce every hour,", 12000)
    ledger.clause("and restores in minutes.", 8000)
    ledger.played(4000 + 6000)  # the first clause and half of the second
    assert ledger.heard() == "Got it. Backbeam backs up"
    assert ledger.unheard() == "Salesforce every hour, and restores in minutes."


def test_nothing_played_means_nothing_heard_and_all_played_means_all():
    ledger = SpeechLedger()
    ledger.start("Hi Dana.")
    ledger.clause("Hi Dana.", 3000)
    assert ledger.heard() == ""
    ledger.played(3200)
    assert ledger.heard() == "Hi Dana."
    assert ledger.unheard() == ""
    ledger.start("Next line.")
    assert ledger.played_samples == 0 and ledger.heard() == ""
