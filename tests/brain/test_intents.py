"""Intent matching on transcripts the way a speech recogniser writes them."""

from __future__ import annotations

import pytest

from talktrack.brain.intents import (
    ALONE_EXAMPLES,
    BUILTIN_EXAMPLES,
    BUILTIN_INTENTS,
    IntentMatcher,
    is_question,
    normalize,
    stem,
)
from talktrack.brain.playbook import RESERVED_INTENTS, Playbook, bundled_playbook, load_playbook


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    return load_playbook(bundled_playbook())


@pytest.fixture(scope="module")
def matcher(playbook: Playbook) -> IntentMatcher:
    return IntentMatcher(playbook, names=["Dana"])


def faq_intent(playbook: Playbook, question: str) -> str:
    index = next(i for i, f in enumerate(playbook.faq) if f.question == question)
    return f"faq:{index}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm not sure.", "i am not sure"),
        ("We don't, we can't.", "we do not we can not"),
        ("What's this about?", "what is this about"),
        ("Does your SOC2 cover Type II?", "does your soc 2 cover type 2"),
        ("Mm-hmm.", "mhm"),
        ("Uh-huh, all right.", "mhm alright"),
        ("Two hundred, maybe fifty", "2 hundred maybe 50"),
        ("Send an e-mail", "send an email"),
        ("We\u2019re good", "we are good"),
        ("Salesforce's weekly export", "salesforce weekly export"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_stem_equates_word_forms() -> None:
    assert stem("restores") == stem("restoring") == stem("restored") == stem("restore")
    assert stem("encrypted") == stem("encryption")
    assert stem("using") == stem("use")
    assert stem("business") == "business"


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("Do you support SAP?", True),
        ("so how much is it", True),
        ("Um, is it encrypted", True),
        ("I was wondering if you do Jira", True),
        ("We just use the weekly export.", False),
        ("Yeah, sure, go ahead.", False),
    ],
)
def test_is_question(text: str, question: bool) -> None:
    assert is_question(text) is question


