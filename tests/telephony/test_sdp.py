import pytest
from aiortc.sdp import SessionDescription
from hypothesis import given, settings
from hypothesis import strategies as st

from talktrack.telephony.sdp import Codec, MediaSession, SdpError, answer_offer, build_offer, parse_answer


def crlf(text: str) -> bytes:
    return text.strip().replace("\n", "\r\n").encode() + b"\r\n"


# The offer in SIPp 3.6's built-in uac_pcap scenario (`sipp -sd uac_pcap`), with its fields filled in.
SIPP_UAC_PCAP = crlf("""
v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-11,16
""")

# baresip 1.0.0 dialing with the g711 module.
BARESIP = crlf("""
v=0
o=- 1574042052 1537378124 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
a=tool:baresip 1.0.0
m=audio 38882 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=rtcp-rsize
a=ssrc:4168895312 cname:sip:bob@127.0.0.1
a=minptime:20
a=ptime:20
""")

# linphonec 5.1: opus and speex first, no a=rtpmap for the static G.711 types, three telephone-event clocks.
LINPHONE = crlf("""
v=0
o=linphone 3757 483 IN IP4 127.0.0.1
s=Talk
c=IN IP4 127.0.0.1
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
m=audio 7078 RTP/AVP 96 97 98 0 8 18 99 100 101
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:99 telephone-event/48000
a=rtpmap:100 telephone-event/16000
a=rtpmap:101 telephone-event/8000
a=rtcp-fb:* trr-int 5000
a=rtcp-fb:* ccm tmmbr
""")

# PJSIP 2.15 (pjsua2): c= at media level, a=rtcp with an address, G.711 after speex, iLBC and GSM.
PJSIP = crlf("""
v=0
o=- 4004550324 4004550324 IN IP4 127.0.0.1
s=pjmedia
b=AS:84
t=0 0
a=X-nat:0
m=audio 4000 RTP/AVP 96 97 98 99 3 0 8 9 120 121 122
c=IN IP4 127.0.0.1
b=TIAS:64000
a=rtcp:4001 IN IP4 127.0.0.1
a=sendrecv
a=rtpmap:96 speex/16000
a=rtpmap:97 speex/8000
a=rtpmap:98 speex/32000
a=rtpmap:99 iLBC/8000
a=fmtp:99 mode=30
a=rtpmap:3 GSM/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:9 G722/8000
a=rtpmap:120 telephone-event/16000
a=fmtp:120 0-16
a=rtpmap:121 telephone-event/8000
a=fmtp:121 0-16
a=rtpmap:122 telephone-event/32000
a=fmtp:122 0-16
a=ssrc:381443922 cname:45fc12716a022cfe
""")

# Answers the same peers gave to build_offer("127.0.0.1", 30000).
BARESIP_ANSWER = crlf("""
v=0
o=- 915590885 1895618620 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
a=tool:baresip 1.0.0
m=audio 44236 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=ssrc:2783851856 cname:sip:bob@127.0.0.1:5091
a=minptime:20
a=ptime:20
""")
SIPP_UAS_ANSWER = crlf("""
v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
""")
PJSIP_ANSWER = crlf("""
v=0
o=- 4004550368 4004550369 IN IP4 127.0.0.1
s=pjmedia
b=AS:84
t=0 0
a=X-nat:0
m=audio 4100 RTP/AVP 0 101
c=IN IP4 127.0.0.1
b=TIAS:64000
a=rtcp:4101 IN IP4 127.0.0.1
a=sendrecv
a=rtpmap:0 PCMU/8000
a=ssrc:1525357998 cname:638e7879075a91c7
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
""")
LINPHONE_ANSWER = crlf("""
v=0
o=linphone 3464 157 IN IP4 127.0.0.1
s=Talk
c=IN IP4 127.0.0.1
t=0 0
m=audio 7078 RTP/AVP 0 8 101
a=rtpmap:101 telephone-event/8000
""")


def media_lines(sdp: bytes) -> list[list[str]]:
    """The m= sections of an SDP body, each as its lines."""
    sections: list[list[str]] = []
    for line in sdp.decode().split("\r\n"):
        if line.startswith("m="):
            sections.append([])
        if sections and line:
            sections[-1].append(line)
    return sections


