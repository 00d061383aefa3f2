import importlib.util
import random
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talktrack.telephony.jitter import JitterBuffer
from talktrack.telephony.rfc4733 import EVENTS, DtmfPayloadError, DtmfReceiver, EventPayload
from talktrack.telephony.rtp import RtpPacket, RtpSender, is_rtcp
from talktrack.telephony.sdp import build_offer, parse_answer
from talktrack.testing.pcap import udp_payloads

SIPP = Path("/usr/share/sip-tester")
SIPP_NAMES = {"star": "*", "pound": "#"}


def event(ts, code, duration, *, end=False, marker=False, seq=0, ssrc=1):
    return RtpPacket(101, seq, ts, ssrc, bytes(EventPayload(code, end, 10, duration)), marker=marker)


def press(ts, code, *, ssrc=1, seq=0):
    """The packets a phone sends for one 100 ms key press."""
    updates = [event(ts, code, d, marker=d == 160, seq=seq + i, ssrc=ssrc) for i, d in enumerate(range(160, 801, 160))]
    ends = [event(ts, code, 800, end=True, seq=seq + 5 + i, ssrc=ssrc) for i in range(3)]
    return updates + ends


payloads = st.builds(EventPayload, st.integers(0, 255), st.booleans(), st.integers(0, 63), st.integers(0, 0xFFFF))


@settings(deadline=None)
@given(payloads)
def test_payload_round_trip(payload):
    assert EventPayload.parse(bytes(payload)) == payload


@settings(deadline=None)
@given(st.binary(max_size=12))
def test_malformed_payloads_raise_only_their_error(data):
    try:
        payload = EventPayload.parse(data)
    except DtmfPayloadError:
        assert len(data) != 4
    else:
        assert bytes(payload) == bytes([data[0], data[1] & 0xBF]) + data[2:]  # the reserved bit is dropped


def test_payload_bits():
    payload = EventPayload.parse(bytes([11, 0x80 | 0x40 | 7, 0x03, 0x20]))
    assert payload == EventPayload(event=11, end=True, volume=7, duration=0x0320)
    assert payload.digit == "#"
    assert EventPayload(16, False, 0, 0).digit is None  # flash is not a key


@pytest.mark.parametrize(
    "fields", [(256, False, 0, 0), (-1, False, 0, 0), (1, False, 64, 0), (1, False, 0, 0x10000), (1, True, 0, -5)]
)
def test_unencodable_payloads_are_refused(fields):
    with pytest.raises(DtmfPayloadError):
        EventPayload(*fields)


@pytest.mark.skipif(not SIPP.is_dir(), reason="SIPp's pcaps are not installed (Debian sip-tester)")
@pytest.mark.parametrize("path", sorted(SIPP.glob("dtmf_2833_*.pcap")) if SIPP.is_dir() else [], ids=str)
def test_sipp_recordings_decode_to_their_digit(path):
    name = path.stem.removeprefix("dtmf_2833_")
    receiver = DtmfReceiver()
    heard = [receiver.push(RtpPacket.parse(d)) for d in udp_payloads(path)]
    assert [d for d in heard if d is not None] == [SIPP_NAMES.get(name, name)]
    assert heard[0] is not None  # reported on the first packet, not on release


def test_a_press_is_reported_once_at_its_start():
    receiver = DtmfReceiver()
    heard = [receiver.push(p) for p in press(1000, 5)]
    assert heard == ["5"] + [None] * 7


def test_the_same_key_pressed_again_counts_again():
    receiver = DtmfReceiver()
    heard = [receiver.push(p) for p in press(1000, 1) + press(2600, 1, seq=8)]
    assert [d for d in heard if d] == ["1", "1"]


def test_a_press_whose_start_was_lost_is_still_heard_once():
    receiver = DtmfReceiver()
    heard = [receiver.push(p) for p in press(1000, 9)[3:]]
    assert [d for d in heard if d] == ["9"]


