"""A line end over RTP/UDP: what a SIP call's session (or the scripted prospect) talks through.

Outgoing audio leaves on a 20 ms grid, re-phased when a talkspurt starts so the first frame of a
reply goes out the moment it is ready; between talkspurts the line carries μ-law silence, as trunks
expect. ``clear`` drops frames not yet sent (RTP cannot recall what is on the wire). Incoming packets
go through a reorder buffer that adds no delay on a clean line; RFC 4733 events become digits.
The remote address latches onto where the far end's packets really come from (symmetric RTP).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import cast

from loguru import logger

from talktrack.audio.dtmf import dtmf_frames
from talktrack.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from talktrack.telephony.jitter import JitterBuffer, Lost
from talktrack.telephony.rfc4733 import DtmfReceiver
from talktrack.telephony.rtp import RtpError, RtpPacket, RtpSender, is_rtcp
from talktrack.telephony.sdp import MediaSession
from talktrack.telephony.simline import FRAME_BYTES, FRAME_S, LineClosed

Address = tuple[str, int]
_SILENCE = b"\xff" * FRAME_BYTES  # μ-law zero
_ALAW_SILENCE = alaw_encode(ulaw_decode(_SILENCE))
_FLUSH_AFTER_S = 0.06  # a gap nothing fills within this long is given up


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.line: RtpLine | None = None

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if self.line is not None:
            self.line._datagram(data, cast(Address, addr[:2]))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable while the far end sets up: not fatal for RTP.
        logger.debug(f"rtp: {exc}")


class RtpLine:
    """One call's audio over RTP: ``send``/``recv``/``clear``/``hangup`` in 20 ms μ-law frames."""

    def __init__(self, transport: asyncio.DatagramTransport, local: Address) -> None:
        self._transport = transport
        self.local = local
        self.media: MediaSession | None = None
        self.remote: Address | None = None
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        self.stats = {"sent": 0, "received": 0, "bad": 0, "digits_sent": 0}
        self._incoming: asyncio.Queue[tuple[bytes, float] | None] = asyncio.Queue()
        self._outgoing: deque[bytes] = deque()
        self._events: deque[RtpPacket] = deque()
        self._events_done: asyncio.Event = asyncio.Event()
        self._sender: RtpSender | None = None
        self._jitter = JitterBuffer()
        self._dtmf = DtmfReceiver()
        self._rx_buffer = b""
        self._last_arrival = 0.0
        self._talking = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._latched = False
        self._hangup_hook: Callable[[], None] | None = None

    @classmethod
    async def open(cls, host: str, port: int = 0) -> RtpLine:
        """Bind a UDP socket for RTP on ``host`` (port 0: any free port)."""
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(_Protocol, local_addr=(host, port))
        sock_addr = transport.get_extra_info("sockname")
        line = cls(transport, (sock_addr[0], sock_addr[1]))
        protocol.line = line
        return line

    # -- set-up --------------------------------------------------------------------------------

    def start(self, media: MediaSession) -> None:
        """Media negotiated: start sending to the far end (idempotent; a re-INVITE may update it)."""
        self.media = media
        if not self._latched:
            self.remote = (media.remote_host, media.remote_port)
        if self._sender is None:
            self._sender = RtpSender(media.codec.payload_type)
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._send_loop(), name=f"rtp-send-{self.local[1]}")

    @property
    def _alaw(self) -> bool:
        return self.media is not None and self.media.codec.name.upper() == "PCMA"

    # -- line-end face ----------------------------------------------------------------------

    def send(self, payload: bytes) -> None:
        """Queue one 20 ms μ-law frame for the far end."""
        if self._closed:
            raise LineClosed
        self._outgoing.append(payload)
        self._wake.set()

    async def recv(self) -> tuple[bytes, float]:
        """The far end's next 20 ms μ-law frame and when it arrived; LineClosed after hang-up."""
        item = await self._incoming.get()
        if item is None:
            self._incoming.put_nowait(None)  # every later recv sees the end too
            raise LineClosed
        return item

    def clear(self) -> int:
        """Barge-in: drop agent audio not yet sent."""
        dropped = len(self._outgoing)
        self._outgoing.clear()
        return dropped

    def hangup(self) -> None:
        """Hang up from this side (the SIP call sends BYE through its hook)."""
        hook, self._hangup_hook = self._hangup_hook, None
        if hook is not None:
            hook()
        self.close()

    def set_hangup_hook(self, hook: Callable[[], None]) -> None:
        """Called once when this side hangs up (the SIP layer sends BYE)."""
        self._hangup_hook = hook

    def close(self) -> None:
        """Stop media both ways; ``recv`` raises LineClosed once what arrived has been read."""
        if self._closed:
            return
        self._closed = True
        self._hangup_hook = None
        self._incoming.put_nowait(None)
        self._wake.set()
        self._events_done.set()
        if self._task is not None:
            self._task.cancel()
        self._transport.close()

    @property
    def closed(self) -> bool:
        """True once the line is closed."""
        return self._closed

    async def send_dtmf(self, digits: str, *, duration_ms: int = 100) -> None:
        """Send digits as RFC 4733 events (in-band tones when the far end has no telephone-event)."""
        if self._closed or self.media is None or self._sender is None:
            raise LineClosed
        pt = self.media.dtmf_payload_type
        for digit in digits:
            if pt is None:
                for frame in dtmf_frames(digit, frame_samples=FRAME_BYTES, tone_ms=duration_ms):
                    self.send(ulaw_encode(frame))
            else:
                self._events.extend(self._sender.event_packets(digit, duration_ms=duration_ms, dtmf_payload_type=pt))
                self._events_done.clear()
                self._wake.set()
                await self._events_done.wait()
            self.stats["digits_sent"] += 1
            if self._closed:
                raise LineClosed

    # -- wire --------------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        next_tick = time.monotonic()
        while not self._closed:
            now = time.monotonic()
            if (self._outgoing or self._events) and not self._talking:
                next_tick = now  # a talkspurt starts: send its first frame at once
            delay = next_tick - now
            if delay > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                    continue  # re-check: a talkspurt may start before the next tick
                except TimeoutError:
                    pass
            self._tick()
            next_tick += FRAME_S
            if next_tick < time.monotonic() - 0.2:  # the loop stalled: don't burst to catch up
                next_tick = time.monotonic()

    def _tick(self) -> None:
        sender = self._sender
        if self._last_arrival and time.monotonic() - self._last_arrival > _FLUSH_AFTER_S:
            self._release(self._jitter.flush())
        if sender is None or self.remote is None or (self.media is not None and not self.media.sends):
            return  # on hold (sendonly from them / inactive): nothing goes out
        if self._events:
            packet = self._events.popleft()
            if not self._events:
                self._events_done.set()
        elif self._outgoing:
            payload = self._outgoing.popleft()
            if self._alaw:
                payload = alaw_encode(ulaw_decode(payload))
            packet = sender.packet(payload, marker=not self._talking)
            self._talking = True
        else:
            self._talking = False
            packet = sender.packet(_ALAW_SILENCE if self._alaw else _SILENCE)
        self._transport.sendto(bytes(packet), self.remote)
        self.stats["sent"] += 1

    def _datagram(self, data: bytes, addr: Address) -> None:
        if self._closed or is_rtcp(data):
            return
        try:
            packet = RtpPacket.parse(data)
        except RtpError:
            self.stats["bad"] += 1
            return
        media = self.media
        if media is None:
            return
        if not self._latched and addr != self.remote:
            logger.debug(f"rtp {self.local[1]}: far end sends from {addr}, answering there (symmetric RTP)")
        self.remote = addr
        self._latched = True
        self.stats["received"] += 1
        self._last_arrival = time.monotonic()
        # Key presses share the stream's sequence numbers, so every packet goes through the buffer
        # (else each key press would look like loss); they are told apart on the way out.
        if packet.payload_type in (media.codec.payload_type, media.dtmf_payload_type):
            self._release(self._jitter.push(packet))

    def _release(self, items: list[RtpPacket | Lost]) -> None:
        now = time.monotonic()
        for item in items:
            if isinstance(item, Lost):
                self._rx_buffer = b""
                for _ in range(min(item.count, 50)):
                    self._incoming.put_nowait((_SILENCE, now))
                continue
            if self.media is not None and item.payload_type == self.media.dtmf_payload_type:
                digit = self._dtmf.push(item)
                if digit:
                    self.digits.put_nowait(digit)
                continue
            payload = item.payload
            if self._alaw:
                payload = ulaw_encode(alaw_decode(payload))
            # Frames of other lengths (ptime 10 or 30) are re-cut into 20 ms.
            self._rx_buffer += payload
            while len(self._rx_buffer) >= FRAME_BYTES:
                frame, self._rx_buffer = self._rx_buffer[:FRAME_BYTES], self._rx_buffer[FRAME_BYTES:]
                self._incoming.put_nowait((frame, now))
