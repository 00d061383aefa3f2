"""SIP over UDP: moves datagrams between a socket and the sans-I/O :class:`SipAgent`, one RTP line per call.

Inbound calls arrive as :class:`SipCall` objects on ``incoming`` (ring, answer or reject them);
outbound calls come from ``dial``. A call is a line end (``send``/``recv``/``clear``/``hangup``)
that a CallSession or the scripted prospect talks through; hanging it up sends BYE.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import cast

from loguru import logger

from talktrack.errors import TalkTrackError
from talktrack.telephony import sdp
from talktrack.telephony.rtp_line import Address, RtpLine
from talktrack.telephony.sip import events as ev
from talktrack.telephony.sip.agent import Credentials, SipAgent
from talktrack.telephony.sip.message import SipUri

_MAX_TIMER_SLEEP_S = 0.5


class SipCallFailed(TalkTrackError):
    """A call we placed did not connect (busy, not found, timeout, cancelled)."""

    def __init__(self, status: int, reason: str) -> None:
        fix = _FIXES.get(status, "check the number and the trunk")
        super().__init__(f"SIP call failed: {status} {reason}", fix=fix)
        self.status = status
        self.reason = reason


_FIXES = {
    401: "set TALKTRACK_SIP_USERNAME and TALKTRACK_SIP_PASSWORD for the trunk",
    403: "the trunk refused the call: check the credentials and the caller id",
    404: "the number or SIP address does not exist",
    408: "nobody answered the INVITE: check the address, port and firewall",
    486: "the line is busy: try again later",
    487: "the call was cancelled before it was answered",
    488: "the far end accepts none of our codecs (PCMU, PCMA)",
}


class SipCall:
    """One SIP call and its RTP line; a line end for the session."""

    def __init__(self, endpoint: SipEndpoint, call_id: str, line: RtpLine, *, inbound: bool) -> None:
        self.endpoint = endpoint
        self.call_id = call_id
        self.line = line
        self.inbound = inbound
        self.request_uri: SipUri | None = None
        self.from_uri: SipUri | None = None
        self.remote: Address | None = None
        self.offer = b""
        self.answered = asyncio.Event()
        self.ended = asyncio.Event()
        self.progress: list[int] = []
        self.failure: tuple[int, str] | None = None
        self.end_reason = ""
        self.ended_by_remote = False
        line.set_hangup_hook(self._hang_up_signalling)

    # -- line-end face (the session and the scripted prospect use these) --------------------------

    def send(self, payload: bytes) -> None:
        self.line.send(payload)

    async def recv(self) -> tuple[bytes, float]:
        return await self.line.recv()

    def clear(self) -> int:
        return self.line.clear()

    def hangup(self) -> None:
        self.line.hangup()

    @property
    def digits(self) -> asyncio.Queue[str]:
        """Digits the far end pressed (RFC 4733 or SIP INFO)."""
        return self.line.digits

    async def send_dtmf(self, digits: str) -> None:
        """Press keys toward the far end (RFC 4733)."""
        await self.line.send_dtmf(digits)

    # -- inbound control -------------------------------------------------------------------------

    def ringing(self) -> None:
        """Send 180 Ringing."""
        self.endpoint._act(lambda a: a.ringing(self.call_id))

    def answer(self) -> None:
        """Answer with our SDP; media starts at once (the ACK confirms the dialog)."""
        try:
            host = self.endpoint.public_host or self.line.local[0]
            answer, media = sdp.answer_offer(self.offer, host, self.line.local[1], codecs=self.endpoint.codecs)
        except sdp.SdpError as exc:
            logger.warning(f"sip {self.call_id}: {exc}; answering 488")
            self.reject(488)
            raise SipCallFailed(488, str(exc)) from None
        self.line.start(media)
        self.endpoint._act(lambda a: a.answer(self.call_id, answer))
        self.answered.set()

    def reject(self, status: int = 486) -> None:
        """Refuse the call (486 busy, 404 no such agent, 488 no common codec...)."""
        self.endpoint._act(lambda a: a.reject(self.call_id, status))
        self._finish(f"rejected {status}", by_remote=False)

    # -- called by the endpoint --------------------------------------------------------------

    def _hang_up_signalling(self) -> None:
        if self.ended.is_set():
            return
        if self.answered.is_set():
            self.endpoint._act(lambda a: a.bye(self.call_id))
        elif self.inbound:
            self.endpoint._act(lambda a: a.reject(self.call_id, 480))
        else:
            self.endpoint._act(lambda a: a.cancel(self.call_id))
        self._finish("hung up", by_remote=False)

    def _finish(self, reason: str, *, by_remote: bool) -> None:
        if self.ended.is_set():
            return
        self.end_reason = reason
        self.ended_by_remote = by_remote
        self.ended.set()
        self.line.close()
        self.endpoint._forget(self.call_id)


class _SipProtocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: SipEndpoint) -> None:
        self._endpoint = endpoint

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self._endpoint._receive(data, cast(Address, addr[:2]))

    def error_received(self, exc: Exception) -> None:
        logger.debug(f"sip: {exc}")


class SipEndpoint:
    """A SIP user agent on one UDP port (our own stack); calls get an RTP port each."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 5060,
        public_host: str | None = None,
        user: str = "talktrack",
        credentials: Credentials | None = None,
        codecs: Sequence[str] = ("PCMU", "PCMA"),
    ) -> None:
        self.host = host
        self.port = port
        self.public_host = public_host
        self.user = user
        self.credentials = credentials
        self.codecs = tuple(codecs)
        self.incoming: asyncio.Queue[SipCall] = asyncio.Queue()
        self.rejected = 0
        self._agent: SipAgent | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._calls: dict[str, SipCall] = {}
        self._timer_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._pending_lines: list[asyncio.Task[None]] = []
        self._registrations: asyncio.Queue[ev.Registered | ev.RegistrationFailed] = asyncio.Queue()

    async def start(self) -> SipEndpoint:
        """Bind the SIP socket and start the timer loop."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _SipProtocol(self), local_addr=(self.host, self.port)
        )
        self._transport = transport
        self.port = self._transport.get_extra_info("sockname")[1]
        self._agent = SipAgent(
            local_host=self.host,
            local_port=self.port,
            clock=time.monotonic,
            user=self.user,
            public_host=self.public_host,
            credentials=self.credentials,
        )
        self._timer_task = loop.create_task(self._timers(), name=f"sip-timers-{self.port}")
        logger.info(f"SIP listening on udp {self.host}:{self.port}")
        return self

    async def aclose(self) -> None:
        """Hang up every call, then close the socket."""
        for call in list(self._calls.values()):
            call.hangup()
        self._pump()
        await asyncio.sleep(0.05)  # let the BYEs leave
        for task in self._pending_lines:
            task.cancel()
        if self._timer_task:
            self._timer_task.cancel()
            self._timer_task = None
        if self._transport:
            self._transport.close()
            self._transport = None

    async def __aenter__(self) -> SipEndpoint:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- outbound ------------------------------------------------------------------------------

    async def dial(
        self,
        target: str,
        *,
        proxy: Address | None = None,
        from_user: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> SipCall:
        """Send an INVITE; returns the call at once (await ``call.answered``, or ``wait_answer``)."""
        line = await RtpLine.open(self.host)
        offer = sdp.build_offer(self.public_host or line.local[0], line.local[1], codecs=self.codecs)
        agent = self._require_agent()
        call_id = agent.invite(target, offer, proxy=proxy, from_user=from_user, headers=headers)
        call = SipCall(self, call_id, line, inbound=False)
        self._calls[call_id] = call
        self._pump()
        return call

    async def wait_answer(self, call: SipCall, ring_s: float = 60.0) -> SipCall:
        """Wait until ``call`` is answered; SipCallFailed if it is refused, cancelled or times out."""
        answered = asyncio.ensure_future(call.answered.wait())
        ended = asyncio.ensure_future(call.ended.wait())
        try:
            await asyncio.wait({answered, ended}, timeout=ring_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            answered.cancel()
            ended.cancel()
        if call.answered.is_set():
            return call
        if not call.ended.is_set():
            call.hangup()
            raise SipCallFailed(408, "no answer")
        status, reason = call.failure or (487, call.end_reason)
        raise SipCallFailed(status, reason)

    async def register(
        self, registrar: str, *, proxy: Address | None = None, expires: int = 3600, within_s: float = 10.0
    ) -> int:
        """Register our contact with a trunk or PBX (digest on challenge; refreshed before it expires).

        Returns the expiry the registrar granted; SipCallFailed when it refuses or does not answer.
        """
        agent = self._require_agent()
        while not self._registrations.empty():
            self._registrations.get_nowait()
        agent.register(registrar, proxy=proxy, expires=expires)
        self._pump()
        try:
            event = await asyncio.wait_for(self._registrations.get(), within_s)
        except TimeoutError:
            raise SipCallFailed(408, f"no answer from the registrar {registrar}") from None
        if isinstance(event, ev.RegistrationFailed):
            raise SipCallFailed(event.status, f"registration refused: {event.reason}")
        return event.expires

    # -- internals ---------------------------------------------------------------------------

    def _require_agent(self) -> SipAgent:
        if self._agent is None:
            raise RuntimeError("SipEndpoint.start() first")
        return self._agent

    def _act(self, action: Callable[[SipAgent], None]) -> None:
        agent = self._agent
        if agent is None:
            return
        action(agent)
        self._pump()

    def _forget(self, call_id: str) -> None:
        self._calls.pop(call_id, None)

    def _receive(self, data: bytes, addr: Address) -> None:
        agent = self._agent
        if agent is None:
            return
        agent.receive_datagram(data, addr)
        self._pump()

    def _pump(self) -> None:
        """Send what the agent wants sent and act on what it reports."""
        agent = self._agent
        if agent is None or self._transport is None:
            return
        while True:
            for data, addr in agent.datagrams_to_send():
                self._transport.sendto(data, addr)
            event = agent.next_event()
            if event is None:
                break
            self._on_event(event)
        self._wake.set()

    def _on_event(self, event: ev.SipEvent) -> None:
        if isinstance(event, ev.IncomingCall):
            # The RTP socket opens asynchronously; the agent has already sent 100 Trying.
            task = asyncio.get_running_loop().create_task(self._incoming_call(event))
            self._pending_lines.append(task)
            task.add_done_callback(self._pending_lines.remove)
            return
        if isinstance(event, (ev.Registered, ev.RegistrationFailed)):
            level = "info" if isinstance(event, ev.Registered) else "warning"
            logger.log(level.upper(), f"sip: registration at {event.registrar}: {event}")
            self._registrations.put_nowait(event)
            return
        if isinstance(event, ev.MessageRejected):
            self.rejected += 1
            logger.info(f"sip: rejected a message from {event.remote}: {event.reason}")
            return
        call = self._calls.get(getattr(event, "call_id", ""))
        if call is None:
            return
        if isinstance(event, ev.CallProgress):
            call.progress.append(event.status)
        elif isinstance(event, ev.CallAnswered):
            try:
                media = sdp.parse_answer(event.sdp, offered=self.codecs)
            except sdp.SdpError as exc:
                logger.warning(f"sip {call.call_id}: unusable answer ({exc}); hanging up")
                call.answered.set()
                call.hangup()
                return
            call.line.start(media)
            call.answered.set()
        elif isinstance(event, ev.CallFailed):
            call.failure = (event.status, event.reason)
            call._finish(f"failed {event.status} {event.reason}", by_remote=True)
        elif isinstance(event, ev.CallCancelled):
            call._finish("cancelled by the caller", by_remote=True)
        elif isinstance(event, ev.CallEnded):
            call._finish(event.reason or "hung up", by_remote=event.by_remote)
        elif isinstance(event, ev.MediaUpdated):
            self._update_media(call, event.sdp)
        elif isinstance(event, ev.InfoDigit):
            call.line.digits.put_nowait(event.digit)

    def _update_media(self, call: SipCall, body: bytes) -> None:
        try:
            media = sdp.parse_answer(body, offered=self.codecs) if body else None
        except sdp.SdpError as exc:
            logger.info(f"sip {call.call_id}: re-INVITE media ignored: {exc}")
            return
        if media is not None:
            call.line.start(media)

    async def _incoming_call(self, event: ev.IncomingCall) -> None:
        line = await RtpLine.open(self.host)
        call = SipCall(self, event.call_id, line, inbound=True)
        call.request_uri = event.request_uri
        call.from_uri = event.from_.uri
        call.remote = event.remote
        call.offer = event.sdp
        self._calls[event.call_id] = call
        await self.incoming.put(call)

    async def _timers(self) -> None:
        agent = self._require_agent()
        while True:
            due = agent.next_timer()
            delay = _MAX_TIMER_SLEEP_S if due is None else min(max(due - time.monotonic(), 0.0), _MAX_TIMER_SLEEP_S)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass
            agent.handle_timers()
            self._pump()