def test_stray_end_packets_of_an_earlier_press_are_ignored():
    receiver = DtmfReceiver()
    first, second = press(1000, 2), press(2600, 3, seq=8)
    order = first[:5] + second[:2] + first[5:] + second[2:]  # the first press's end packets arrive late
    heard = [receiver.push(p) for p in order]
    assert [d for d in heard if d] == ["2", "3"]


def test_non_key_events_are_not_digits():
    receiver = DtmfReceiver()
    assert all(receiver.push(p) is None for p in press(1000, 16) + press(3000, 70, seq=8))


def test_junk_payloads_are_counted_and_skipped():
    receiver = DtmfReceiver()
    assert receiver.push(RtpPacket(101, 1, 5, 1, b"\x01\x0a")) is None
    assert receiver.malformed == 1
    assert receiver.push(press(900, 4)[0]) == "4"


def test_a_new_stream_starts_fresh():
    receiver = DtmfReceiver()
    assert receiver.push(press(1000, 6, ssrc=1)[0]) == "6"
    assert receiver.push(press(1000, 6, ssrc=2)[0]) == "6"  # same timestamp, other source: a new press


def test_a_long_press_split_into_segments_is_one_key():
    receiver = DtmfReceiver()
    first = [event(5000, 0, 0xFFFF, marker=True), event(5000, 0, 0xFFFF)]
    # RFC 4733 §2.5.1.3: the next segment starts where the last ended, without the marker.
    second = [event(5000 + 0xFFFF, 0, 4000), event(5000 + 0xFFFF, 0, 4000, end=True)]
    assert [receiver.push(p) for p in first + second] == ["0", None, None, None]


def test_every_key_from_a_sender_in_random_order_within_each_press():
    rng = random.Random(9)
    sender = RtpSender(0, rng=rng)
    receiver = DtmfReceiver()
    heard = []
    for digit in EVENTS:
        packets = sender.event_packets(digit)
        head, tail = packets[:2], packets[2:]
        rng.shuffle(tail)
        heard += [receiver.push(p) for p in head + tail]
    assert "".join(d for d in heard if d) == EVENTS


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.binary(max_size=6), st.booleans()), max_size=30))
def test_receiver_never_raises_on_arbitrary_packets(items):
    receiver = DtmfReceiver()
    for ts, payload, marker in items:
        digit = receiver.push(RtpPacket(101, 0, ts, 1, payload, marker=marker))
        assert digit is None or digit in EVENTS