@pytest.mark.parametrize(
    ("offer", "codec", "dtmf", "port", "rtcp"),
    [
        pytest.param(SIPP_UAC_PCAP, Codec(8, "PCMA"), 101, 6000, None, id="sipp"),
        pytest.param(BARESIP, Codec(0, "PCMU"), 101, 38882, None, id="baresip"),
        pytest.param(LINPHONE, Codec(0, "PCMU"), 101, 7078, None, id="linphone"),
        pytest.param(PJSIP, Codec(0, "PCMU"), 121, 4000, 4001, id="pjsip"),
    ],
)
def test_real_offers_are_answered(offer, codec, dtmf, port, rtcp):
    answer, session = answer_offer(offer, "127.0.0.1", 20000, session_id=42)
    assert session == MediaSession("127.0.0.1", port, codec, dtmf, 20, "sendrecv", rtcp)
    parsed = SessionDescription.parse(answer.decode())  # an independent parser accepts what we wrote
    [audio] = parsed.media
    assert (audio.kind, audio.port, parsed.host) == ("audio", 20000, "127.0.0.1")
    assert [c.payloadType for c in audio.rtp.codecs] == [codec.payload_type, dtmf]
    assert audio.rtp.codecs[1].mimeType == "audio/telephone-event"
    assert audio.direction == "sendrecv"
    # and the offerer, parsing our answer, agrees on the session
    back = parse_answer(answer, offered=[codec.name])
    assert (back.codec, back.dtmf_payload_type, back.remote_port) == (codec, dtmf, 20000)


def test_our_preference_does_not_override_the_offer_order():
    _, session = answer_offer(BARESIP, "127.0.0.1", 20000, codecs=("PCMA", "PCMU"))
    assert session.codec.name == "PCMU"  # baresip listed PCMU first
    _, session = answer_offer(BARESIP, "127.0.0.1", 20000, codecs=("PCMA",))
    assert session.codec == Codec(8, "PCMA")


@pytest.mark.parametrize(
    ("answer", "codec", "dtmf", "port", "rtcp"),
    [
        pytest.param(BARESIP_ANSWER, Codec(0, "PCMU"), 101, 44236, None, id="baresip"),
        pytest.param(SIPP_UAS_ANSWER, Codec(0, "PCMU"), None, 6000, None, id="sipp"),
        pytest.param(PJSIP_ANSWER, Codec(0, "PCMU"), 101, 4100, 4101, id="pjsip"),
        pytest.param(LINPHONE_ANSWER, Codec(0, "PCMU"), 101, 7078, None, id="linphone"),
    ],
)
def test_real_answers_are_understood(answer, codec, dtmf, port, rtcp):
    assert parse_answer(answer) == MediaSession("127.0.0.1", port, codec, dtmf, 20, "sendrecv", rtcp)


def test_offer_is_complete_and_valid():
    offer = build_offer("192.0.2.10", 30000, session_id=7, version=3)
    text = offer.decode()
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")[:-1]
    assert [line[0] for line in lines[:5]] == ["v", "o", "s", "c", "t"]
    assert lines[1] == "o=talktrack 7 3 IN IP4 192.0.2.10"
    assert "m=audio 30000 RTP/AVP 0 8 101" in lines
    for expected in ("a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000"):
        assert expected in lines
    assert {"a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv"} <= set(lines)
    [audio] = SessionDescription.parse(text).media
    assert [c.name for c in audio.rtp.codecs] == ["PCMU", "PCMA", "telephone-event"]


def test_offer_options():
    offer = build_offer("2001:db8::5", 4000, codecs=["pcma"], dtmf_payload_type=None, ptime_ms=30, direction="sendonly")
    lines = offer.decode().split("\r\n")
    assert "c=IN IP6 2001:db8::5" in lines and "m=audio 4000 RTP/AVP 8" in lines
    assert {"a=ptime:30", "a=sendonly"} <= set(lines)
    assert not any("telephone-event" in line for line in lines)
    assert build_offer("h", 1, session_id=1) != build_offer("h", 1, session_id=2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"codecs": ["G729"]},
        {"codecs": []},
        {"dtmf_payload_type": 8},
        {"ptime_ms": 0},
        {"direction": "both"},
        {"port": 0},
        {"port": 70000},
        {"host": "bad host"},
    ],
)
def test_impossible_offers_are_refused(kwargs):
    args = {"host": "127.0.0.1", "port": 4000} | kwargs
    with pytest.raises(SdpError):
        build_offer(args.pop("host"), args.pop("port"), **args)


