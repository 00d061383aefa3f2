"""WebRTC line ends, both in this process over loopback ICE: audio both ways, barge-in, hang-up, bad offers."""

from __future__ import annotations

import asyncio
import fractions
import re

import numpy as np
import pytest
from av import AudioFrame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talktrack.audio.g711 import ULAW_SILENCE, ulaw_decode, ulaw_encode
from talktrack.audio.levels import is_audible
from talktrack.telephony.simline import FRAME_BYTES, FRAME_S, RATE, LineClosed
from talktrack.telephony.webrtc_line import (
    OPUS_FRAME,
    OPUS_RATE,
    OfferError,
    WebRtcCallerLine,
    WebRtcLine,
    _Framer,
    _PlayoutTrack,
    answer_offer,
    check_offer,
    keep_loopback_candidates,
)

# An offer as Chromium 156 makes it for one microphone (ICE on loopback).
CHROME_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 6463462212863876427 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS 6bfe6090-d9b4-466a-ad05-57c3f47b01c3",
        "m=audio 33652 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
        "c=IN IP4 127.0.0.1",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=candidate:2274828640 1 udp 2122260223 127.0.0.1 33652 typ host generation 0 network-id 1",
        "a=candidate:4183344120 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 network-id 1",
        "a=ice-ufrag:AM9m",
        "a=ice-pwd:Z+kDjXP8QzC1Hl9RE6xkZ6rh",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 FD:99:E0:E4:5F:FA:F5:72:DC:A2:7D:9F:2F:6B:74:4A:79:C9:DE:11:32:42:52:0E:35:68:62:24:26"
        ":D2:B1:84",
        "a=setup:actpass",
        "a=mid:0",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=sendrecv",
        "a=msid:6bfe6090-d9b4-466a-ad05-57c3f47b01c3 3c75bd73-d92f-4fdb-8b04-d866dfb0f978",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:63 red/48000/2",
        "a=fmtp:63 111/111",
        "a=rtpmap:9 G722/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:13 CN/8000",
        "a=rtpmap:110 telephone-event/48000",
        "a=rtpmap:126 telephone-event/8000",
        "a=ssrc:391143347 cname:lpDNDc6U6mkw1JPI",
        "",
    ]
)
# Generous bound for loopback ICE + DTLS and a hang-up to reach the far end; not a latency check.
WAIT_S = 10.0


def tone(freq: float, frames: int) -> list[bytes]:
    t = np.arange(frames * FRAME_BYTES) / RATE
    pcm = (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return [ulaw_encode(pcm[i : i + FRAME_BYTES]) for i in range(0, pcm.size, FRAME_BYTES)]


def peak_hz(frames: list[bytes]) -> float:
    pcm = np.concatenate([ulaw_decode(f) for f in frames]).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(pcm.size)))
    return float(np.argmax(spectrum) * RATE / pcm.size)


async def play(line: WebRtcLine, frames: list[bytes]) -> None:
    for f in frames:
        line.send(f)
        await asyncio.sleep(FRAME_S)


async def listen(line: WebRtcLine, count: int) -> list[bytes]:
    return [(await asyncio.wait_for(line.recv(), WAIT_S))[0] for _ in range(count)]


@pytest.fixture
async def pair():
    answered: list[WebRtcLine] = []

    async def signal(sdp: str, sdp_type: str) -> tuple[str, str]:
        line, answer = await answer_offer(sdp, sdp_type, loopback_only=True)
        answered.append(line)
        return answer, "answer"

    caller = await WebRtcCallerLine.dial(signal, loopback_only=True)
    agent = answered[0]
    yield caller, agent
    await caller.aclose()
    await agent.aclose()


async def test_audio_crosses_both_ways_with_its_pitch(pair):
    caller, agent = pair
    heard = await asyncio.gather(
        listen(agent, 100), listen(caller, 100), play(caller, tone(440, 60)), play(agent, tone(1000, 60))
    )
    by_agent = [f for f in heard[0] if is_audible(ulaw_decode(f))]
    by_caller = [f for f in heard[1] if is_audible(ulaw_decode(f))]
    assert len(by_agent) >= 40 and len(by_caller) >= 40
    assert abs(peak_hz(by_agent) - 440) < 15
    assert abs(peak_hz(by_caller) - 1000) < 15
    assert all(len(f) == FRAME_BYTES for f in heard[0] + heard[1])


