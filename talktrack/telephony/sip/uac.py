"""Outgoing calls (the UAC side of RFC 3261 §13.2): INVITE, its responses, digest retry, CANCEL."""

from __future__ import annotations

from collections.abc import Mapping

from talktrack.telephony.sip.core import AgentCore, is_stale
from talktrack.telephony.sip.dialogs import Call, CallState, Dialog
from talktrack.telephony.sip.events import CallAnswered, CallFailed, CallProgress
from talktrack.telephony.sip.message import Headers, SipRequest, SipResponse, cseq
from talktrack.telephony.sip.syntax import SipParseError
from talktrack.telephony.sip.transactions import T1
from talktrack.telephony.sip.uri import NameAddr, SipUri

Address = tuple[str, int]


class OutgoingCalls:
    """Places calls and follows each INVITE to its final response."""

    def __init__(self, core: AgentCore) -> None:
        self.core = core

    def invite(
        self,
        target: str | SipUri,
        sdp: bytes,
        *,
        proxy: Address | None,
        from_user: str | None,
        headers: Mapping[str, str] | None,
    ) -> str:
        """Send an INVITE with ``sdp``; returns the new call's Call-ID."""
        core = self.core
        uri = target if isinstance(target, SipUri) else SipUri.parse(target)
        call_id = f"{core.token(24)}@{core.host}"
        local = NameAddr(core.display_name, SipUri("sip", from_user or core.user, core.domain, None))
        request = core.request(
            "INVITE",
            str(uri),
            from_=str(local.with_tag(core.token(10))),
            to=f"<{uri}>",
            call_id=call_id,
            cseq_number=1,
            contact=core.contact(),
            allow=True,
            extra=list((headers or {}).items()),
            body=sdp,
        )
        dest = proxy or uri.address
        call = Call(call_id, outgoing=True, state=CallState.INVITING, invite=request, remote=dest, local_sdp=sdp)
        call.proxy = proxy
        self._send(call, request)  # first: a header the caller gave that cannot be sent raises before we keep state
        core.calls[call_id] = call
        return call_id

    def cancel(self, call: Call) -> None:
        """CANCEL an outgoing call that has no final response yet (sent once a provisional has come)."""
        if not call.outgoing:
            raise ValueError(f"call {call.call_id!r} is incoming: reject it instead of cancelling")
        if call.state != CallState.INVITING or call.cancel_requested:
            return
        call.cancel_requested = True
        if call.got_provisional:
            self._send_cancel(call)

    def _send(self, call: Call, request: SipRequest) -> None:
        call.invite = request
        call.client = self.core.layer.start_client(
            request,
            call.remote,
            lambda response: self._on_response(call, request, response),
            lambda: self._timeout(call),
        )

    def _timeout(self, call: Call) -> None:
        call.client = None
        if call.state == CallState.INVITING:
            status, reason = (487, "Request Terminated") if call.cancel_requested else (408, "Request Timeout")
            self.core.end(call, CallFailed(call.call_id, status, reason))

    def _on_response(self, call: Call, request: SipRequest, response: SipResponse) -> None:
        status = response.status
        if 200 <= status < 300:
            self._on_2xx(call, request, response)
            return
        if call.state != CallState.INVITING or request is not call.invite:
            return  # a late answer to a request we already replaced (digest retry) or gave up on
        if status < 200:
            self._on_provisional(call, response)
            return
        call.client = None
        if status in (401, 407) and not call.cancel_requested and self._retry_with_credentials(call, request, response):
            return
        self.core.end(call, CallFailed(call.call_id, status, response.reason))

    def _retry_with_credentials(self, call: Call, request: SipRequest, response: SipResponse) -> bool:
        # One retry per challenge; a second challenge only when it says our nonce was merely stale.
        if call.auth_attempts >= 2 or (call.auth_attempts == 1 and not is_stale(response)):
            return False
        retry = self.core.authorize(request, response, cseq(request.headers)[0] + 1)
        if retry is None:
            return False
        call.auth_attempts += 1
        call.got_provisional = False
        call.dialog = None
        self._send(call, retry)
        return True

    def _on_provisional(self, call: Call, response: SipResponse) -> None:
        call.got_provisional = True
        if call.dialog is None and _to_tag(response) is not None:
            call.dialog = Dialog.as_uac(call.invite, response, call.proxy, call.remote)  # early dialog
        if call.cancel_requested:
            if not call.cancel_sent:
                self._send_cancel(call)
            return
        if response.status != 100:  # 100 is hop-by-hop: it says nothing about the callee
            self.core.emit(CallProgress(call.call_id, response.status, response.reason, response.body))

    def _on_2xx(self, call: Call, request: SipRequest, response: SipResponse) -> None:
        core = self.core
        tag = _to_tag(response)
        if call.state == CallState.INVITING and request is call.invite:
            call.client = None
            call.dialog = Dialog.as_uac(request, response, call.proxy, call.remote)
            core.ack_2xx(call, request, response)
            call.remote_sdp = response.body
            if call.cancel_requested:  # our CANCEL crossed the answer: take the call down (RFC 3261 §9.1)
                core.bye(call, report=False)
                core.emit(CallFailed(call.call_id, 487, "Request Terminated"))
                return
            call.state = CallState.CONFIRMED
            core.emit(CallAnswered(call.call_id, response.body))
            return
        dialog = call.dialog
        if dialog is not None and call.ack is not None and tag == dialog.remote_tag:
            core.ack_2xx(call, request, response)  # a retransmitted 2xx: our ACK was lost
            return
        # Another fork answered too (or the answer came after we gave up): ACK it and hang that leg up.
        leg = Call(call.call_id, outgoing=True, state=CallState.CONFIRMED, invite=request, remote=call.remote)
        leg.dialog = Dialog.as_uac(request, response, call.proxy, call.remote)
        core.ack_2xx(leg, request, response)
        core.bye(leg, report=False)

    def _send_cancel(self, call: Call) -> None:
        core = self.core
        call.cancel_sent = True
        core.layer.start_client(cancel_for(call.invite, core.user_agent), call.remote, lambda _: None, lambda: None)
        call.timers.append(core.timers.start(64 * T1, lambda: self._cancel_expired(call)))

    def _cancel_expired(self, call: Call) -> None:
        # RFC 3261 §9.1: no final response within 64*T1 of the CANCEL; give the INVITE up.
        if call.state == CallState.INVITING:
            if call.client is not None:
                call.client.terminate()
                call.client = None
            self.core.end(call, CallFailed(call.call_id, 487, "Request Terminated"))


def cancel_for(invite: SipRequest, user_agent: str) -> SipRequest:
    """The CANCEL for ``invite`` (RFC 3261 §9.1): same Request-URI, top Via, Route, From, To, Call-ID, CSeq number."""
    source = invite.headers
    headers = Headers([("Via", source.get_all("Via")[0]), ("Max-Forwards", "70")])
    for route in source.get_all("Route"):
        headers.add("Route", route)
    for name in ("From", "To", "Call-ID"):
        headers.add(name, source.get(name) or "")
    headers.add("CSeq", f"{cseq(source)[0]} CANCEL")
    headers.add("User-Agent", user_agent)
    return SipRequest("CANCEL", invite.uri, headers)


def _to_tag(response: SipResponse) -> str | None:
    try:
        return NameAddr.parse(response.headers.get("To") or "").tag
    except SipParseError:
        return None
