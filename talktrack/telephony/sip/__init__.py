"""A sans-I/O SIP core (RFC 3261 over UDP): message parsing, digest auth, transactions, dialogs, a user agent.

Bytes in, typed events out; actions in, bytes to send. The asyncio transport that moves the datagrams
and the RTP media live elsewhere.
"""

from talktrack.telephony.sip.agent import Address, SipAgent
from talktrack.telephony.sip.core import Credentials
from talktrack.telephony.sip.digest import Challenge, authorization, parse_challenge
from talktrack.telephony.sip.events import (
    CallAnswered,
    CallCancelled,
    CallConfirmed,
    CallEnded,
    CallFailed,
    CallProgress,
    IncomingCall,
    InfoDigit,
    MediaUpdated,
    MessageRejected,
    Registered,
    RegistrationFailed,
    ReinviteFailed,
    SipEvent,
)
from talktrack.telephony.sip.message import (
    Headers,
    NameAddr,
    SipMessage,
    SipParseError,
    SipRequest,
    SipResponse,
    SipUri,
    Via,
    cseq,
    parse_message,
    serialize,
)

__all__ = [
    "Address",
    "CallAnswered",
    "CallCancelled",
    "CallConfirmed",
    "CallEnded",
    "CallFailed",
    "CallProgress",
    "Challenge",
    "Credentials",
    "Headers",
    "IncomingCall",
    "InfoDigit",
    "MediaUpdated",
    "MessageRejected",
    "NameAddr",
    "Registered",
    "RegistrationFailed",
    "ReinviteFailed",
    "SipAgent",
    "SipEvent",
    "SipMessage",
    "SipParseError",
    "SipRequest",
    "SipResponse",
    "SipUri",
    "Via",
    "authorization",
    "cseq",
    "parse_challenge",
    "parse_message",
    "serialize",
]
