"""Line ends over a WebRTC peer connection (aiortc): the agent's, and a browser-like prospect's for tests.

Both present the simulated line's face (``send``/``recv``/``clear``/``hangup`` on 20 ms frames of 8 kHz
μ-law). Incoming audio (Opus, decoded by aiortc at 48 kHz) is resampled to 8 kHz and cut into frames; outgoing
frames wait in a short queue that a media track plays in real time as 48 kHz frames, silence when it is
empty, so ``clear`` (barge-in) drops exactly what the far end has not heard yet.

Rates are converted by libswresample (PyAV's ``AudioResampler``, as aiortc's codecs do): it returns 20 ms
for every 20 ms, about 2 ms late, where soxr's streaming resampler (``StreamResampler``) releases its
output in blocks of about 145 ms, which would make frames arrive in bursts and add that much delay.

Both ends are built on aiortc's ``RTCPeerConnection`` directly rather than Pipecat's
``SmallWebRTCConnection``: that class only answers (the prospect's end must offer, as a browser does), and
its input-track wrapper is shaped for Pipecat's own transport, while these feed talktrack's ``LineTransport``.

With ``loopback_only`` a connection gathers a single 127.0.0.1 host candidate and ignores the far end's
other candidates, so ICE never leaves the machine (tests in a private network namespace, where aiortc
would otherwise find no address at all: it never offers loopback on its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import re
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

import aioice.ice
import numpy as np
import numpy.typing as npt
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.sdp import SessionDescription
from av import AudioFrame, AudioResampler
from av.frame import Frame
from loguru import logger

from talktrack.audio.g711 import ULAW_SILENCE, ulaw_decode, ulaw_encode
from talktrack.telephony.simline import FRAME_BYTES, FRAME_S, RATE, LineClosed

OPUS_RATE = 48000
OPUS_FRAME = OPUS_RATE * 20 // 1000  # samples in 20 ms
# Agent audio queued beyond this (the far end is not pulling, e.g. still connecting) drops its oldest frames,
# so a slow start never turns into a permanent delay.
MAX_QUEUED_FRAMES = 50
# Prospect audio kept while nobody reads the line (the session is still preparing): one minute.
MAX_INBOX_FRAMES = 3000
MEDIA_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
# Frames the receiver holds to put reordered packets back in order (40 ms); see _shorten_jitter_buffer.
JITTER_PREFETCH = 2

_SILENCE = bytes([ULAW_SILENCE]) * FRAME_BYTES
# (sdp, type) of the offer → (sdp, type) of the answer: how the prospect's end reaches the agent.
Signal = Callable[[str, str], Awaitable[tuple[str, str]]]


class OfferError(ValueError):
    """An SDP offer that cannot start a call (malformed, or without usable audio)."""


# -- ICE on loopback ---------------------------------------------------------------------------------------

_loopback_only: ContextVar[bool] = ContextVar("talktrack_webrtc_loopback_only", default=False)
_host_addresses = aioice.ice.get_host_addresses


def _gather_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    if _loopback_only.get():
        return ["127.0.0.1"] if use_ipv4 else []
    return _host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6)


# aioice has no option for the interfaces it gathers on; this one hook reads a context variable, so only
# connections set up under `_gathering(loopback_only=True)` are affected, concurrently or not.
aioice.ice.get_host_addresses = _gather_addresses


@contextlib.contextmanager
def _gathering(loopback_only: bool) -> Iterator[None]:
    token = _loopback_only.set(loopback_only)
    try:
        yield
    finally:
        _loopback_only.reset(token)


_CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ \S+ \d+ (\S+) ", re.IGNORECASE)


def keep_loopback_candidates(sdp: str) -> str:
    """The SDP without ICE candidates outside 127.0.0.0/8 (also drops mDNS names, which need multicast)."""
    lines = sdp.splitlines()
    kept = [ln for ln in lines if not (m := _CANDIDATE.match(ln)) or m.group(1).startswith("127.")]
    return "\r\n".join(kept) + "\r\n"


def check_offer(sdp: str, sdp_type: str) -> SessionDescription:
    """Parse an offer; OfferError says what is wrong with it."""
    if sdp_type != "offer":
        raise OfferError(f"expected an SDP offer, got type {sdp_type!r}")
    if not sdp.startswith("v=0"):
        raise OfferError("the SDP does not start with 'v=0'")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser signals bad input with asserts, KeyErrors, ValueErrors...
        raise OfferError(f"unreadable SDP ({exc.__class__.__name__}: {exc})") from None
    audio = [m for m in parsed.media if m.kind == "audio" and m.port != 0]
    if not audio:
        raise OfferError("the offer has no audio section")
    media = audio[0]
    if media.direction not in (None, "sendrecv", "sendonly"):
        raise OfferError(f"the offer's audio is {media.direction}: the caller must send audio")
    if media.ice is None or not (media.ice.usernameFragment and media.ice.password):
        raise OfferError("the offer has no ICE credentials (a=ice-ufrag, a=ice-pwd)")
    if media.dtls is None or not media.dtls.fingerprints:
        raise OfferError("the offer has no DTLS fingerprint or setup role")
    codecs = {c.mimeType.lower() for c in media.rtp.codecs}
    if not codecs & {"audio/opus", "audio/pcmu", "audio/pcma"}:
        raise OfferError(f"no common audio codec (offered {sorted(codecs) or 'none'}); offer Opus")
    return parsed


# -- audio ---------------------------------------------------------------------------------------------------


class _PlayoutTrack(MediaStreamTrack):
    """The outgoing track: queued μ-law frames played in real time as 48 kHz audio, silence in between."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[bytes] = deque()
        self._resampler = AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)
        self._sent = 0
        self._pending = np.zeros(0, dtype=np.int16)
        self._start: float | None = None
        self._pts = 0
        self.overflow = 0
        # Set when the connection first asks for audio: the media path is up.
        self.started = asyncio.Event()

    def put(self, payload: bytes) -> None:
        if len(self._queue) >= MAX_QUEUED_FRAMES:
            self._queue.popleft()
            self.overflow += 1
        self._queue.append(payload)

    def clear(self) -> int:
        dropped = len(self._queue)
        self._queue.clear()
        return dropped

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
            self.started.set()
        else:
            self._pts += OPUS_FRAME
            wait = self._start + self._pts / OPUS_RATE - now
            if wait > 0:
                await asyncio.sleep(wait)
        payload = self._queue.popleft() if self._queue else _SILENCE
        narrow = AudioFrame.from_ndarray(ulaw_decode(payload).reshape(1, -1), format="s16", layout="mono")
        narrow.sample_rate = RATE
        narrow.pts = self._sent
        narrow.time_base = fractions.Fraction(1, RATE)
        self._sent += FRAME_BYTES
        self._pending = np.concatenate([self._pending, *(_samples(f) for f in self._resampler.resample(narrow))])
        if self._pending.size < OPUS_FRAME:  # only while the resampler fills its filter
            self._pending = np.concatenate([np.zeros(OPUS_FRAME - self._pending.size, np.int16), self._pending])
        chunk, self._pending = self._pending[:OPUS_FRAME], self._pending[OPUS_FRAME:]
        frame = AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = OPUS_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, OPUS_RATE)
        return frame