def test_offer_answer_round_trip():
    offer = build_offer("10.0.0.1", 4000, codecs=("PCMA", "PCMU"), dtmf_payload_type=96, ptime_ms=30)
    answer, theirs = answer_offer(offer, "10.0.0.2", 5000, codecs=("PCMU", "PCMA"))
    ours = parse_answer(answer, offered=("PCMA", "PCMU"))
    assert theirs == MediaSession("10.0.0.1", 4000, Codec(8, "PCMA"), 96, 30)
    assert ours == MediaSession("10.0.0.2", 5000, Codec(8, "PCMA"), 96, 30)


@pytest.mark.parametrize(
    ("offered", "answered"),
    [("sendrecv", "sendrecv"), ("sendonly", "recvonly"), ("recvonly", "sendonly"), ("inactive", "inactive")],
)
def test_hold_directions_are_mirrored(offered, answered):
    answer, session = answer_offer(BARESIP.replace(b"a=sendrecv", f"a={offered}".encode()), "127.0.0.1", 20000)
    assert session.direction == answered and f"a={answered}\r\n".encode() in answer
    assert parse_answer(answer, direction=offered).direction == offered


def test_session_level_direction_applies_unless_the_stream_says_otherwise():
    session_level = SIPP_UAC_PCAP.replace(b"t=0 0\r\n", b"t=0 0\r\na=sendonly\r\n")
    assert answer_offer(session_level, "127.0.0.1", 20000)[1].direction == "recvonly"
    overridden = session_level + b"a=sendrecv\r\n"
    assert answer_offer(overridden, "127.0.0.1", 20000)[1].direction == "sendrecv"


def test_old_style_hold_address_means_do_not_send():
    offer = BARESIP.replace(b"c=IN IP4 127.0.0.1", b"c=IN IP4 0.0.0.0")
    _, session = answer_offer(offer, "127.0.0.1", 20000)
    assert session.direction == "recvonly" and not session.sends and session.receives


def test_answer_direction_is_what_both_allow():
    answer = BARESIP_ANSWER.replace(b"a=sendrecv", b"a=recvonly")
    assert parse_answer(answer).direction == "sendonly"
    assert parse_answer(answer, direction="recvonly").direction == "inactive"
    assert parse_answer(BARESIP_ANSWER, direction="sendonly").direction == "sendonly"


def test_lf_only_ipv6_and_media_level_address():
    offer = b"\n".join(
        [
            b"v=0",
            b"o=- 18446744073709551615 18446744073709551615 IN IP6 2001:db8::1",
            b"s= ",
            b"c=IN IP6 2001:db8::1",
            b"t=0 0",
            b"m=audio 5004 RTP/AVP 8",
            b"c=IN IP6 2001:db8::99",
            b"a=ptime:40",
        ]
    )
    answer, session = answer_offer(offer, "2001:db8::2", 6000)
    assert session == MediaSession("2001:db8::99", 5004, Codec(8, "PCMA"), None, 40)
    assert b"c=IN IP6 2001:db8::2\r\n" in answer and b"a=ptime:40\r\n" in answer
    assert b"telephone-event" not in answer  # they offered none, so we must not send it


def test_video_and_other_streams_are_declined_in_place():
    offer = (
        LINPHONE.replace(b"m=audio", b"m=video 9078 RTP/AVP 96 97\r\na=rtpmap:96 VP8/90000\r\nm=audio")
        + b"m=video 9080 RTP/AVP 103\r\na=rtpmap:103 H264/90000\r\nm=application 9 UDP/BFCP *\r\n"
    )
    answer, session = answer_offer(offer, "127.0.0.1", 20000)
    sections = media_lines(answer)
    assert [s[0] for s in sections] == [
        "m=video 0 RTP/AVP 96 97",
        "m=audio 20000 RTP/AVP 0 101",
        "m=video 0 RTP/AVP 103",
        "m=application 0 UDP/BFCP *",
    ]
    assert all(len(s) == 1 for s in sections if s[0].startswith(("m=video", "m=application")))
    assert session.remote_port == 7078


