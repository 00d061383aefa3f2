"""The state a SIP agent shares between its client, server and registration parts.

``AgentCore`` owns the outbox, the event queue, the timers, the transaction layer and the calls, builds
requests and responses with this agent's identity, and runs what both sides of a dialog do alike: BYE,
re-INVITE, the ACK for a 2xx, digest retries, and ending a call exactly once.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from talktrack.telephony.sip.dialogs import (
    ALLOW,
    Call,
    CallState,
    build_request,
    build_response,
)
from talktrack.telephony.sip.digest import Challenge, authorization, parse_challenge, supported
from talktrack.telephony.sip.events import (
    CallEnded,
    MediaUpdated,
    ReinviteFailed,
    SipEvent,
)
from talktrack.telephony.sip.message import SipRequest, SipResponse, cseq, serialize
from talktrack.telephony.sip.syntax import SipParseError
from talktrack.telephony.sip.transactions import (
    MAGIC_COOKIE,
    T1,
    ServerTransaction,
    Timers,
    TransactionLayer,
)
from talktrack.telephony.sip.uri import SipUri, format_host

Address = tuple[str, int]
# How long an ended call is remembered, to absorb late retransmissions (a 2xx is resent for 64*T1).
LINGER = 64 * T1


@dataclass(frozen=True)
class Credentials:
    """Digest credentials for a trunk; ``realm`` limits them to challenges from that realm."""

    username: str
    password: str
    realm: str | None = None


def is_stale(response: SipResponse) -> bool:
    """True when a 401/407 says our credentials were right but the nonce had expired (retry at once)."""
    header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
    for value in response.headers.get_all(header):
        try:
            if parse_challenge(value).stale:
                return True
        except SipParseError:
            continue
    return False


class AgentCore:
    """Identity, outbox, events, timers, transactions and calls of one agent."""

    def __init__(
        self,
        *,
        local_host: str,
        local_port: int,
        clock: Callable[[], float],
        user: str,
        display_name: str | None,
        user_agent: str,
        public_host: str | None,
        credentials: Credentials | None,
        rng: random.Random,
        domain: str | None,
    ) -> None:
        self.user = user
        self.display_name = display_name
        self.user_agent = user_agent
        self.credentials = credentials
        self.rng = rng
        self.host = public_host or local_host
        self.domain = domain or self.host
        self._explicit_domain = domain
        self.sent_by = format_host(self.host, local_port)
        self.outbox: list[tuple[bytes, Address]] = []
        self.events: deque[SipEvent] = deque()
        self.timers = Timers(clock)
        self.layer = TransactionLayer(self.timers, self.send)
        self.calls: dict[str, Call] = {}

    # -- I/O ---------------------------------------------------------------------------------------

    def send(self, data: bytes, addr: Address) -> None:
        self.outbox.append((data, addr))

    def emit(self, event: SipEvent) -> None:
        self.events.append(event)

    # -- identity and builders ---------------------------------------------------------------------

    def token(self, digits: int = 16) -> str:
        """A random hex token (tags, branches, Call-IDs, cnonces)."""
        return f"{self.rng.getrandbits(digits * 4):0{digits}x}"

    def via(self) -> str:
        """A Via for a new transaction: our sent-by, a fresh branch, and rport for symmetric responses."""
        return f"SIP/2.0/UDP {self.sent_by};branch={MAGIC_COOKIE}{self.token()};rport"

    def aor_domain(self, registrar: SipUri) -> str:
        """The domain of our address-of-record at ``registrar``: the configured domain, else the registrar's."""
        return self._explicit_domain or registrar.host

    def contact(self) -> str:
        return f"<sip:{self.user}@{self.sent_by}>"

    def request(
        self,
        method: str,
        uri: str,
        *,
        from_: str,
        to: str,
        call_id: str,
        cseq_number: int,
        routes: Iterable[str] = (),
        contact: str | None = None,
        allow: bool = False,
        extra: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> SipRequest:
        """A request with a fresh Via and our User-Agent."""
        return build_request(
            method,
            uri,
            via=self.via(),
            from_=from_,
            to=to,
            call_id=call_id,
            cseq_number=cseq_number,
            routes=routes,
            contact=contact,
            user_agent=self.user_agent,
            allow=allow,
            extra=extra,
            body=body,
        )

    def respond(
        self,
        transaction: ServerTransaction,
        status: int,
        reason: str | None = None,
        *,
        to_tag: str | None = None,
        dialog_forming: bool = False,
        extra: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> SipResponse:
        """Send a response in ``transaction`` and return it."""
        response = build_response(
            transaction.request,
            status,
            reason,
            source=transaction.source,
            to_tag=to_tag,
            contact=self.contact() if dialog_forming else None,
            server=self.user_agent,
            dialog_forming=dialog_forming,
            extra=[("Allow", ALLOW), *extra] if dialog_forming else extra,
            body=body,
        )
        transaction.respond(response)
        return response

    # -- digest ------------------------------------------------------------------------------------

    def authorize(self, request: SipRequest, response: SipResponse, cseq_number: int) -> SipRequest | None:
        """``request`` again with credentials for the challenge in ``response``; None when we cannot answer it."""
        creds = self.credentials
        if creds is None or response.status not in (401, 407):
            return None
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenges: list[Challenge] = []
        for value in response.headers.get_all(header):
            try:
                challenge = parse_challenge(value)
            except SipParseError:
                continue
            if supported(challenge) and creds.realm in (None, challenge.realm):
                challenges.append(challenge)
        if not challenges:
            return None
        challenge = min(challenges, key=lambda c: 0 if c.algorithm.startswith("SHA-256") else 1)
        value = authorization(
            challenge,
            method=request.method,
            uri=request.uri,
            username=creds.username,
            password=creds.password,
            cnonce=self.token(),
        )
        headers = request.headers.copy()
        headers.set("Via", self.via())
        headers.set("CSeq", f"{cseq_number} {request.method}")
        headers.set("Authorization" if response.status == 401 else "Proxy-Authorization", value)
        return SipRequest(request.method, request.uri, headers, request.body)

    # -- dialogs -----------------------------------------------------------------------------------

    def dialog_request(self, call: Call, method: str, body: bytes = b"") -> tuple[SipRequest, Address]:
        """A new in-dialog request (next local CSeq) and where to send it."""
        dialog = call.dialog
        assert dialog is not None
        dialog.local_cseq += 1
        uri, routes, hop = dialog.target()
        request = self.request(
            method,
            uri,
            from_=dialog.local,
            to=dialog.remote,
            call_id=call.call_id,
            cseq_number=dialog.local_cseq,
            routes=routes,
            contact=self.contact() if method == "INVITE" else None,
            allow=method == "INVITE",
            body=body,
        )
        return request, hop

    def ack_2xx(self, call: Call, invite: SipRequest, response: SipResponse) -> None:
        """ACK a 2xx to our INVITE (a new request in the dialog, same CSeq number), remembering it for resends."""
        number = cseq(invite.headers)[0]
        if call.ack is not None and call.ack[0] == number:
            self.send(call.ack[1], call.ack[2])
            return
        dialog = call.dialog
        assert dialog is not None
        dialog.remote = response.headers.get("To") or dialog.remote
        uri, routes, hop = dialog.target()
        extra = [(name, value) for name, value in invite.headers.items() if name.endswith("Authorization")]
        ack = self.request(
            "ACK",
            uri,
            from_=dialog.local,
            to=dialog.remote,
            call_id=call.call_id,
            cseq_number=number,
            routes=routes,
            extra=extra,
        )
        call.ack = (number, serialize(ack), hop)
        self.send(call.ack[1], hop)

    def bye(self, call: Call, reason: str = "BYE", *, report: bool = True) -> None:
        """Send a BYE; ``report`` emits CallEnded(by_remote=False) once it is answered or times out."""
        call.state = CallState.ENDING
        request, hop = self.dialog_request(call, "BYE")
        self._send_bye(call, request, hop, reason, report, retried=False)

    def _send_bye(
        self, call: Call, request: SipRequest, hop: Address, reason: str, report: bool, retried: bool
    ) -> None:
        def done(response: SipResponse | None) -> None:
            if response is not None and not retried and call.dialog is not None:
                retry = self.authorize(request, response, call.dialog.local_cseq + 1)
                if retry is not None:
                    call.dialog.local_cseq += 1
                    self._send_bye(call, retry, hop, reason, report, retried=True)
                    return
            if response is not None and response.status < 200:
                return
            outcome = reason if response is not None else f"{reason} timeout"
            self.end(call, CallEnded(call.call_id, by_remote=False, reason=outcome) if report else None)

        self.layer.start_client(request, hop, done, lambda: done(None))

    def reinvite(self, call: Call, sdp: bytes) -> None:
        """Send a re-INVITE with ``sdp`` now, or queue it behind the offer in flight."""
        if call.client is not None or call.pending_ok is not None or call.state != CallState.CONFIRMED:
            call.queued_sdp = sdp
            return
        request, hop = self.dialog_request(call, "INVITE", sdp)
        self._send_reinvite(call, request, hop, sdp, retried=False)

    def _send_reinvite(self, call: Call, request: SipRequest, hop: Address, sdp: bytes, retried: bool) -> None:
        def on_response(response: SipResponse) -> None:
            status = response.status
            if 200 <= status < 300 and call.ack is not None and call.ack[0] == cseq(request.headers)[0]:
                self.ack_2xx(call, request, response)  # a retransmitted 2xx: our ACK was lost, nothing new
                return
            if status < 200 or call.state not in (CallState.CONFIRMED, CallState.ANSWERED):
                if 200 <= status < 300 and call.dialog is not None:
                    self.ack_2xx(call, request, response)  # still ACK a 2xx that crossed our BYE
                return
            call.client = None
            if status < 300:
                self.ack_2xx(call, request, response)
                call.local_sdp = sdp
                if response.body:
                    call.remote_sdp = response.body
                self.emit(MediaUpdated(call.call_id, response.body))
            elif status in (401, 407) and not retried and call.dialog is not None:
                retry = self.authorize(request, response, call.dialog.local_cseq + 1)
                if retry is not None:
                    call.dialog.local_cseq += 1
                    self._send_reinvite(call, retry, hop, sdp, retried=True)
                    return
                self.emit(ReinviteFailed(call.call_id, status, response.reason))
            elif status in (408, 481):  # RFC 3261 §14.1: the dialog is gone
                self.bye(call, f"re-INVITE {status}")
                return
            elif status == 491:  # glare: try again after a random pause (RFC 3261 §14.1)
                delay = self.rng.uniform(2.1, 4.0) if call.outgoing else self.rng.uniform(0.0, 2.0)
                call.timers.append(self.timers.start(delay, lambda: self.reinvite(call, sdp)))
                return
            else:
                self.emit(ReinviteFailed(call.call_id, status, response.reason))
            self.send_queued(call)

        def on_timeout() -> None:
            call.client = None
            if call.state == CallState.CONFIRMED:
                self.bye(call, "re-INVITE timeout")

        call.client = self.layer.start_client(request, hop, on_response, on_timeout)

    def send_queued(self, call: Call) -> None:
        """Send a re-INVITE that waited for the previous offer/answer to finish."""
        if call.queued_sdp is not None and call.state == CallState.CONFIRMED:
            sdp, call.queued_sdp = call.queued_sdp, None
            self.reinvite(call, sdp)

    # -- ending ------------------------------------------------------------------------------------

    def end(self, call: Call, event: SipEvent | None) -> None:
        """Mark ``call`` ended (once), report ``event``, and forget it after the retransmission window."""
        if call.state == CallState.ENDED:
            return
        call.state = CallState.ENDED
        call.stop_timers()
        if event is not None:
            self.emit(event)

        def forget() -> None:
            if self.calls.get(call.call_id) is call:
                del self.calls[call.call_id]

        self.timers.start(LINGER, forget)
