"""SDP offer/answer (RFC 4566, RFC 3264) for one G.711 audio stream with RFC 4733 telephone-events.

Sans-I/O: bytes in, a ``MediaSession`` (what both sides use) out. Parsing accepts what real peers send (CRLF
or LF, static payload types without ``a=rtpmap``, ``c=`` at session or media level, IPv6, extra streams) and
raises ``SdpError`` for anything it cannot make sense of; the SIP layer answers that with 488.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_MIRROR = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}
# RFC 3551 static payload types a peer may list without an a=rtpmap line.
_STATIC = {0: ("PCMU", 8000), 3: ("GSM", 8000), 4: ("G723", 8000), 8: ("PCMA", 8000), 9: ("G722", 8000),
           13: ("CN", 8000), 18: ("G729", 8000)}  # fmt: skip
_OURS = {"PCMU": 0, "PCMA": 8}  # codecs we can encode, at their static payload types
_FROM_FLAGS = {
    (True, True): "sendrecv",
    (True, False): "sendonly",
    (False, True): "recvonly",
    (False, False): "inactive",
}
_RTP_PROTOS = ("RTP/AVP", "RTP/AVPF")  # plain RTP; SRTP and DTLS profiles need keys we do not negotiate
_TELEPHONE_EVENT = "telephone-event"
_EVENT_RANGE = "0-16"  # the 16 keys and flash


class SdpError(ValueError):
    """An SDP body we cannot parse or cannot agree to."""


@dataclass(frozen=True)
class Codec:
    """An RTP payload format: PCMU 0, PCMA 8, telephone-event dynamic (usually 101)."""

    payload_type: int
    name: str
    clock_rate: int = 8000


@dataclass(frozen=True)
class MediaSession:
    """The negotiated audio stream, from our side: where to send, in what format, and which way media flows."""

    remote_host: str
    remote_port: int
    codec: Codec
    dtmf_payload_type: int | None
    ptime_ms: int = 20
    direction: str = "sendrecv"  # sendrecv | sendonly | recvonly | inactive (hold)
    rtcp_port: int | None = None  # from a=rtcp (RFC 3605); None means the RTP port + 1

    @property
    def sends(self) -> bool:
        """True when we should send audio."""
        return self.direction in ("sendrecv", "sendonly")

    @property
    def receives(self) -> bool:
        """True when the far end will send audio."""
        return self.direction in ("sendrecv", "recvonly")


@dataclass
class _Media:
    kind: str
    port: int
    proto: str
    formats: list[str]
    line: str
    host: str | None = None
    attributes: list[tuple[str, str]] = field(default_factory=list)

    def attribute(self, name: str) -> str | None:
        return next((value for key, value in self.attributes if key == name), None)


@dataclass
class _Description:
    host: str | None = None
    attributes: list[tuple[str, str]] = field(default_factory=list)
    media: list[_Media] = field(default_factory=list)


def build_offer(
    host: str,
    port: int,
    *,
    codecs: Sequence[str] = ("PCMU", "PCMA"),
    dtmf_payload_type: int | None = 101,
    ptime_ms: int = 20,
    session_id: int | None = None,
    version: int = 0,
    direction: str = "sendrecv",
) -> bytes:
    """An SDP offer for one audio stream at ``host:port``, codecs in order of preference."""
    if not codecs:
        raise SdpError("offer at least one codec")
    offered = [Codec(_our_payload_type(name), name.upper()) for name in codecs]
    if dtmf_payload_type is not None and not 96 <= dtmf_payload_type <= 127:
        raise SdpError(f"telephone-event needs a dynamic payload type (96–127), got {dtmf_payload_type}")
    _check_direction(direction)
    _check_ptime(ptime_ms)
    return _render(host, port, offered, dtmf_payload_type, ptime_ms, direction, session_id, version, [])


def answer_offer(
    offer: bytes,
    host: str,
    port: int,
    *,
    codecs: Sequence[str] = ("PCMU", "PCMA"),
    session_id: int | None = None,
    version: int = 0,
) -> tuple[bytes, MediaSession]:
    """Our answer to ``offer`` and the session it sets up; ``SdpError`` when we cannot accept it (send 488)."""
    ours = {name.upper() for name in codecs}
    for name in ours:
        _our_payload_type(name)
    description = _parse(offer)
    audio = _first_audio(description, "offer")
    formats = _formats(audio)
    codec = next((c for c in formats if c.name.upper() in ours and c.clock_rate == 8000), None)
    if codec is None:
        offered = ", ".join(dict.fromkeys(c.name for c in formats if c.name != _TELEPHONE_EVENT)) or "none"
        raise SdpError(f"no common audio codec: the offer has {offered}; we support {', '.join(codecs)}")
    codec = Codec(codec.payload_type, codec.name.upper(), codec.clock_rate)
    dtmf = next((c.payload_type for c in formats if c.name == _TELEPHONE_EVENT and c.clock_rate == 8000), None)
    ptime = _ptime(audio, description)
    remote_host = _host(audio, description)
    theirs = _direction(audio, description)
    direction = _MIRROR[theirs]
    if _is_unspecified(remote_host):
        direction = _without_send(direction)  # old-style hold (RFC 2543): c=0.0.0.0 means "do not send to me"
    others = [m for m in description.media if m is not audio]
    index = description.media.index(audio)
    answer = _render(host, port, [codec], dtmf, ptime, direction, session_id, version, others, audio_index=index)
    session = MediaSession(remote_host, audio.port, codec, dtmf, ptime, direction, _rtcp_port(audio))
    return answer, session


def parse_answer(
    answer: bytes, *, offered: Sequence[str] = ("PCMU", "PCMA"), direction: str = "sendrecv"
) -> MediaSession:
    """The session the far end agreed to; ``direction`` is the one we offered."""
    _check_direction(direction)
    ours = {name.upper() for name in offered}
    description = _parse(answer)
    audio = _first_audio(description, "answer")
    formats = _formats(audio)
    codec = next((c for c in formats if c.name.upper() in ours and c.clock_rate == 8000), None)
    if codec is None:
        picked = ", ".join(dict.fromkeys(c.name for c in formats if c.name != _TELEPHONE_EVENT)) or "none"
        raise SdpError(f"the answer picked {picked}, which we did not offer ({', '.join(offered)})")
    dtmf = next((c.payload_type for c in formats if c.name == _TELEPHONE_EVENT and c.clock_rate == 8000), None)
    remote_host = _host(audio, description)
    ours_now = _intersect(direction, _MIRROR[_direction(audio, description)])
    if _is_unspecified(remote_host):
        ours_now = _without_send(ours_now)
    return MediaSession(
        remote_host,
        audio.port,
        Codec(codec.payload_type, codec.name.upper(), codec.clock_rate),
        dtmf,
        _ptime(audio, description),
        ours_now,
        _rtcp_port(audio),
    )


def _render(
    host: str,
    port: int,
    codecs: list[Codec],
    dtmf_payload_type: int | None,
    ptime_ms: int,
    direction: str,
    session_id: int | None,
    version: int,
    rejected: list[_Media],
    audio_index: int = 0,
) -> bytes:
    if not 0 < port < 65536:
        raise SdpError(f"RTP port must be between 1 and 65535, got {port}")
    if not host or any(ch.isspace() for ch in host):
        raise SdpError(f"not a usable media address: {host!r}")
    if session_id is None:
        session_id = random.SystemRandom().getrandbits(62)  # RFC 4566 suggests an NTP-like unique number
    addr = f"IN IP6 {host}" if ":" in host else f"IN IP4 {host}"
    formats = [str(c.payload_type) for c in codecs]
    if dtmf_payload_type is not None:
        formats.append(str(dtmf_payload_type))
    audio = [f"m=audio {port} RTP/AVP {' '.join(formats)}"]
    audio += [f"a=rtpmap:{c.payload_type} {c.name}/{c.clock_rate}" for c in codecs]
    if dtmf_payload_type is not None:
        audio += [f"a=rtpmap:{dtmf_payload_type} {_TELEPHONE_EVENT}/8000", f"a=fmtp:{dtmf_payload_type} {_EVENT_RANGE}"]
    audio += [f"a=ptime:{ptime_ms}", f"a={direction}"]
    # An answer keeps every offered m= line in place (RFC 3264 §6); the ones we decline get port 0.
    media = [[f"m={m.kind} 0 {m.proto} {' '.join(m.formats)}"] for m in rejected]
    media.insert(audio_index, audio)
    lines = [
        "v=0",
        f"o=talktrack {session_id} {version} {addr}",
        "s=talktrack",
        f"c={addr}",
        "t=0 0",
        *(line for section in media for line in section),
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def _parse(data: bytes) -> _Description:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SdpError(f"SDP is not UTF-8 text: {exc}") from None
    lines = [line.rstrip("\r") for line in text.split("\n")]
    lines = [line.strip() for line in lines if line.strip()]
    if not lines or lines[0] != "v=0":
        raise SdpError("SDP must start with v=0")
    description = _Description()
    for line in lines[1:]:
        if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
            raise SdpError(f"malformed SDP line {line!r}")
        kind, value = line[0], line[2:]
        current = description.media[-1] if description.media else None
        if kind == "m":
            description.media.append(_parse_media(value, line))
        elif kind == "c":
            host = _parse_connection(value)
            if current is None:
                description.host = host
            else:
                current.host = host
        elif kind == "a":
            name, _, rest = value.partition(":")
            (current.attributes if current is not None else description.attributes).append((name, rest))
    if not description.media:
        raise SdpError("SDP has no m= line")
    return description


def _parse_media(value: str, line: str) -> _Media:
    parts = value.split()
    if len(parts) < 4:
        raise SdpError(f"malformed m= line {line!r}: needs media, port, protocol and formats")
    kind, port_text, proto, *formats = parts
    port_text = port_text.partition("/")[0]  # "port/count": we only use the first port
    if _uint(port_text) is None or int(port_text) > 65535:
        raise SdpError(f"bad port in {line!r}")
    return _Media(kind, int(port_text), proto, formats, line)


def _parse_connection(value: str) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"unsupported connection line c={value!r}: expected 'IN IP4 <addr>' or 'IN IP6 <addr>'")
    host = parts[2].partition("/")[0]  # multicast "addr/ttl"
    if not host:
        raise SdpError(f"connection line c={value!r} has no address")
    return host


def _first_audio(description: _Description, what: str) -> _Media:
    streams = [m for m in description.media if m.kind == "audio"]
    if not streams:
        raise SdpError(f"the {what} has no audio stream")
    usable = [m for m in streams if m.port != 0 and m.proto.upper() in _RTP_PROTOS]
    if not usable:
        if all(m.port == 0 for m in streams):
            raise SdpError(f"the {what} rejects or disables its audio stream (port 0)")
        protos = ", ".join(sorted({m.proto for m in streams}))
        raise SdpError(f"the {what}'s audio uses {protos}; only plain RTP/AVP is supported")
    return usable[0]


def _formats(media: _Media) -> list[Codec]:
    rtpmap: dict[int, tuple[str, int]] = {}
    for name, value in media.attributes:
        if name != "rtpmap":
            continue
        pt_text, _, encoding = value.partition(" ")
        codec_name, _, rest = encoding.strip().partition("/")
        rate_text = rest.partition("/")[0]
        pt, rate = _uint(pt_text), _uint(rate_text)
        if pt is None or rate is None or not codec_name:
            raise SdpError(f"malformed a=rtpmap:{value}")
        rtpmap[pt] = (codec_name, rate)
    codecs = []
    for text in media.formats:
        pt = _uint(text)
        if pt is None or pt > 127:
            raise SdpError(f"bad RTP payload type {text!r} in {media.line!r}")
        known = rtpmap.get(pt) or _STATIC.get(pt)
        if known is not None:
            name, rate = known
            codecs.append(Codec(pt, _TELEPHONE_EVENT if name.lower() == _TELEPHONE_EVENT else name, rate))
    return codecs


def _host(media: _Media, description: _Description) -> str:
    host = media.host or description.host
    if host is None:
        raise SdpError("no c= connection address for the audio stream")
    return host


def _ptime(media: _Media, description: _Description) -> int:
    value = media.attribute("ptime") or next((v for k, v in description.attributes if k == "ptime"), None)
    if value is None:
        return 20
    try:
        ptime = float(value)
    except ValueError:
        raise SdpError(f"bad a=ptime:{value}") from None
    if not ptime.is_integer():
        raise SdpError(f"a=ptime:{value} is not a whole number of milliseconds")
    _check_ptime(int(ptime))
    return int(ptime)


def _direction(media: _Media, description: _Description) -> str:
    for attributes in (media.attributes, description.attributes):
        found = [name for name, _ in attributes if name in DIRECTIONS]
        if found:
            return found[-1]
    return "sendrecv"


def _rtcp_port(media: _Media) -> int | None:
    value = media.attribute("rtcp")
    if value is None:
        return None
    port = _uint(value.split()[0]) if value.split() else None
    if port is None or not 0 < port < 65536:
        raise SdpError(f"bad a=rtcp:{value}")
    return port


def _uint(text: str) -> int | None:
    """A plain ASCII decimal number, or None (``str.isdigit`` also accepts digits like '²')."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None


def _our_payload_type(name: str) -> int:
    try:
        return _OURS[name.upper()]
    except KeyError:
        raise SdpError(f"unsupported codec {name!r}: choose from {', '.join(_OURS)}") from None


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise SdpError(f"unknown direction {direction!r}: use one of {', '.join(DIRECTIONS)}")


def _check_ptime(ptime_ms: int) -> None:
    if not 10 <= ptime_ms <= 200:
        raise SdpError(f"packet time must be 10–200 ms, got {ptime_ms}")


def _is_unspecified(host: str) -> bool:
    return host in ("0.0.0.0", "::")


def _without_send(direction: str) -> str:
    return {"sendrecv": "recvonly", "sendonly": "inactive"}.get(direction, direction)


def _intersect(ours: str, allowed: str) -> str:
    send = ours in ("sendrecv", "sendonly") and allowed in ("sendrecv", "sendonly")
    recv = ours in ("sendrecv", "recvonly") and allowed in ("sendrecv", "recvonly")
    return _FROM_FLAGS[(send, recv)]
