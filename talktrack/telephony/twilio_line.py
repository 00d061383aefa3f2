"""Line ends over a Twilio Media Streams WebSocket: ours (the agent's) and Twilio's (for the simulator).

Both present the same face as the simulated line (``send``/``recv``/``clear``/``hangup`` on 20 ms
μ-law frames), so a CallSession and the scripted prospect run on them unchanged. Each owns one
writer task that drains an outgoing queue, so ``send`` never blocks the audio path; ``run()``
runs it and returns when the line hangs up.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
from typing import Protocol

from loguru import logger

from talktrack.telephony import twilio_stream as tw
from talktrack.telephony.simline import Direction, LineClosed, LineConditions


class TextSocket(Protocol):
    """The part of a WebSocket the lines use (Starlette's and `websockets`' both fit via adapters)."""

    async def receive_text(self) -> str: ...
    async def send_text(self, data: str) -> None: ...
    async def close(self) -> None: ...


class _Writer:
    """An outgoing message queue drained by one task; ``None`` closes the socket."""

    def __init__(self, ws: TextSocket) -> None:
        self._ws = ws
        # (is it audio, the JSON text); None closes the socket.
        self._queue: asyncio.Queue[tuple[bool, str] | None] = asyncio.Queue()
        self.closed = False

    def put(self, message: str, *, audio: bool = False) -> None:
        if self.closed:
            raise LineClosed
        self._queue.put_nowait((audio, message))

    def drop_media(self) -> int:
        """Remove queued audio messages (they were never sent); returns how many."""
        kept: list[tuple[bool, str] | None] = []
        dropped = 0
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None and item[0]:
                dropped += 1
            else:
                kept.append(item)
        for item in kept:
            self._queue.put_nowait(item)
        return dropped

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)

    async def run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                await self._ws.close()
                return
            try:
                await self._ws.send_text(item[1])
            except Exception as exc:  # the peer went away mid-call: the line is down
                logger.info(f"twilio stream: send failed ({exc.__class__.__name__}); line closed")
                self.closed = True
                return


class TwilioLine:
    """The agent's end of a Twilio Media Stream (bidirectional ``<Connect><Stream>``)."""

    def __init__(self, ws: TextSocket) -> None:
        self._ws = ws
        self._writer = _Writer(ws)
        self.start: tw.Start | None = None
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        self.marks: list[str] = []
        self.protocol_errors = 0
        self._closed = False

    @property
    def stream_sid(self) -> str:
        """The stream id Twilio gave in ``start``."""
        return self.start.stream_sid if self.start else ""

    async def accept(self) -> tw.Start:
        """Read ``connected`` and ``start``; returns the start (with its custom parameters)."""
        while self.start is None:
            event = await self._next_event()
            if isinstance(event, tw.Start):
                if event.encoding != "audio/x-mulaw" or event.sample_rate != 8000:
                    raise LineClosed(f"unsupported media format {event.encoding} at {event.sample_rate} Hz")
                self.start = event
            elif isinstance(event, tw.Stop):
                raise LineClosed("the stream stopped before it started")
        return self.start

    async def run(self) -> None:
        """Send queued messages until the line hangs up."""
        await self._writer.run()

    def send(self, payload: bytes) -> None:
        """Queue one frame of agent audio for Twilio."""
        if self._closed:
            raise LineClosed
        self._writer.put(tw.media(self.stream_sid, payload), audio=True)

    def mark(self, name: str) -> None:
        """Ask Twilio to report when everything sent so far has played."""
        self._writer.put(tw.mark(self.stream_sid, name))

    async def recv(self) -> tuple[bytes, float]:
        """The caller's next audio frame and when it arrived."""
        while True:
            event = await self._next_event()
            if isinstance(event, tw.Media):
                return event.payload, time.monotonic()
            if isinstance(event, tw.Dtmf):
                self.digits.put_nowait(event.digit)
            elif isinstance(event, tw.Mark):
                self.marks.append(event.name)
            elif isinstance(event, tw.Stop):
                self._closed = True
                self._writer.close()
                raise LineClosed

    def clear(self) -> int:
        """Barge-in: drop unsent audio and tell Twilio to drop what it has buffered."""
        dropped = self._writer.drop_media()
        if not self._writer.closed:
            self._writer.put(tw.clear(self.stream_sid))
        return dropped

    def hangup(self) -> None:
        """End the stream from our side (closing the WebSocket ends the ``<Connect>``)."""
        self._closed = True
        self._writer.close()

    async def _next_event(self) -> tw.Event:
        while True:
            try:
                text = await self._ws.receive_text()
            except Exception as exc:  # disconnects surface as library-specific exceptions
                self._closed = True
                self._writer.close()
                raise LineClosed(f"websocket closed ({exc.__class__.__name__})") from None
            try:
                return tw.parse(text)
            except tw.ProtocolError as exc:
                # One bad message never ends a call: log it and read on.
                self.protocol_errors += 1
                logger.warning(f"twilio stream {self.stream_sid or '?'}: dropped a bad message: {exc}")


