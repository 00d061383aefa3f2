"""Requests we receive (the UAS side of RFC 3261 §8.2, §12.2.2, §13.3, §15): new calls and in-dialog requests.

Each request method has one handler (a small dispatch table). Retransmissions never reach a handler:
the transaction layer replays our last response. Requests outside any dialog that need one get 481.
"""

from __future__ import annotations

from talktrack.telephony.sip.core import AgentCore
from talktrack.telephony.sip.dialogs import ALLOW, SDP, Call, CallState, Dialog, PendingOk, contact_uri
from talktrack.telephony.sip.events import (
    CallCancelled,
    CallConfirmed,
    CallEnded,
    IncomingCall,
    InfoDigit,
    MediaUpdated,
)
from talktrack.telephony.sip.message import SipRequest, SipResponse, cseq, serialize
from talktrack.telephony.sip.syntax import SipParseError
from talktrack.telephony.sip.transactions import T1, T2, ServerTransaction
from talktrack.telephony.sip.uri import NameAddr, SipUri

Address = tuple[str, int]
# Methods we know but do not serve: 405 (with Allow) rather than 501.
KNOWN_METHODS = frozenset("REGISTER SUBSCRIBE NOTIFY REFER MESSAGE UPDATE PRACK PUBLISH".split())
# Signal=10 and 11 are how some phones write * and # in application/dtmf-relay.
_DTMF_ALIASES = {"10": "*", "11": "#", "12": "A", "13": "B", "14": "C", "15": "D"}
_DTMF_KEYS = frozenset("0123456789*#ABCD")