def _samples(frame: AudioFrame) -> npt.NDArray[np.int16]:
    return np.asarray(frame.to_ndarray(), dtype=np.int16).reshape(-1)


class _Framer:
    """Decoded frames (any rate and layout) → 20 ms frames of 8 kHz μ-law."""

    def __init__(self) -> None:
        self._shape: tuple[str, str, int] | None = None
        self._resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
        self._pending = np.zeros(0, dtype=np.int16)

    def frames(self, frame: AudioFrame) -> list[bytes]:
        shape = (frame.format.name, frame.layout.name, frame.sample_rate)
        if shape != self._shape:  # a resampler serves one input shape (a codec change renegotiates it)
            self._shape = shape
            self._resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
        self._pending = np.concatenate([self._pending, *(_samples(f) for f in self._resampler.resample(frame))])
        out: list[bytes] = []
        while self._pending.size >= FRAME_BYTES:
            out.append(ulaw_encode(self._pending[:FRAME_BYTES]))
            self._pending = self._pending[FRAME_BYTES:]
        return out


class _Inbox:
    """Received frames; with ``playout`` each is released when it would play (at most one per 20 ms)."""

    def __init__(self, playout: bool) -> None:
        self._playout = playout
        self._frames: deque[tuple[float, bytes]] = deque(maxlen=MAX_INBOX_FRAMES)
        self._changed = asyncio.Event()
        self._next_play = 0.0
        self.closed = False

    def put(self, payload: bytes, arrived: float) -> None:
        self._frames.append((arrived, payload))
        self._changed.set()

    def close(self) -> None:
        self.closed = True
        self._changed.set()

    async def get(self) -> tuple[bytes, float]:
        while True:
            if self._frames:
                arrived, payload = self._frames[0]
                play_at = max(arrived, self._next_play) if self._playout else arrived
                delay = play_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                self._frames.popleft()
                self._next_play = play_at + FRAME_S
                return payload, play_at
            if self.closed:
                raise LineClosed
            self._changed.clear()
            await self._changed.wait()


