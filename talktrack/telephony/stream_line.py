"""Line ends over a carrier media-stream WebSocket (Twilio, Telnyx): ours, and the carrier's for tests.

Both present the same face as the simulated line (``send``/``recv``/``clear``/``hangup`` on 20 ms
μ-law frames), so a CallSession and the scripted prospect run on them unchanged; an A-law stream
is transcoded at the edge. Each owns one writer task that drains an outgoing queue, so ``send``
never blocks the audio path; ``run()`` runs it and returns when the line hangs up.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from loguru import logger

from talktrack.audio.dtmf import dtmf_frames
from talktrack.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from talktrack.telephony import media_stream as ms
from talktrack.telephony.simline import FRAME_BYTES, Direction, LineClosed, LineConditions


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


# A frame this many chunks ahead of the one expected means the expected one was lost.
_REORDER_DEPTH = 3


class StreamLine:
    """The agent's end of a carrier media stream (Twilio ``<Connect><Stream>``, Telnyx RTP mode)."""

    def __init__(
        self, ws: TextSocket, dialect: ms.Dialect, *, send_keys: Callable[[str, str], Awaitable[None]] | None = None
    ) -> None:
        self._ws = ws
        self._dialect = dialect
        self._send_keys = send_keys  # the carrier's own command for keys (Telnyx send_dtmf), if any
        self._writer = _Writer(ws)
        self.start: ms.Start | None = None
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        self.marks: list[str] = []
        self.protocol_errors = 0
        self._closed = False
        self._alaw = False
        self._next_chunk = 0
        self._held: dict[int, bytes] = {}

    @property
    def stream_id(self) -> str:
        """The stream id the carrier gave in ``start``."""
        return self.start.stream_id if self.start else ""

    async def accept(self) -> ms.Start:
        """Read ``connected`` and ``start``; returns the start (with its custom parameters)."""
        while self.start is None:
            event = await self._next_event()
            if isinstance(event, ms.Start):
                if event.encoding not in ("ulaw", "alaw") or event.sample_rate != 8000:
                    raise LineClosed(f"unsupported media format {event.encoding} at {event.sample_rate} Hz")
                self._alaw = event.encoding == "alaw"
                self.start = event
            elif isinstance(event, ms.Stop):
                raise LineClosed("the stream stopped before it started")
        return self.start

    async def run(self) -> None:
        """Send queued messages until the line hangs up."""
        await self._writer.run()

    def send(self, payload: bytes) -> None:
        """Queue one frame of agent audio (μ-law) for the carrier."""
        if self._closed:
            raise LineClosed
        if self._alaw:
            payload = alaw_encode(ulaw_decode(payload))
        self._writer.put(self._dialect.media(self.stream_id, payload), audio=True)

    async def send_dtmf(self, digits: str) -> None:
        """Press keys: through the carrier's command when it has one, else as in-band tones in the audio."""
        if self._closed or self.start is None:
            raise LineClosed
        if self._send_keys is not None:
            await self._send_keys(self.start.call_id, digits)
            return
        for frame in dtmf_frames(digits, frame_samples=FRAME_BYTES):
            payload = alaw_encode(frame) if self._alaw else ulaw_encode(frame)
            # Not marked as audio: a barge-in ``clear`` must not cut a key press in half.
            self._writer.put(self._dialect.media(self.stream_id, payload))

    def mark(self, name: str) -> None:
        """Ask the carrier to report when everything sent so far has played."""
        self._writer.put(self._dialect.mark(self.stream_id, name))

    async def recv(self) -> tuple[bytes, float]:
        """The caller's next audio frame (μ-law, in chunk order) and when it arrived."""
        while True:
            ready = self._release()
            if ready is not None:
                return ready, time.monotonic()
            event = await self._next_event()
            if isinstance(event, ms.Media):
                if event.track != "inbound":
                    continue
                payload = ulaw_encode(alaw_decode(event.payload)) if self._alaw else event.payload
                if event.chunk <= 0:  # no chunk numbers: arrival order it is
                    return payload, time.monotonic()
                if event.chunk >= self._next_chunk:
                    self._held[event.chunk] = payload
            elif isinstance(event, ms.Dtmf):
                self.digits.put_nowait(event.digit)
            elif isinstance(event, ms.Mark):
                self.marks.append(event.name)
            elif isinstance(event, ms.Stop):
                self._closed = True
                self._writer.close()
                raise LineClosed

    def _release(self) -> bytes | None:
        """The next frame in chunk order, if it is here or the gap is too old to wait for."""
        if not self._held:
            return None
        if self._next_chunk == 0 or self._next_chunk not in self._held:
            if self._next_chunk and len(self._held) < _REORDER_DEPTH:
                return None
            self._next_chunk = min(self._held)
        payload = self._held.pop(self._next_chunk)
        self._next_chunk += 1
        return payload

    def clear(self) -> int:
        """Barge-in: drop unsent audio and tell the carrier to drop what it has buffered."""
        dropped = self._writer.drop_media()
        if not self._writer.closed:
            self._writer.put(self._dialect.clear(self.stream_id))
        return dropped

    def hangup(self) -> None:
        """End the stream from our side (closing the WebSocket ends it at the carrier)."""
        self._closed = True
        self._writer.close()

    async def _next_event(self) -> ms.Event:
        while True:
            try:
                data = await self._ws.receive_text()
            except Exception as exc:  # disconnects surface as library-specific exceptions
                self._closed = True
                self._writer.close()
                raise LineClosed(f"websocket closed ({exc.__class__.__name__})") from None
            try:
                return self._dialect.parse(data)
            except ms.ProtocolError as exc:
                # One bad message never ends a call: log it and read on.
                self.protocol_errors += 1
                logger.warning(f"{self._dialect.NAME} stream {self.stream_id or '?'}: dropped a bad message: {exc}")