class TwilioSideLine:
    """Twilio's end of a media stream, for the scripted prospect: it plays Twilio's role.

    Sends ``connected``/``start``/``media``/``stop`` with Twilio's field shapes, plays the agent's
    audio out at the speaking rate (a playout buffer, like the handset), drops it on ``clear``,
    and echoes each ``mark`` once the audio before it has played — as Twilio does.
    """

    def __init__(
        self,
        ws: TextSocket,
        *,
        parameters: dict[str, str] | None = None,
        conditions: LineConditions | None = None,
    ) -> None:
        self._ws = ws
        self._writer = _Writer(ws)
        self._incoming = Direction(conditions or LineConditions())
        self._parameters = parameters or {}
        self._seq = itertools.count(1)
        self._chunk = itertools.count(1)
        self._t0 = time.monotonic()
        self.stream_sid = f"MZ{int(self._t0 * 1e6):032x}"[:34]
        self.call_sid = "CA" + self.stream_sid[2:]
        self._pending_marks: list[tuple[int, str]] = []
        self._queued = 0
        self._played = 0
        self.cleared = 0
        self._hung_up = False

    async def open(self) -> None:
        """Send ``connected`` and ``start``."""
        self._writer.put('{"event": "connected", "protocol": "Call", "version": "1.0.0"}')
        start = {
            "event": "start",
            "sequenceNumber": str(next(self._seq)),
            "streamSid": self.stream_sid,
            "start": {
                "accountSid": "AC" + "0" * 32,
                "streamSid": self.stream_sid,
                "callSid": self.call_sid,
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": self._parameters,
            },
        }
        self._writer.put(json.dumps(start))

    async def run(self) -> None:
        """Run the writer and the reader until either side hangs up."""
        reader = asyncio.create_task(self._read())
        try:
            await self._writer.run()
        finally:
            reader.cancel()
            self._incoming.close()

    def send(self, payload: bytes) -> None:
        """The prospect's audio, as a Twilio ``media`` message."""
        if self._hung_up or self._writer.closed:
            raise LineClosed
        elapsed_ms = int((time.monotonic() - self._t0) * 1000)
        message = {
            "event": "media",
            "sequenceNumber": str(next(self._seq)),
            "streamSid": self.stream_sid,
            "media": {
                "track": "inbound",
                "chunk": str(next(self._chunk)),
                "timestamp": str(elapsed_ms),
                "payload": base64.b64encode(payload).decode("ascii"),
            },
        }
        self._writer.put(json.dumps(message), audio=True)

    async def recv(self) -> tuple[bytes, float]:
        """The agent's audio as the prospect hears it."""
        payload, play_at = await self._incoming.get()
        self._played += 1
        self._echo_marks()
        return payload, play_at

    def clear(self) -> int:
        """Twilio's side never clears the agent's audio on its own."""
        return 0

    def hangup(self) -> None:
        """The prospect hangs up: Twilio sends ``stop`` and closes the socket."""
        if self._hung_up:
            return
        self._hung_up = True
        if not self._writer.closed:
            stop = {
                "event": "stop",
                "sequenceNumber": str(next(self._seq)),
                "streamSid": self.stream_sid,
                "stop": {"accountSid": "AC" + "0" * 32, "callSid": self.call_sid},
            }
            self._writer.put(json.dumps(stop))
        self._writer.close()
        self._incoming.close()

    def _echo_marks(self) -> None:
        while self._pending_marks and self._pending_marks[0][0] <= self._played:
            _, name = self._pending_marks.pop(0)
            if not self._writer.closed:
                self._writer.put(tw.mark(self.stream_sid, name))

    async def _read(self) -> None:
        while True:
            try:
                text = await self._ws.receive_text()
            except Exception:
                self._writer.close()
                self._incoming.close()
                return
            try:
                event = tw.parse_outbound(text)
            except tw.ProtocolError as exc:
                logger.warning(f"twilio simulator: the agent sent a bad message: {exc}")
                continue
            kind, value = event
            if kind == "media":
                assert isinstance(value, bytes)
                self._incoming.put(value)
                self._queued += 1
            elif kind == "mark":
                assert isinstance(value, str)
                self._pending_marks.append((self._queued, value))
                self._echo_marks()
            elif kind == "clear":
                self.cleared += 1
                dropped = self._incoming.clear()
                self._queued -= dropped
                # Twilio returns the marks of the audio it dropped.
                for _, name in self._pending_marks:
                    self._writer.put(tw.mark(self.stream_sid, name))
                self._pending_marks.clear()
