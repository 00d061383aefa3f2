"""The scripted prospect over a real carrier media-stream WebSocket: it plays Twilio's or Telnyx's side.

``serve_app`` runs talktrack's ASGI app with uvicorn on a loopback port in this event loop;
``simulate_stream_call`` dials its ``/telephony/<carrier>/stream`` as the carrier would once the call
is answered, and plays a scenario through it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import fields

import uvicorn
import websockets
from fastapi import FastAPI

from talktrack.brain.context import CallContext
from talktrack.calls.record import CallLog
from talktrack.telephony import telnyx_stream, twilio_stream
from talktrack.telephony.media_stream import Dialect
from talktrack.telephony.simline import LineConditions
from talktrack.telephony.stream_line import CarrierSideLine
from talktrack.testing.caller import CallerReport, ScriptedCaller
from talktrack.testing.scenario import Scenario
from talktrack.testing.voices import prospect_voice

CARRIERS: dict[str, Dialect] = {"twilio": twilio_stream, "telnyx": telnyx_stream}


class _ClientSocket:
    """`websockets` client connection with the receive_text/send_text/close face of Starlette's."""

    def __init__(self, conn: websockets.ClientConnection) -> None:
        self._conn = conn

    async def receive_text(self) -> str:
        data = await self._conn.recv()
        return data if isinstance(data, str) else data.decode("utf-8")

    async def send_text(self, data: str) -> None:
        await self._conn.send(data)

    async def close(self) -> None:
        await self._conn.close()


@asynccontextmanager
async def serve_app(app: FastAPI, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yields its ws:// base URL."""
    config = uvicorn.Config(app, host=host, port=0, log_level="warning", lifespan="off", ws_ping_interval=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"ws://{host}:{port}"
    finally:
        server.should_exit = True
        await task


async def simulate_stream_call(
    app: FastAPI,
    base_url: str,
    agent_id: str,
    context: CallContext,
    scenario: Scenario,
    *,
    carrier: str = "twilio",
    conditions: LineConditions | None = None,
) -> tuple[CallLog | None, CallerReport, ScriptedCaller]:
    """One call through the app's media stream for ``carrier``; returns the agent's record and the caller's."""
    dialect = CARRIERS[carrier]
    call_id = uuid.uuid4().hex[:12]
    params = {"agent_id": agent_id, "call_id": call_id}
    params.update({f.name: str(getattr(context, f.name)) for f in fields(context) if f.name != "extra"})
    async with websockets.connect(f"{base_url}/telephony/{carrier}/stream", max_size=None) as conn:
        line = CarrierSideLine(_ClientSocket(conn), dialect, parameters=params, conditions=conditions)
        caller = ScriptedCaller(scenario, line, prospect_voice(scenario.voice))
        await asyncio.to_thread(caller.prepare)
        await line.open()
        wire = asyncio.create_task(line.run())
        report = await caller.run()
        line.hangup()
        await wire
    finished: dict[str, CallLog] = app.state.finished_calls
    for _ in range(100):  # the server saves the record just after the socket closes
        if call_id in finished:
            break
        await asyncio.sleep(0.05)
    return finished.get(call_id), report, caller