def _shorten_jitter_buffer(receiver: RTCRtpReceiver) -> None:
    """Hold ``JITTER_PREFETCH`` frames before decoding instead of aiortc's 4 (80 ms on every call)."""
    # aiortc releases a frame once that many later ones have arrived, so the hold only buys tolerance to
    # packets arriving out of order; timing jitter is absorbed downstream (the playout clock, or the VAD
    # not caring). It has no setting for it: Pipecat replaces the buffer the same way for screen video.
    attribute = "_RTCRtpReceiver__jitter_buffer"
    if not hasattr(receiver, attribute):
        logger.warning("webrtc: aiortc's receiver has no jitter buffer where expected; keeping its default")
        return
    setattr(receiver, attribute, JitterBuffer(capacity=16, prefetch=JITTER_PREFETCH))


# -- line ends -----------------------------------------------------------------------------------------------


class WebRtcLine:
    """The agent's end of a WebRTC call: see :func:`answer_offer`."""

    def __init__(
        self,
        pc: RTCPeerConnection,
        *,
        playout: bool = False,
        media_timeout_s: float = MEDIA_TIMEOUT_S,
        parameters: dict[str, str] | None = None,
    ) -> None:
        """Take over ``pc``; ``answer_offer`` or ``WebRtcCallerLine.connect`` then negotiates its audio."""
        self.pc = pc
        self.parameters = parameters or {}
        self.media_timeout_s = media_timeout_s
        self._inbox = _Inbox(playout)
        self._out = _PlayoutTrack()
        self._closed = False
        self._closing: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        pc.on("connectionstatechange", self._on_state)

    def _attach(self) -> None:
        """Send this line's playout track on the connection's audio transceiver (creating one if needed)."""
        self.pc.addTrack(self._out)

    def _start_reading(self) -> None:
        audio = next(t for t in self.pc.getTransceivers() if t.kind == "audio")
        _shorten_jitter_buffer(audio.receiver)
        self._reader = asyncio.create_task(self._read(audio.receiver.track))

    async def _read(self, track: MediaStreamTrack) -> None:
        framer = _Framer()
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, AudioFrame):
                    now = time.monotonic()
                    for payload in framer.frames(frame):
                        self._inbox.put(payload, now)
        except MediaStreamError:
            logger.debug("webrtc: the remote audio track ended")
        finally:
            # The far end's audio is over: so is the call (what is still queued plays out first).
            self.hangup()

    async def _on_state(self) -> None:
        state = self.pc.connectionState
        logger.debug(f"webrtc: connection {state}")
        if state in ("failed", "closed"):
            self.hangup()

    @property
    def closed(self) -> bool:
        """True once either side hung up or the connection failed."""
        return self._closed

    def send(self, payload: bytes) -> None:
        """Queue one 20 ms frame (160 bytes of μ-law) to be played to the far end."""
        if self._closed:
            raise LineClosed
        self._out.put(payload)

    async def recv(self) -> tuple[bytes, float]:
        """The far end's next frame and its monotonic time (arrival, or play time with ``playout``)."""
        try:
            return await asyncio.wait_for(self._inbox.get(), self.media_timeout_s)
        except TimeoutError:
            logger.info(f"webrtc: no audio for {self.media_timeout_s:g}s; hanging up")
            self.hangup()
            raise LineClosed(f"no audio from the far end for {self.media_timeout_s:g}s") from None

    def clear(self) -> int:
        """Barge-in: drop the frames not played yet; returns how many."""
        return self._out.clear()

    def hangup(self) -> None:
        """End the call: stop sending and close the peer connection (``aclose`` waits for it)."""
        if self._closed:
            return
        self._closed = True
        self._out.stop()
        self._inbox.close()
        self._closing = asyncio.create_task(self.pc.close())

    async def aclose(self) -> None:
        """Hang up and wait until the peer connection and the reader are done."""
        self.hangup()
        if self._closing:
            await self._closing
        if self._reader:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)


