"""Carrier webhooks on an app with only the carrier router: Telnyx events and Twilio status callbacks."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from talktrack.api.carriers import CallStatusBook, carrier_router
from talktrack.settings import Settings
from talktrack.telephony import telnyx_stream, twilio_webhook
from talktrack.telephony import telnyx_webhook as tw
from talktrack.testing.stream_harness import serve_app

CALL = "v3:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ"
SID = "CA" + "3" * 32
T0 = datetime(2025, 11, 23, 3, 30, tzinfo=UTC)


def telnyx_event(event_type: str, at: datetime = T0, **payload) -> bytes:
    data = {
        "event_type": event_type,
        "id": f"ev-{event_type}-{at.timestamp()}",
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "payload": {"call_control_id": CALL, "call_session_id": "sess-1", **payload},
        "record_type": "event",
    }
    return json.dumps({"data": data, "meta": {"attempt": 1}}).encode()


def client(settings: Settings, book: CallStatusBook) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(carrier_router(settings, book))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def telnyx_stand_in() -> tuple[FastAPI, list[dict]]:
    app = FastAPI()
    seen: list[dict] = []

    @app.post("/v2/calls/{call_control_id}/actions/{action}")
    async def action(call_control_id: str, action: str, request: Request) -> JSONResponse:
        seen.append({"call": call_control_id, "action": action, "body": await request.json(), "auth": request.headers})
        return JSONResponse({"data": {"result": "ok"}})

    return app, seen


@pytest.fixture(scope="module")
def private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_b64(private: Ed25519PrivateKey) -> str:
    return base64.b64encode(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


async def test_telnyx_webhooks_need_a_valid_fresh_signature_when_a_key_is_set(tmp_path, private_key):
    book = CallStatusBook()
    settings = Settings(data_dir=tmp_path, telnyx_public_key=public_b64(private_key))
    body = telnyx_event("call.answered")
    now = int(time.time())
    async with client(settings, book) as http:
        assert (await http.post("/telephony/telnyx/webhook", content=body)).status_code == 403
        forged = tw.sign(body, now, Ed25519PrivateKey.generate())
        assert (await http.post("/telephony/telnyx/webhook", content=body, headers=forged)).status_code == 403
        stale = tw.sign(body, now - tw.TOLERANCE_S - 60, private_key)
        assert (await http.post("/telephony/telnyx/webhook", content=body, headers=stale)).status_code == 403
        assert book.get(CALL) is None
        good = tw.sign(body, now, private_key)
        assert (await http.post("/telephony/telnyx/webhook", content=body, headers=good)).status_code == 200
        junk = b'{"data": []}'
        signed_junk = tw.sign(junk, now, private_key)
        assert (await http.post("/telephony/telnyx/webhook", content=junk, headers=signed_junk)).status_code == 400
    call = book.get(CALL)
    assert call is not None and call.status == "in-progress"


async def test_an_inbound_telnyx_call_is_answered_into_the_stream_of_its_numbers_agent(tmp_path):
    stand_in, seen = telnyx_stand_in()
    book = CallStatusBook()
    async with serve_app(stand_in) as base:
        settings = Settings(
            data_dir=tmp_path,
            telnyx_api_key="KEY_inbound",
            telnyx_api_base_url=base.replace("ws://", "http://"),
            public_url="https://agent.example.com",
            agent_routes="+13057864498=dental-sdr",
        )
        async with client(settings, book) as http:
            caller = {"from": "+18124040851"}
            inbound = telnyx_event("call.initiated", direction="incoming", to="+13057864498", **caller)
            assert (await http.post("/telephony/telnyx/webhook", content=inbound)).status_code == 200
            # Our own outbound calls also start with call.initiated; those are not answered.
            outbound = telnyx_event("call.initiated", direction="outgoing", to="+13125550142", **{"from": "+1312"})
            assert (await http.post("/telephony/telnyx/webhook", content=outbound)).status_code == 200
    [answer] = seen
    assert (answer["call"], answer["action"]) == (CALL, "answer")
    assert answer["auth"]["authorization"] == "Bearer KEY_inbound"
    assert answer["body"]["stream_url"] == "wss://agent.example.com/telephony/telnyx/stream"
    assert answer["body"]["stream_bidirectional_mode"] == "rtp"
    parameters = telnyx_stream.client_state_parameters(answer["body"]["client_state"])
    assert parameters == {"agent_id": "dental-sdr", "direction": "inbound", "phone": "+18124040851"}
    assert book.get(CALL).status == "initiated"  # type: ignore[union-attr]


async def test_an_unrouted_number_gets_the_default_agent_and_a_failed_answer_still_returns_200(tmp_path):
    stand_in, seen = telnyx_stand_in()
    async with serve_app(stand_in) as base:
        settings = Settings(data_dir=tmp_path, telnyx_api_key="K", telnyx_api_base_url=base.replace("ws://", "http://"))
        async with client(settings, CallStatusBook()) as http:
            inbound = telnyx_event("call.initiated", direction="incoming", to="+15550000000")
            assert (await http.post("/telephony/telnyx/webhook", content=inbound)).status_code == 200
    parameters = telnyx_stream.client_state_parameters(seen[0]["body"]["client_state"])
    assert parameters == {"agent_id": "backbeam", "direction": "inbound"}
    assert seen[0]["body"]["stream_url"] == "ws://testserver/telephony/telnyx/stream"
    # No API key: the answer cannot be sent, which is logged; Telnyx must not retry the webhook forever.
    async with client(Settings(data_dir=tmp_path), CallStatusBook()) as http:
        inbound = telnyx_event("call.initiated", direction="incoming", to="+15550000000")
        assert (await http.post("/telephony/telnyx/webhook", content=inbound)).status_code == 200


@pytest.mark.parametrize(
    ("events", "outcome"),
    [
        (
            [
                ("call.initiated", {"direction": "outgoing"}),
                ("call.answered", {}),
                ("call.machine.detection.ended", {"result": "machine"}),
                ("call.hangup", {"hangup_cause": "normal_clearing", "sip_hangup_cause": "200"}),
            ],
            "voicemail",
        ),
        (
            [("call.initiated", {}), ("call.answered", {}), ("call.hangup", {"hangup_cause": "normal_clearing"})],
            "completed",
        ),
        ([("call.initiated", {}), ("call.hangup", {"hangup_cause": "user_busy", "sip_hangup_cause": "486"})], "busy"),
        ([("call.initiated", {}), ("call.hangup", {"hangup_cause": "timeout"})], "no_answer"),
        ([("call.initiated", {}), ("call.hangup", {"hangup_cause": "not_found"})], "failed"),
        (
            [
                ("call.initiated", {}),
                ("call.answered", {}),
                ("call.machine.greeting.ended", {"result": "beep_detected"}),
                ("call.hangup", {"hangup_cause": "normal_clearing"}),
            ],
            "voicemail",
        ),
    ],
)
async def test_telnyx_events_make_a_status_history_and_an_outcome(tmp_path, events, outcome):
    book = CallStatusBook()
    step = timedelta(seconds=10)
    types = [event_type for event_type, _ in events]
    # Talk time runs from call.answered to call.hangup, by the events' own occurred_at.
    answered = types.index("call.answered") if "call.answered" in types else None
    duration = None if answered is None else round((len(events) - 1 - answered) * step.total_seconds())
    ours = telnyx_stream.encode_client_state({"agent_id": "backbeam", "call_id": "c-42"})
    async with client(Settings(data_dir=tmp_path), book) as http:
        for i, (event_type, payload) in enumerate(events):
            body = telnyx_event(event_type, T0 + i * step, client_state=ours, **payload)
            assert (await http.post("/telephony/telnyx/webhook", content=body)).status_code == 200
    call = book.get(CALL)
    assert call is not None and call.carrier == "telnyx"
    assert (call.outcome, call.duration_s) == (outcome, duration)
    assert call.parameters == {"agent_id": "backbeam", "call_id": "c-42"}
    assert call.history[0].status == "initiated" and call.history[0].at == T0
    if "sip_hangup_cause" in events[-1][1]:
        assert call.sip_code == int(events[-1][1]["sip_hangup_cause"])


async def test_twilio_status_callbacks_need_a_valid_signature_when_the_token_is_set(tmp_path):
    book = CallStatusBook()
    settings = Settings(data_dir=tmp_path, twilio_auth_token="secret", public_url="https://agent.example.com")
    form = {"CallSid": SID, "CallStatus": "ringing", "AccountSid": "AC" + "0" * 32}
    url = "https://agent.example.com/telephony/twilio/status?call_id=c-7"
    async with client(settings, book) as http:
        path = "/telephony/twilio/status?call_id=c-7"
        assert (await http.post(path, data=form)).status_code == 403
        forged = {"X-Twilio-Signature": twilio_webhook.signature(url, form, "wrong")}
        assert (await http.post(path, data=form, headers=forged)).status_code == 403
        assert book.get(SID) is None
        good = {"X-Twilio-Signature": twilio_webhook.signature(url, form, "secret")}
        assert (await http.post(path, data=form, headers=good)).status_code == 204
    call = book.get(SID)
    assert call is not None and call.status == "ringing" and call.parameters == {"call_id": "c-7"}


@pytest.mark.parametrize(
    ("callbacks", "outcome"),
    [
        ([{"CallStatus": "busy", "SipResponseCode": "486"}], "busy"),
        ([{"CallStatus": "no-answer", "SipResponseCode": "487"}], "no_answer"),
        ([{"CallStatus": "failed", "SipResponseCode": "404"}], "failed"),
        ([{"CallStatus": "canceled"}], "canceled"),
        ([{"CallStatus": "in-progress"}, {"CallStatus": "completed", "CallDuration": "42"}], "completed"),
        ([{"CallStatus": "in-progress", "AnsweredBy": "machine_end_beep"}, {"CallStatus": "completed"}], "voicemail"),
        # Asynchronous AMD reports the answerer in its own callback, without a CallStatus.
        ([{"CallStatus": "in-progress"}, {"AnsweredBy": "machine_start"}, {"CallStatus": "completed"}], "voicemail"),
        ([{"CallStatus": "in-progress"}, {"AnsweredBy": "fax"}, {"CallStatus": "completed"}], "failed"),
        ([{"CallStatus": "in-progress"}, {"AnsweredBy": "human"}, {"CallStatus": "completed"}], "completed"),
    ],
)
async def test_twilio_status_callbacks_map_to_outcomes(tmp_path, callbacks, outcome):
    book = CallStatusBook()
    async with client(Settings(data_dir=tmp_path), book) as http:
        for fields in [{"CallStatus": "queued"}, {"CallStatus": "ringing"}, *callbacks]:
            response = await http.post("/telephony/twilio/status", data={"CallSid": SID, **fields})
            assert response.status_code == 204
    call = book.get(SID)
    assert call is not None and call.outcome == outcome
    assert [c.status for c in call.history][:2] == ["queued", "ringing"]
    final = callbacks[-1]
    if "CallDuration" in final:
        assert call.duration_s == int(final["CallDuration"])
    if "SipResponseCode" in final:
        assert call.sip_code == int(final["SipResponseCode"])


async def test_twilio_timestamps_are_kept_and_bad_callbacks_are_refused(tmp_path):
    book = CallStatusBook()
    async with client(Settings(data_dir=tmp_path), book) as http:
        stamped = {"CallSid": SID, "CallStatus": "initiated", "Timestamp": "Sun, 23 Nov 2025 03:30:00 +0000"}
        assert (await http.post("/telephony/twilio/status", data=stamped)).status_code == 204
        assert (await http.post("/telephony/twilio/status", data={"CallStatus": "ringing"})).status_code == 400
        bad = {"CallSid": SID, "CallStatus": "exploded"}
        assert (await http.post("/telephony/twilio/status", data=bad)).status_code == 400
    assert book.get(SID).history[0].at == T0  # type: ignore[union-attr]


def test_the_book_keeps_a_redelivered_status_once_and_a_late_one_cannot_undo_the_end():
    clock = iter(T0 + timedelta(seconds=s) for s in range(100))
    book = CallStatusBook(clock=lambda: next(clock))
    book.record("twilio", SID, "in-progress")
    book.record("twilio", SID, "in-progress")  # the carrier retried the callback
    book.record("twilio", SID, "completed")
    book.record("twilio", SID, "ringing")  # arrived late
    call = book.get(SID)
    assert call is not None
    assert [c.status for c in call.history] == ["in-progress", "completed", "ringing"]
    assert (call.status, call.outcome, call.duration_s) == ("completed", "completed", 1)
    with pytest.raises(ValueError, match="unknown call status"):
        book.record("twilio", SID, "on-fire")
    assert len(book) == 1 and book.get("CA-unknown") is None
