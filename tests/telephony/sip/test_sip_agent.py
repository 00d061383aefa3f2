"""Two SipAgents back to back over an in-memory wire, on a fake clock."""

import pytest
from sip_wire import ALICE, ANSWER, BOB, HOLD, OFFER, Wire, drain

from talktrack.telephony.sip import (
    CallAnswered,
    CallCancelled,
    CallConfirmed,
    CallEnded,
    CallFailed,
    CallProgress,
    IncomingCall,
    InfoDigit,
    MediaUpdated,
    NameAddr,
    SipRequest,
    SipResponse,
    Via,
    cseq,
    parse_message,
)
from talktrack.telephony.sip.transactions import T1

BOB_URI = "sip:bob@10.0.0.2:5070"


@pytest.fixture
def wire() -> Wire:
    return Wire()


def call_bob(wire: Wire) -> tuple[str, list[object]]:
    alice, bob = wire.agent(ALICE, user="alice"), wire.agent(BOB, user="bob")
    call_id = alice.invite(BOB_URI, OFFER)
    wire.pump()
    return call_id, drain(bob)


def established(wire: Wire) -> str:
    call_id, _ = call_bob(wire)
    bob = wire.agents[BOB]
    bob.answer(call_id, ANSWER)
    wire.pump()
    drain(wire.agents[ALICE]), drain(bob)
    return call_id


