"""Telnyx Call Control over HTTP against a local stand-in that speaks Telnyx's v2 REST format."""

from __future__ import annotations

import json
import socket

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from talktrack.errors import ConfigError, TalkTrackError
from talktrack.settings import Settings
from talktrack.telephony import telnyx_stream
from talktrack.telephony.telnyx_rest import CallControl, check_digits, place_call, stream_url
from talktrack.testing.stream_harness import serve_app

KEY = "KEY0123456789ABCDEF_test"
CONNECTION = "1494404757140276705"
CALL = "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg"
ENDED = "v3:ended-call"


class TelnyxSettings(Settings):
    """Settings with the Telnyx fields the application will declare."""

    telnyx_api_key: str | None = None
    telnyx_connection_id: str | None = None
    telnyx_from_number: str | None = None
    telnyx_api_base_url: str | None = None


def error(status: int, code: str, title: str, detail: str, pointer: str | None = None) -> JSONResponse:
    body: dict = {"code": code, "title": title, "detail": detail}
    if pointer:
        body["source"] = {"pointer": pointer}
    return JSONResponse({"errors": [body]}, status_code=status)


def stand_in() -> tuple[FastAPI, list[dict]]:
    """Telnyx's /v2/calls and call actions, with its error shapes."""
    app = FastAPI()
    seen: list[dict] = []

    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {KEY}"

    @app.post("/v2/calls")
    async def dial(request: Request) -> JSONResponse:
        body = await request.json()
        seen.append({"path": request.url.path, "body": body, "content_type": request.headers["content-type"]})
        if not authorized(request):
            return error(401, "10009", "Authentication failed", "The API key looks malformed.")
        if body["to"] == "+15005550001":
            return error(422, "10015", "Invalid value for to (Phone number)", "The number is not valid.", "/to")
        data = {
            "call_control_id": CALL,
            "call_leg_id": "2dc6fc34-f9e0-11ea-b68e-02420a0f7768",
            "call_session_id": "2dc1b3c8-f9e0-11ea-bc5a-02420a0f7768",
            "is_alive": False,
            "record_type": "call",
        }
        return JSONResponse({"data": data})

    @app.post("/v2/calls/{call_control_id}/actions/{action}")
    async def action(call_control_id: str, action: str, request: Request) -> JSONResponse:
        body = await request.json()
        seen.append({"call": call_control_id, "action": action, "body": body})
        if not authorized(request):
            return error(401, "10009", "Authentication failed", "The API key looks malformed.")
        if call_control_id == ENDED:
            return error(422, "90018", "Call has already ended", "This call is no longer active.")
        return JSONResponse({"data": {"result": "ok"}})

    return app, seen


def settings_for(base: str, tmp_path, **overrides) -> TelnyxSettings:
    values = {
        "data_dir": tmp_path,
        "telnyx_api_key": KEY,
        "telnyx_connection_id": CONNECTION,
        "telnyx_from_number": "+13125550100",
        "public_url": "https://agent.example.com",
        "telnyx_api_base_url": base.replace("ws://", "http://"),
        **overrides,
    }
    return TelnyxSettings(**values)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_place_call_sends_what_telnyx_expects(tmp_path):
    app, seen = stand_in()
    async with serve_app(app) as base:
        call_id = await place_call(
            settings_for(base, tmp_path),
            to="+1 (312) 555-0142",
            agent_id="backbeam",
            context={"prospect_name": "Dana Whitfield", "call_id": "c-17"},
            machine_detection="detect_words",
        )
    assert call_id == CALL
    [request] = seen
    assert request["path"] == "/v2/calls" and request["content_type"] == "application/json"
    body = dict(request["body"])
    state = body.pop("client_state")
    assert body == {
        "connection_id": CONNECTION,
        "to": "+13125550142",
        "from": "+13125550100",
        "stream_url": "wss://agent.example.com/telephony/telnyx/stream",
        "stream_track": "inbound_track",
        "stream_bidirectional_mode": "rtp",
        "stream_bidirectional_codec": "PCMU",
        "stream_codec": "PCMU",
        "webhook_url": "https://agent.example.com/telephony/telnyx/webhook",
        "webhook_url_method": "POST",
        "answering_machine_detection": "detect_words",
    }
    # The stream parameters ride in client_state, which Telnyx echoes in the stream's start.
    assert telnyx_stream.client_state_parameters(state) == {
        "agent_id": "backbeam",
        "prospect_name": "Dana Whitfield",
        "call_id": "c-17",
    }
    start = json.loads(telnyx_stream.carrier_start("S", CALL, 1, {}))["start"]
    start["client_state"] = state
    assert telnyx_stream.start_parameters(start)["agent_id"] == "backbeam"


