"""E-mail addresses and counts as Whisper writes them, and addresses read back aloud."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from talktrack.brain.spoken import ordinal, parse_email, parse_number, spell_email, words_to_digits


@pytest.mark.parametrize(
    ("said", "address"),
    [
        ("john dot smith at acme dot com", "john.smith@acme.com"),
        ("John.Smith at acme.com", "john.smith@acme.com"),
        ("it's j smith at acme dot io", "jsmith@acme.io"),
        ("It's J. Smith at acme.com.", "jsmith@acme.com"),
        ("dana underscore w at acme logistics dot com", "dana_w@acmelogistics.com"),
        ("dana dash w at acme dot com", "dana-w@acme.com"),
        ("Dana hyphen Whitfield at acme dot com", "dana-whitfield@acme.com"),
        ("j-o-h-n at gmail dot com", "john@gmail.com"),
        ("It's J.O.H.N. at Gmail.com", "john@gmail.com"),
        ("j o h n at gmail dot com", "john@gmail.com"),
        ("john at gmail.com.", "john@gmail.com"),
        ("My email is john@acme.com.", "john@acme.com"),
        ("my email is dana at acme dot co dot uk", "dana@acme.co.uk"),
        ("Sure, it's dana at acme dot co dot uk, thanks", "dana@acme.co.uk"),
        ("Yeah, um, it's mark twenty at acme dot com", "mark20@acme.com"),
        ("you can reach me at john at acme dot com", "john@acme.com"),
        ("my email is john smith at acme dot com", "johnsmith@acme.com"),
        ("write down bob at acme dot com please", "bob@acme.com"),
        ("it's bob 23 at acme dot com", "bob23@acme.com"),
        ("it's m double t at acme dot com", "mtt@acme.com"),
        ("john plus news at gmail dot com", "john+news@gmail.com"),
        ("JOHN AT ACME DOT COM", "john@acme.com"),
        ("send it to dana at acme dot io?", "dana@acme.io"),
        ("write down a bob at acme dot com", "bob@acme.com"),
        ("j a n e at acme dot com", "jane@acme.com"),
        ("please send it to John dot Smith at Acme Logistics dot com", "john.smith@acmelogistics.com"),
    ],
)
def test_parse_email(said: str, address: str) -> None:
    assert parse_email(said) == address


@pytest.mark.parametrize(
    "said",
    [
        "call me at 5",
        "I'm at the office",
        "I'm at acme dot com",
        "we're at acme",
        "john at acme",
        "john at acme dot c",
        "my email is",
        "at acme dot com",
        "we use OwnBackup today",
        "",
    ],
)
def test_no_address(said: str) -> None:
    assert parse_email(said) is None


@pytest.mark.parametrize(
    ("address", "spoken"),
    [
        ("john.smith@acme.com", "john dot smith at acme dot com"),
        ("jsmith@gmail.com", "J smith at G mail dot com"),
        ("js@acme.io", "J S at acme dot I O"),
        ("dana_w@acme-logistics.com", "dana underscore W at acme dash logistics dot com"),
        ("bob23@acme.co.uk", "bob 2 3 at acme dot co dot U K"),
        ("cfo@acme.com", "C F O at acme dot com"),
        ("xkcd@acme.org", "X K C D at acme dot org"),
        ("you@work.com", "Y O U at W O R K dot com"),
        ("ten.dot@acme.com", "T E N dot D O T at acme dot com"),
        ("John.Smith@ACME.com ", "john dot smith at acme dot com"),
    ],
)
def test_spell_email(address: str, spoken: str) -> None:
    assert spell_email(address) == spoken


@pytest.mark.parametrize(
    "address",
    ["john.smith@acme.com", "jsmith@gmail.com", "dana_w@acme-logistics.com", "bob23@acme.co.uk", "x@y.io"],
)
def test_spelled_address_parses_back(address: str) -> None:
    assert parse_email(f"sure, it's {spell_email(address)}") == address


_LABEL = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)


@given(
    local=st.lists(_LABEL, min_size=1, max_size=3),
    sep=st.sampled_from([".", "_", "-"]),
    domain=st.lists(_LABEL, min_size=1, max_size=2).map("-".join),
    tld=st.sampled_from(["com", "io", "co.uk", "de", "org", "ai"]),
)
def test_any_spelled_address_parses_back(local: list[str], sep: str, domain: str, tld: str) -> None:
    address = f"{sep.join(local)}@{domain}.{tld}"
    assert parse_email(f"sure, it's {spell_email(address)}") == address


@pytest.mark.parametrize(
    ("said", "count"),
    [
        ("about fifty", 50),
        ("twenty-five", 25),
        ("25", 25),
        ("5,000", 5000),
        ("a dozen", 12),
        ("half a dozen", 6),
        ("two dozen", 24),
        ("a couple hundred", 200),
        ("a few thousand", 3000),
        ("a couple of people", 2),
        ("two hundred and fifty", 250),
        ("a hundred and twenty", 120),
        ("three hundred thousand", 300000),
        ("2.5 million", 2500000),
        ("roughly 5k seats", 5000),
        ("five thousand", 5000),
        ("just me", 1),
        ("It's only me.", 1),
        ("Uh, we have about fifty people, maybe more.", 50),
        ("around 40 or 50", 40),
        ("nobody yet", 0),
        ("no one", 0),
        ("zero", 0),
    ],
)
def test_parse_number(said: str, count: int) -> None:
    assert parse_number(said) == count


@pytest.mark.parametrize("said", ["me and my CFO", "hundreds", "I'm not sure", "give me a second", ""])
def test_no_number(said: str) -> None:
    assert parse_number(said) is None


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("ten thirty", "10 30"),
        ("twenty five people", "25 people"),
        ("at one fifteen", "at 1 15"),
        ("the twenty first", "the 21st"),
        ("the third of may", "the 3rd of may"),
        ("between two and four", "between 2 and 4"),
        ("nine hundred and ninety nine", "999"),
        ("a hundred", "100"),
        ("a day", "a day"),
    ],
)
def test_words_to_digits(text: str, digits: str) -> None:
    assert words_to_digits(text) == digits


@pytest.mark.parametrize(("n", "said"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (11, "11th"), (13, "13th"), (22, "22nd")])
def test_ordinal(n: int, said: str) -> None:
    assert ordinal(n) == said
