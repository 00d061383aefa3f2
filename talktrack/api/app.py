"""The HTTP/WebSocket face of talktrack: built by ``create_app(settings)``; routes stay thin."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from fastapi import FastAPI, Request, Response, WebSocket
from loguru import logger

from talktrack.brain.context import CallContext
from talktrack.calls.agent import Agent, bundled_agent_dir
from talktrack.calls.engines import SpeechEngines
from talktrack.calls.record import CallLog
from talktrack.calls.session import CallSession
from talktrack.errors import ConfigError, TalkTrackError
from talktrack.settings import Settings
from talktrack.telephony import telnyx_stream, twilio_stream, twilio_webhook
from talktrack.telephony.media_stream import Dialect
from talktrack.telephony.simline import LineClosed
from talktrack.telephony.stream_line import StreamLine

STREAM_PATH = "/telephony/twilio/stream"
TELNYX_STREAM_PATH = "/telephony/telnyx/stream"
# Context fields a TwiML <Parameter> may carry.
_CONTEXT_FIELDS = ("prospect_name", "company", "history", "goal", "language", "timezone", "phone")


class Agents:
    """Agent folders by id, loaded once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._loaded: dict[str, Agent] = {}

    def get(self, agent_id: str) -> Agent:
        """The agent of that id; ConfigError when there is none."""
        if agent_id not in self._loaded:
            folder = (self.root / agent_id).resolve()
            if folder.parent != self.root.resolve():
                raise ConfigError(f"agent id {agent_id!r} is not a plain name", fix="use the agent folder's name")
            self._loaded[agent_id] = Agent.load(folder)
        return self._loaded[agent_id]


def create_app(settings: Settings | None = None, engines: SpeechEngines | None = None) -> FastAPI:
    """The ASGI app: Twilio webhook + media stream (more routes join as the platform grows)."""
    settings = settings or Settings()
    app = FastAPI(title="talktrack", version="0.1.0")
    agents = Agents(settings.agents_dir or bundled_agent_dir().parent)
    state: dict[str, SpeechEngines] = {}
    # Finished calls by the call id a <Parameter> carried (the platform will keep these in its database).
    finished: dict[str, CallLog] = {}
    app.state.finished_calls = finished

    def speech() -> SpeechEngines:
        if "engines" not in state:
            state["engines"] = engines or SpeechEngines.load(settings)
        return state["engines"]

    @app.post("/telephony/twilio/voice")
    async def twilio_voice(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        url = _public_url(settings, request)
        if settings.twilio_auth_token and not twilio_webhook.signature_ok(
            url, form, settings.twilio_auth_token, request.headers.get("X-Twilio-Signature")
        ):
            return Response("invalid Twilio signature", status_code=403)
        agent_id = request.query_params.get("agent_id", "backbeam")
        stream = _public_url(settings, request, STREAM_PATH).replace("http", "ws", 1)
        params = {"agent_id": agent_id, **{k: v for k, v in request.query_params.items() if k in _CONTEXT_FIELDS}}
        twiml = twilio_webhook.connect_stream_twiml(stream, params)
        return Response(twiml, media_type="application/xml")

    async def media_stream(ws: WebSocket, dialect: Dialect) -> None:
        await ws.accept()
        line = StreamLine(ws, dialect)
        writer = asyncio.create_task(line.run())
        try:
            start = await line.accept()
            params = start.parameters
            agent = agents.get(params.get("agent_id", "backbeam"))
            context = _context(agent, params)
            session = CallSession(agent, context, line, speech(), settings)
            await session.prepare()
            log = await session.run()
            session.save(settings.data_dir / "calls")
            finished[params.get("call_id", log.call_id)] = log
            logger.info(f"{dialect.NAME} call {start.call_id}: {log.outcome}")
        except LineClosed as exc:
            logger.info(f"{dialect.NAME} stream closed before the call started: {exc}")
        except TalkTrackError as exc:
            logger.warning(f"{dialect.NAME} stream refused: {exc.message}")
        finally:
            line.hangup()
            await writer

    @app.websocket(STREAM_PATH)
    async def twilio_media(ws: WebSocket) -> None:
        await media_stream(ws, twilio_stream)

    @app.websocket(TELNYX_STREAM_PATH)
    async def telnyx_media(ws: WebSocket) -> None:
        await media_stream(ws, telnyx_stream)

    return app


def _context(agent: Agent, params: Mapping[str, str]) -> CallContext:
    base = agent.default_context()
    given = {k: v for k, v in params.items() if k in _CONTEXT_FIELDS and v}
    if base is None:
        return CallContext.from_mapping(given, source="stream parameters")
    merged = {**{f: getattr(base, f) for f in _CONTEXT_FIELDS}, **given}
    return CallContext.from_mapping({**merged, "extra": dict(base.extra)}, source="stream parameters")


def _public_url(settings: Settings, request: Request, path: str | None = None) -> str:
    """The URL as Twilio sees it: ``path`` alone, or this request's path and query (what Twilio signs)."""
    url = request.url if path is None else request.url.replace(path=path, query="")
    if not settings.public_url:
        return str(url)
    query = f"?{url.query}" if url.query else ""
    return settings.public_url.rstrip("/") + url.path + query