async def test_only_loopback_candidates_are_offered_and_answered(pair):
    caller, agent = pair
    for sdp in (caller.pc.localDescription.sdp, agent.pc.localDescription.sdp):
        hosts = re.findall(r"^a=candidate:\S+ \d+ \S+ \d+ (\S+) ", sdp, re.MULTILINE)
        assert hosts and set(hosts) == {"127.0.0.1"}


async def test_dial_returns_once_the_media_path_is_up(pair):
    caller, agent = pair
    # Frames sent before would queue behind the connection set-up and stay late for the whole call.
    assert caller.pc.connectionState == "connected"


async def test_the_callers_play_times_keep_the_speaking_rate(pair):
    caller, agent = pair
    await listen(caller, 5)  # the connection is up
    stamps = [(await asyncio.wait_for(caller.recv(), WAIT_S))[1] for _ in range(20)]
    gaps = np.diff(stamps)
    assert np.all(gaps >= FRAME_S - 1e-6)


async def test_clear_drops_what_the_far_end_has_not_heard(pair):
    caller, agent = pair
    await listen(caller, 5)
    for f in tone(1000, 40):
        agent.send(f)
    assert agent.clear() == 40  # nothing could play between the sends and the clear
    assert agent.clear() == 0
    after = await listen(caller, 40)
    assert not any(is_audible(ulaw_decode(f)) for f in after)
    await play(agent, tone(1000, 10))
    assert any(is_audible(ulaw_decode(f)) for f in await listen(caller, 30))


async def test_the_prospect_hanging_up_closes_the_agents_line(pair):
    caller, agent = pair
    await listen(agent, 5)
    caller.hangup()
    with pytest.raises(LineClosed):
        async with asyncio.timeout(WAIT_S):
            while True:
                await agent.recv()
    assert agent.closed
    with pytest.raises(LineClosed):
        agent.send(bytes([ULAW_SILENCE]) * FRAME_BYTES)


async def test_the_agent_hanging_up_closes_the_callers_line(pair):
    caller, agent = pair
    await listen(caller, 5)
    agent.hangup()
    with pytest.raises(LineClosed):
        async with asyncio.timeout(WAIT_S):
            while True:
                await caller.recv()
    assert caller.closed


async def test_a_line_without_media_closes_after_the_timeout():
    # Nobody answers the far end of this offer, so no audio ever comes.
    line, answer = await answer_offer(CHROME_OFFER, "offer", loopback_only=True, media_timeout_s=0.3)
    try:
        assert "a=sendrecv" in answer
        with pytest.raises(LineClosed):
            await line.recv()
        assert line.closed
    finally:
        await line.aclose()


async def test_parameters_ride_on_the_line():
    line, _ = await answer_offer(CHROME_OFFER, loopback_only=True, parameters={"prospect_name": "Dana"})
    try:
        assert line.parameters == {"prospect_name": "Dana"}
    finally:
        await line.aclose()


def test_a_browser_offer_passes_the_check():
    parsed = check_offer(CHROME_OFFER, "offer")
    assert [m.kind for m in parsed.media] == ["audio"]


def _without(pattern: str) -> str:
    return "".join(ln for ln in CHROME_OFFER.splitlines(keepends=True) if not re.match(pattern, ln))


@pytest.mark.parametrize(
    ("sdp", "sdp_type", "why"),
    [
        (CHROME_OFFER, "answer", "expected an SDP offer"),
        ("", "offer", "v=0"),
        ("hello", "offer", "v=0"),
        (_without(r"m=audio|a=rtpmap|a=fmtp|a=rtcp-fb"), "offer", "no audio"),
        (_without(r"a=ice-ufrag"), "offer", "ICE credentials"),
        (_without(r"a=fingerprint"), "offer", "DTLS"),
        (CHROME_OFFER.replace("a=sendrecv", "a=recvonly"), "offer", "must send audio"),
        (CHROME_OFFER.replace("m=audio 33652", "m=audio 0"), "offer", "no audio"),
        (re.sub(r"a=(rtpmap|fmtp|rtcp-fb):(111|0|8) [^\r]*\r\n", "", CHROME_OFFER), "offer", "no common audio codec"),
        (CHROME_OFFER.replace("m=audio 33652 UDP/TLS/RTP/SAVPF 111", "m=audio x"), "offer", "unreadable"),
        (CHROME_OFFER.replace("a=setup:actpass", "a=setup:sideways"), "offer", "unreadable"),
    ],
)
def test_bad_offers_are_refused_with_the_reason(sdp, sdp_type, why):
    with pytest.raises(OfferError, match=why):
        check_offer(sdp, sdp_type)


