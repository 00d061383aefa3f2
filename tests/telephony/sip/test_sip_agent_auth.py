"""Digest challenges from a trunk: INVITE (407) and REGISTER (401), retry once, refresh, failures."""

import hashlib
import re

import pytest
from sip_wire import ALICE, ANSWER, OFFER, Wire, drain

from talktrack.telephony.sip import (
    CallAnswered,
    CallFailed,
    Credentials,
    Headers,
    Registered,
    RegistrationFailed,
    SipRequest,
    SipResponse,
    Via,
    cseq,
    parse_message,
    serialize,
)
from talktrack.telephony.sip.transactions import T1

TRUNK = ("192.0.2.10", 5060)
CREDS = Credentials("alice", "s3cret")


def auth_fields(value: str) -> dict[str, str]:
    assert value.startswith("Digest ")
    return {m[1]: m[3] if m[3] is not None else m[4] for m in re.finditer(r'(\w+)=("([^"]*)"|([^,\s]+))', value)}


def expected_response(fields: dict[str, str], method: str, password: str) -> str:
    """The digest response computed independently of the code under test."""
    algo = fields.get("algorithm", "MD5")
    h = (
        (lambda s: hashlib.sha256(s.encode()).hexdigest())
        if algo == "SHA-256"
        else (lambda s: hashlib.md5(s.encode()).hexdigest())
    )
    ha1 = h(f"{fields['username']}:{fields['realm']}:{password}")
    ha2 = h(f"{method}:{fields['uri']}")
    if "qop" in fields:
        return h(f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:{fields['qop']}:{ha2}")
    return h(f"{ha1}:{fields['nonce']}:{ha2}")


class Trunk:
    """A scripted registrar/proxy that challenges every new request once and checks the answer."""

    def __init__(self, *, password: str = "s3cret", challenges: int = 1, expires: int = 120, min_expires: int = 0):
        self.password = password
        self.challenges = challenges  # how many times to challenge each request before accepting
        self.expires = expires
        self.min_expires = min_expires
        self.outbox: list[tuple[bytes, tuple[str, int]]] = []
        self.requests: list[SipRequest] = []
        self.verified: list[str] = []
        self._challenged: dict[str, int] = {}

    def receive_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        request = parse_message(data)
        assert isinstance(request, SipRequest)
        self.requests.append(request)
        if request.method == "ACK":
            return
        header = "Proxy-Authorization" if request.method == "INVITE" else "Authorization"
        key = request.headers.get("Call-ID") or ""
        if (
            request.method == "REGISTER"
            and self.min_expires
            and int(request.headers.get("Expires") or 0) < self.min_expires
        ):
            self._reply(request, addr, 423, "Interval Too Brief", [("Min-Expires", str(self.min_expires))])
            return
        value = request.headers.get(header)
        if value is None or self._challenged.get(key, 0) < self.challenges:
            self._challenged[key] = self._challenged.get(key, 0) + 1
            if request.method == "INVITE":
                self._reply(
                    request,
                    addr,
                    407,
                    "Proxy Authentication Required",
                    [
                        (
                            "Proxy-Authenticate",
                            f'Digest realm="trunk.example", nonce="n{len(self.requests)}", qop="auth"',
                        )
                    ],
                )
            else:
                self._reply(
                    request,
                    addr,
                    401,
                    "Unauthorized",
                    [
                        (
                            "WWW-Authenticate",
                            f'Digest realm="trunk.example", nonce="m{len(self.requests)}", algorithm=MD5',
                        ),
                        (
                            "WWW-Authenticate",
                            f'Digest realm="trunk.example", nonce="s{len(self.requests)}", algorithm=SHA-256',
                        ),
                    ],
                )
            return
        fields = auth_fields(value)
        if fields["response"] != expected_response(fields, request.method, self.password):
            self._reply(request, addr, 403, "Forbidden")
            return
        self.verified.append(fields.get("algorithm", "MD5"))
        if request.method == "INVITE":
            self._reply(request, addr, 200, "OK", [("Contact", "<sip:gw@192.0.2.10>")], ANSWER)
        else:
            contact = request.headers.get("Contact")
            self._reply(request, addr, 200, "OK", [("Contact", f"{contact};expires={self.expires}")])

    def _reply(self, request, addr, status, reason, extra=(), body=b""):
        headers = Headers()
        for via in request.headers.get_all("Via"):
            headers.add("Via", via)
        for name in ("From", "To", "Call-ID", "CSeq"):
            headers.add(name, request.headers.get(name) or "")
        if status != 100 and ";tag=" not in (headers.get("To") or ""):
            headers.set("To", f"{headers.get('To')};tag=trunk{len(self.requests)}")
        for name, value in extra:
            headers.add(name, value)
        if body:
            headers.add("Content-Type", "application/sdp")
        via = Via.parse(request.headers.get_all("Via")[0])
        self.outbox.append((serialize(SipResponse(status, reason, headers, body)), via.response_address(addr)))

    def datagrams_to_send(self):
        out, self.outbox = self.outbox, []
        return out

    def next_timer(self):
        return None

    def handle_timers(self):
        pass


def setup(trunk: Trunk, credentials: Credentials | None = CREDS):
    wire = Wire()
    alice = wire.agent(ALICE, user="alice", credentials=credentials)
    wire.add(TRUNK, trunk)
    return wire, alice


def test_invite_challenged_with_407_is_retried_once_with_credentials():
    trunk = Trunk()
    wire, alice = setup(trunk)
    call_id = alice.invite("sip:+15551234@trunk.example", OFFER, proxy=TRUNK)
    wire.pump()
    assert drain(alice) == [CallAnswered(call_id, ANSWER)]
    first, ack_407, second, ack_200 = trunk.requests
    assert [r.method for r in trunk.requests] == ["INVITE", "ACK", "INVITE", "ACK"]
    assert cseq(first.headers) == (1, "INVITE") and cseq(ack_407.headers) == (1, "ACK")
    branch = Via.parse(first.headers.get("Via") or "").branch
    assert Via.parse(ack_407.headers.get("Via") or "").branch == branch  # the ACK of a 407 is in its transaction
    assert cseq(second.headers) == (2, "INVITE") and Via.parse(second.headers.get("Via") or "").branch != branch
    assert second.headers.get("Call-ID") == call_id and second.headers.get("From") == first.headers.get("From")
    assert second.body == OFFER and trunk.verified == ["MD5"]
    assert ack_200.headers.get("Proxy-Authorization") == second.headers.get("Proxy-Authorization")
    assert {s.dst for s in wire.log if s.src == ALICE} == {TRUNK}  # everything via the outbound proxy


def test_a_second_challenge_fails_the_call():
    trunk = Trunk(challenges=2)
    wire, alice = setup(trunk)
    call_id = alice.invite("sip:+15551234@trunk.example", OFFER, proxy=TRUNK)
    wire.pump()
    assert drain(alice) == [CallFailed(call_id, 407, "Proxy Authentication Required")]
    assert [r.method for r in trunk.requests] == ["INVITE", "ACK", "INVITE", "ACK"]


def test_wrong_password_and_no_credentials_fail():
    trunk = Trunk(password="other")
    wire, alice = setup(trunk)
    call_id = alice.invite("sip:+15551234@trunk.example", OFFER, proxy=TRUNK)
    wire.pump()
    assert drain(alice) == [CallFailed(call_id, 403, "Forbidden")]
    trunk = Trunk()
    wire, alice = setup(trunk, credentials=None)
    call_id = alice.invite("sip:+15551234@trunk.example", OFFER, proxy=TRUNK)
    wire.pump()
    assert drain(alice) == [CallFailed(call_id, 407, "Proxy Authentication Required")]
    trunk = Trunk()
    wire, alice = setup(trunk, credentials=Credentials("alice", "s3cret", realm="elsewhere"))
    alice.register("sip:trunk.example", proxy=TRUNK)
    wire.pump()
    assert drain(alice) == [RegistrationFailed("sip:trunk.example", 401, "Unauthorized")]


def test_register_with_digest_and_refresh():
    trunk = Trunk(expires=120)
    wire, alice = setup(trunk)
    reg_id = alice.register("sip:trunk.example", proxy=TRUNK, expires=3600)
    wire.pump()
    assert drain(alice) == [Registered("sip:trunk.example", 120)]
    assert trunk.verified == ["SHA-256"]  # the stronger of the two challenges
    first, second = trunk.requests
    assert first.uri == "sip:trunk.example" and first.headers.get("Expires") == "3600"
    assert first.headers.get("To") == "<sip:alice@trunk.example>"
    assert cseq(second.headers) == (2, "REGISTER") and second.headers.get("Call-ID") == reg_id
    wire.advance(59)
    assert len(trunk.requests) == 2
    wire.advance(2)  # refreshed a minute before the binding lapses
    assert drain(alice) == [Registered("sip:trunk.example", 120)]
    assert [cseq(r.headers)[0] for r in trunk.requests[2:]] == [3, 4]
    assert {r.headers.get("Call-ID") for r in trunk.requests} == {reg_id}


def test_register_interval_too_brief_and_timeout():
    trunk = Trunk(min_expires=600)
    wire, alice = setup(trunk)
    alice.register("sip:trunk.example", proxy=TRUNK, expires=60)
    wire.pump()
    assert drain(alice) == [Registered("sip:trunk.example", 120)]
    assert [r.headers.get("Expires") for r in trunk.requests] == ["60", "600", "600"]  # 423, 401, 200
    wire = Wire()
    alice = wire.agent(ALICE, user="alice")
    alice.register("sip:registrar.invalid:5060")
    wire.advance(64 * T1)
    assert drain(alice) == [RegistrationFailed("sip:registrar.invalid:5060", 408, "Request Timeout")]
    with pytest.raises(ValueError):
        alice.register("sip:registrar.invalid", expires=-1)
