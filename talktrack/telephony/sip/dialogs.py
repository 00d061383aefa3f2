"""Dialogs and calls (RFC 3261 §12, §13): the state a call keeps, and how requests and responses are built.

A dialog remembers both tags, the remote target (Contact), the route set (Record-Route) and both CSeq
spaces; ``Dialog.target`` gives the Request-URI, Route headers and next hop of an in-dialog request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from talktrack.telephony.sip.message import Headers, SipRequest, SipResponse, Via, cseq
from talktrack.telephony.sip.syntax import SipParseError
from talktrack.telephony.sip.transactions import ClientTransaction, ServerTransaction, Timer
from talktrack.telephony.sip.uri import NameAddr, SipUri

Address = tuple[str, int]
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO"
SDP = "application/sdp"

REASONS = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}


def reason_phrase(status: int) -> str:
    """The usual reason phrase for ``status``."""
    return REASONS.get(status) or REASONS.get(status // 100 * 100) or "Unknown"


def contact_uri(headers: Headers) -> SipUri | None:
    """The first Contact's URI, or None when absent or unparsable."""
    value = headers.get("Contact")
    try:
        return NameAddr.parse(value).uri if value else None
    except SipParseError:
        return None


def is_ip(host: str) -> bool:
    """True for an IPv4 or IPv6 literal (no DNS needed to reach it)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass
class Dialog:
    """One side of a dialog. ``local``/``remote`` are the From/To values we send, tags included."""

    call_id: str
    local: str
    remote: str
    remote_target: SipUri
    route_set: list[str]
    local_cseq: int
    remote_cseq: int | None
    proxy: Address | None  # an outbound proxy takes every request
    # Where to go when the next hop is a DNS name (or "*.invalid", as WebRTC gateways write): the address the
    # peer last reached us from (UAS) or where our INVITE went (UAC). Resolving names is not this module's job.
    fallback: Address

    @classmethod
    def as_uac(cls, invite: SipRequest, response: SipResponse, proxy: Address | None, dest: Address) -> Dialog:
        """The dialog a 1xx/2xx with a To tag creates for our INVITE."""
        headers = response.headers
        target = contact_uri(headers) or SipUri.parse(invite.uri)
        return cls(
            call_id=invite.headers.get("Call-ID") or "",
            local=invite.headers.get("From") or "",
            remote=headers.get("To") or "",
            remote_target=target,
            route_set=list(reversed(headers.get_all("Record-Route"))),
            local_cseq=cseq(invite.headers)[0],
            remote_cseq=None,
            proxy=proxy,
            fallback=dest,
        )

    @classmethod
    def as_uas(cls, invite: SipRequest, local_tag: str, source: Address) -> Dialog:
        """The dialog an incoming INVITE creates once we answer it with our tag."""
        headers = invite.headers
        from_ = NameAddr.parse(headers.get("From") or "")
        target = contact_uri(headers) or from_.uri
        return cls(
            call_id=headers.get("Call-ID") or "",
            local=f"{headers.get('To')};tag={local_tag}",
            remote=headers.get("From") or "",
            remote_target=target,
            route_set=headers.get_all("Record-Route"),
            local_cseq=0,
            remote_cseq=cseq(headers)[0],
            proxy=None,
            fallback=source,
        )

    @property
    def local_tag(self) -> str | None:
        return NameAddr.parse(self.local).tag

    @property
    def remote_tag(self) -> str | None:
        return NameAddr.parse(self.remote).tag

    def target(self) -> tuple[str, list[str], Address]:
        """Request-URI, Route values and next hop for a new in-dialog request (RFC 3261 §12.2.1.1)."""
        routes = list(self.route_set)
        uri = str(self.remote_target)
        if routes:
            first = NameAddr.parse(routes[0]).uri
            hop = first.address
            if not first.has_param("lr"):  # a strict router wants its URI as the Request-URI
                uri = str(first)
                routes = [*routes[1:], f"<{self.remote_target}>"]
        else:
            hop = self.remote_target.address
        if self.proxy is not None:
            hop = self.proxy
        elif not is_ip(hop[0]):
            hop = self.fallback
        return uri, routes, hop

    def matches(self, headers: Headers) -> bool:
        """True when an incoming request's tags belong to this dialog (From is theirs, To is ours)."""
        try:
            their = NameAddr.parse(headers.get("From") or "").tag
            ours = NameAddr.parse(headers.get("To") or "").tag
        except SipParseError:
            return False
        return ours == self.local_tag and their == self.remote_tag


