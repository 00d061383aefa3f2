import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talktrack.telephony.sip.digest import Challenge, authorization, parse_challenge, supported
from talktrack.telephony.sip.syntax import SipParseError


def fields(value: str) -> dict[str, str]:
    """The name=value pairs of an Authorization value, unquoted."""
    assert value.startswith("Digest ")
    out = {}
    for part in value[len("Digest ") :].split(", "):
        name, _, raw = part.partition("=")
        out[name] = raw.strip('"')
    return out


def test_rfc2617_section_3_5_example():
    challenge = parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    assert challenge == Challenge(
        realm="testrealm@host.com",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop=("auth", "auth-int"),
        opaque="5ccc069c403ebaf9f0171e9517f40e41",
    )
    value = authorization(
        challenge, method="GET", uri="/dir/index.html", username="Mufasa", password="Circle Of Life", cnonce="0a4f113b"
    )
    got = fields(value)
    assert got["response"] == "6629fae49393a05397450978507c4ef1"  # the RFC's published response
    assert (got["qop"], got["nc"], got["cnonce"], got["opaque"]) == (
        "auth",
        "00000001",
        "0a4f113b",
        "5ccc069c403ebaf9f0171e9517f40e41",
    )


def test_rfc7616_section_3_9_1_sha256_example():
    challenge = parse_challenge(
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    assert challenge.algorithm == "SHA-256"
    value = authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle of Life",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert fields(value)["response"] == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    assert fields(value)["algorithm"] == "SHA-256"


def _sha(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def test_sha256_sess_matches_an_independent_computation():
    challenge = Challenge(realm="trunk.example", nonce="n0nce", algorithm="SHA-256-sess", qop=("auth",))
    value = authorization(
        challenge, method="INVITE", uri="sip:+15551234@trunk.example", username="u1", password="pw", cnonce="c1", nc=3
    )
    ha1 = _sha(_sha("u1", "trunk.example", "pw"), "n0nce", "c1")
    ha2 = _sha("INVITE", "sip:+15551234@trunk.example")
    assert fields(value)["response"] == _sha(ha1, "n0nce", "00000003", "c1", "auth", ha2)
    assert fields(value)["nc"] == "00000003"


def test_md5_without_qop_uses_the_rfc2069_form():
    challenge = parse_challenge('Digest realm="asterisk",nonce="1a2b3c"')
    value = authorization(challenge, method="REGISTER", uri="sip:pbx", username="100", password="s3cret", cnonce="x")

    def md5(*parts: str) -> str:
        return hashlib.md5(":".join(parts).encode()).hexdigest()

    expected = md5(md5("100", "asterisk", "s3cret"), "1a2b3c", md5("REGISTER", "sip:pbx"))
    got = fields(value)
    assert got["response"] == expected
    assert "qop" not in got and "cnonce" not in got and "opaque" not in got


def test_challenge_details():
    challenge = parse_challenge('digest  realm="r", nonce="n", algorithm=md5-sess, stale=TRUE, qop="auth-int"')
    assert (challenge.algorithm, challenge.stale, challenge.qop) == ("MD5-sess", True, ("auth-int",))
    assert not supported(challenge)  # auth-int alone needs the body hash, which we do not do
    with pytest.raises(ValueError, match="cannot answer"):
        authorization(challenge, method="INVITE", uri="sip:x", username="u", password="p", cnonce="c")
    assert not supported(parse_challenge('Digest realm="r", nonce="n", algorithm=SHA-512-256'))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('Basic realm="r"', "unsupported authentication scheme 'Basic'"),
        ("", "unsupported authentication scheme"),
        ('Digest nonce="n"', "without realm or nonce"),
        ('Digest realm="r", nonce', "bad challenge parameter 'nonce'"),
        ('Digest realm="r, nonce=n', "unterminated quoted string"),
        ('Digest realm="r"x, nonce="n"', "text after quoted string"),
    ],
)
def test_bad_challenges_raise_sip_parse_error(value: str, message: str):
    with pytest.raises(SipParseError, match=message):
        parse_challenge(value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_parse_challenge_only_raises_sip_parse_error(text: str):
    for value in (text, "Digest " + text):
        try:
            parse_challenge(value)
        except SipParseError:
            pass
