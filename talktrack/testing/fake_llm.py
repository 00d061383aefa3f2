"""A local HTTP server that speaks the OpenAI chat-completions wire format, replying from a script.

Each request takes the next scripted response. A response is a sequence of steps::

    async with FakeLlmServer() as llm:
        llm.script(tool_call("check_availability", {"when": "next tuesday"}))
        llm.script(text("Sure thing, ", "Tuesday at ten works.", delay=0.5))
        client = AsyncOpenAI(base_url=llm.base_url, api_key="test")

Streamed responses are ``text/event-stream`` chunks in OpenAI's shape (text split into word pieces,
tool-call arguments split over several chunks), then ``data: [DONE]``. ``stall`` waits, ``http_error``
answers with an error status (or an error event once streaming has begun) and ``garbage`` sends a
malformed event. Every request body is kept in ``requests``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Text:
    """Assistant text; each part is streamed word by word, ``delay`` seconds apart from the next part."""

    parts: tuple[str, ...]
    delay: float = 0.0


@dataclass(frozen=True)
class ToolCall:
    """One function call; its JSON arguments arrive in ``pieces`` chunks."""

    name: str
    arguments: str
    id: str
    pieces: int = 3


@dataclass(frozen=True)
class Stall:
    """Send nothing for ``seconds`` (before the headers when it is the first step)."""

    seconds: float


@dataclass(frozen=True)
class HttpError:
    """An error status with an OpenAI error body."""

    status: int
    message: str


@dataclass(frozen=True)
class Garbage:
    """A server-sent event whose data is not JSON."""

    data: str = '{"id": "chatcmpl-broken", "choices": [{"delta": {"content": "Hel'


Step = Text | ToolCall | Stall | HttpError | Garbage


def text(*parts: str, delay: float = 0.0) -> Text:
    """Assistant text streamed in parts, ``delay`` seconds between parts."""
    return Text(parts, delay)


def tool_call(
    name: str, arguments: Mapping[str, Any] | str | None = None, *, id: str = "", pieces: int = 3
) -> ToolCall:
    """A tool call; ``arguments`` is a mapping or raw JSON text."""
    raw = arguments if isinstance(arguments, str) else json.dumps(dict(arguments or {}))
    return ToolCall(name, raw, id or f"call_{uuid.uuid4().hex[:12]}", max(1, pieces))


def stall(seconds: float) -> Stall:
    """A pause of ``seconds`` with nothing sent."""
    return Stall(seconds)


def http_error(status: int = 500, message: str = "The server had an error while processing your request.") -> HttpError:
    """An HTTP error response."""
    return HttpError(status, message)


def garbage() -> Garbage:
    """A malformed server-sent event."""
    return Garbage()


class FakeLlmServer:
    """An OpenAI-compatible endpoint on 127.0.0.1 that answers from a queue of scripted responses."""

    def __init__(self, *, model: str = "fake-model", host: str = "127.0.0.1", port: int = 0) -> None:
        self.model = model
        self.host = host
        self.port = port
        self.requests: list[dict[str, Any]] = []
        self._scripts: deque[tuple[Step, ...]] = deque()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give an OpenAI client."""
        return f"http://{self.host}:{self.port}/v1"

    def script(self, *steps: Step) -> None:
        """Queue the response to the next request that has none yet."""
        self._scripts.append(steps)

    @property
    def pending(self) -> int:
        """Scripted responses not yet served."""
        return len(self._scripts)

    async def start(self) -> None:
        """Listen on ``host`` and a free port (or ``port``)."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop listening; stalled responses end at once."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeLlmServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        self.requests.append(body)
        if not self._scripts:
            return _error(500, f"FakeLlmServer: no scripted response left for request {len(self.requests)}.")
        steps = self._scripts.popleft()
        if body.get("stream"):
            return await self._stream(request, steps)
        return await self._complete(steps)

    async def _complete(self, steps: tuple[Step, ...]) -> web.StreamResponse:
        content = ""
        calls: list[dict[str, Any]] = []
        for step in steps:
            if isinstance(step, Stall):
                await self._sleep(step.seconds)
            elif isinstance(step, HttpError):
                return _error(step.status, step.message)
            elif isinstance(step, Garbage):
                return web.Response(text=step.data, content_type="application/json")
            elif isinstance(step, Text):
                content += "".join(step.parts)
            else:
                calls.append(_wire_call(step))
        message: dict[str, Any] = {"role": "assistant", "content": content or None}
        if calls:
            message["tool_calls"] = calls
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": _finish(steps)}
        body = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [choice],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }
        return web.json_response(body)

    async def _stream(self, request: web.Request, steps: tuple[Step, ...]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        chunk_id = f"chatcmpl-{uuid.uuid4().hex[:16]}"
        tool_index = 0

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            body = {"id": chunk_id, "object": "chat.completion.chunk", "created": int(time.time())}
            return json.dumps(body | {"model": self.model, "choices": [choice]})

        async def write(data: str) -> None:
            if not response.prepared:
                await response.prepare(request)
                await response.write(f"data: {chunk({'role': 'assistant', 'content': ''})}\n\n".encode())
            await response.write(f"data: {data}\n\n".encode())

        async def send(delta: dict[str, Any], finish: str | None = None) -> None:
            await write(chunk(delta, finish))

        try:
            for step in steps:
                if isinstance(step, Stall):
                    await self._sleep(step.seconds)
                elif isinstance(step, HttpError):
                    if not response.prepared:
                        return _error(step.status, step.message)
                    await write(json.dumps({"error": _error_body(step.status, step.message)}))
                    return response
                elif isinstance(step, Garbage):
                    await write(step.data)
                elif isinstance(step, Text):
                    for n, part in enumerate(step.parts):
                        if n and step.delay:
                            await self._sleep(step.delay)
                        for piece in re.findall(r"\s*\S+\s*|\s+", part):
                            await send({"content": piece})
                else:
                    head = {"index": tool_index, "id": step.id, "type": "function"}
                    await send({"tool_calls": [head | {"function": {"name": step.name, "arguments": ""}}]})
                    for piece in _pieces(step.arguments, step.pieces):
                        await send({"tool_calls": [{"index": tool_index, "function": {"arguments": piece}}]})
                    tool_index += 1
            await send({}, _finish(steps))
            await write("[DONE]")
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client hung up, as a timed-out client does
        return response

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            pass


def _wire_call(step: ToolCall) -> dict[str, Any]:
    return {"id": step.id, "type": "function", "function": {"name": step.name, "arguments": step.arguments}}


def _pieces(text: str, count: int) -> list[str]:
    size = max(1, -(-len(text) // count))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _finish(steps: tuple[Step, ...]) -> str:
    return "tool_calls" if any(isinstance(s, ToolCall) for s in steps) else "stop"


def _error_body(status: int, message: str) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"message": message, "type": kind, "param": None, "code": None}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": _error_body(status, message)}, status=status)
