"""The browser softphone's routes: the page, the agent list and the WebRTC offer/answer exchange.

``POST /webrtc/offer`` answers a browser's SDP offer with the agent's line (see
:mod:`talktrack.telephony.webrtc_line`) and starts the call as a task this router owns; the app's
``run_call`` does the rest, so the routes stay thin. Every line is closed when its call ends, however
it ends, and live calls are hung up when the app shuts down.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from loguru import logger
from pydantic import BaseModel, Field, ValidationError

from talktrack.calls.agent import AgentDirectory
from talktrack.telephony.webrtc_line import MEDIA_TIMEOUT_S, OfferError, WebRtcLine, answer_offer

OFFER_PATH = "/webrtc/offer"
# Runs one call on the line to its end: (agent id, line, call id).
RunCall = Callable[[str, WebRtcLine, str], Awaitable[None]]
_AGENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_MAX_SDP = 64 * 1024


class OfferRequest(BaseModel):
    """What the softphone posts: its SDP offer, the agent to call and optional call parameters."""

    sdp: str = Field(max_length=_MAX_SDP)
    type: str
    agent_id: str = Field(max_length=64)
    # Custom parameters, like a media stream's <Parameter>s (prospect_name, company, ...).
    parameters: dict[str, str] = Field(default_factory=dict, max_length=32)


def softphone_page() -> str:
    """The softphone page (one self-contained HTML file)."""
    return resources.files("talktrack.api").joinpath("static", "softphone.html").read_text(encoding="utf-8")


def _error(status: int, message: str, fix: str) -> JSONResponse:
    return JSONResponse({"error": message, "fix": fix}, status_code=status)


def webrtc_router(
    run_call: RunCall,
    *,
    agents_dir: Path,
    loopback_only: bool = False,
    media_timeout_s: float = MEDIA_TIMEOUT_S,
) -> APIRouter:
    """Routes for the softphone; ``loopback_only`` keeps ICE on 127.0.0.1 (tests in a network namespace)."""
    calls: dict[str, asyncio.Task[None]] = {}

    async def hang_up_all() -> None:
        live = list(calls.values())
        for task in live:
            task.cancel()
        await asyncio.gather(*live, return_exceptions=True)

    router = APIRouter(on_shutdown=[hang_up_all])

    async def call(agent_id: str, line: WebRtcLine, call_id: str) -> None:
        try:
            await run_call(agent_id, line, call_id)
        except Exception:  # one failed call must not take the server down; the line closes below
            logger.exception(f"webrtc call {call_id} ({agent_id}) failed")
        finally:
            await line.aclose()
            calls.pop(call_id, None)

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    @router.get("/softphone", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        return HTMLResponse(softphone_page())

    @router.get("/webrtc/agents")
    async def agents() -> list[str]:
        return AgentDirectory(agents_dir).ids()

    @router.post(OFFER_PATH, response_model=None)
    async def offer(request: Request) -> JSONResponse | dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the request body is not JSON", 'post {"sdp": ..., "type": "offer", "agent_id": ...}')
        try:
            wanted = OfferRequest.model_validate(body)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
            return _error(400, f"bad offer request: {problems}", 'post {"sdp": ..., "type": "offer", "agent_id": ...}')
        if not _AGENT_ID.match(wanted.agent_id):
            return _error(400, f"agent id {wanted.agent_id!r} is not a plain name", "use a name from /webrtc/agents")
        if wanted.agent_id not in AgentDirectory(agents_dir).ids():
            return _error(404, f"no agent {wanted.agent_id!r}", "use a name from /webrtc/agents")
        try:
            line, answer = await answer_offer(
                wanted.sdp,
                wanted.type,
                loopback_only=loopback_only,
                media_timeout_s=media_timeout_s,
                parameters=wanted.parameters,
            )
        except OfferError as exc:
            return _error(400, f"bad SDP offer: {exc}", "send the browser's RTCPeerConnection offer with audio")
        call_id = uuid.uuid4().hex[:12]
        calls[call_id] = asyncio.create_task(call(wanted.agent_id, line, call_id))
        logger.info(f"webrtc call {call_id}: agent {wanted.agent_id} answered")
        return {"sdp": answer, "type": "answer", "call_id": call_id}

    return router
