"""The scripted prospect over a real WebRTC call: it plays the browser softphone's side.

``simulate_webrtc_call`` offers audio to the app's ``POST /webrtc/offer`` as a browser would (aiortc),
plays a scenario through the connection and returns the agent's record with the caller's measurements,
so the latency benchmark can compare WebRTC with the simulated line and the carrier media streams.
"""

from __future__ import annotations

import asyncio
from dataclasses import fields

from fastapi import FastAPI

from talktrack.api.webrtc import OFFER_PATH
from talktrack.brain.context import CallContext
from talktrack.calls.record import CallLog
from talktrack.telephony.webrtc_line import WebRtcCallerLine, http_signal
from talktrack.testing.caller import CallerReport, ScriptedCaller
from talktrack.testing.scenario import Scenario
from talktrack.testing.voices import prospect_voice


def http_base(base_url: str) -> str:
    """``serve_app`` yields a ws:// base URL; the offer goes over plain HTTP to the same server."""
    return base_url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)


async def simulate_webrtc_call(
    app: FastAPI,
    base_url: str,
    agent_id: str,
    context: CallContext,
    scenario: Scenario,
    *,
    loopback_only: bool = True,
) -> tuple[CallLog | None, CallerReport, ScriptedCaller]:
    """One call through the app's WebRTC endpoint; returns the agent's record and the caller's."""
    params = {f.name: str(getattr(context, f.name)) for f in fields(context) if f.name != "extra"}
    reply: dict[str, object] = {}
    signal = http_signal(http_base(base_url) + OFFER_PATH, {"agent_id": agent_id, "parameters": params}, reply=reply)
    line = WebRtcCallerLine(loopback_only=loopback_only)
    caller = ScriptedCaller(scenario, line, prospect_voice(scenario.voice))
    try:
        # Synthesize before dialing: once connected, the agent's listen-first clock is running.
        await asyncio.to_thread(caller.prepare)
        await line.connect(signal)
        report = await caller.run()
    finally:
        await line.aclose()
    call_id = str(reply.get("call_id", ""))
    finished: dict[str, CallLog] = app.state.finished_calls
    for _ in range(200):  # the server saves the record once it notices the hang-up
        if call_id in finished:
            break
        await asyncio.sleep(0.05)
    return finished.get(call_id), report, caller
