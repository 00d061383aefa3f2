"""RtpLine: two line ends talking RTP over loopback UDP."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from talktrack.audio.g711 import ulaw_decode, ulaw_encode
from talktrack.telephony.rtp import RtpPacket
from talktrack.telephony.rtp_line import RtpLine
from talktrack.telephony.sdp import Codec, MediaSession
from talktrack.telephony.simline import LineClosed

PCMU = Codec(0, "PCMU")
PCMA = Codec(8, "PCMA")


async def pair(codec: Codec = PCMU, dtmf: int | None = 101) -> tuple[RtpLine, RtpLine]:
    a = await RtpLine.open("127.0.0.1")
    b = await RtpLine.open("127.0.0.1")
    a.start(MediaSession("127.0.0.1", b.local[1], codec, dtmf))
    b.start(MediaSession("127.0.0.1", a.local[1], codec, dtmf))
    return a, b


def frames_of(freq: float, seconds: float) -> list[bytes]:
    t = np.arange(int(8000 * seconds)) / 8000
    pcm = (6000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return [ulaw_encode(pcm[i : i + 160]) for i in range(0, pcm.size, 160)]


async def loud_frames(line: RtpLine, count: int) -> list[np.ndarray]:
    """The next ``count`` frames with sound in them (the line carries silence between talkspurts)."""
    got: list[np.ndarray] = []
    async with asyncio.timeout(5):
        while len(got) < count:
            pcm = ulaw_decode((await line.recv())[0])
            if np.abs(pcm).max() > 1000:
                got.append(pcm)
    return got


@pytest.mark.parametrize("codec", [PCMU, PCMA])
async def test_audio_crosses_both_ways(codec):
    a, b = await pair(codec)
    try:
        for frame in frames_of(500, 0.4):
            a.send(frame)
        for frame in frames_of(1500, 0.4):
            b.send(frame)
        at_b = np.concatenate(await loud_frames(b, 15))
        at_a = np.concatenate(await loud_frames(a, 15))
        freqs = np.fft.rfftfreq(at_b.size, 1 / 8000)
        assert abs(freqs[np.argmax(np.abs(np.fft.rfft(at_b)))] - 500) < 20
        freqs = np.fft.rfftfreq(at_a.size, 1 / 8000)
        assert abs(freqs[np.argmax(np.abs(np.fft.rfft(at_a)))] - 1500) < 20
    finally:
        a.close()
        b.close()


async def test_silence_between_talkspurts_and_marker_on_speech():
    a, b = await pair()
    try:
        first = await asyncio.wait_for(b.recv(), 2)
        assert set(first[0]) == {0xFF}  # μ-law silence keeps the stream alive
        assert a.stats["sent"] >= 1
    finally:
        a.close()
        b.close()


async def test_clear_drops_what_was_not_sent():
    a, b = await pair()
    try:
        for frame in frames_of(500, 1.0):
            a.send(frame)
        dropped = a.clear()
        assert 40 <= dropped <= 50
    finally:
        a.close()
        b.close()


async def test_dtmf_both_ways_rfc4733_and_in_band():
    a, b = await pair()
    try:
        await a.send_dtmf("5*")
        got = [await asyncio.wait_for(b.digits.get(), 2) for _ in range(2)]
        assert got == ["5", "*"]
        assert a.stats["digits_sent"] == 2
    finally:
        a.close()
        b.close()
    # A far end without telephone-event gets tones in the audio instead.
    a, b = await pair(dtmf=None)
    try:
        await a.send_dtmf("3")
        assert len(a._outgoing) > 0 or a.stats["sent"] > 0
        from talktrack.audio.dtmf import DtmfDetector

        detector = DtmfDetector()
        heard: list[str] = []
        async with asyncio.timeout(3):
            while not heard:
                heard += detector.process(ulaw_decode((await b.recv())[0]))
        assert heard == ["3"]
    finally:
        a.close()
        b.close()


async def test_symmetric_rtp_answers_where_packets_come_from():
    a, b = await pair()
    try:
        # The SDP told ``a`` the wrong port; it latches onto b's real source address.
        a.start(MediaSession("127.0.0.1", 9, PCMU, 101))
        a.remote = ("127.0.0.1", 9)
        a._latched = False
        await asyncio.wait_for(a.recv(), 2)
        assert a.remote == b.local
    finally:
        a.close()
        b.close()


async def test_junk_and_foreign_payloads_are_dropped():
    a, b = await pair()
    try:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
        transport.sendto(b"\x00junk", b.local)
        transport.sendto(bytes(RtpPacket(13, 1, 1, 7, b"\x40")), b.local)  # comfort noise: not negotiated
        transport.sendto(b"\x80\xc8" + b"\x00" * 26, b.local)  # RTCP sender report
        await asyncio.sleep(0.2)
        transport.close()
        assert b.stats["bad"] == 1
    finally:
        a.close()
        b.close()


async def test_recut_30ms_packets_into_20ms_frames():
    a, b = await pair()
    a.close()  # only the raw sender below talks to b
    await asyncio.sleep(0.1)
    while not b._incoming.empty():
        b._incoming.get_nowait()
    try:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
        for i in range(4):
            transport.sendto(bytes(RtpPacket(0, 100 + i, 240 * i, 99, bytes([i]) * 240)), b.local)
        frames = [await asyncio.wait_for(b.recv(), 2) for _ in range(6)]
        transport.close()
        assert all(len(f[0]) == 160 for f in frames)
        assert b"".join(f[0] for f in frames) == b"".join(bytes([i]) * 240 for i in range(4))
    finally:
        a.close()
        b.close()


async def test_hangup_runs_the_hook_once_and_ends_recv():
    a, b = await pair()
    calls: list[int] = []
    a.set_hangup_hook(lambda: calls.append(1))
    a.hangup()
    a.hangup()
    assert calls == [1]
    with pytest.raises(LineClosed):
        await a.recv()
    with pytest.raises(LineClosed):
        a.send(b"\xff" * 160)
    b.close()