async def answer_offer(
    sdp: str,
    sdp_type: str = "offer",
    *,
    loopback_only: bool = False,
    media_timeout_s: float = MEDIA_TIMEOUT_S,
    parameters: dict[str, str] | None = None,
) -> tuple[WebRtcLine, str]:
    """The agent's line for a browser's offer, and the SDP answer (with its candidates) to send back."""
    check_offer(sdp, sdp_type)
    if loopback_only:
        sdp = keep_loopback_candidates(sdp)
    # No ICE servers: aiortc's default is a public STUN server, and a call must not depend on one.
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    line = WebRtcLine(pc, media_timeout_s=media_timeout_s, parameters=parameters)
    try:
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as exc:  # aiortc rejects inconsistent offers with several exception types
            raise OfferError(f"the offer was refused ({exc.__class__.__name__}: {exc})") from None
        line._attach()
        with _gathering(loopback_only):
            await pc.setLocalDescription(await pc.createAnswer())
        line._start_reading()
    except BaseException:
        await line.aclose()
        raise
    return line, pc.localDescription.sdp


class WebRtcCallerLine(WebRtcLine):
    """The prospect's end, as a browser would do it: it offers, and ``recv`` gives each frame's play time."""

    def __init__(
        self,
        *,
        loopback_only: bool = False,
        media_timeout_s: float = MEDIA_TIMEOUT_S,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> None:
        # No ICE servers, as on the agent's side.
        super().__init__(
            RTCPeerConnection(RTCConfiguration(iceServers=[])), playout=True, media_timeout_s=media_timeout_s
        )
        self.loopback_only = loopback_only
        self.connect_timeout_s = connect_timeout_s

    @classmethod
    async def dial(
        cls,
        signal: Signal,
        *,
        loopback_only: bool = False,
        media_timeout_s: float = MEDIA_TIMEOUT_S,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> WebRtcCallerLine:
        """A new line, connected through ``signal``."""
        line = cls(loopback_only=loopback_only, media_timeout_s=media_timeout_s, connect_timeout_s=connect_timeout_s)
        await line.connect(signal)
        return line

    async def connect(self, signal: Signal) -> None:
        """Offer audio, exchange SDP through ``signal``; returns once audio flows (ConnectionError if it never does)."""
        pc = self.pc
        try:
            self._attach()
            with _gathering(self.loopback_only):
                await pc.setLocalDescription(await pc.createOffer())
            answer_sdp, answer_type = await signal(pc.localDescription.sdp, pc.localDescription.type)
            if self.loopback_only:
                answer_sdp = keep_loopback_candidates(answer_sdp)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type=answer_type))
            self._start_reading()
            # Like a handset, talk only once the line is up: frames sent before would queue into a lasting delay.
            try:
                await asyncio.wait_for(self._out.started.wait(), self.connect_timeout_s)
            except TimeoutError:
                raise ConnectionError(f"no media path to the far end after {self.connect_timeout_s:g}s") from None
        except BaseException:
            await self.aclose()
            raise


def http_signal(url: str, body: dict[str, object], reply: dict[str, object] | None = None) -> Signal:
    """A :data:`Signal` that POSTs ``{sdp, type, **body}`` as JSON to ``url``; ``reply`` receives the response."""

    def post(sdp: str, sdp_type: str) -> dict[str, object]:
        data = json.dumps({"sdp": sdp, "type": sdp_type, **body}).encode()
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer: dict[str, object] = json.loads(response.read())
        except urllib.error.HTTPError as exc:  # the server says why in a JSON body
            raise ConnectionError(
                f"{url} refused the offer ({exc.code}): {exc.read().decode(errors='replace')}"
            ) from None
        return answer

    async def signal(sdp: str, sdp_type: str) -> tuple[str, str]:
        answer = await asyncio.to_thread(post, sdp, sdp_type)
        if reply is not None:
            reply.update(answer)
        return str(answer["sdp"]), str(answer["type"])

    return signal