class IncomingRequests:
    """Answers requests and turns them into call events."""

    def __init__(self, core: AgentCore) -> None:
        self.core = core
        self._in_dialog = {"INVITE": self._reinvite, "BYE": self._bye, "INFO": self._info, "OPTIONS": self._options}

    def handle(self, request: SipRequest, source: Address) -> None:
        """A validated request (Via, CSeq, Call-ID, From and To all parse)."""
        core = self.core
        method = request.method
        transaction = core.layer.match_request(request)
        if transaction is not None:
            if not transaction.retransmitted(request):
                self._ack(request)
            return
        if method == "ACK":
            self._ack(request)
            return
        server = core.layer.start_server(request, source)
        if method == "CANCEL":
            self._cancel(request, server)
            return
        max_forwards = request.headers.get("Max-Forwards")
        if max_forwards is not None and int(max_forwards) == 0:
            core.respond(server, 483)
            return
        handler = self._in_dialog.get(method)
        if handler is None:
            core.respond(server, 405 if method in KNOWN_METHODS else 501, extra=[("Allow", ALLOW)])
            return
        if NameAddr.parse(request.headers.get("To") or "").tag is None:
            if method == "INVITE":
                self._new_call(request, server, source)
            elif method == "OPTIONS":
                self._options(None, request, server)
            else:
                core.respond(server, 481)
            return
        call = self._dialog_call(request)
        if call is None or call.dialog is None:
            core.respond(server, 481)
            return
        number = cseq(request.headers)[0]
        if call.dialog.remote_cseq is not None and number <= call.dialog.remote_cseq:
            core.respond(server, 500, "CSeq Out Of Order")
            return
        call.dialog.remote_cseq = number
        handler(call, request, server)

    # -- the call's first INVITE ------------------------------------------------------------------

    def _new_call(self, request: SipRequest, server: ServerTransaction, source: Address) -> None:
        core = self.core
        headers = request.headers
        call_id = headers.get("Call-ID") or ""
        existing = core.calls.get(call_id)
        if existing is not None and existing.state != CallState.ENDED:
            core.respond(server, 482)  # the same call reached us twice (a loop or a merged fork)
            return
        try:
            request_uri = SipUri.parse(request.uri)
        except SipParseError:
            core.respond(server, 416)
            return
        required = headers.get_all("Require")
        if required:
            core.respond(server, 420, extra=[("Unsupported", ", ".join(required))])
            return
        if request.body and not _is_sdp(request):
            core.respond(server, 415, extra=[("Accept", SDP)])
            return
        core.respond(server, 100)
        dialog = Dialog.as_uas(request, core.token(10), source)
        call = Call(call_id, outgoing=False, state=CallState.RINGING, invite=request, remote=source)
        call.dialog, call.server, call.remote_sdp = dialog, server, request.body
        core.calls[call_id] = call
        from_, to = NameAddr.parse(headers.get("From") or ""), NameAddr.parse(headers.get("To") or "")
        core.emit(IncomingCall(call_id, request_uri, from_, to, request.body, source))

    def ringing(self, call: Call) -> None:
        """180 Ringing (it creates the early dialog)."""
        if call.state == CallState.RINGING and call.server is not None:
            self.core.respond(call.server, 180, to_tag=_local_tag(call), dialog_forming=True)

    def answer(self, call: Call, sdp: bytes) -> None:
        """200 OK with ``sdp``, resent until the ACK."""
        if call.state != CallState.RINGING or call.server is None:
            return
        call.local_sdp = sdp
        server, call.server = call.server, None
        response = self.core.respond(server, 200, to_tag=_local_tag(call), dialog_forming=True, body=sdp)
        call.state = CallState.ANSWERED
        self._resend_until_ack(call, response, server.dest)

    def reject(self, call: Call, status: int, reason: str | None) -> None:
        """A final error response to an unanswered call."""
        if not 300 <= status <= 699:
            raise ValueError(f"reject needs a 3xx-6xx status, got {status}")
        if call.state != CallState.RINGING or call.server is None:
            return
        server, call.server = call.server, None
        self.core.respond(server, status, reason, to_tag=_local_tag(call))
        self.core.end(call, None)

    def _resend_until_ack(self, call: Call, response: SipResponse, dest: Address) -> None:
        core = self.core

        def resend() -> None:
            pending = call.pending_ok
            if pending is not None:
                core.send(pending.data, pending.dest)
                pending.interval = min(2 * pending.interval, T2)
                pending.retransmit = core.timers.start(pending.interval, resend)

        def give_up() -> None:
            # RFC 3261 §13.3.1.4: a 2xx never ACKed ends the dialog with a BYE.
            if call.pending_ok is not None:
                call.pending_ok.stop()
                call.pending_ok = None
            core.bye(call, report=False)
            core.end(call, CallEnded(call.call_id, by_remote=False, reason="no ACK"))

        number = cseq(response.headers)[0]
        timers = core.timers
        call.pending_ok = PendingOk(
            serialize(response), dest, number, T1, timers.start(T1, resend), timers.start(64 * T1, give_up)
        )

    # -- ACK and CANCEL ---------------------------------------------------------------------------

    def _ack(self, request: SipRequest) -> None:
        call = self.core.calls.get(request.headers.get("Call-ID") or "")
        if call is None or call.dialog is None or not call.dialog.matches(request.headers):
            return
        pending = call.pending_ok
        if pending is None or pending.cseq != cseq(request.headers)[0]:
            return  # a retransmitted ACK, or one for a 2xx we no longer resend
        pending.stop()
        call.pending_ok = None
        if call.state == CallState.ANSWERED:
            call.state = CallState.CONFIRMED
            self.core.emit(CallConfirmed(call.call_id))
        if request.body:  # our 2xx held the offer (the INVITE had none): the ACK has the answer
            call.remote_sdp = request.body
            self.core.emit(MediaUpdated(call.call_id, request.body))
        if call.bye_after_ack:
            self.core.bye(call)
        else:
            self.core.send_queued(call)

    def _cancel(self, request: SipRequest, server: ServerTransaction) -> None:
        core = self.core
        invite = core.layer.match_cancelled(request)
        if invite is None:
            core.respond(server, 481)
            return
        call = core.calls.get(request.headers.get("Call-ID") or "")
        tag = _local_tag(call) if call is not None else None
        core.respond(server, 200, to_tag=tag)
        if call is not None and call.server is invite and call.state == CallState.RINGING:
            call.server = None
            core.respond(invite, 487, to_tag=tag)
            core.end(call, CallCancelled(call.call_id))
        # After our final response a CANCEL changes nothing (RFC 3261 §9.2).

    # -- in-dialog requests -----------------------------------------------------------------------

    def _dialog_call(self, request: SipRequest) -> Call | None:
        call = self.core.calls.get(request.headers.get("Call-ID") or "")
        if call is None or call.dialog is None or call.state == CallState.ENDED:
            return None
        return call if call.dialog.matches(request.headers) else None

    def _bye(self, call: Call | None, request: SipRequest, server: ServerTransaction) -> None:
        assert call is not None
        core = self.core
        core.respond(server, 200)
        if call.state == CallState.RINGING and call.server is not None:
            # The caller hung up on an early dialog: the INVITE still needs its final response.
            invite, call.server = call.server, None
            core.respond(invite, 487, to_tag=_local_tag(call))
            core.end(call, CallCancelled(call.call_id))
            return
        core.end(call, CallEnded(call.call_id, by_remote=True, reason="BYE"))

    def _reinvite(self, call: Call | None, request: SipRequest, server: ServerTransaction) -> None:
        assert call is not None and call.dialog is not None
        core = self.core
        if call.pending_ok is not None or call.state == CallState.ANSWERED:
            # RFC 3261 §14.2: our own 2xx is still waiting for its ACK.
            core.respond(server, 500, extra=[("Retry-After", str(core.rng.randint(1, 10)))])
            return
        if call.state != CallState.CONFIRMED:
            core.respond(server, 481 if call.state == CallState.ENDING else 491)
            return
        if call.client is not None:
            core.respond(server, 491)  # glare: our own re-INVITE is in flight
            return
        if request.body and not _is_sdp(request):
            core.respond(server, 415, extra=[("Accept", SDP)])
            return
        target = contact_uri(request.headers)
        if target is not None:  # a target refresh
            call.dialog.remote_target, call.dialog.fallback = target, server.source
        response = core.respond(server, 200, to_tag=_local_tag(call), dialog_forming=True, body=call.local_sdp)
        self._resend_until_ack(call, response, server.dest)
        if request.body:
            call.remote_sdp = request.body
            core.emit(MediaUpdated(call.call_id, request.body))

    def _info(self, call: Call | None, request: SipRequest, server: ServerTransaction) -> None:
        assert call is not None
        self.core.respond(server, 200)
        digit = _dtmf_digit(request)
        if digit is not None:
            self.core.emit(InfoDigit(call.call_id, digit))

    def _options(self, call: Call | None, request: SipRequest, server: ServerTransaction) -> None:
        extra = [("Allow", ALLOW), ("Accept", SDP), ("Contact", self.core.contact())]
        self.core.respond(server, 200, to_tag=self.core.token(10) if call is None else None, extra=extra)


def _local_tag(call: Call) -> str | None:
    return call.dialog.local_tag if call.dialog is not None else None


def _is_sdp(request: SipRequest) -> bool:
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    return content_type == SDP


def _dtmf_digit(request: SipRequest) -> str | None:
    """The key in an INFO body: ``Signal=5`` (application/dtmf-relay) or ``5`` (application/dtmf)."""
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    text = request.body.decode("utf-8", errors="replace")
    if content_type == "application/dtmf-relay":
        for line in text.splitlines():
            name, _, value = line.partition("=")
            if name.strip().lower() == "signal":
                key = value.strip().upper()
                key = _DTMF_ALIASES.get(key, key)
                return key if key in _DTMF_KEYS else None
        return None
    if content_type == "application/dtmf":
        key = text.strip().upper()
        return key if key in _DTMF_KEYS else None
    return None
