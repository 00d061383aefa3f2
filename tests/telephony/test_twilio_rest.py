"""Outbound calls through the official Twilio SDK against a local stand-in that speaks Twilio's REST API."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from talktrack.errors import ConfigError, TalkTrackError
from talktrack.settings import Settings
from talktrack.telephony.twilio_rest import check_number, place_call
from talktrack.testing.stream_harness import serve_app

SID = "AC" + "1" * 32


def stand_in() -> tuple[FastAPI, list[dict]]:
    app = FastAPI()
    seen: list[dict] = []

    @app.post("/2010-04-01/Accounts/{account}/Calls.json")
    async def create_call(account: str, request: Request) -> JSONResponse:
        form = dict((await request.form()).items())
        auth = base64.b64decode(request.headers["authorization"].split()[1]).decode()
        seen.append({"account": account, "form": form, "auth": auth})
        if form["To"] == "+15005550001":  # Twilio's magic "invalid number"
            body = {
                "code": 21211,
                "message": "The 'To' number +15005550001 is not a valid phone number.",
                "more_info": "https://www.twilio.com/docs/errors/21211",
                "status": 400,
            }
            return JSONResponse(body, status_code=400)
        call = {
            "sid": "CA" + "2" * 32,
            "account_sid": account,
            "to": form["To"],
            "from": form["From"],
            "status": "queued",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{account}/Calls/CA{'2' * 32}.json",
        }
        return JSONResponse(call, status_code=201)

    return app, seen


def settings_for(base: str, tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        twilio_account_sid=SID,
        twilio_auth_token="token",
        twilio_from_number="+13125550100",
        public_url="https://agent.example.com",
        twilio_api_base_url=base.replace("ws://", "http://"),
    )


async def test_place_call_sends_what_twilio_expects(tmp_path):
    app, seen = stand_in()
    async with serve_app(app) as base:
        sid = await asyncio.to_thread(
            place_call,
            settings_for(base, tmp_path),
            to="+1 (312) 555-0142",
            agent_id="backbeam",
            context={"prospect_name": "Dana Whitfield"},
            machine_detection="DetectMessageEnd",
        )
    assert sid == "CA" + "2" * 32
    request = seen[0]
    assert request["account"] == SID and request["auth"] == f"{SID}:token"
    form = request["form"]
    assert (form["To"], form["From"], form["Method"]) == ("+13125550142", "+13125550100", "POST")
    assert form["MachineDetection"] == "DetectMessageEnd"
    status = urlparse(form["StatusCallback"])
    assert (status.netloc, status.path) == ("agent.example.com", "/telephony/twilio/status")
    assert form["StatusCallbackMethod"] == "POST" and form["AsyncAmd"] == "true"
    assert form["AsyncAmdStatusCallback"] == form["StatusCallback"]
    url = urlparse(form["Url"])
    assert (url.netloc, url.path) == ("agent.example.com", "/telephony/twilio/voice")
    assert parse_qs(url.query) == {"agent_id": ["backbeam"], "prospect_name": ["Dana Whitfield"]}


async def test_twilios_refusal_becomes_a_clear_error(tmp_path):
    app, _ = stand_in()
    async with serve_app(app) as base:
        with pytest.raises(TalkTrackError, match="21211|not a valid phone number"):
            await asyncio.to_thread(place_call, settings_for(base, tmp_path), to="+15005550001", agent_id="backbeam")


def test_bad_numbers_and_missing_settings_are_caught_before_any_request(tmp_path):
    with pytest.raises(ConfigError, match="E.164"):
        check_number("555-0142")
    with pytest.raises(ConfigError, match="TALKTRACK_TWILIO_ACCOUNT_SID"):
        place_call(Settings(data_dir=tmp_path), to="+13125550142", agent_id="backbeam")
    with pytest.raises(ConfigError, match="machine detection"):
        place_call(
            settings_for("http://127.0.0.1:9", tmp_path), to="+13125550142", agent_id="x", machine_detection="On"
        )
