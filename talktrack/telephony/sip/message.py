"""SIP messages (RFC 3261 §7, §20): parse a datagram into a request or response, and serialize one back.

Parsing is strict about framing and lenient about what real stacks do: leading CRLFs (keepalives), folded
header lines, compact header names, case-insensitive names, padded Content-Length, bare LF line ends.
Every problem is a ``SipParseError`` that says what is wrong and on which line. Limits keep a hostile
datagram cheap: 64 KiB per datagram, 200 headers, 8 KiB per (unfolded) header line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from talktrack.telephony.sip.syntax import (
    Params,
    SipParseError,
    format_params,
    has_param,
    is_token,
    param_value,
    parse_params,
    replace_param,
    split_outside,
)
from talktrack.telephony.sip.uri import NameAddr, SipUri, format_host, parse_host

__all__ = [
    "Headers",
    "NameAddr",
    "SipMessage",
    "SipParseError",
    "SipRequest",
    "SipResponse",
    "SipUri",
    "Via",
    "cseq",
    "name_addr",
    "parse_message",
    "salvage_request",
    "serialize",
]

MAX_DATAGRAM = 65536
MAX_HEADERS = 200
MAX_LINE = 8192

_COMPACT = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}
_KNOWN = (
    "Accept Accept-Encoding Accept-Language Alert-Info Allow Allow-Events Authentication-Info Authorization "
    "Call-ID Call-Info Contact Content-Disposition Content-Encoding Content-Language Content-Length "
    "Content-Type CSeq Date Error-Info Event Expires From In-Reply-To Max-Forwards Min-Expires Min-SE "
    "MIME-Version Organization P-Asserted-Identity Priority Proxy-Authenticate Proxy-Authorization "
    "Proxy-Require RAck Reason Record-Route Refer-To Referred-By Reply-To Require Retry-After Route RSeq "
    "Server Session-Expires Subject Supported Timestamp To Unsupported User-Agent Via Warning "
    "WWW-Authenticate"
).split()
_CANONICAL = {name.lower(): name for name in _KNOWN}
# Headers whose value is a comma-separated list (RFC 3261 §7.3.1); others may hold commas in their text.
_LIST_HEADERS = frozenset(
    "accept accept-encoding accept-language alert-info allow allow-events call-info contact content-encoding "
    "content-language error-info in-reply-to p-asserted-identity path proxy-require reason record-route "
    "require route service-route supported unsupported via warning".split()
)
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_VIA = re.compile(r"^([^\s/]+)\s*/\s*([^\s/]+)\s*/\s*([^\s/]+)\s+(.+)$", re.DOTALL)


def canonical_name(name: str) -> str:
    """The conventional spelling of a header name; compact forms expanded, unknown names kept as given."""
    lowered = name.lower()
    return _COMPACT.get(lowered) or _CANONICAL.get(lowered) or name


class Headers:
    """Ordered, multi-valued, case-insensitive header fields; compact names are stored expanded."""

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = [(canonical_name(name), value) for name, value in items]

    def get(self, name: str) -> str | None:
        """The first value of ``name`` (the first list element for list headers such as Via), or None."""
        values = self.get_all(name)
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` in order; list headers are split on commas outside quotes and ``<...>``."""
        lowered = canonical_name(name).lower()
        lines = [value for key, value in self._items if key.lower() == lowered]
        if lowered not in _LIST_HEADERS:
            return lines
        return [piece for line in lines for piece in split_outside(line, ",") if piece]

    def set(self, name: str, value: str) -> None:
        """Replace every ``name`` field with one holding ``value`` (at the first one's place)."""
        name = canonical_name(name)
        lowered = name.lower()
        for index, (key, _) in enumerate(self._items):
            if key.lower() == lowered:
                self._items[index] = (name, value)
                self._items[index + 1 :] = [item for item in self._items[index + 1 :] if item[0].lower() != lowered]
                return
        self._items.append((name, value))

    def add(self, name: str, value: str) -> None:
        """Append a ``name`` field."""
        self._items.append((canonical_name(name), value))

    def remove(self, name: str) -> None:
        """Remove every ``name`` field."""
        lowered = canonical_name(name).lower()
        self._items = [item for item in self._items if item[0].lower() != lowered]

    def items(self) -> list[tuple[str, str]]:
        """The fields as (name, value) pairs, one per header line."""
        return list(self._items)

    def copy(self) -> Headers:
        """An independent copy."""
        return Headers(self._items)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        lowered = canonical_name(name).lower()
        return any(key.lower() == lowered for key, _ in self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(frozen=True)
class SipRequest:
    """A SIP request: method, Request-URI text, headers and body."""

    method: str
    uri: str
    headers: Headers
    body: bytes = b""


@dataclass(frozen=True)
class SipResponse:
    """A SIP response: status code, reason phrase, headers and body."""

    status: int
    reason: str
    headers: Headers
    body: bytes = b""


SipMessage = SipRequest | SipResponse


@dataclass(frozen=True)
class Via:
    """One Via value: ``SIP/2.0/UDP host:port;branch=z9hG4bK...;rport``."""

    transport: str
    host: str
    port: int | None
    params: Params = ()

    @classmethod
    def parse(cls, text: str) -> Via:
        """Parse one Via value (a single list element)."""
        match = _VIA.match(text.strip())
        if match is None:
            raise SipParseError(f"bad Via {text!r}")
        name, version, transport, rest = match.groups()
        if name.upper() != "SIP" or version != "2.0" or not is_token(transport):
            raise SipParseError(f"bad Via protocol in {text!r}")
        sent_by, _, params = rest.partition(";")
        host, port = parse_host(sent_by.strip(), f"Via {text!r}")
        return cls(transport.upper(), host, port, parse_params(params, f"Via {text!r}"))

    @property
    def branch(self) -> str | None:
        """The ``branch`` parameter."""
        return param_value(self.params, "branch")

    @property
    def received(self) -> str | None:
        """The ``received`` parameter a server added (the address it saw us at)."""
        return param_value(self.params, "received")

    @property
    def has_rport(self) -> bool:
        """True when the sender asked for symmetric responses (RFC 3581), with or without a value."""
        return has_param(self.params, "rport")

    @property
    def rport(self) -> int | None:
        """The port a server filled into ``rport``, when it did."""
        value = param_value(self.params, "rport")
        return int(value) if value is not None and value.isdigit() and value.isascii() else None

    def with_param(self, name: str, value: str | None) -> Via:
        """This Via with ``name`` set to ``value``."""
        return replace(self, params=replace_param(self.params, name, value))

    def response_address(self, source: tuple[str, int]) -> tuple[str, int]:
        """Where responses to a request with this Via go, given the datagram's source (RFC 3261 §18.2.2, 3581)."""
        if self.has_rport:
            return source
        return self.received or self.host, self.port or 5060

    def stamped(self, source: tuple[str, int]) -> Via:
        """This Via as a server returns it: ``received`` when the source differs, ``rport`` filled in."""
        via = self
        if source[0] != self.host:
            via = via.with_param("received", source[0])
        if self.has_rport:
            via = via.with_param("rport", str(source[1]))
        return via

    def __str__(self) -> str:
        return f"SIP/2.0/{self.transport} {format_host(self.host, self.port)}{format_params(self.params)}"


def cseq(headers: Headers) -> tuple[int, str]:
    """The CSeq number and method, or SipParseError."""
    value = headers.get("CSeq")
    if value is None:
        raise SipParseError("missing CSeq")
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit() or not parts[0].isascii() or not is_token(parts[1]):
        raise SipParseError(f"bad CSeq {value!r}")
    number = int(parts[0])
    if number >= 2**31:
        raise SipParseError(f"CSeq number {number} is not below 2**31")
    return number, parts[1]


def name_addr(headers: Headers, name: str) -> NameAddr:
    """Header ``name`` (From, To, Contact...) parsed as a name-addr, or SipParseError."""
    value = headers.get(name)
    if value is None:
        raise SipParseError(f"missing {name}")
    try:
        return NameAddr.parse(value)
    except SipParseError as exc:
        raise SipParseError(f"bad {name}: {exc}") from None


def parse_message(data: bytes) -> SipMessage:
    """Parse one datagram into a request or a response; SipParseError when it is not well-formed SIP."""
    if len(data) > MAX_DATAGRAM:
        raise SipParseError(f"datagram of {len(data)} bytes is over the {MAX_DATAGRAM}-byte limit")
    start = len(data) - len(data.lstrip(b"\r\n"))  # RFC 3261 §7.5: CRLFs before the start line are ignored
    if start == len(data):
        raise SipParseError("empty datagram")
    end = _HEAD_END.search(data, start)
    if end is None:
        raise SipParseError("no empty line after the headers")
    try:
        head = data[start : end.start()].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError(f"header section is not UTF-8 (byte {start + exc.start})") from None
    lines = [line.removesuffix("\r") for line in head.split("\n")]
    headers = Headers(_header_fields(lines))
    body = _body(headers, data[end.end() :])
    return _start_line(lines[0], headers, body)


def serialize(message: SipMessage) -> bytes:
    """The message as a datagram: CRLF line ends, Content-Length set from the body."""
    if isinstance(message, SipRequest):
        first = f"{message.method} {message.uri} SIP/2.0"
    else:
        first = f"SIP/2.0 {message.status} {message.reason}"
    lines = [first]
    length = f"Content-Length: {len(message.body)}"
    for name, value in message.headers.items():
        if name.lower() == "content-length":
            if length:
                lines.append(length)
                length = ""
            continue
        lines.append(f"{name}: {value}")
    if length:
        lines.append(length)
    if any("\r" in line or "\n" in line for line in lines):
        raise ValueError("a header value or start line holds a line break")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + message.body


def salvage_request(data: bytes) -> SipRequest | None:
    """The start line and whatever header lines parse in a malformed datagram, when it looks like a request.

    Used to answer a broken request with 400 instead of dropping it; the body is ignored.
    """
    text = data[:MAX_DATAGRAM].lstrip(b"\r\n").decode("utf-8", errors="replace")
    head = re.split(r"\r?\n\r?\n", text, maxsplit=1)[0]
    lines = [line.removesuffix("\r") for line in head.split("\n")]
    try:
        request = _start_line(lines[0], Headers(), b"")
    except SipParseError:
        return None
    if not isinstance(request, SipRequest):
        return None
    fields = _header_fields(lines[: MAX_HEADERS + 1], lenient=True)
    return replace(request, headers=Headers(fields))


def _header_fields(lines: list[str], *, lenient: bool = False) -> list[tuple[str, str]]:
    """Header fields from the lines after the start line (``lines[0]``), folding continuation lines.

    ``lenient`` skips bad lines instead of raising (to salvage what a broken request says).
    """
    fields: list[tuple[str, str]] = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            _header_line(fields, number, line)
        except SipParseError:
            if not lenient:
                raise
    return fields


def _header_line(fields: list[tuple[str, str]], number: int, line: str) -> None:
    bad = next((ch for ch in line if (ord(ch) < 32 and ch != "\t") or ord(ch) == 127), None)
    if bad is not None:
        raise SipParseError(f"line {number}: control character 0x{ord(bad):02x}")
    if len(line) > MAX_LINE:
        raise SipParseError(f"line {number}: header line is over {MAX_LINE} bytes")
    if line[:1] in (" ", "\t"):
        if not fields:
            raise SipParseError(f"line {number}: continuation line before any header")
        name, value = fields[-1]
        value = f"{value} {line.strip()}".strip()
        if len(name) + len(value) + 2 > MAX_LINE:
            raise SipParseError(f"line {number}: folded header {name} is over {MAX_LINE} bytes")
        fields[-1] = (name, value)
        return
    name, colon, value = line.partition(":")
    name = name.rstrip(" \t")
    if not colon:
        raise SipParseError(f"line {number}: no ':' in header line {line[:40]!r}")
    if not is_token(name):
        raise SipParseError(f"line {number}: bad header name {name[:40]!r}")
    if len(fields) >= MAX_HEADERS:
        raise SipParseError(f"more than {MAX_HEADERS} headers")
    fields.append((canonical_name(name), value.strip()))


def _body(headers: Headers, rest: bytes) -> bytes:
    lengths = headers.get_all("Content-Length")
    if not lengths:
        return rest  # RFC 3261 §18.3: on UDP the body runs to the end of the datagram
    if len(set(lengths)) > 1:
        raise SipParseError(f"conflicting Content-Length values {lengths!r}")
    value = lengths[0]
    if not value.isdigit() or not value.isascii() or len(value) > 6:
        raise SipParseError(f"bad Content-Length {value!r}")
    length = int(value)
    if length > len(rest):
        raise SipParseError(f"body truncated: Content-Length is {length} but {len(rest)} bytes follow")
    return rest[:length]


def _start_line(line: str, headers: Headers, body: bytes) -> SipMessage:
    if line[:4].upper() == "SIP/":
        version, _, rest = line.partition(" ")
        code, _, reason = rest.partition(" ")
        if version.upper() != "SIP/2.0":
            raise SipParseError(f"line 1: unsupported version {version[:20]!r}")
        if len(code) != 3 or not code.isdigit() or not code.isascii() or not 100 <= int(code) <= 699:
            raise SipParseError(f"line 1: bad status code {code[:20]!r}")
        if any(ord(ch) < 32 and ch != "\t" for ch in reason):
            raise SipParseError("line 1: control character in reason phrase")
        return SipResponse(int(code), reason.strip(), headers, body)
    parts = line.split(" ")
    if len(parts) != 3:
        raise SipParseError(f"line 1: expected 'METHOD URI SIP/2.0', got {line[:60]!r}")
    method, uri, version = parts
    if not is_token(method):
        raise SipParseError(f"line 1: bad method {method[:20]!r}")
    if version.upper() != "SIP/2.0":
        raise SipParseError(f"line 1: unsupported version {version[:20]!r}")
    scheme, colon, rest = uri.partition(":")
    if not colon or not scheme.isalpha() or not rest or any(ord(ch) < 33 or ord(ch) == 127 for ch in uri):
        raise SipParseError(f"line 1: bad Request-URI {uri[:60]!r}")
    return SipRequest(method, uri, headers, body)
