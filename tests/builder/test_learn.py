"""Drafting objections and FAQ from transcript text, and merging them with the script's."""

from __future__ import annotations

from pathlib import Path

from talktrack.builder.drafts import DraftFaq, DraftObjection
from talktrack.builder.learn import learn, merge, sentences
from talktrack.builder.transcript import Transcript

CALL = """\
rep: Hi Dana, it's Sarah from Backbeam, calling about Salesforce backups. Is now an OK time?
prospect: Sure, go ahead.
rep: We back up your SaaS apps and restore any record in minutes. How do you back up Salesforce today?
prospect: Just the weekly export. Where would our data be stored?
rep: You can choose EU or US data residency. How many people use Salesforce at Acme?
prospect: About 60. How much does it cost?
rep: It starts at $4 per user per month with a 14-day free trial.
prospect: Honestly, that's too expensive for us right now.
rep: I hear you. The free trial lets you check it's worth it first. Would a quick demo next week work?
prospect: Wait, who is this again?
rep: It's Sarah, from Backbeam.
prospect: Do you support SAP as well?
rep: Good question. I don't want to guess, so I'll have our team email you the details.
prospect: Okay, fine.
rep: Perfect, I'll email you an invite. Thanks, Dana!
"""

SECOND_CALL = """\
prospect: Do you back up Jira as well?
rep: Yes, we backup Salesforce, HubSpot, Jira and Zendesk.
prospect: Where is the data stored?
rep: You can choose EU or US data residency.
prospect: It's too expensive for us honestly.
rep: I hear you. The free trial lets you check it first.
prospect: Just send me an email.
rep: Sure thing. I'll email you a short overview today. Thanks, and have a good one!
"""


def transcript(text: str, name: str = "call1.wav") -> Transcript:
    return Transcript.from_text(text, Path(name))


def test_transcript_text_round_trip() -> None:
    call = transcript(CALL)
    assert [t.speaker for t in call.turns()][:3] == ["rep", "prospect", "rep"]
    assert call.as_text().splitlines() == CALL.splitlines()


def test_pushbacks_become_objections_with_known_or_new_intents() -> None:
    learned = learn([transcript(CALL)])
    by_intent = {o.intent: o for o in learned.objections}
    assert set(by_intent) == {"how_much", "too_expensive"}
    assert by_intent["how_much"].examples == ["How much does it cost?"]
    assert by_intent["how_much"].response == "It starts at $4 per user per month with a 14-day free trial."
    # The rep's follow-up question is not part of the answer: the engine asks its own next question.
    assert by_intent["too_expensive"].response == "I hear you. The free trial lets you check it's worth it first."
    assert all(o.learned and o.source.startswith("call1.wav ") for o in learned.objections)


def test_answered_questions_become_faq_and_the_rest_is_reported() -> None:
    learned = learn([transcript(CALL)])
    (faq,) = learned.faq
    assert faq.question == "Where would our data be stored?"
    assert faq.answer == "You can choose EU or US data residency."
    assert faq.learned
    # "who is this" is the engine's own intent; the SAP question got no real answer on the call.
    assert [s.text for s in learned.skipped] == ["Do you support SAP as well?"]
    assert "did not answer" in learned.skipped[0].reason


def test_merge_adds_paraphrases_instead_of_duplicates() -> None:
    script_objections = [
        DraftObjection("send_email", ["send me an email"], "Sure thing, I'll e-mail you.", "script", end_call=True),
    ]
    script_faq = [DraftFaq("Which apps do you back up?", "We back up Salesforce, HubSpot, Jira and Zendesk.", "script")]
    learned = learn([transcript(CALL), transcript(SECOND_CALL, "call2.wav")])
    merged = merge(script_objections, script_faq, learned)

    intents = [o.intent for o in merged.objections]
    assert len(intents) == len(set(intents))
    send = merged.objections[0]
    assert send.response == "Sure thing, I'll e-mail you." and not send.learned  # the script's answer wins
    assert send.examples == ["send me an email", "Just send me an email."]
    assert send.heard["Just send me an email."].startswith("call2.wav")
    too_expensive = next(o for o in merged.objections if o.intent == "too_expensive")
    assert too_expensive.examples == [
        "Honestly, that's too expensive for us right now.",
        "It's too expensive for us honestly.",
    ]

    apps, residency = merged.faq
    assert apps.examples == ["Do you back up Jira as well?"] and not apps.learned
    assert residency.learned and residency.examples == ["Where is the data stored?"]
    assert merged.new_faq == 1 and merged.new_objections == 2
    assert merged.paraphrases == 4


def test_sentences_split_on_end_marks() -> None:
    assert sentences("About 60. How much does it cost?  Okay!") == ["About 60.", "How much does it cost?", "Okay!"]