# A PJSIP 2.15 (pjsua2) phone that answers, presses keys once media is up, and prints the keys it hears.
PJSUA_PHONE = """
import os, sys, time, pjsua2 as pj
sip_port, rtp_port, keys, seconds = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
calls = []
class Call(pj.Call):
    media_at = None
    def onDtmfDigit(self, prm):
        print("HEARD", prm.digit, flush=True)
    def onCallMediaState(self, prm):
        self.media_at = time.time()
class Account(pj.Account):
    def onIncomingCall(self, prm):
        call = Call(self, prm.callId); op = pj.CallOpParam(); op.statusCode = 200; call.answer(op); calls.append(call)
ep = pj.Endpoint(); ep.libCreate()
cfg = pj.EpConfig(); cfg.logConfig.level = 0; cfg.logConfig.consoleLevel = 0; cfg.uaConfig.threadCnt = 0
ep.libInit(cfg)
transport = pj.TransportConfig(); transport.port = sip_port; transport.boundAddress = "127.0.0.1"
ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
ep.libStart(); ep.audDevManager().setNullDev()
account_config = pj.AccountConfig(); account_config.idUri = f"sip:phone@127.0.0.1:{sip_port}"
account_config.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
account_config.mediaConfig.transportConfig.port = rtp_port
account = Account(); account.create(account_config)
print("READY", flush=True)
start, pressed = time.time(), False
while time.time() - start < seconds:
    ep.libHandleEvents(10)
    if calls and not pressed and calls[0].media_at and time.time() - calls[0].media_at > 0.3:
        calls[0].dialDtmf(keys); pressed = True
os._exit(0)  # pjsua2 aborts on a normal interpreter exit
"""


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sip_request(method, target, cseq, local, call_id, to_tag="", body=b""):
    lines = [
        f"{method} {target} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{local};rport;branch=z9hG4bK{uuid.uuid4().hex[:16]}",
        "Max-Forwards: 70",
        f"From: <sip:agent@127.0.0.1:{local}>;tag=tt1",
        f"To: <{target}>{to_tag}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:agent@127.0.0.1:{local}>",
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.mark.integration
@pytest.mark.skipif(importlib.util.find_spec("pjsua2") is None, reason="pjsua2-python (PJSIP 2.15) is not installed")
def test_keys_cross_both_ways_with_pjsip(tmp_path):
    """Our offer, RTP and RFC 4733 events against a real PJSIP phone, with just enough SIP to set up the call."""
    script = tmp_path / "phone.py"
    script.write_text(PJSUA_PHONE)
    peer_sip, peer_rtp = _free_udp_port(), _free_udp_port() & ~1
    phone = subprocess.Popen(
        [sys.executable, str(script), str(peer_sip), str(peer_rtp), "159#", "6"], stdout=subprocess.PIPE, text=True
    )
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sip,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtp,
    ):
        try:
            assert phone.stdout is not None
            while phone.stdout.readline().strip() != "READY":  # pjlib prints a banner first
                assert phone.poll() is None, "the PJSIP phone did not start"
            sip.bind(("127.0.0.1", 0))
            sip.settimeout(5)
            rtp.bind(("127.0.0.1", 0))
            rtp.setblocking(False)
            local = sip.getsockname()[1]
            target, call_id = f"sip:phone@127.0.0.1:{peer_sip}", uuid.uuid4().hex
            offer = build_offer("127.0.0.1", rtp.getsockname()[1])
            sip.sendto(_sip_request("INVITE", target, 1, local, call_id, body=offer), ("127.0.0.1", peer_sip))
            while True:
                reply = sip.recv(65535)
                if reply.startswith(b"SIP/2.0 200"):
                    break
            head, _, body = reply.partition(b"\r\n\r\n")
            to_tag = ";tag=" + head.decode().split("To:")[1].split("tag=")[1].split("\r\n")[0].split(";")[0]
            media = parse_answer(body)
            sip.sendto(_sip_request("ACK", target, 1, local, call_id, to_tag), ("127.0.0.1", peer_sip))

            sender = RtpSender(media.codec.payload_type, rng=random.Random(7))
            schedule = [sender.packet(bytes([0xFF]) * 160) for _ in range(25)]
            for key in "2580*":
                schedule += sender.event_packets(key, dtmf_payload_type=media.dtmf_payload_type or 101)
                schedule += [sender.packet(bytes([0xFF]) * 160) for _ in range(5)]
            schedule += [sender.packet(bytes([0xFF]) * 160) for _ in range(100)]
            receiver, jitter, heard = DtmfReceiver(), JitterBuffer(), []
            for packet in schedule:
                rtp.sendto(bytes(packet), (media.remote_host, media.remote_port))
                time.sleep(0.02)
                while True:
                    try:
                        data = rtp.recv(2048)
                    except BlockingIOError:
                        break
                    if is_rtcp(data):
                        continue
                    incoming = RtpPacket.parse(data)
                    if incoming.payload_type == media.dtmf_payload_type:
                        heard.append(receiver.push(incoming))
                    jitter.push(incoming)
            sip.sendto(_sip_request("BYE", target, 2, local, call_id, to_tag), ("127.0.0.1", peer_sip))
            output, _ = phone.communicate(timeout=20)
        finally:
            phone.kill()
    assert "".join(d for d in heard if d) == "159#"
    assert "".join(line.split()[1] for line in output.splitlines() if line.startswith("HEARD")) == "2580*"
    assert jitter.stats["received"] > 50 and jitter.stats["lost"] == 0
