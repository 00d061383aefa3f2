"""INVITEs as SIPp, baresip, linphonec, PJSIP and a Kamailio-fronted trunk send them, answered end to end.

The fixtures are byte-exact datagrams in each stack's own style (header order, compact quirks, padded
Content-Length, no-bracket From/To, quoted Contact parameters with commas, Record-Route, several Vias).
"""

from dataclasses import dataclass
from pathlib import Path

import pytest
from sip_wire import drain

from talktrack.telephony.sip import (
    CallAnswered,
    CallConfirmed,
    CallEnded,
    CallProgress,
    IncomingCall,
    NameAddr,
    SipAgent,
    SipRequest,
    SipResponse,
    Via,
    cseq,
    parse_message,
)
from talktrack.telephony.sip.transactions import T1

FIXTURES = Path(__file__).parent / "fixtures"
AGENT = ("127.0.0.1", 5080)
OUR_SDP = b"v=0\r\no=talktrack 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6100 RTP/AVP 0\r\n"


@dataclass(frozen=True)
class Peer:
    fixture: str
    source: tuple[str, int]  # where the datagram comes from
    display: str | None
    user: str
    ack_to_request_uri: bool = False  # SIPp sends its ACK and BYE to the original Request-URI


PEERS = [
    Peer("sipp_uac_pcap_invite.sip", ("127.0.0.1", 5070), "sipp", "sipp", ack_to_request_uri=True),
    Peer("baresip_1_0_invite.sip", ("127.0.0.1", 5062), None, "baresip"),
    Peer("linphonec_5_1_invite.sip", ("127.0.0.1", 5064), None, "linphone"),
    Peer("pjsua2_2_15_invite.sip", ("127.0.0.1", 5066), None, "pjsua"),
    Peer("kamailio_trunk_invite.sip", ("127.0.0.1", 5060), "+1 555 010 0199", "+15550100199"),
]


def agent(now: list[float]) -> SipAgent:
    return SipAgent(local_host=AGENT[0], local_port=AGENT[1], clock=lambda: now[0], user="agent")


