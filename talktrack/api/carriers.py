"""Carrier call-control webhooks: Telnyx Call Control events and Twilio status callbacks.

``carrier_router(settings, calls)`` answers inbound Telnyx calls into our media stream and keeps
each carrier call's status in a ``CallStatusBook`` (in memory until the platform's database takes
over). Statuses use Twilio's words for both carriers: ``queued``, ``initiated``, ``ringing``,
``in-progress``, then one of ``completed``, ``busy``, ``no-answer``, ``failed``, ``canceled``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from fastapi import APIRouter, Request, Response
from loguru import logger

from talktrack.api.urls import public_url
from talktrack.calls.agent import parse_routes, routed_agent_id
from talktrack.errors import TalkTrackError
from talktrack.settings import Settings
from talktrack.telephony import telnyx_webhook as tw
from talktrack.telephony import twilio_webhook
from talktrack.telephony.telnyx_rest import CallControl, stream_url

TELNYX_WEBHOOK_PATH = "/telephony/telnyx/webhook"
TWILIO_STATUS_PATH = "/telephony/twilio/status"

STATUSES = ("queued", "initiated", "ringing", "in-progress", "completed", "busy", "no-answer", "failed", "canceled")
FINAL = {"completed": "completed", "busy": "busy", "no-answer": "no_answer", "failed": "failed", "canceled": "canceled"}
# Telnyx says why a call ended; Twilio's status for the same end.
TELNYX_HANGUP = {
    "normal_clearing": "completed",
    "time_limit": "completed",
    "user_busy": "busy",
    "call_rejected": "busy",
    "timeout": "no-answer",
    "originator_cancel": "canceled",
    "not_found": "failed",
    "unspecified": "failed",
}


@dataclass(frozen=True)
class StatusChange:
    """One status a carrier reported, when it happened, and the carrier's own word for it."""

    status: str
    at: datetime
    detail: str = ""


@dataclass
class CarrierCall:
    """What the carrier told us about one call (keyed by its CallSid or call_control_id)."""

    carrier: str
    call_id: str
    history: list[StatusChange] = field(default_factory=list)
    answered_by: str | None = None
    reported_duration_s: int | None = None
    sip_code: int | None = None
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str | None:
        """The final status once there is one (late events do not undo it), else the latest."""
        final = [c.status for c in self.history if c.status in FINAL]
        if final:
            return final[-1]
        return self.history[-1].status if self.history else None

    @property
    def machine(self) -> bool:
        """Answered by a machine (Twilio ``machine_*``, Telnyx ``machine``)."""
        return (self.answered_by or "").startswith("machine")

    @property
    def duration_s(self) -> int | None:
        """Talk time: the carrier's figure, else from the answer to the end."""
        if self.reported_duration_s is not None:
            return self.reported_duration_s
        answered = next((c.at for c in self.history if c.status == "in-progress"), None)
        ended = next((c.at for c in self.history if c.status in FINAL), None)
        if answered is None or ended is None:
            return None
        return max(0, round((ended - answered).total_seconds()))

    @property
    def outcome(self) -> str | None:
        """``completed``, ``voicemail``, ``busy``, ``no_answer``, ``failed`` or ``canceled``; None while live."""
        status = self.status
        if status not in FINAL:
            return None
        if status == "completed" and self.machine:
            return "voicemail"
        if status == "completed" and (self.answered_by or "").startswith("fax"):
            return "failed"  # nobody to talk to, and no mailbox to leave a message in
        return FINAL[status]


