"""Calls over our SIP edge: inbound calls routed to agents by the number dialled, outbound calls via a trunk.

The opener is synthesized while the phone rings (inbound: between 180 Ringing and 200 OK, at most
a moment; outbound: while the prospect's phone rings).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from loguru import logger

from talktrack.brain.context import CallContext
from talktrack.calls.agent import Agent, AgentDirectory, call_context, parse_routes, routed_agent_id
from talktrack.calls.engines import SpeechEngines
from talktrack.calls.record import CallLog
from talktrack.calls.session import CallSession
from talktrack.errors import ConfigError, TalkTrackError
from talktrack.settings import Settings
from talktrack.telephony.sip import Credentials
from talktrack.telephony.sip_endpoint import SipCall, SipCallFailed, SipEndpoint


def parse_hostport(text: str, default_port: int = 5060) -> tuple[str, int]:
    """``"host[:port]"`` → (host, port); ConfigError on junk."""
    host, _, port = text.strip().removeprefix("sip:").partition(":")
    try:
        number = int(port) if port else default_port
    except ValueError:
        number = -1
    if not host or not 0 < number < 65536:
        raise ConfigError(f"{text!r} is not host[:port]", fix="write the trunk like sip.example.com:5060")
    return host, number


def endpoint_from_settings(settings: Settings, *, port: int | None = None) -> SipEndpoint:
    """A SIP endpoint configured from settings (``port`` overrides the listening port; 0 = any)."""
    credentials = None
    if settings.sip_username:
        credentials = Credentials(username=settings.sip_username, password=settings.sip_password or "")
    return SipEndpoint(
        host=settings.sip_host,
        port=settings.sip_port if port is None else port,
        public_host=settings.sip_public_host,
        user=settings.sip_caller_id,
        credentials=credentials,
    )


class SipService:
    """Answers SIP calls with the routed agent, and places calls through the trunk."""

    def __init__(
        self,
        settings: Settings,
        agents: AgentDirectory,
        speech: Callable[[], SpeechEngines],
        finished: dict[str, CallLog],
        endpoint: SipEndpoint | None = None,
    ) -> None:
        self.settings = settings
        self.agents = agents
        self.speech = speech
        self.finished = finished
        self.endpoint = endpoint or endpoint_from_settings(settings)
        self.routes = parse_routes(settings.agent_routes)
        self._calls: set[asyncio.Task[None]] = set()

    async def serve(self) -> None:
        """Answer inbound calls until cancelled."""
        while True:
            call = await self.endpoint.incoming.get()
            task = asyncio.create_task(self._inbound(call), name=f"sip-call-{call.call_id}")
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)

    async def aclose(self) -> None:
        """Hang up live calls and wait for their records."""
        for task in list(self._calls):
            task.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)

    def route(self, call: SipCall) -> Agent | None:
        """The agent for the called user, or None (the call gets 404)."""
        user = call.request_uri.user if call.request_uri and call.request_uri.user else ""
        agent_id = routed_agent_id(self.routes, self.settings.default_agent, user)
        if not agent_id:
            return None
        try:
            return self.agents.get(agent_id)
        except TalkTrackError as exc:
            logger.warning(f"sip {call.call_id}: agent {agent_id!r} for {user!r}: {exc.message}")
            return None

    async def _inbound(self, call: SipCall) -> None:
        agent = self.route(call)
        if agent is None:
            call.reject(404)
            return
        phone = call.from_uri.user if call.from_uri and call.from_uri.user else ""
        context = call_context(agent, {"phone": phone} if phone.startswith("+") else {}, "SIP call")
        call.ringing()
        try:
            # Whoever calls in is a person: no screening for voicemail or menus.
            session = CallSession(agent, context, call, self.speech(), self.settings, screen=False)
            await session.prepare()
            if call.ended.is_set():
                logger.info(f"sip {call.call_id}: caller hung up while ringing")
                return
            call.answer()
        except SipCallFailed:
            return  # no common codec: answered 488
        except Exception:
            # An unanswered INVITE must get a final response, whatever went wrong here.
            logger.exception(f"sip {call.call_id}: could not start the agent; answering 500")
            call.reject(500)
            return
        await self._run(session, call.call_id)

    async def place_call(self, to: str, agent_id: str, context: CallContext | None = None) -> CallLog:
        """Dial ``to`` (a SIP URI, or a number sent to the trunk), run the call, return its record."""
        agent = self.agents.get(agent_id)
        context = context or call_context(agent, {}, "SIP call")
        target, proxy = self.target(to)
        call = await self.endpoint.dial(target, proxy=proxy)
        session = CallSession(agent, context, call, self.speech(), self.settings)
        await asyncio.gather(session.prepare(), self.endpoint.wait_answer(call))
        return await self._run(session, call.call_id)

    def target(self, to: str) -> tuple[str, tuple[str, int] | None]:
        """The Request-URI for ``to`` and the trunk to send it through (None: straight to the URI's host)."""
        trunk = parse_hostport(self.settings.sip_trunk) if self.settings.sip_trunk else None
        if to.startswith(("sip:", "sips:")):
            return to, trunk
        if trunk is None:
            raise ConfigError(
                f"{to!r} is a number but no SIP trunk is set",
                fix="set TALKTRACK_SIP_TRUNK=host:port, or dial a SIP URI (sip:user@host)",
            )
        number = to.strip()
        if not number.lstrip("+").isdigit():
            raise ConfigError(f"{to!r} is not a phone number or SIP URI", fix="use E.164 (+13125550142) or sip:…")
        return f"sip:{number}@{trunk[0]}:{trunk[1]}", trunk

    async def _run(self, session: CallSession, call_id: str) -> CallLog:
        log = await session.run()
        try:
            session.save(self.settings.data_dir / "calls")
        except OSError as exc:
            logger.error(f"sip {call_id}: could not save the record: {exc}")
        self.finished[call_id] = log
        logger.info(f"sip call {call_id}: {log.outcome}")
        return log

