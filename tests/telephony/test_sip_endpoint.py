"""SipEndpoint over real UDP sockets on loopback: calls, a public address behind NAT, bad datagrams."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from talktrack.audio.g711 import ulaw_decode, ulaw_encode
from talktrack.telephony.simline import LineClosed
from talktrack.telephony.sip.message import SipResponse, parse_message
from talktrack.telephony.sip_endpoint import SipEndpoint


class Udp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr) -> None:
        self.got.put_nowait(data)


async def udp_client():
    loop = asyncio.get_running_loop()
    return await loop.create_datagram_endpoint(Udp, local_addr=("127.0.0.1", 0))


async def tone_heard(line, count: int = 10) -> int:
    loud = 0
    async with asyncio.timeout(5):
        while loud < count:
            if np.abs(ulaw_decode((await line.recv())[0])).max() > 1000:
                loud += 1
    return loud


def frames(seconds: float = 0.4) -> list[bytes]:
    t = np.arange(int(8000 * seconds)) / 8000
    pcm = (6000 * np.sin(2 * np.pi * 700 * t)).astype(np.int16)
    return [ulaw_encode(pcm[i : i + 160]) for i in range(0, pcm.size, 160)]


async def test_a_public_address_is_announced_and_symmetric_rtp_still_finds_us():
    async with SipEndpoint(port=0, public_host="203.0.113.10") as server, SipEndpoint(port=0) as phone:
        call = await phone.dial(f"sip:backbeam@127.0.0.1:{server.port}")
        incoming = await asyncio.wait_for(server.incoming.get(), 3)
        incoming.answer()
        await phone.wait_answer(call, ring_s=3)
        # The phone was told to send to the public address (as a NAT'd server would announce)...
        assert call.line.media is not None and call.line.media.remote_host == "203.0.113.10"
        # ...but answers where the server's packets really come from, so audio flows both ways.
        for frame in frames():
            incoming.send(frame)
        assert await tone_heard(call) == 10
        for frame in frames():
            call.send(frame)
        assert await tone_heard(incoming) == 10
        # (The phone's ACK and BYE go to the announced address too, which only the NAT would bring here.)


async def test_hang_up_from_the_answering_side_ends_both_lines():
    async with SipEndpoint(port=0) as server, SipEndpoint(port=0) as phone:
        call = await phone.dial(f"sip:backbeam@127.0.0.1:{server.port}")
        incoming = await asyncio.wait_for(server.incoming.get(), 3)
        incoming.answer()
        await phone.wait_answer(call, ring_s=3)
        await asyncio.sleep(0.2)  # the ACK confirms the dialog
        incoming.hangup()
        await asyncio.wait_for(call.ended.wait(), 3)
        assert call.ended_by_remote and not incoming.ended_by_remote
        with pytest.raises(LineClosed):
            while True:
                await asyncio.wait_for(call.recv(), 1)


async def test_bad_datagrams_get_400_or_are_dropped_and_the_call_goes_on():
    async with SipEndpoint(port=0) as server, SipEndpoint(port=0) as phone:
        call = await phone.dial(f"sip:backbeam@127.0.0.1:{server.port}")
        incoming = await asyncio.wait_for(server.incoming.get(), 3)
        incoming.answer()
        await phone.wait_answer(call, ring_s=3)
        transport, client = await udp_client()
        port = transport.get_extra_info("sockname")[1]
        transport.sendto(b"\x00\xffnot sip at all", ("127.0.0.1", server.port))
        broken = (
            "INVITE sip:backbeam@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKbad1\r\n"
            "From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:backbeam@127.0.0.1>\r\n"
            "Call-ID: broken-1\r\nCSeq: one INVITE\r\nContent-Length: 0\r\n\r\n"
        )
        transport.sendto(broken.encode(), ("127.0.0.1", server.port))
        options = (
            "OPTIONS sip:backbeam@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKping1\r\n"
            "From: <sip:x@127.0.0.1>;tag=2\r\nTo: <sip:backbeam@127.0.0.1>\r\n"
            "Call-ID: ping-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        transport.sendto(options.encode(), ("127.0.0.1", server.port))
        replies = [parse_message(await asyncio.wait_for(client.got.get(), 3)) for _ in range(2)]
        transport.close()
        statuses = sorted(r.status for r in replies if isinstance(r, SipResponse))
        assert statuses == [200, 400]
        assert server.rejected >= 1
        # The live call did not notice.
        for frame in frames():
            call.send(frame)
        assert await tone_heard(incoming) == 10
        call.hangup()
