"""The HTTP/WebSocket face of talktrack: built by ``create_app(settings)``; routes stay thin."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from fastapi import FastAPI, Request, Response, WebSocket
from loguru import logger

from talktrack.api.carriers import CallStatusBook, carrier_router
from talktrack.api.urls import public_url
from talktrack.api.webrtc import webrtc_router
from talktrack.calls.agent import CONTEXT_FIELDS, AgentDirectory, bundled_agent_dir, call_context
from talktrack.calls.engines import SpeechEngines
from talktrack.calls.record import CallLog
from talktrack.calls.session import CallSession
from talktrack.errors import TalkTrackError
from talktrack.settings import Settings
from talktrack.telephony import telnyx_stream, twilio_stream, twilio_webhook
from talktrack.telephony.line_transport import LineEndLike
from talktrack.telephony.media_stream import Dialect
from talktrack.telephony.simline import LineClosed
from talktrack.telephony.stream_line import StreamLine
from talktrack.telephony.telnyx_rest import CallControl
from talktrack.telephony.webrtc_line import WebRtcLine

STREAM_PATH = "/telephony/twilio/stream"
TELNYX_STREAM_PATH = "/telephony/telnyx/stream"


# Twilio's voice webhook fields passed on to the call: its direction ("inbound", "outbound-api") and the
# answering-machine verdict ("human", "machine_start", "machine_end_beep", "fax", …) when detection is on.
_TWILIO_CALL_FIELDS = {"Direction": "direction", "AnsweredBy": "answered_by"}


def create_app(settings: Settings | None = None, engines: SpeechEngines | None = None) -> FastAPI:
    """The ASGI app: carrier webhooks and media streams, the browser softphone (more join as the platform grows)."""
    settings = settings or Settings()
    app = FastAPI(title="talktrack", version="0.1.0")
    agents = AgentDirectory(settings.agents_dir or bundled_agent_dir().parent)
    state: dict[str, SpeechEngines] = {}
    # Finished calls by the call id a <Parameter> carried (the platform will keep these in its database).
    finished: dict[str, CallLog] = {}
    app.state.finished_calls = finished
    app.state.agents = agents

    def speech() -> SpeechEngines:
        if "engines" not in state:
            state["engines"] = engines or SpeechEngines.load(settings)
        return state["engines"]

    app.state.speech = speech

    @app.post("/telephony/twilio/voice")
    async def twilio_voice(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        url = public_url(settings, request)
        if settings.twilio_auth_token and not twilio_webhook.signature_ok(
            url, form, settings.twilio_auth_token, request.headers.get("X-Twilio-Signature")
        ):
            return Response("invalid Twilio signature", status_code=403)
        agent_id = request.query_params.get("agent_id", "backbeam")
        stream = public_url(settings, request, STREAM_PATH).replace("http", "ws", 1)
        params = {"agent_id": agent_id, **{k: v for k, v in request.query_params.items() if k in CONTEXT_FIELDS}}
        # Twilio says which way the call goes and, with machine detection on, who answered.
        params.update({key: form[name] for name, key in _TWILIO_CALL_FIELDS.items() if form.get(name)})
        twiml = twilio_webhook.connect_stream_twiml(stream, params)
        return Response(twiml, media_type="application/xml")

    async def run_call(agent_id: str, params: Mapping[str, str], line: LineEndLike, call_id: str, kind: str) -> None:
        """One call on an answered line: the agent, its context from the call's parameters, the record."""
        agent = agents.get(agent_id)
        # A prospect calling in (or on the browser softphone) is a person: only outbound calls are screened.
        inbound = kind == "webrtc" or params.get("direction") == "inbound"
        session = CallSession(
            agent,
            call_context(agent, params, f"{kind} parameters"),
            line,
            speech(),
            settings,
            screen=not inbound,
            answered_by=params.get("answered_by"),
        )
        await session.prepare()
        log = await session.run()
        session.save(settings.data_dir / "calls")
        finished[call_id] = log
        logger.info(f"{kind} call {call_id}: {log.outcome}")

    async def media_stream(ws: WebSocket, dialect: Dialect) -> None:
        await ws.accept()
        control = CallControl.from_settings(settings) if dialect is telnyx_stream and settings.telnyx_api_key else None
        line = StreamLine(ws, dialect, send_keys=control.send_dtmf if control else None)
        writer = asyncio.create_task(line.run())
        try:
            start = await line.accept()
            params = start.parameters
            call_id = params.get("call_id", start.call_id)
            await run_call(params.get("agent_id", "backbeam"), params, line, call_id, dialect.NAME)
        except LineClosed as exc:
            logger.info(f"{dialect.NAME} stream closed before the call started: {exc}")
        except TalkTrackError as exc:
            logger.warning(f"{dialect.NAME} stream refused: {exc.message}")
        finally:
            line.hangup()
            await writer
            if control:
                await control.aclose()

    @app.websocket(STREAM_PATH)
    async def twilio_media(ws: WebSocket) -> None:
        await media_stream(ws, twilio_stream)

    @app.websocket(TELNYX_STREAM_PATH)
    async def telnyx_media(ws: WebSocket) -> None:
        await media_stream(ws, telnyx_stream)

    async def webrtc_call(agent_id: str, line: WebRtcLine, call_id: str) -> None:
        try:
            await run_call(agent_id, line.parameters, line, call_id, "webrtc")
        except TalkTrackError as exc:
            logger.warning(f"webrtc call {call_id} refused: {exc.message}")

    app.include_router(
        webrtc_router(webrtc_call, agents_dir=agents.root, loopback_only=settings.webrtc_loopback_only)
    )
    app.state.carrier_calls = CallStatusBook()
    app.include_router(carrier_router(settings, app.state.carrier_calls))
    return app