async def test_answer_hangup_and_keys_are_the_documented_actions(tmp_path):
    app, seen = stand_in()
    async with serve_app(app) as base:
        async with CallControl.from_settings(settings_for(base, tmp_path)) as control:
            await control.answer(CALL, stream_url("http://127.0.0.1:8000/"), {"agent_id": "backbeam"})
            await control.send_dtmf(CALL, "1w2#", duration_ms=200)
            await control.hangup(CALL)
    answer, dtmf, hangup = seen
    assert (answer["call"], answer["action"]) == (CALL, "answer")
    state = answer["body"].pop("client_state")
    assert answer["body"] == {
        "stream_url": "ws://127.0.0.1:8000/telephony/telnyx/stream",
        "stream_track": "inbound_track",
        "stream_bidirectional_mode": "rtp",
        "stream_bidirectional_codec": "PCMU",
        "stream_codec": "PCMU",
    }
    assert telnyx_stream.client_state_parameters(state) == {"agent_id": "backbeam"}
    assert (dtmf["action"], dtmf["body"]) == ("send_dtmf", {"digits": "1w2#", "duration_millis": 200})
    assert (hangup["call"], hangup["action"], hangup["body"]) == (CALL, "hangup", {})


async def test_wrong_key_bad_number_and_ended_calls_become_clear_errors(tmp_path):
    app, _ = stand_in()
    async with serve_app(app) as base:
        with pytest.raises(TalkTrackError, match="rejected the API key") as wrong:
            await place_call(settings_for(base, tmp_path, telnyx_api_key="nope"), to="+13125550142", agent_id="a")
        assert wrong.value.fix and "TALKTRACK_TELNYX_API_KEY" in wrong.value.fix
        with pytest.raises(TalkTrackError, match=r"422.*Invalid value for to.*/to") as bad:
            await place_call(settings_for(base, tmp_path), to="+15005550001", agent_id="a")
        assert bad.value.fix and "E.164" in bad.value.fix
        async with CallControl.from_settings(settings_for(base, tmp_path)) as control:
            await control.hangup(ENDED)  # hanging up a call that already ended is not an error
            with pytest.raises(TalkTrackError, match="already ended"):
                await control.send_dtmf(ENDED, "5")


async def test_network_down_names_the_endpoint_and_the_fix(tmp_path):
    base = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(TalkTrackError, match="cannot reach Telnyx at http://127.0.0.1") as down:
        await place_call(settings_for(base, tmp_path), to="+13125550142", agent_id="backbeam")
    assert down.value.fix and "network" in down.value.fix


async def test_bad_input_is_caught_before_any_request(tmp_path):
    with pytest.raises(ConfigError, match="TALKTRACK_TELNYX_API_KEY.*TALKTRACK_TELNYX_CONNECTION_ID"):
        await place_call(Settings(data_dir=tmp_path), to="+13125550142", agent_id="backbeam")
    unreachable = settings_for(f"http://127.0.0.1:{closed_port()}", tmp_path)
    with pytest.raises(ConfigError, match="E.164"):
        await place_call(unreachable, to="555-0142", agent_id="backbeam")
    with pytest.raises(ConfigError, match="machine detection"):
        await place_call(unreachable, to="+13125550142", agent_id="backbeam", machine_detection="Enable")
    async with CallControl.from_settings(unreachable) as control:
        with pytest.raises(TalkTrackError, match="not valid"):
            await control.send_dtmf(CALL, "12x")
        with pytest.raises(TalkTrackError, match="out of range"):
            await control.send_dtmf(CALL, "1", duration_ms=50)
        with pytest.raises(TalkTrackError, match="call_control_id"):
            await control.hangup("")
    assert check_digits("0123456789*#ABCDwW") == "0123456789*#ABCDwW"