def test_full_call_alice_calls_bob_and_hangs_up(wire: Wire):
    call_id, bob_events = call_bob(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    assert len(bob_events) == 1 and isinstance(bob_events[0], IncomingCall)
    incoming = bob_events[0]
    assert (incoming.call_id, incoming.sdp, incoming.remote) == (call_id, OFFER, ALICE)
    assert str(incoming.request_uri) == BOB_URI and incoming.from_.uri.user == "alice" and incoming.to.tag is None
    assert [s.first_line for s in wire.log] == ["INVITE sip:bob@10.0.0.2:5070 SIP/2.0", "SIP/2.0 100 Trying"]

    bob.ringing(call_id)
    wire.pump()
    assert drain(alice) == [CallProgress(call_id, 180, "Ringing", b"")]
    bob.answer(call_id, ANSWER)
    wire.pump()
    assert drain(alice) == [CallAnswered(call_id, ANSWER)]
    assert drain(bob) == [CallConfirmed(call_id)]
    alice.bye(call_id)
    wire.pump()
    assert drain(bob) == [CallEnded(call_id, by_remote=True, reason="BYE")]
    assert drain(alice) == [CallEnded(call_id, by_remote=False, reason="BYE")]
    lines = [s.first_line for s in wire.log]
    assert lines[2:] == [
        "SIP/2.0 180 Ringing",
        "SIP/2.0 200 OK",
        "ACK sip:bob@10.0.0.2:5070 SIP/2.0",
        "BYE sip:bob@10.0.0.2:5070 SIP/2.0",
        "SIP/2.0 200 OK",
    ]


def test_messages_carry_the_headers_peers_expect(wire: Wire):
    call_id, _ = call_bob(wire)
    wire.agents[BOB].answer(call_id, ANSWER)
    wire.pump()
    invite, trying, ok, ack = (s.message for s in wire.log[:4])
    assert isinstance(invite, SipRequest) and isinstance(ok, SipResponse) and isinstance(ack, SipRequest)
    via = Via.parse(invite.headers.get("Via") or "")
    assert via.branch is not None and via.branch.startswith("z9hG4bK") and via.has_rport
    assert (via.host, via.port) == ALICE
    h = invite.headers
    assert h.get("Max-Forwards") == "70" and h.get("User-Agent") == "talktrack"
    assert h.get_all("Allow") == ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO"]
    assert h.get("Content-Type") == "application/sdp" and h.get("Contact") == "<sip:alice@10.0.0.1:5060>"
    assert NameAddr.parse(h.get("From") or "").tag and NameAddr.parse(h.get("To") or "").tag is None
    assert cseq(h) == (1, "INVITE") and h.get("Call-ID") == call_id
    # responses: the Via comes back stamped with rport, the To gets bob's tag (not on 100), Contact is bob's
    assert Via.parse(ok.headers.get("Via") or "").rport == ALICE[1]
    assert NameAddr.parse(trying.headers.get("To") or "").tag is None
    bob_tag = NameAddr.parse(ok.headers.get("To") or "").tag
    assert bob_tag and ok.headers.get("Contact") == "<sip:bob@10.0.0.2:5070>" and ok.body == ANSWER
    # the ACK for a 2xx is a new transaction in the dialog: new branch, same CSeq number, bob's tag
    assert Via.parse(ack.headers.get("Via") or "").branch != via.branch
    assert cseq(ack.headers) == (1, "ACK") and NameAddr.parse(ack.headers.get("To") or "").tag == bob_tag


def test_full_call_the_other_way_and_the_callee_hangs_up(wire: Wire):
    alice, bob = wire.agent(ALICE, user="alice"), wire.agent(BOB, user="bob")
    call_id = bob.invite("sip:alice@10.0.0.1", OFFER)  # port-less: 5060
    wire.pump()
    assert [type(e) for e in drain(alice)] == [IncomingCall]
    alice.answer(call_id, ANSWER)
    wire.pump()
    assert drain(bob) == [CallAnswered(call_id, ANSWER)]
    assert drain(alice) == [CallConfirmed(call_id)]
    alice.bye(call_id)
    wire.pump()
    assert drain(bob) == [CallEnded(call_id, by_remote=True, reason="BYE")]
    assert drain(alice) == [CallEnded(call_id, by_remote=False, reason="BYE")]
    bye = wire.sent("BYE")[0]
    assert (bye.src, bye.dst) == (ALICE, BOB)  # to bob's Contact
    assert cseq(bye.message.headers)[1] == "BYE"


def test_cancel_before_answer(wire: Wire):
    call_id, _ = call_bob(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    bob.ringing(call_id)
    wire.pump()
    drain(alice)
    alice.cancel(call_id)
    wire.pump()
    assert drain(bob) == [CallCancelled(call_id)]
    assert drain(alice) == [CallFailed(call_id, 487, "Request Terminated")]
    invite_branch = Via.parse(wire.sent("INVITE")[0].message.headers.get("Via") or "").branch
    cancel = wire.sent("CANCEL")[0].message
    assert Via.parse(cancel.headers.get("Via") or "").branch == invite_branch
    assert cseq(cancel.headers) == (1, "CANCEL")
    ack = wire.sent("ACK")[0].message
    assert Via.parse(ack.headers.get("Via") or "").branch == invite_branch  # the ACK for a non-2xx
    assert [s.first_line for s in wire.log[-4:]] == [
        "CANCEL sip:bob@10.0.0.2:5070 SIP/2.0",
        "SIP/2.0 200 OK",
        "SIP/2.0 487 Request Terminated",
        "ACK sip:bob@10.0.0.2:5070 SIP/2.0",
    ]
    with pytest.raises(ValueError, match="outgoing"):
        alice.answer(call_id, ANSWER)


def test_a_cancel_waits_for_a_provisional_response(wire: Wire):
    alice, bob = wire.agent(ALICE, user="alice"), wire.agent(BOB, user="bob")
    wire.drop_first("INVITE", 1)
    call_id = alice.invite(BOB_URI, OFFER)
    wire.pump()
    alice.cancel(call_id)
    wire.pump()
    assert wire.sent("CANCEL") == []  # RFC 3261 §9.1: not before a provisional response
    wire.advance(T1)  # the INVITE is resent, bob answers 100, then the CANCEL goes
    lines = [s.first_line for s in wire.log]
    assert lines.index("SIP/2.0 100 Trying") < lines.index("CANCEL sip:bob@10.0.0.2:5070 SIP/2.0")
    assert [type(e) for e in drain(bob)] == [IncomingCall, CallCancelled]
    assert drain(alice) == [CallFailed(call_id, 487, "Request Terminated")]


@pytest.mark.parametrize(("status", "reason"), [(486, "Busy Here"), (404, "Not Found")])
def test_rejection_reaches_the_caller_and_is_acked(wire: Wire, status: int, reason: str):
    call_id, _ = call_bob(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    wire.drop_first("ACK", 1)
    bob.reject(call_id, status)
    wire.pump()
    assert drain(alice) == [CallFailed(call_id, status, reason)]
    # the first ACK was lost: bob resends the final (Timer G), alice ACKs it again, once
    wire.advance(T1)
    assert len(wire.sent(f"SIP/2.0 {status}")) == 2 and len(wire.sent("ACK")) == 2
    wire.advance(60)
    assert len(wire.sent(f"SIP/2.0 {status}")) == 2
    assert drain(alice) == [] and drain(bob) == []


def test_lost_invites_are_retransmitted_with_timer_a(wire: Wire):
    alice, bob = wire.agent(ALICE, user="alice"), wire.agent(BOB, user="bob")
    wire.drop_first("INVITE", 2)
    call_id = alice.invite(BOB_URI, OFFER)
    wire.pump()
    times = []
    for _ in range(6):
        wire.advance(T1 / 2)
        times.append(len(wire.sent("INVITE")))
    assert times == [1, 2, 2, 2, 2, 3]  # sent at 0, T1, 3*T1: the interval doubles
    assert [type(e) for e in drain(bob)] == [IncomingCall]
    bob.answer(call_id, ANSWER)
    wire.pump()
    assert drain(alice) == [CallAnswered(call_id, ANSWER)]


def test_timer_b_fails_the_call_with_408(wire: Wire):
    alice = wire.agent(ALICE, user="alice")
    call_id = alice.invite("sip:nobody@10.9.9.9", OFFER)  # nobody there: every INVITE is lost
    wire.pump()
    sent_at = [0.0]
    while wire.now[0] < 64 * T1 - T1 / 2:
        wire.advance(T1 / 2)
        if len(wire.sent("INVITE")) > len(sent_at):
            sent_at.append(wire.now[0])
        assert alice.next_event() is None
    assert sent_at == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]  # Timer A doubles from T1
    wire.advance(T1 / 2)  # Timer B: 64*T1
    assert drain(alice) == [CallFailed(call_id, 408, "Request Timeout")]
    assert {s.dst for s in wire.sent("INVITE")} == {("10.9.9.9", 5060)}
    assert alice.stats()["client_transactions"] == 0


def test_the_2xx_is_resent_until_the_ack_arrives(wire: Wire):
    call_id, _ = call_bob(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    wire.drop_first("ACK", 3)
    bob.answer(call_id, ANSWER)
    wire.pump()
    assert drain(alice) == [CallAnswered(call_id, ANSWER)]
    wire.advance(T1 + 2 * T1 + 4 * T1)  # resends at T1, 3*T1, 7*T1: the fourth ACK gets through
    assert len(wire.sent("SIP/2.0 200")) == 4 and len(wire.sent("ACK")) == 4
    assert drain(bob) == [CallConfirmed(call_id)]
    assert drain(alice) == []  # a retransmitted 2xx is ACKed, not reported again
    wire.advance(40)
    assert len(wire.sent("SIP/2.0 200")) == 4


def test_a_2xx_never_acked_ends_the_call_with_a_bye(wire: Wire):
    call_id, _ = call_bob(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    wire.drop = lambda sent: sent.first_line.startswith("ACK")
    bob.answer(call_id, ANSWER)
    wire.pump()
    wire.advance(64 * T1 - 0.01)
    assert drain(bob) == []
    # resent after T1, 2*T1, 4*T1, then every T2: at 0.5, 1.5, 3.5, 7.5, 11.5 ... 31.5
    assert len(wire.sent("SIP/2.0 200")) == 1 + 3 + 7
    wire.advance(0.01)
    assert drain(bob) == [CallEnded(call_id, by_remote=False, reason="no ACK")]
    assert wire.sent("BYE")[0].src == BOB
    assert drain(alice) == [CallAnswered(call_id, ANSWER), CallEnded(call_id, by_remote=True, reason="BYE")]


def test_reinvite_both_ways_updates_media(wire: Wire):
    call_id = established(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    alice.reinvite(call_id, HOLD)
    wire.pump()
    assert drain(bob) == [MediaUpdated(call_id, HOLD)]
    assert drain(alice) == [MediaUpdated(call_id, ANSWER)]  # bob answers with his last SDP, unchanged
    reinvite = wire.sent("INVITE")[-1].message
    assert cseq(reinvite.headers) == (2, "INVITE") and NameAddr.parse(reinvite.headers.get("To") or "").tag
    bob.reinvite(call_id, ANSWER)
    wire.pump()
    assert drain(alice) == [MediaUpdated(call_id, ANSWER)]
    assert drain(bob) == [MediaUpdated(call_id, HOLD)]  # alice's last local SDP is now the hold offer
    assert len(wire.sent("ACK")) == 3


def test_options_outside_a_dialog_get_200_with_allow_and_accept(wire: Wire):
    bob = wire.agent(BOB, user="bob")
    options = (
        b"OPTIONS sip:bob@10.0.0.2:5070 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-ping-1\r\n"
        b"From: <sip:ping@192.0.2.50>;tag=p1\r\nTo: <sip:bob@10.0.0.2>\r\n"
        b"Call-ID: ping-1\r\nCSeq: 77 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    bob.receive_datagram(options, ("192.0.2.50", 5060))
    bob.receive_datagram(options, ("192.0.2.50", 5060))  # a retransmission gets the same answer
    out = bob.datagrams_to_send()
    assert len(out) == 2 and out[0] == out[1] and out[0][1] == ("192.0.2.50", 5060)
    ok = parse_message(out[0][0])
    assert isinstance(ok, SipResponse) and ok.status == 200
    assert "OPTIONS" in ok.headers.get_all("Allow") and ok.headers.get("Accept") == "application/sdp"
    assert NameAddr.parse(ok.headers.get("To") or "").tag and cseq(ok.headers) == (77, "OPTIONS")
    assert drain(bob) == []


def test_info_dtmf_in_a_call(wire: Wire):
    call_id = established(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    invite = wire.sent("INVITE")[0].message
    ok = wire.sent("SIP/2.0 200")[0].message
    for number, (ctype, body) in enumerate(
        [
            ("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"),
            ("application/dtmf", "#"),
            ("application/dtmf-relay", "Signal=10\r\n"),
            ("text/plain", "hello"),
        ],
        start=2,
    ):
        info = (
            f"INFO sip:bob@10.0.0.2:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKinfo{number}\r\n"
            f"From: {invite.headers.get('From')}\r\nTo: {ok.headers.get('To')}\r\nCall-ID: {call_id}\r\n"
            f"CSeq: {number} INFO\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        )
        bob.receive_datagram(info.encode(), ALICE)
    wire.pump()
    assert drain(bob) == [InfoDigit(call_id, "5"), InfoDigit(call_id, "#"), InfoDigit(call_id, "*")]
    assert len(wire.sent("SIP/2.0 200", src=BOB)) == 1 + 4
    assert alice.next_event() is None


def test_bye_for_an_unknown_dialog_gets_481(wire: Wire):
    bob = wire.agent(BOB, user="bob")
    bye = (
        b"BYE sip:bob@10.0.0.2:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKbye\r\n"
        b"From: <sip:alice@10.0.0.1>;tag=a\r\nTo: <sip:bob@10.0.0.2>;tag=b\r\nCall-ID: nope\r\n"
        b"CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
    )
    bob.receive_datagram(bye, ALICE)
    [(data, dest)] = bob.datagrams_to_send()
    assert data.startswith(b"SIP/2.0 481 Call/Transaction Does Not Exist\r\n") and dest == ALICE
    assert drain(bob) == []


def test_cancel_after_the_final_response_changes_nothing(wire: Wire):
    call_id = established(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    invite = wire.sent("INVITE")[0].message
    cancel = (
        f"CANCEL {invite.uri} SIP/2.0\r\nVia: {invite.headers.get('Via')}\r\nFrom: {invite.headers.get('From')}\r\n"
        f"To: {invite.headers.get('To')}\r\nCall-ID: {call_id}\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n"
    )
    bob.receive_datagram(cancel.encode(), ALICE)
    [(data, _)] = bob.datagrams_to_send()
    assert data.startswith(b"SIP/2.0 200 OK\r\n")
    assert drain(bob) == []
    alice.bye(call_id)
    wire.pump()
    assert drain(bob) == [CallEnded(call_id, by_remote=True, reason="BYE")]


def test_retransmitted_invite_is_absorbed(wire: Wire):
    call_id, events = call_bob(wire)
    bob = wire.agents[BOB]
    bob.ringing(call_id)
    bob.receive_datagram(wire.sent("INVITE")[0].data, ALICE)
    out = bob.datagrams_to_send()
    assert [parse_message(d).status for d, _ in out] == [180, 180]  # type: ignore[union-attr]
    assert len(events) == 1 and drain(bob) == []


def test_unknown_and_unsupported_methods(wire: Wire):
    bob = wire.agent(BOB, user="bob")
    for method, expected in (("FROBNICATE", b"SIP/2.0 501 "), ("SUBSCRIBE", b"SIP/2.0 405 ")):
        request = (
            f"{method} sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK{method}\r\n"
            f"From: <sip:a@a>;tag=1\r\nTo: <sip:bob@b>\r\nCall-ID: m-{method}\r\nCSeq: 1 {method}\r\n\r\n"
        )
        bob.receive_datagram(request.encode(), ("10.0.0.1", 5060))
        [(data, _)] = bob.datagrams_to_send()
        assert data.startswith(expected)
        assert "INVITE" in parse_message(data).headers.get_all("Allow")


def test_state_is_released_after_calls(wire: Wire):
    call_id = established(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    alice.reinvite(call_id, HOLD)
    wire.pump()
    bob.bye(call_id)
    wire.pump()
    cancelled = alice.invite(BOB_URI, OFFER)
    wire.pump()
    alice.cancel(cancelled)
    wire.pump()
    assert alice.stats()["calls"] == 2
    wire.advance(64 * T1 + 1)
    assert alice.stats() == bob.stats() == {"calls": 0, "client_transactions": 0, "server_transactions": 0, "timers": 0}
    with pytest.raises(KeyError):
        alice.bye(call_id)


def test_reinvite_glare_resolves_with_491_and_random_backoff(wire: Wire):
    call_id = established(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    bob_new = ANSWER.replace(b"5000", b"5002")
    alice.reinvite(call_id, HOLD)
    bob.reinvite(call_id, bob_new)
    wire.pump()
    assert len(wire.sent("SIP/2.0 491")) == 2 and drain(alice) == [] and drain(bob) == []
    wire.advance(4.5)  # RFC 3261 §14.1: the callee retries within 2 s, the caller after 2.1-4 s
    assert drain(alice) == [MediaUpdated(call_id, bob_new), MediaUpdated(call_id, bob_new)]
    # bob's retry is answered with alice's SDP as it stood (her hold offer had not gone through yet)
    assert drain(bob) == [MediaUpdated(call_id, OFFER), MediaUpdated(call_id, HOLD)]
    retries = wire.sent("INVITE")[-2:]
    assert [r.src for r in retries] == [BOB, ALICE]


def test_callee_hangup_before_the_ack_waits_for_it(wire: Wire):
    call_id, _ = call_bob(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    wire.drop_first("ACK", 1)
    bob.answer(call_id, ANSWER)
    bob.bye(call_id)
    wire.pump()
    assert wire.sent("BYE") == []  # RFC 3261 §15: not before the ACK
    wire.advance(T1)  # the 2xx is resent, alice ACKs again, then bob's BYE goes
    assert drain(bob) == [CallConfirmed(call_id), CallEnded(call_id, by_remote=False, reason="BYE")]
    assert drain(alice) == [CallAnswered(call_id, ANSWER), CallEnded(call_id, by_remote=True, reason="BYE")]


def test_hanging_up_before_answer_cancels_or_declines(wire: Wire):
    call_id, _ = call_bob(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    bob.bye(call_id)  # an incoming call not answered yet: declined
    wire.pump()
    assert drain(alice) == [CallFailed(call_id, 603, "Decline")]
    second = alice.invite(BOB_URI, OFFER)
    wire.pump()
    alice.bye(second)  # an outgoing call not answered yet: cancelled
    wire.pump()
    assert drain(alice) == [CallFailed(second, 487, "Request Terminated")]
    assert [type(e) for e in drain(bob)] == [IncomingCall, CallCancelled]


def test_the_call_lifecycle_api_rejects_misuse(wire: Wire):
    call_id, _ = call_bob(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    with pytest.raises(KeyError):
        bob.answer("no-such-call", ANSWER)
    with pytest.raises(ValueError, match="3xx-6xx"):
        bob.reject(call_id, 200)
    with pytest.raises(ValueError, match="not established"):
        alice.reinvite(call_id, HOLD)
    with pytest.raises(ValueError, match="incoming"):
        bob.cancel(call_id)
    bob.reject(call_id, 486)
    wire.pump()
    bob.answer(call_id, ANSWER)  # too late: the call is over, nothing is sent
    wire.pump()
    assert wire.sent("SIP/2.0 200") == []


def test_bye_is_retransmitted_with_timer_e_and_times_out_with_timer_f(wire: Wire):
    call_id = established(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    wire.drop = lambda sent: sent.first_line.startswith("BYE")
    start = wire.now[0]
    alice.bye(call_id)
    wire.pump()
    sent_at = [0.0]
    while wire.now[0] - start < 64 * T1 - T1 / 2:
        wire.advance(T1 / 2)
        if len(wire.sent("BYE")) > len(sent_at):
            sent_at.append(wire.now[0] - start)
    # doubling from T1 up to T2, then every T2
    assert sent_at == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert drain(alice) == []
    wire.advance(T1 / 2)
    assert drain(alice) == [CallEnded(call_id, by_remote=False, reason="BYE timeout")]
    assert drain(bob) == []


def test_a_retransmitted_bye_gets_the_same_200_and_no_second_event(wire: Wire):
    call_id = established(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    wire.drop_first("SIP/2.0 200", 1)
    alice.bye(call_id)
    wire.pump()
    assert drain(bob) == [CallEnded(call_id, by_remote=True, reason="BYE")]
    wire.advance(T1)
    assert len(wire.sent("BYE")) == 2 and len(wire.sent("SIP/2.0 200", src=BOB)) == 1 + 2
    assert wire.sent("SIP/2.0 200", src=BOB)[-1].data == wire.sent("SIP/2.0 200", src=BOB)[-2].data
    assert drain(bob) == []
    assert drain(alice) == [CallEnded(call_id, by_remote=False, reason="BYE")]


def _invite_from_carol(*extra: str, uri: str = "sip:bob@10.0.0.2:5070", branch: str = "z9hG4bKc1") -> bytes:
    lines = [
        f"INVITE {uri} SIP/2.0",
        f"Via: SIP/2.0/UDP 10.0.0.3:5060;branch={branch}",
        "From: <sip:carol@10.0.0.3>;tag=c",
        "To: <sip:bob@10.0.0.2>",
        "Call-ID: carol-1",
        "CSeq: 1 INVITE",
        "Contact: <sip:carol@10.0.0.3>",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize(
    ("datagram", "status"),
    [
        (_invite_from_carol(uri="tel:+15551234"), b"416 Unsupported URI Scheme"),
        (_invite_from_carol("Require: 100rel"), b"420 Bad Extension"),
        (_invite_from_carol("Content-Type: text/plain", "Content-Length: 2", "") + b"hi", b"415 Unsupported Media"),
        (_invite_from_carol("Max-Forwards: 0"), b"483 Too Many Hops"),
    ],
)
def test_invites_we_cannot_take_are_refused(wire: Wire, datagram: bytes, status: bytes):
    bob = wire.agent(BOB, user="bob")
    bob.receive_datagram(datagram, ("10.0.0.3", 5060))
    [(data, dest)] = bob.datagrams_to_send()
    assert data.startswith(b"SIP/2.0 " + status) and dest == ("10.0.0.3", 5060)
    assert drain(bob) == [] and bob.stats()["calls"] == 0
    if status.startswith(b"420"):
        assert b"\r\nUnsupported: 100rel\r\n" in data


def test_the_same_invite_on_a_second_path_is_a_loop(wire: Wire):
    bob = wire.agent(BOB, user="bob")
    bob.receive_datagram(_invite_from_carol(), ("10.0.0.3", 5060))
    bob.receive_datagram(_invite_from_carol(branch="z9hG4bKother"), ("10.0.0.3", 5060))
    lines = [d.split(b"\r\n", 1)[0] for d, _ in bob.datagrams_to_send()]
    assert lines == [b"SIP/2.0 100 Trying", b"SIP/2.0 482 Loop Detected"]
    assert [type(e) for e in drain(bob)] == [IncomingCall]


def test_a_lost_ack_for_a_reinvite_is_resent_without_a_second_event(wire: Wire):
    call_id = established(wire)
    alice, bob = wire.agents[ALICE], wire.agents[BOB]
    wire.drop_first("ACK", 1)
    alice.reinvite(call_id, HOLD)
    wire.pump()
    wire.advance(T1)
    assert len(wire.sent("ACK")) == 1 + 2  # the call's ACK, then the lost one and its resend
    acks = wire.sent("ACK")[1:]
    assert acks[0].data == acks[1].data  # the same ACK, resent
    assert drain(alice) == [MediaUpdated(call_id, ANSWER)]
    assert drain(bob) == [MediaUpdated(call_id, HOLD)]
    wire.advance(40)
    assert len(wire.sent("ACK")) == 3 and drain(bob) == []