class CarrierSideLine:
    """The carrier's end of a media stream, for the scripted prospect: it plays Twilio's or Telnyx's role.

    Sends ``connected``/``start``/``media``/``stop`` in the dialect's field shapes, plays the agent's
    audio out at the speaking rate (a playout buffer, like the handset), drops it on ``clear``, and
    echoes each ``mark`` once the audio before it has played (marks of dropped audio come back on
    ``clear``, as Twilio does).
    """

    def __init__(
        self,
        ws: TextSocket,
        dialect: ms.Dialect,
        *,
        parameters: dict[str, str] | None = None,
        conditions: LineConditions | None = None,
    ) -> None:
        self._ws = ws
        self._dialect = dialect
        self._writer = _Writer(ws)
        self._incoming = Direction(conditions or LineConditions())
        self._parameters = parameters or {}
        self._seq = itertools.count(1)
        self._chunk = itertools.count(1)
        self._t0 = time.monotonic()
        self.stream_id = f"MZ{int(self._t0 * 1e6):032x}"[:34]
        self.call_id = "CA" + self.stream_id[2:]
        self._pending_marks: list[tuple[int, str]] = []
        self._queued = 0
        self._played = 0
        self.cleared = 0
        self._hung_up = False

    async def open(self) -> None:
        """Send ``connected`` and ``start``."""
        self._writer.put(self._dialect.carrier_connected())
        self._writer.put(self._dialect.carrier_start(self.stream_id, self.call_id, next(self._seq), self._parameters))

    async def run(self) -> None:
        """Run the writer and the reader until either side hangs up."""
        reader = asyncio.create_task(self._read())
        try:
            await self._writer.run()
        finally:
            reader.cancel()
            self._incoming.close()

    def send(self, payload: bytes) -> None:
        """The prospect's audio, as the carrier's ``media`` message."""
        if self._hung_up or self._writer.closed:
            raise LineClosed
        elapsed_ms = int((time.monotonic() - self._t0) * 1000)
        message = self._dialect.carrier_media(self.stream_id, next(self._seq), next(self._chunk), elapsed_ms, payload)
        self._writer.put(message, audio=True)

    async def recv(self) -> tuple[bytes, float]:
        """The agent's audio as the prospect hears it."""
        payload, play_at = await self._incoming.get()
        self._played += 1
        self._echo_marks()
        return payload, play_at

    def clear(self) -> int:
        """The carrier never clears the agent's audio on its own."""
        return 0

    def hangup(self) -> None:
        """The prospect hangs up: the carrier sends ``stop`` and closes the socket."""
        if self._hung_up:
            return
        self._hung_up = True
        if not self._writer.closed:
            self._writer.put(self._dialect.carrier_stop(self.stream_id, self.call_id, next(self._seq)))
        self._writer.close()
        self._incoming.close()

    def _echo(self, name: str) -> None:
        if not self._writer.closed:
            self._writer.put(self._dialect.carrier_mark(self.stream_id, next(self._seq), name))

    def _echo_marks(self) -> None:
        while self._pending_marks and self._pending_marks[0][0] <= self._played:
            self._echo(self._pending_marks.pop(0)[1])

    async def _read(self) -> None:
        while True:
            try:
                data = await self._ws.receive_text()
            except Exception:
                self._writer.close()
                self._incoming.close()
                return
            try:
                kind, value = self._dialect.parse_outbound(data)
            except ms.ProtocolError as exc:
                logger.warning(f"{self._dialect.NAME} simulator: the agent sent a bad message: {exc}")
                continue
            if kind == "media" and isinstance(value, bytes):
                self._incoming.put(value)
                self._queued += 1
            elif kind == "mark" and isinstance(value, str):
                self._pending_marks.append((self._queued, value))
                self._echo_marks()
            elif kind == "clear":
                self.cleared += 1
                self._queued -= self._incoming.clear()
                for _, name in self._pending_marks:
                    self._echo(name)
                self._pending_marks.clear()
