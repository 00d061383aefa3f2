"""A sans-I/O SIP user agent over UDP: bytes in, events out; calls to make or take, bytes to send.

``SipAgent`` is the whole surface. The caller moves datagrams (``receive_datagram``,
``datagrams_to_send``), drains events (``next_event``), and drives time (``next_timer``,
``handle_timers``) on the clock it injected. Nothing here blocks, sleeps or touches a socket.

A datagram that does not parse is answered 400 when enough of a request survives to address a response
(Via, CSeq, Call-ID, From, To), otherwise dropped; both are reported as ``MessageRejected``.
``receive_datagram`` never raises.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping

from talktrack.telephony.sip.core import AgentCore, Credentials
from talktrack.telephony.sip.dialogs import Call, CallState, build_response
from talktrack.telephony.sip.events import MessageRejected, SipEvent
from talktrack.telephony.sip.message import (
    SipMessage,
    SipRequest,
    Via,
    cseq,
    name_addr,
    parse_message,
    salvage_request,
    serialize,
)
from talktrack.telephony.sip.registration import Registrations
from talktrack.telephony.sip.syntax import SipParseError
from talktrack.telephony.sip.uac import OutgoingCalls
from talktrack.telephony.sip.uas import IncomingRequests
from talktrack.telephony.sip.uri import NameAddr, SipUri

__all__ = ["Address", "Credentials", "SipAgent"]

Address = tuple[str, int]


class SipAgent:
    """One SIP user agent (UAC and UAS) bound to ``local_host:local_port`` over UDP."""

    def __init__(
        self,
        *,
        local_host: str,
        local_port: int,
        clock: Callable[[], float],
        user: str = "talktrack",
        display_name: str | None = None,
        user_agent: str = "talktrack",
        public_host: str | None = None,
        credentials: Credentials | None = None,
        rng: random.Random | None = None,
        domain: str | None = None,
    ) -> None:
        """``public_host`` goes in Via and Contact when we sit behind NAT; ``domain`` is our From/AOR domain."""
        self._core = AgentCore(
            local_host=local_host,
            local_port=local_port,
            clock=clock,
            user=user,
            display_name=display_name,
            user_agent=user_agent,
            public_host=public_host,
            credentials=credentials,
            rng=rng or random.Random(),
            domain=domain,
        )
        self._uac = OutgoingCalls(self._core)
        self._uas = IncomingRequests(self._core)
        self._registrations = Registrations(self._core)

    # -- I/O seam ----------------------------------------------------------------------------------

    def receive_datagram(self, data: bytes, addr: Address) -> None:
        """Feed one datagram received from ``addr``; never raises on bad input."""
        try:
            self._receive(data, addr)
        except Exception as exc:  # the last line of defence: one datagram must never take the agent down
            self._core.emit(MessageRejected(f"internal error: {type(exc).__name__}: {exc}", addr))

    def datagrams_to_send(self) -> list[tuple[bytes, Address]]:
        """Drain the outbox: (datagram, destination) pairs in the order they were produced."""
        out, self._core.outbox = self._core.outbox, []
        return out

    def next_event(self) -> SipEvent | None:
        """The next event, or None when there is none."""
        events = self._core.events
        return events.popleft() if events else None

    def next_timer(self) -> float | None:
        """Clock time of the earliest pending timer, or None."""
        return self._core.timers.next()

    def handle_timers(self) -> None:
        """Fire the timers that are due (retransmissions, timeouts, refreshes)."""
        self._core.timers.fire_due()

    # -- calls -------------------------------------------------------------------------------------

    def invite(
        self,
        target: str | SipUri,
        sdp: bytes,
        *,
        proxy: Address | None = None,
        from_user: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Call ``target`` with the SDP offer ``sdp``; returns the call's Call-ID.

        Without ``proxy`` the INVITE goes to the target's host and port (5060 when absent).
        """
        return self._uac.invite(target, sdp, proxy=proxy, from_user=from_user, headers=headers)

    def cancel(self, call_id: str) -> None:
        """Abandon an outgoing call before it is answered (CallFailed 487 follows)."""
        self._uac.cancel(self._call(call_id))

    def ringing(self, call_id: str) -> None:
        """Send 180 Ringing for an incoming call (100 Trying went out on arrival)."""
        self._uas.ringing(self._incoming(call_id))

    def answer(self, call_id: str, sdp: bytes) -> None:
        """Answer an incoming call with 200 OK and ``sdp``; it is resent until the ACK (CallConfirmed)."""
        self._uas.answer(self._incoming(call_id), sdp)

    def reject(self, call_id: str, status: int = 486, reason: str | None = None) -> None:
        """Refuse an incoming call with a 3xx-6xx status."""
        self._uas.reject(self._incoming(call_id), status, reason)

    def bye(self, call_id: str) -> None:
        """Hang up: BYE an established call, CANCEL an outgoing one, decline (603) an unanswered incoming one."""
        call = self._call(call_id)
        if call.state == CallState.INVITING:
            self._uac.cancel(call)
        elif call.state == CallState.RINGING:
            self._uas.reject(call, 603, None)
        elif call.state == CallState.ANSWERED:
            call.bye_after_ack = True  # RFC 3261 §15: a callee waits for the ACK (or its timeout) before BYE
        elif call.state == CallState.CONFIRMED:
            self._core.bye(call)

    def reinvite(self, call_id: str, sdp: bytes) -> None:
        """Offer ``sdp`` in a re-INVITE (hold, resume...); its 200 brings MediaUpdated."""
        call = self._call(call_id)
        if call.state in (CallState.INVITING, CallState.RINGING):
            raise ValueError(f"call {call_id!r} is not established yet")
        if call.state in (CallState.CONFIRMED, CallState.ANSWERED):
            self._core.reinvite(call, sdp)

    def register(self, registrar: str | SipUri, *, proxy: Address | None = None, expires: int = 3600) -> str:
        """Register our Contact at ``registrar`` (refreshed before it lapses); returns the REGISTER Call-ID."""
        return self._registrations.register(registrar, proxy=proxy, expires=expires)

    def stats(self) -> dict[str, int]:
        """How much state the agent holds (calls, transactions, timers): for monitoring and leak tests."""
        core = self._core
        return {
            "calls": len(core.calls),
            "client_transactions": len(core.layer.clients),
            "server_transactions": len(core.layer.servers),
            "timers": len(core.timers),
        }

    def _call(self, call_id: str) -> Call:
        call = self._core.calls.get(call_id)
        if call is None:
            raise KeyError(f"unknown call {call_id!r}")
        return call

    def _incoming(self, call_id: str) -> Call:
        call = self._call(call_id)
        if call.outgoing:
            raise ValueError(f"call {call_id!r} is outgoing: only incoming calls are answered or rejected")
        return call

    # -- receiving ---------------------------------------------------------------------------------

    def _receive(self, data: bytes, addr: Address) -> None:
        if not data.strip(b" \t\r\n"):
            return  # CRLF keepalive (RFC 5626 §3.5.1)
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self._reject(salvage_request(data), addr, str(exc))
            return
        problem = _problem(message)
        if problem is not None:
            self._reject(message if isinstance(message, SipRequest) else None, addr, problem)
        elif isinstance(message, SipRequest):
            self._uas.handle(message, addr)
        else:
            transaction = self._core.layer.match_response(message)
            if transaction is not None:  # a stray response (late, or not ours) is dropped quietly
                transaction.receive(message)

    def _reject(self, request: SipRequest | None, addr: Address, problem: str) -> None:
        """Answer a broken request 400 when it can be addressed; report it either way."""
        self._core.emit(MessageRejected(problem, addr))
        if request is None or request.method == "ACK":
            return
        headers = request.headers
        if not all(headers.get(name) for name in ("CSeq", "Call-ID", "From", "To")):
            return
        try:
            via = Via.parse(headers.get_all("Via")[0])
        except (IndexError, SipParseError):
            return
        reason = "Bad Request (" + "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in problem[:100]) + ")"
        response = build_response(request, 400, reason, source=addr, to_tag=self._core.token(10), server="")
        self._core.send(serialize(response), via.response_address(addr))


def _problem(message: SipMessage) -> str | None:
    """What makes a parsed message unusable (the headers every request and response needs), or None."""
    headers = message.headers
    try:
        vias = headers.get_all("Via")
        if not vias:
            return "missing Via"
        Via.parse(vias[0])
        _, method = cseq(headers)
        if not headers.get("Call-ID"):
            return "missing Call-ID"
        name_addr(headers, "From")
        name_addr(headers, "To")
        for route in headers.get_all("Record-Route"):
            NameAddr.parse(route)
    except SipParseError as exc:
        return str(exc)
    if isinstance(message, SipRequest):
        if method != message.method:
            return f"CSeq method {method} does not match {message.method}"
        max_forwards = headers.get("Max-Forwards")
        if max_forwards is not None and not (max_forwards.isdigit() and max_forwards.isascii()):
            return f"bad Max-Forwards {max_forwards!r}"
    return None
