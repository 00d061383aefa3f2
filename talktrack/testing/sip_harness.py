"""The scripted prospect over real SIP/RTP: a talktrack SIP service on loopback, the prospect as a SIP phone.

``serve_sip`` runs a :class:`SipService` on a free UDP port in this event loop; ``simulate_sip_call``
dials it from a second endpoint (the prospect's phone) and plays a scenario through the call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from talktrack.calls.agent import AgentDirectory, bundled_agent_dir
from talktrack.calls.engines import SpeechEngines
from talktrack.calls.record import CallLog
from talktrack.calls.sip_service import SipService
from talktrack.settings import Settings
from talktrack.telephony.sip_endpoint import SipEndpoint
from talktrack.testing.caller import CallerReport, ScriptedCaller
from talktrack.testing.scenario import Scenario
from talktrack.testing.voices import prospect_voice


@asynccontextmanager
async def serve_sip(settings: Settings, engines: SpeechEngines, host: str = "127.0.0.1") -> AsyncIterator[SipService]:
    """A SIP service answering with the configured agents on a free loopback port."""
    agents = AgentDirectory(settings.agents_dir or bundled_agent_dir().parent)
    endpoint = SipEndpoint(host=host, port=0)
    service = SipService(settings, agents, lambda: engines, {}, endpoint=endpoint)
    await endpoint.start()
    task = asyncio.create_task(service.serve())
    try:
        yield service
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await service.aclose()
        await endpoint.aclose()


async def simulate_sip_call(
    service: SipService, scenario: Scenario, *, called_user: str = "agent"
) -> tuple[CallLog | None, CallerReport, ScriptedCaller]:
    """One call from a prospect's SIP phone to ``service``; returns the agent's record and the caller's."""
    target = f"sip:{called_user}@{service.endpoint.host}:{service.endpoint.port}"
    async with SipEndpoint(host=service.endpoint.host, port=0, user="prospect") as phone:
        call = await phone.dial(target)
        caller = ScriptedCaller(scenario, call, prospect_voice(scenario.voice))
        await asyncio.gather(asyncio.to_thread(caller.prepare), phone.wait_answer(call, ring_s=30.0))
        report = await caller.run()
        call.hangup()
    for _ in range(100):  # the service saves the record just after the BYE
        if call.call_id in service.finished:
            break
        await asyncio.sleep(0.05)
    return service.finished.get(call.call_id), report, caller
