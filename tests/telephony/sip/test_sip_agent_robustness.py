"""Malformed and hostile datagrams: 400 when a request can be answered, MessageRejected always, no crash."""

from hypothesis import given, settings
from hypothesis import strategies as st
from sip_wire import ALICE, ANSWER, BOB, OFFER, Wire, drain

from talktrack.telephony.sip import (
    CallEnded,
    IncomingCall,
    MessageRejected,
    SipAgent,
    SipRequest,
    SipResponse,
    parse_message,
)
from talktrack.telephony.sip.transactions import T1

PEER = ("192.0.2.77", 5080)


def request(*lines: str, body: str = "") -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


BASE = [
    "Via: SIP/2.0/UDP 192.0.2.77:5080;branch=z9hG4bKbad1",
    "From: <sip:x@192.0.2.77>;tag=f1",
    "To: <sip:agent@10.0.0.2>",
    "Call-ID: bad-1",
]


def agent() -> SipAgent:
    return SipAgent(local_host="10.0.0.2", local_port=5070, clock=lambda: 0.0)


def test_a_request_with_a_bad_cseq_is_answered_400_with_the_reason():
    bob = agent()
    bob.receive_datagram(request("INVITE sip:agent@10.0.0.2 SIP/2.0", *BASE, "CSeq: abc INVITE"), PEER)
    [(data, dest)] = bob.datagrams_to_send()
    response = parse_message(data)
    assert isinstance(response, SipResponse) and response.status == 400
    assert response.reason == "Bad Request (bad CSeq 'abc INVITE')"
    assert dest == PEER and response.headers.get("Call-ID") == "bad-1"
    assert drain(bob) == [MessageRejected("bad CSeq 'abc INVITE'", PEER)]


def test_a_request_whose_body_is_truncated_is_answered_400():
    bob = agent()
    data = request("INVITE sip:agent@10.0.0.2 SIP/2.0", *BASE, "CSeq: 1 INVITE", "Content-Length: 500", body="v=0")
    bob.receive_datagram(data, PEER)
    [(reply, _)] = bob.datagrams_to_send()
    assert reply.startswith(b"SIP/2.0 400 Bad Request (body truncated: Content-Length is 500 but 3 bytes follow)\r\n")
    assert [type(e) for e in drain(bob)] == [MessageRejected]


def test_cseq_method_mismatch_and_bad_from_are_400():
    bob = agent()
    bob.receive_datagram(request("OPTIONS sip:agent@10.0.0.2 SIP/2.0", *BASE, "CSeq: 1 INVITE"), PEER)
    lines = [BASE[0], "From: <tel:123>", *BASE[2:], "CSeq: 1 OPTIONS"]
    bob.receive_datagram(request("OPTIONS sip:agent@10.0.0.2 SIP/2.0", *lines), PEER)
    replies = [parse_message(d) for d, _ in bob.datagrams_to_send()]
    assert [r.status for r in replies if isinstance(r, SipResponse)] == [400, 400]
    assert [e.reason for e in drain(bob) if isinstance(e, MessageRejected)] == [
        "CSeq method INVITE does not match OPTIONS",
        "bad From: unsupported URI scheme 'tel' in 'tel:123'",
    ]


def test_what_cannot_be_answered_is_dropped_and_reported():
    bob = agent()
    junk = [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello on the UDP port
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        request("INVITE sip:agent@10.0.0.2 SIP/2.0", *BASE[1:], "CSeq: 1 INVITE"),  # no Via: nowhere to answer
        request("ACK sip:agent@10.0.0.2 SIP/2.0", *BASE, "CSeq: x ACK"),  # never answer an ACK
        request("SIP/2.0 200 OK", *BASE),  # a response without CSeq
    ]
    for data in junk:
        bob.receive_datagram(data, PEER)
    assert bob.datagrams_to_send() == []
    events = drain(bob)
    assert len(events) == len(junk) and all(isinstance(e, MessageRejected) and e.remote == PEER for e in events)
    assert not any("internal error" in e.reason for e in events if isinstance(e, MessageRejected))


def test_crlf_keepalives_are_ignored():
    bob = agent()
    for data in (b"\r\n\r\n", b"\r\n", b"\n"):
        bob.receive_datagram(data, PEER)
    assert bob.datagrams_to_send() == [] and bob.next_event() is None


# -- fuzzing an agent in a live call ------------------------------------------------------------


def live_call() -> tuple[Wire, str]:
    wire = Wire()
    alice, bob = wire.agent(ALICE, user="alice"), wire.agent(BOB, user="bob")
    call_id = alice.invite("sip:bob@10.0.0.2:5070", OFFER)
    wire.pump()
    bob.answer(call_id, ANSWER)
    wire.pump()
    drain(alice), drain(bob)
    return wire, call_id