async def test_answer_offer_refuses_a_bad_offer_before_building_a_connection():
    with pytest.raises(OfferError):
        await answer_offer(_without(r"a=ice-pwd"), "offer")


_LINES = CHROME_OFFER.splitlines()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    keep=st.lists(st.booleans(), min_size=len(_LINES), max_size=len(_LINES)),
    cut=st.integers(min_value=0, max_value=len(CHROME_OFFER)),
    junk=st.text(max_size=40),
)
def test_mangled_offers_pass_or_raise_offer_error(keep, cut, junk):
    dropped = "\r\n".join(ln for ln, k in zip(_LINES, keep, strict=True) if k) + "\r\n"
    for sdp in (dropped, CHROME_OFFER[:cut], CHROME_OFFER[:cut] + junk + CHROME_OFFER[cut:]):
        try:
            check_offer(sdp, "offer")
        except OfferError:
            pass


@given(st.text(max_size=300))
def test_any_text_is_refused_with_offer_error(text):
    with pytest.raises(OfferError):
        check_offer(text, "offer")


def test_only_loopback_candidates_survive_in_the_far_ends_sdp():
    extra = (
        "a=candidate:1 1 udp 2122260223 192.168.1.5 5000 typ host\r\n"
        "a=candidate:2 1 udp 2122260223 3b2f0c6e-1f2a-4c2b-9d1e-0a1b2c3d4e5f.local 5001 typ host\r\n"
        "a=candidate:3 1 udp 1686052607 203.0.113.7 5002 typ srflx raddr 0.0.0.0 rport 0\r\n"
    )
    sdp = CHROME_OFFER.replace("a=ice-ufrag", extra + "a=ice-ufrag")
    kept = keep_loopback_candidates(sdp)
    hosts = re.findall(r"^a=candidate:\S+ \d+ \S+ \d+ (\S+) ", kept, re.MULTILINE)
    assert hosts == ["127.0.0.1", "127.0.0.1"]
    assert check_offer(kept, "offer").media[0].ice_candidates


def opus_frames(freq: float, count: int) -> list[AudioFrame]:
    """What aiortc's Opus decoder hands over: 20 ms of packed stereo s16 at 48 kHz."""
    t = np.arange(count * OPUS_FRAME) / OPUS_RATE
    mono = (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    frames = []
    for i in range(count):
        chunk = mono[i * OPUS_FRAME : (i + 1) * OPUS_FRAME]
        frame = AudioFrame.from_ndarray(np.repeat(chunk, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = OPUS_RATE
        frame.pts = i * OPUS_FRAME
        frame.time_base = fractions.Fraction(1, OPUS_RATE)
        frames.append(frame)
    return frames


def test_each_decoded_frame_becomes_one_line_frame_without_bursts():
    framer = _Framer()
    counts = [len(framer.frames(f)) for f in opus_frames(700, 50)]
    # The converter holds back a couple of milliseconds, never a block of frames.
    assert counts[0] in (0, 1) and counts[1:] == [1] * 49
    line = [f for f in (framer.frames(f) for f in opus_frames(700, 50)) for f in f]
    assert abs(peak_hz(line) - 700) < 15


async def test_the_outgoing_track_plays_20ms_frames_at_48khz_and_silence_when_idle():
    track = _PlayoutTrack()
    track.put(tone(1000, 1)[0])
    frames = [await track.recv() for _ in range(4)]
    assert all(f.samples == OPUS_FRAME and f.sample_rate == OPUS_RATE for f in frames)
    assert [f.pts for f in frames] == [0, OPUS_FRAME, 2 * OPUS_FRAME, 3 * OPUS_FRAME]
    levels = [float(np.abs(f.to_ndarray()).max()) for f in frames]
    assert max(levels[:2]) > 1000 and levels[3] < 50
    track.stop()
