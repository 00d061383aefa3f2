"""`talktrack serve` and `talktrack call --transport sip`: the HTTP app and the SIP edge in one event loop."""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn

from talktrack.api.app import create_app
from talktrack.brain.context import CallContext
from talktrack.calls.agent import AgentDirectory, bundled_agent_dir, call_context
from talktrack.calls.engines import SpeechEngines
from talktrack.calls.sip_service import SipService, endpoint_from_settings, parse_hostport
from talktrack.errors import ConfigError
from talktrack.settings import Settings
from talktrack.telephony.sip_endpoint import SipCallFailed
from talktrack.tools.services import office_for


async def serve(settings: Settings, *, host: str, port: int) -> int:
    """Run the HTTP/WebSocket app, and the SIP listener when enabled, until interrupted."""
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info", ws_ping_interval=None))
    print(f"talktrack serve: http://{host}:{port}  softphone: http://{host}:{port}/softphone")
    print("  Twilio voice webhook: POST /telephony/twilio/voice   Telnyx webhook: POST /telephony/telnyx/webhook")
    await load_knowledge(settings, app.state.agents)
    if not settings.sip_enabled:
        await server.serve()
        return 0
    service = SipService(settings, app.state.agents, app.state.speech, app.state.finished_calls)
    try:
        await service.endpoint.start()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen for SIP on udp {settings.sip_host}:{settings.sip_port}: {exc.strerror}",
            fix="set TALKTRACK_SIP_PORT to a free port, or pass --no-sip",
        ) from None
    where = f"{settings.sip_host}:{service.endpoint.port}"
    print(f"  SIP: udp {where} (call sip:<agent>@{where})")
    if settings.sip_register and settings.sip_trunk:
        host, port = parse_hostport(settings.sip_trunk)
        try:
            expires = await service.endpoint.register(f"sip:{host}:{port}")
            print(f"  registered with {host}:{port} for {expires} s (renewed before it runs out)")
        except SipCallFailed as exc:
            await service.endpoint.aclose()
            raise ConfigError(exc.message, fix="check TALKTRACK_SIP_TRUNK and the SIP credentials") from None
    sip = asyncio.create_task(service.serve())
    try:
        await server.serve()
    finally:
        sip.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sip
        await service.aclose()
        await service.endpoint.aclose()
    return 0


async def load_knowledge(settings: Settings, agents: AgentDirectory) -> None:
    """Ingest every agent's documents before the first call, off the event loop."""
    office = office_for(settings)
    for agent_id in agents.ids():
        agent = agents.get(agent_id)
        found = await asyncio.to_thread(office.knowledge_for, agent_id, agent.playbook, agent.path / "knowledge")
        if found is not None:
            print(f"  knowledge: agent {agent_id}: {len(found.answerer.kb.documents())} documents")


async def call_over_sip(settings: Settings, *, to: str, agent_id: str, context: dict[str, str]) -> int:
    """Place one SIP call with an agent and print how it went."""
    agents = AgentDirectory(settings.agents_dir or bundled_agent_dir().parent)
    agent = agents.get(agent_id)
    ctx: CallContext = call_context(agent, context, "command line")
    endpoint = endpoint_from_settings(settings, port=0)
    engines: list[SpeechEngines] = []

    def speech() -> SpeechEngines:
        if not engines:
            engines.append(SpeechEngines.load(settings))
        return engines[0]

    service = SipService(settings, agents, speech, {}, endpoint=endpoint)
    target, _ = service.target(to)  # bad numbers fail before any model loads
    speech()
    await endpoint.start()
    try:
        print(f"calling {target} from udp {endpoint.host}:{endpoint.port} ...", flush=True)
        log = await service.place_call(to, agent_id, ctx)
    finally:
        await endpoint.aclose()
    print(f"call {log.call_id}: {log.outcome}; record in {settings.data_dir / 'calls'}")
    for line in log.transcript:
        print(f"  {line['role']:>8}: {line['text']}")
    return 0