def test_reserved_intents_are_exactly_what_the_matcher_can_return() -> None:
    fallbacks = {"unknown_question", "off_topic", "statement", "unclear"}
    assert BUILTIN_INTENTS | fallbacks == RESERVED_INTENTS
    assert set(ALONE_EXAMPLES) <= BUILTIN_INTENTS
    assert not set(BUILTIN_EXAMPLES) & fallbacks


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Picking up the phone
        ("Hello?", "greeting"),
        ("Hi, this is Dana.", "greeting"),
        ("Yes, speaking.", "greeting"),
        ("This is she.", "greeting"),
        # Polarity, with the fillers and punctuation a transcriber adds
        ("Yeah, sure, go ahead.", "yes"),
        ("Sure.", "yes"),
        ("Yep, I've got a minute.", "yes"),
        ("Yeah, go for it.", "yes"),
        ("Sure, next week works.", "yes"),
        ("Tuesday afternoon works for me.", "yes"),
        ("No, go ahead.", "yes"),
        ("Nope.", "no"),
        ("Hmm, I don't think so.", "no"),
        ("Nah, we're good.", "no"),
        ("I'm not sure.", "maybe"),
        ("Let me think about it.", "maybe"),
        ("Uh huh.", "backchannel"),
        ("Mm-hmm.", "backchannel"),
        ("Okay.", "backchannel"),
        ("Got it.", "backchannel"),
        # Conversation control
        ("Who is this?", "who_is_this"),
        ("Sorry, who's calling?", "who_is_this"),
        ("What's this about?", "what_is_this_about"),
        ("Why are you calling me?", "what_is_this_about"),
        ("Sorry, what?", "repeat"),
        ("What?", "repeat"),
        ("Can you repeat that?", "repeat"),
        ("Come again?", "repeat"),
        ("Bye.", "goodbye"),
        ("Okay, I gotta go.", "goodbye"),
        ("I've got to run.", "goodbye"),
        ("Are you a robot?", "are_you_ai"),
        ("Is this A.I.?", "are_you_ai"),
        ("Can we set up a demo?", "book_meeting"),
        ("Hold on a sec.", "hold"),
        # Playbook objections
        ("Uh, not really interested, thanks.", "not_interested"),
        ("I'm not interested.", "not_interested"),
        ("No thanks.", "not_interested"),
        ("Please take me off your list.", "not_interested"),
        ("Can you just send me an email?", "send_email"),
        ("Just email me.", "send_email"),
        ("How much is it?", "how_much"),
        ("So, what does it cost?", "how_much"),
        ("Yeah, but what's the pricing like?", "how_much"),
        ("Call me back next week.", "call_later"),
        ("Not right now.", "call_later"),
        ("I'm in a meeting right now.", "busy"),
        ("Sorry, I'm busy.", "busy"),
        ("We already use OwnBackup.", "already_have_backup"),
        ("We're using OwnBackup right now.", "already_have_backup"),
        ("We already have a backup solution.", "already_have_backup"),
        # Answers to qualification questions are not intents
        ("Honestly we just do the weekly export.", "statement"),
        ("About fifty people.", "statement"),
        ("Right now it's just manual exports.", "statement"),
        ("I'm the one who decides.", "statement"),
        # Fillers only
        ("Um.", "unclear"),
        ("", "unclear"),
    ],
)
def test_transcripts(matcher: IntentMatcher, text: str, expected: str) -> None:
    assert matcher.match(text).intent == expected


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("Do you have SOC 2?", "Are you SOC 2 compliant?"),
        ("Does your SOC 2 cover Type II?", "Are you SOC 2 compliant?"),
        ("Are you guys SOC 2 type two?", "Are you SOC 2 compliant?"),
        ("Is Backbeam SOC 2 certified?", "Are you SOC 2 compliant?"),
        ("Is the data encrypted?", "Is my data encrypted?"),
        ("Is the data encrypted in transit?", "Is my data encrypted?"),
        ("Where do you store the data?", "Where is my data stored?"),
        ("Do you store data in the EU?", "Where is my data stored?"),
        ("Do you support HubSpot?", "Which apps do you back up?"),
        ("Does it work with Hub Spot?", "Which apps do you back up?"),
        ("Do you back up Zendesk?", "Which apps do you back up?"),
        ("Do you do Jira too?", "Which apps do you back up?"),
        ("How long does a restore take?", "How fast can you restore?"),
        ("Can we restore just one record?", "How fast can you restore?"),
        ("Do you offer a free trial?", "Is there a free trial?"),
    ],
)
def test_faq_paraphrases(matcher: IntentMatcher, playbook: Playbook, text: str, question: str) -> None:
    match = matcher.match(text)
    assert match.intent == faq_intent(playbook, question)
    assert match.score >= matcher.threshold
    assert match.example


@pytest.mark.parametrize(
    "text",
    [
        "Do you support SAP?",
        "Yeah, do you support SAP?",
        "Do you guys work with Oracle?",
        "Do you integrate with Slack?",
        "Is it HIPAA compliant?",
        "Do you have an API?",
    ],
)
def test_unknown_product_questions(matcher: IntentMatcher, text: str) -> None:
    match = matcher.match(text)
    assert match.intent == "unknown_question"
    assert match.question


@pytest.mark.parametrize(
    "text",
    ["Who won the Super Bowl?", "What's the weather like in Chicago?", "Do you like pizza?"],
)
def test_off_topic_questions(matcher: IntentMatcher, text: str) -> None:
    assert matcher.match(text).intent == "off_topic"


def test_rank_lists_best_intents_first(matcher: IntentMatcher) -> None:
    ranked = matcher.rank("Does your SOC 2 cover Type II?", limit=3)
    assert ranked[0].intent.startswith("faq:")
    assert ranked[0].score == 1.0
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)


def test_prospect_name_becomes_a_greeting(playbook: Playbook) -> None:
    matcher = IntentMatcher(playbook, names=["Priya"])
    assert matcher.match("Hi, Priya speaking.").intent == "greeting"