def templates(wire: Wire, call_id: str) -> list[bytes]:
    """Realistic datagrams for bob: in this dialog (INFO, re-INVITE, CANCEL) and outside it.

    The re-INVITE has no Contact: a forged target refresh would legitimately move bob's BYE elsewhere.
    """
    invite = wire.sent("INVITE")[0].message
    ok = wire.sent("SIP/2.0 200")[0].message
    assert isinstance(invite, SipRequest) and isinstance(ok, SipResponse)
    from_, to, via = invite.headers.get("From"), ok.headers.get("To"), invite.headers.get("Via")
    dialog = [f"From: {from_}", f"To: {to}", f"Call-ID: {call_id}"]
    sdp = OFFER.decode()
    return [
        request("INFO sip:bob@10.0.0.2:5070 SIP/2.0", "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKi1", *dialog,
                "CSeq: 5 INFO", "Content-Type: application/dtmf-relay", "Content-Length: 10", body="Signal=5\r\n"),
        request("INVITE sip:bob@10.0.0.2:5070 SIP/2.0", "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKr1", *dialog,
                "CSeq: 6 INVITE", "Content-Type: application/sdp",
                f"Content-Length: {len(sdp)}", body=sdp),
        request(f"CANCEL {invite.uri} SIP/2.0", f"Via: {via}", *dialog[:1], f"To: {invite.headers.get('To')}",
                f"Call-ID: {call_id}", "CSeq: 1 CANCEL", "Content-Length: 0"),
        request("INVITE sip:bob@10.0.0.2 SIP/2.0", "v: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKn1;rport",
                "f: \"Eve, E.\" <sip:eve@192.0.2.9>;tag=e1", "t: <sip:bob@10.0.0.2>", "i: other-call",
                "CSeq: 1 INVITE", "m: <sip:eve@192.0.2.9>", "c: application/sdp", f"l: {len(sdp)}", body=sdp),
        request("BYE sip:bob@10.0.0.2 SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKb1",
                "From: <sip:eve@x>;tag=1", "To: <sip:bob@x>;tag=2", "Call-ID: other-dialog", "CSeq: 9 BYE"),
        request("SIP/2.0 180 Ringing", "Via: SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bKnotours", *dialog,
                "CSeq: 1 INVITE"),
        request("OPTIONS sip:bob@10.0.0.2 SIP/2.0", "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKo1",
                "From: <sip:p@x>;tag=1", "To: <sip:bob@x>", "Call-ID: ping", "CSeq: 1 OPTIONS"),
    ]  # fmt: skip


@st.composite
def datagrams(draw: st.DrawFn, bases: list[bytes]) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=600))
    data = bytearray(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(0, 6))):
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from([b"\r\n", b" ", b":", b";", b",", b"<", b">", b'"', b"\x00", b"9"]))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 30))]
        else:
            del data[pos:]
    return bytes(data)


_WIRE, _CALL = live_call()
BASES = templates(_WIRE, _CALL)


@settings(max_examples=200, deadline=None)
@given(st.lists(datagrams(BASES), min_size=1, max_size=8))
def test_fuzzing_an_agent_in_a_live_call(fuzz: list[bytes]):
    wire, call_id = live_call()
    # The templates name the first wire's call: re-key them to this one (same agents' seeds, same tags).
    assert call_id == _CALL
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    for data in fuzz:
        bob.receive_datagram(data, ALICE)
        wire.pump()
    events = drain(bob)
    assert not any(isinstance(e, MessageRejected) and "internal error" in e.reason for e in events)
    assert not any(isinstance(e, CallEnded) and e.call_id == call_id for e in events)
    drain(alice)
    # The call survived: bob's BYE still ends it on both sides. (Not alice's: a forged in-dialog request may
    # have raised the CSeq bob expects from her, and RFC 3261 §12.2.2 then refuses her lower one with 500.)
    bob.bye(call_id)
    wire.pump()
    assert drain(alice) == [CallEnded(call_id, by_remote=True, reason="BYE")]
    assert CallEnded(call_id, by_remote=False, reason="BYE") in drain(bob)
    # And nothing piles up: only calls the fuzz rang in (never answered) keep their INVITE transaction.
    wire.advance(64 * T1 + 1)
    ringing = sum(isinstance(e, IncomingCall) for e in events)
    stats = bob.stats()
    assert stats["client_transactions"] == 0 and stats["server_transactions"] <= ringing
    assert stats["calls"] <= ringing