class CallState(Enum):
    """Where a call is, from this agent's side."""

    INVITING = "inviting"  # our INVITE has no final response yet
    RINGING = "ringing"  # their INVITE waits for our answer
    ANSWERED = "answered"  # we sent 2xx, the ACK has not come
    CONFIRMED = "confirmed"
    ENDING = "ending"  # our BYE is out
    ENDED = "ended"


@dataclass(eq=False)
class PendingOk:
    """A 2xx to an INVITE that we resend until its ACK (RFC 3261 §13.3.1.4)."""

    data: bytes
    dest: Address
    cseq: int
    interval: float
    retransmit: Timer
    give_up: Timer

    def stop(self) -> None:
        self.retransmit.cancel()
        self.give_up.cancel()


@dataclass(eq=False)
class Call:
    """One call's dialog and the transactions it is waiting on."""

    call_id: str
    outgoing: bool
    state: CallState
    invite: SipRequest  # the initial INVITE as sent (latest authenticated retry) or as received
    remote: Address  # UAC: where the INVITE went; UAS: where it came from
    local_sdp: bytes = b""
    remote_sdp: bytes = b""
    dialog: Dialog | None = None
    proxy: Address | None = None
    client: ClientTransaction | None = None  # our INVITE or re-INVITE in flight
    server: ServerTransaction | None = None  # their initial INVITE, until our final response
    got_provisional: bool = False
    cancel_requested: bool = False
    cancel_sent: bool = False
    auth_attempts: int = 0
    ack: tuple[int, bytes, Address] | None = None  # our last ACK for a 2xx, resent when the 2xx is
    pending_ok: PendingOk | None = None
    queued_sdp: bytes | None = None  # a re-INVITE asked for while another offer was in flight
    bye_after_ack: bool = False
    timers: list[Timer] = field(default_factory=list)

    def stop_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()
        if self.pending_ok is not None:
            self.pending_ok.stop()
            self.pending_ok = None


def build_request(
    method: str,
    uri: str,
    *,
    via: str,
    from_: str,
    to: str,
    call_id: str,
    cseq_number: int,
    routes: Iterable[str] = (),
    contact: str | None = None,
    user_agent: str | None = None,
    allow: bool = False,
    extra: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> SipRequest:
    """A request with the header order real stacks use."""
    headers = Headers([("Via", via), ("Max-Forwards", "70")])
    for route in routes:
        headers.add("Route", route)
    headers.add("From", from_)
    headers.add("To", to)
    headers.add("Call-ID", call_id)
    headers.add("CSeq", f"{cseq_number} {method}")
    if contact is not None:
        headers.add("Contact", contact)
    if user_agent:
        headers.add("User-Agent", user_agent)
    if allow:
        headers.add("Allow", ALLOW)
    for name, value in extra:
        headers.add(name, value)
    if body:
        headers.add("Content-Type", content_type or SDP)
    return SipRequest(method, uri, headers, body)


def build_response(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    source: Address,
    to_tag: str | None = None,
    contact: str | None = None,
    server: str | None = None,
    dialog_forming: bool = False,
    extra: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> SipResponse:
    """A response to ``request`` (RFC 3261 §8.2.6): Vias (top one stamped), From, To (+tag), Call-ID, CSeq."""
    source_headers = request.headers
    vias = source_headers.get_all("Via")
    headers = Headers([("Via", str(Via.parse(vias[0]).stamped(source)))])
    for via in vias[1:]:
        headers.add("Via", via)
    if dialog_forming:
        for record_route in source_headers.get_all("Record-Route"):
            headers.add("Record-Route", record_route)
    headers.add("From", source_headers.get("From") or "")
    to = source_headers.get("To") or ""
    if to_tag and status != 100 and _tag(to) is None:
        to = f"{to};tag={to_tag}"
    headers.add("To", to)
    headers.add("Call-ID", source_headers.get("Call-ID") or "")
    headers.add("CSeq", source_headers.get("CSeq") or "")
    if contact is not None:
        headers.add("Contact", contact)
    if server:
        headers.add("Server", server)
    for name, value in extra:
        headers.add(name, value)
    if body:
        headers.add("Content-Type", SDP)
    return SipResponse(status, reason or reason_phrase(status), headers, body)


def _tag(value: str) -> str | None:
    try:
        return NameAddr.parse(value).tag
    except SipParseError:
        return "?"  # unparsable (a 400 to a broken request): leave the To as it came