@pytest.mark.parametrize(
    ("offer", "message"),
    [
        (SIPP_UAC_PCAP.replace(b"m=audio", b"m=video"), "no audio stream"),
        (SIPP_UAC_PCAP.replace(b"m=audio 6000", b"m=audio 0"), "port 0"),
        (SIPP_UAC_PCAP.replace(b"RTP/AVP", b"RTP/SAVP"), "RTP/SAVP"),
        (PJSIP.replace(b" 0 8 9 ", b" 9 "), "GSM, G722"),
        (SIPP_UAC_PCAP.replace(b"c=IN IP4 127.0.0.1\r\n", b""), "no c= connection"),
        (SIPP_UAC_PCAP.replace(b"v=0", b"v=1"), "v=0"),
        (b"", "v=0"),
        (b"v=0\r\no=- 1 1 IN IP4 h\r\n", "no m= line"),
        (SIPP_UAC_PCAP.replace(b"c=IN IP4", b"c=IN IPX"), "connection line"),
        (SIPP_UAC_PCAP.replace(b"RTP/AVP 8", b"RTP/AVP PCMA"), "payload type"),
        (SIPP_UAC_PCAP.replace(b"6000", b"99999"), "bad port"),
        (SIPP_UAC_PCAP.replace(b"a=rtpmap:8 PCMA/8000", b"a=rtpmap:8 PCMA"), "rtpmap"),
        (SIPP_UAC_PCAP + b"a=ptime:fast\r\n", "ptime"),
        (SIPP_UAC_PCAP + b"a=ptime:2.5\r\n", "whole number"),
        (SIPP_UAC_PCAP + b"a=rtcp:x\r\n", "rtcp"),
        (SIPP_UAC_PCAP + b"no equals sign\r\n", "malformed SDP line"),
        (b"v=0\r\n\xff\xfe", "UTF-8"),
    ],
)
def test_offers_we_cannot_take_say_why(offer, message):
    with pytest.raises(SdpError, match=message):
        answer_offer(offer, "127.0.0.1", 20000)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (SIPP_UAS_ANSWER.replace(b"RTP/AVP 0", b"RTP/AVP 8").replace(b"a=rtpmap:0 PCMU", b"a=rtpmap:8 PCMA"), "PCMA"),
        (SIPP_UAS_ANSWER.replace(b"6000", b"0"), "port 0"),
        (SIPP_UAS_ANSWER.replace(b"m=audio", b"m=video"), "no audio"),
    ],
)
def test_answers_we_cannot_use_say_why(answer, message):
    with pytest.raises(SdpError, match=message):
        parse_answer(answer, offered=("PCMU",))


REAL = [SIPP_UAC_PCAP, BARESIP, LINPHONE, PJSIP, BARESIP_ANSWER, SIPP_UAS_ANSWER, PJSIP_ANSWER, LINPHONE_ANSWER]


@settings(deadline=None, max_examples=300)
@given(
    base=st.sampled_from(REAL),
    edits=st.lists(
        st.tuples(st.integers(0, 40), st.sampled_from(["drop", "dup", "cut", "junk"]), st.text(max_size=12))
    ),
)
def test_mangled_real_sdp_raises_only_sdp_error(base, edits):
    lines = base.decode().split("\r\n")
    for index, action, junk in edits:
        i = index % len(lines)
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "cut":
            lines[i] = lines[i][: len(junk)]
        else:
            lines[i] = lines[i][:2] + junk + lines[i][2:]
        if not lines:
            lines = [""]
    body = "\r\n".join(lines).encode("utf-8", "surrogatepass")
    for call in (lambda: answer_offer(body, "127.0.0.1", 20000), lambda: parse_answer(body)):
        try:
            session = call()
        except SdpError:
            continue
        session = session[1] if isinstance(session, tuple) else session
        assert 0 < session.remote_port < 65536 and session.codec.name in ("PCMU", "PCMA")


@settings(deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_sdp_error(data):
    for call in (lambda: answer_offer(data, "127.0.0.1", 20000), lambda: parse_answer(data)):
        try:
            call()
        except SdpError:
            pass