def in_dialog(method: str, invite: SipRequest, ok: SipResponse, number: int, peer: Peer, suffix: str) -> bytes:
    """An ACK or BYE as the peer would send it: fresh branches on its Vias, our To tag, its own CSeq space."""
    contact = NameAddr.parse(ok.headers.get("Contact") or "").uri
    uri = invite.uri if peer.ack_to_request_uri else str(contact)
    vias = [
        str(Via.parse(v).with_param("branch", f"{Via.parse(v).branch}{suffix}")) for v in invite.headers.get_all("Via")
    ]
    lines = [f"{method} {uri} SIP/2.0", *(f"Via: {v}" for v in vias)]
    lines += [f"From: {invite.headers.get('From')}", f"To: {ok.headers.get('To')}"]
    lines += [f"Call-ID: {invite.headers.get('Call-ID')}", f"CSeq: {number} {method}", "Max-Forwards: 70"]
    lines += ["Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize("peer", PEERS, ids=lambda p: p.fixture.removesuffix("_invite.sip"))
def test_real_peer_invite_is_parsed_answered_and_hung_up(peer: Peer):
    data = (FIXTURES / peer.fixture).read_bytes()
    invite = parse_message(data)
    assert isinstance(invite, SipRequest) and invite.method == "INVITE"
    assert invite.body.startswith(b"v=0\r\n") and invite.body.endswith(b"\r\n")
    assert len(invite.body) == int(invite.headers.get("Content-Length") or -1)
    # responses go where the top Via says: with rport, the datagram's source; without, its sent-by
    top = Via.parse(invite.headers.get_all("Via")[0])
    reply_to = peer.source if top.has_rport else (top.host, top.port or 5060)

    now = [0.0]
    ua = agent(now)
    ua.receive_datagram(data, peer.source)
    [(trying, dest)] = ua.datagrams_to_send()
    assert trying.startswith(b"SIP/2.0 100 Trying\r\n") and dest == reply_to
    [event] = drain(ua)
    assert isinstance(event, IncomingCall)
    assert event.call_id == invite.headers.get("Call-ID") and event.remote == peer.source
    assert (event.from_.display, event.from_.uri.user) == (peer.display, peer.user)
    assert event.sdp == invite.body and event.request_uri.port == AGENT[1]

    ua.ringing(event.call_id)
    ua.answer(event.call_id, OUR_SDP)
    out = ua.datagrams_to_send()
    assert [d for _, d in out] == [reply_to, reply_to]
    ringing, ok = (parse_message(d) for d, _ in out)
    assert isinstance(ok, SipResponse) and isinstance(ringing, SipResponse)
    assert (ringing.status, ok.status, ok.body) == (180, 200, OUR_SDP)
    vias = ok.headers.get_all("Via")
    assert len(vias) == len(invite.headers.get_all("Via")) and vias[1:] == invite.headers.get_all("Via")[1:]
    assert Via.parse(vias[0]).branch == top.branch
    assert Via.parse(vias[0]).rport == (peer.source[1] if top.has_rport else None)
    assert ok.headers.get_all("Record-Route") == invite.headers.get_all("Record-Route")
    assert ok.headers.get("From") == invite.headers.get("From") and cseq(ok.headers) == cseq(invite.headers)
    our_tag = NameAddr.parse(ok.headers.get("To") or "").tag
    assert our_tag and NameAddr.parse(ringing.headers.get("To") or "").tag == our_tag
    assert ok.headers.get("Contact") == "<sip:agent@127.0.0.1:5080>"

    number = cseq(invite.headers)[0]
    ua.receive_datagram(in_dialog("ACK", invite, ok, number, peer, "-ack"), peer.source)
    assert drain(ua) == [CallConfirmed(event.call_id)] and ua.datagrams_to_send() == []
    now[0] += 10 * T1
    ua.handle_timers()
    assert ua.datagrams_to_send() == []  # the ACK stopped the 2xx retransmissions

    ua.receive_datagram(in_dialog("BYE", invite, ok, number + 1, peer, "-bye"), peer.source)
    [(bye_ok, dest)] = ua.datagrams_to_send()
    assert bye_ok.startswith(b"SIP/2.0 200 OK\r\n") and dest == reply_to
    assert drain(ua) == [CallEnded(event.call_id, by_remote=True, reason="BYE")]


def test_our_bye_follows_the_trunks_record_route():
    data = (FIXTURES / "kamailio_trunk_invite.sip").read_bytes()
    invite = parse_message(data)
    proxy = ("127.0.0.1", 5060)
    ua = agent([0.0])
    ua.receive_datagram(data, proxy)
    [event] = drain(ua)
    ua.answer(event.call_id, OUR_SDP)
    ok = parse_message(ua.datagrams_to_send()[-1][0])
    ua.receive_datagram(in_dialog("ACK", invite, ok, 102, PEERS[-1], "-ack"), proxy)  # type: ignore[arg-type]
    ua.datagrams_to_send()
    ua.bye(event.call_id)
    [(data, dest)] = ua.datagrams_to_send()
    bye = parse_message(data)
    assert isinstance(bye, SipRequest) and dest == proxy  # the first (loose) route is the next hop
    assert bye.uri == "sip:+15550100199@203.0.113.40:5060"  # the caller's Contact
    assert bye.headers.get_all("Route") == invite.headers.get_all("Record-Route")
    assert NameAddr.parse(bye.headers.get("From") or "").uri.user == "+15557654321"
    assert NameAddr.parse(bye.headers.get("To") or "").tag == "as5f0c7e21"


def sipp_uas_reply(request: SipRequest, status: str, body: str = "") -> bytes:
    """A response as SIPp's built-in uas scenario writes it: [last_*] headers copied back, a tag on To."""
    h = request.headers
    to = h.get("To") or ""
    if status != "100 Trying" and ";tag=" not in to:
        to += ";tag=3120SIPpTag011"
    lines = [f"SIP/2.0 {status}", f"Via: {h.get('Via')}", f"From: {h.get('From')}", f"To: {to}"]
    lines += [f"Call-ID: {h.get('Call-ID')}", f"CSeq: {h.get('CSeq')}"]
    if status.startswith(("180", "200")) and request.method == "INVITE":
        lines.append("Contact: <sip:127.0.0.1:5060;transport=UDP>")
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def test_our_call_to_sipp_uas():
    sipp = ("127.0.0.1", 5060)
    sdp = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    sdp += "m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    ua = agent([0.0])
    call_id = ua.invite("sip:service@127.0.0.1", OUR_SDP)  # port-less: 5060
    [(data, dest)] = ua.datagrams_to_send()
    invite = parse_message(data)
    assert isinstance(invite, SipRequest) and dest == sipp
    for status, body in (("100 Trying", ""), ("180 Ringing", ""), ("200 OK", sdp)):
        ua.receive_datagram(sipp_uas_reply(invite, status, body), sipp)
    assert drain(ua) == [CallProgress(call_id, 180, "Ringing", b""), CallAnswered(call_id, sdp.encode())]
    [(data, dest)] = ua.datagrams_to_send()
    ack = parse_message(data)
    assert isinstance(ack, SipRequest) and ack.method == "ACK" and dest == sipp
    assert ack.uri == "sip:127.0.0.1:5060;transport=UDP"  # SIPp's Contact, user-less
    assert NameAddr.parse(ack.headers.get("To") or "").tag == "3120SIPpTag011"
    ua.receive_datagram(sipp_uas_reply(invite, "200 OK", sdp), sipp)  # SIPp resends the 200: ACK again
    assert [parse_message(d).method for d, _ in ua.datagrams_to_send()] == ["ACK"]  # type: ignore[union-attr]
    ua.bye(call_id)
    [(data, dest)] = ua.datagrams_to_send()
    bye = parse_message(data)
    assert isinstance(bye, SipRequest) and bye.method == "BYE" and dest == sipp
    ua.receive_datagram(sipp_uas_reply(bye, "200 OK"), sipp)
    assert drain(ua) == [CallEnded(call_id, by_remote=False, reason="BYE")]
