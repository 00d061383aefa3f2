"""What a ``SipAgent`` reports: one frozen dataclass per event, ``SipEvent`` their union."""

from __future__ import annotations

from dataclasses import dataclass

from talktrack.telephony.sip.uri import NameAddr, SipUri

Address = tuple[str, int]


@dataclass(frozen=True)
class IncomingCall:
    """A new INVITE arrived (100 Trying already sent); answer with ``ringing``/``answer``/``reject``."""

    call_id: str
    request_uri: SipUri
    from_: NameAddr
    to: NameAddr
    sdp: bytes
    remote: Address


@dataclass(frozen=True)
class CallProgress:
    """A provisional response (180, 183 with early media...) to our INVITE; 100 Trying is not reported."""

    call_id: str
    status: int
    reason: str
    sdp: bytes


@dataclass(frozen=True)
class CallAnswered:
    """Our INVITE got a 2xx; the ACK has been sent."""

    call_id: str
    sdp: bytes


@dataclass(frozen=True)
class CallConfirmed:
    """The caller ACKed our 2xx."""

    call_id: str


@dataclass(frozen=True)
class CallFailed:
    """Our INVITE ended without a call: a final non-2xx, 408 on timeout, or 487 after our CANCEL."""

    call_id: str
    status: int
    reason: str


@dataclass(frozen=True)
class CallCancelled:
    """The caller gave up before we answered (200 to its CANCEL and 487 to its INVITE already sent)."""

    call_id: str


@dataclass(frozen=True)
class CallEnded:
    """An established call is over: a BYE either way, or our 2xx was never ACKed."""

    call_id: str
    by_remote: bool
    reason: str


@dataclass(frozen=True)
class MediaUpdated:
    """The far end's new session description: a re-INVITE it sent (answered 200), or the 200 to ours."""

    call_id: str
    sdp: bytes


@dataclass(frozen=True)
class ReinviteFailed:
    """Our re-INVITE was refused; the session goes on with the previous descriptions."""

    call_id: str
    status: int
    reason: str


@dataclass(frozen=True)
class InfoDigit:
    """A DTMF key sent in a SIP INFO (application/dtmf-relay or application/dtmf)."""

    call_id: str
    digit: str


@dataclass(frozen=True)
class Registered:
    """The registrar accepted our binding for ``expires`` seconds (0: unregistered)."""

    registrar: str
    expires: int


@dataclass(frozen=True)
class RegistrationFailed:
    """The registrar refused our binding, or did not answer (408)."""

    registrar: str
    status: int
    reason: str


@dataclass(frozen=True)
class MessageRejected:
    """A datagram we answered with an error status or dropped (for logs and tests)."""

    reason: str
    remote: Address


SipEvent = (
    IncomingCall
    | CallProgress
    | CallAnswered
    | CallConfirmed
    | CallFailed
    | CallCancelled
    | CallEnded
    | MediaUpdated
    | ReinviteFailed
    | InfoDigit
    | Registered
    | RegistrationFailed
    | MessageRejected
)