class CallStatusBook:
    """Carrier call status by call id, in memory."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._calls: dict[str, CarrierCall] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def get(self, call_id: str) -> CarrierCall | None:
        """The call's record, if a carrier has reported on it."""
        return self._calls.get(call_id)

    def record(
        self,
        carrier: str,
        call_id: str,
        status: str | None = None,
        *,
        at: datetime | None = None,
        detail: str = "",
        answered_by: str | None = None,
        duration_s: int | None = None,
        sip_code: int | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> CarrierCall:
        """Add what a carrier reported; a status repeated (a redelivered webhook) is kept once."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown call status {status!r}")
        call = self._calls.setdefault(call_id, CarrierCall(carrier=carrier, call_id=call_id))
        if status is not None and not any(c.status == status for c in call.history):
            call.history.append(StatusChange(status, at or self._clock(), detail))
        if answered_by:
            call.answered_by = answered_by
        if duration_s is not None:
            call.reported_duration_s = duration_s
        if sip_code is not None:
            call.sip_code = sip_code
        if parameters:
            call.parameters.update(parameters)
        return call


def carrier_router(settings: Settings, calls: CallStatusBook) -> APIRouter:
    """``POST /telephony/telnyx/webhook`` and ``POST /telephony/twilio/status``."""
    router = APIRouter()
    telnyx_key_text = settings.telnyx_public_key
    # A wrong key or route is a configuration error: fail when the app starts, not on the first call.
    telnyx_key = tw.public_key(telnyx_key_text) if telnyx_key_text else None
    routes = parse_routes(settings.agent_routes)

    @router.post(TELNYX_WEBHOOK_PATH)
    async def telnyx_event(request: Request) -> Response:
        body = await request.body()
        if telnyx_key is not None:
            try:
                tw.verify(body, request.headers, telnyx_key, now=time.time())
            except tw.SignatureError as exc:
                logger.warning(f"telnyx webhook refused: {exc}")
                return Response("invalid Telnyx signature", status_code=403)
        try:
            event = tw.parse(body)
        except tw.WebhookError as exc:
            return Response(f"not a Telnyx webhook: {exc}", status_code=400)
        record_telnyx(calls, event)
        if isinstance(event, tw.CallInitiated) and event.direction == "incoming":
            await _answer(settings, routes, request, event)
        return Response(status_code=200)

    @router.post(TWILIO_STATUS_PATH)
    async def twilio_status(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        token = settings.twilio_auth_token
        signed = request.headers.get("X-Twilio-Signature")
        if token and not twilio_webhook.signature_ok(public_url(settings, request), form, token, signed):
            return Response("invalid Twilio signature", status_code=403)
        call_sid, status = form.get("CallSid", ""), form.get("CallStatus") or None
        if not call_sid or (status is not None and status not in STATUSES):
            return Response("a status callback needs CallSid and a known CallStatus", status_code=400)
        # The async AMD callback carries AnsweredBy without a CallStatus.
        calls.record(
            "twilio",
            call_sid,
            status,
            at=_rfc2822(form.get("Timestamp", "")),
            detail=status or "",
            answered_by=form.get("AnsweredBy") or None,
            duration_s=_number(form.get("CallDuration")),
            sip_code=_number(form.get("SipResponseCode")),
            parameters=dict(request.query_params),
        )
        logger.info(f"twilio call {call_sid}: {status or 'answered by ' + form.get('AnsweredBy', '?')}")
        return Response(status_code=204)

    return router


def record_telnyx(calls: CallStatusBook, event: tw.CallEvent) -> None:
    """Put a Telnyx event into the book; events that say nothing about status or answerer are skipped."""
    status: str | None = None
    answered_by: str | None = None
    sip_code: int | None = None
    detail = event.event_type
    if isinstance(event, tw.CallInitiated):
        status = "initiated"
    elif isinstance(event, tw.CallAnswered):
        status = "in-progress"
    elif isinstance(event, tw.CallHangup):
        status = TELNYX_HANGUP.get(event.hangup_cause, "failed")
        sip_code = _number(event.sip_hangup_cause)
        detail = f"{event.event_type}:{event.hangup_cause}"
    elif isinstance(event, tw.MachineDetection):
        answered_by = event.result or None
    elif isinstance(event, tw.GreetingEnded) and event.result == "beep_detected":
        answered_by = "machine"  # detect_beep mode reports only the beep
    elif isinstance(event, tw.Streaming) and event.state == "failed":
        logger.warning(f"telnyx call {event.call_control_id}: media stream failed ({event.reason or 'no reason'})")
    if not event.call_control_id or (status is None and answered_by is None):
        return
    calls.record(
        "telnyx",
        event.call_control_id,
        status,
        at=event.occurred_at,
        detail=detail,
        answered_by=answered_by,
        sip_code=sip_code,
        parameters=event.parameters,
    )


async def _answer(settings: Settings, routes: Mapping[str, str], request: Request, event: tw.CallInitiated) -> None:
    """Answer an inbound call into our media stream with the agent its number routes to."""
    agent_id = routed_agent_id(routes, settings.default_agent, event.to_number)
    if agent_id is None:
        logger.warning(f"telnyx call {event.call_control_id}: no agent for {event.to_number}; not answered")
        return
    params = {
        "agent_id": str(agent_id),
        "direction": "inbound",  # a person calling in: not screened for voicemail or menus
        **({"phone": event.from_number} if event.from_number else {}),
    }
    public = settings.public_url or str(request.base_url)
    try:
        async with CallControl.from_settings(settings) as control:
            await control.answer(event.call_control_id, stream_url(public), params)
    except TalkTrackError as exc:
        # Telnyx retries a webhook that fails; a refused answer would fail again, so we log and return 200.
        logger.error(f"telnyx call {event.call_control_id}: could not answer: {exc.message}")
        return
    logger.info(f"telnyx call {event.call_control_id}: answered for agent {agent_id}")


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else None


def _rfc2822(value: str) -> datetime | None:
    """Twilio's ``Timestamp`` (``Mon, 16 Aug 2010 03:45:01 +0000``), or None."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
