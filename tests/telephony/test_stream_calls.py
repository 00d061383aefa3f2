"""Whole calls through the media-stream endpoints: uvicorn on loopback, the prospect plays the carrier."""

from __future__ import annotations

import json

import pytest
import websockets

from talktrack.api.app import create_app
from talktrack.calls.agent import Agent, bundled_agent_dir
from talktrack.demo import bundled_scenario, local_office
from talktrack.testing.scenario import load_scenario
from talktrack.testing.stream_harness import serve_app, simulate_stream_call

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("carrier", ["twilio", "telnyx"])
async def test_demo_call_over_a_carrier_media_stream(carrier, engines, settings):
    agent = Agent.load(bundled_agent_dir())
    scenario = load_scenario(bundled_scenario("demo"))
    async with local_office(settings) as office_settings:
        app = create_app(office_settings, engines)
        async with serve_app(app) as base:
            log, report, caller = await simulate_stream_call(
                app, base, "backbeam", agent.default_context(), scenario, carrier=carrier
            )
    assert report.failures == []
    assert log is not None and log.outcome == "meeting_booked"
    assert report.hung_up_by == "agent"
    assert len(report.v2v_ms) >= 8
    # The barge-in made the agent send the carrier a `clear`.
    assert caller.line.cleared >= 1  # type: ignore[attr-defined]
    assert report.bargein_ms and report.bargein_ms[0] < 1000
    assert (settings.data_dir / "calls" / f"{log.call_id}.wav").exists()


async def test_junk_frames_are_dropped_and_the_call_goes_on(engines, settings):
    app = create_app(settings, engines)
    async with serve_app(app) as base, websockets.connect(f"{base}/telephony/twilio/stream") as ws:
        await ws.send('{"event": "connected", "protocol": "Call", "version": "1.0.0"}')
        await ws.send("this is not json")
        await ws.send(json.dumps({"event": "media", "media": {"payload": "@@@"}}))
        start = {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": "MZ1",
            "start": {
                "streamSid": "MZ1",
                "callSid": "CA1",
                "accountSid": "AC1",
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": {"agent_id": "backbeam"},
            },
        }
        await ws.send(json.dumps(start))
        await ws.send('{"event": "dance"}')
        # Nobody says hello: after the listen-first wait the agent speaks its hello line over the stream.
        got_media = False
        for _ in range(400):
            msg = json.loads(await ws.recv())
            if msg["event"] == "media":
                got_media = True
                break
        assert got_media
        await ws.send(json.dumps({"event": "stop", "streamSid": "MZ1", "stop": {"callSid": "CA1"}}))


async def test_unknown_agent_closes_the_stream(engines, settings):
    app = create_app(settings, engines)
    async with serve_app(app) as base, websockets.connect(f"{base}/telephony/twilio/stream") as ws:
        start = {
            "event": "start",
            "streamSid": "MZ2",
            "start": {
                "streamSid": "MZ2",
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": {"agent_id": "../../etc"},
            },
        }
        await ws.send(json.dumps(start))
        with pytest.raises(websockets.ConnectionClosed):
            for _ in range(50):
                await ws.recv()
