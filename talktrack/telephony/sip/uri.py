"""SIP URIs and name-addr values (From, To, Contact, Route) as frozen value classes (RFC 3261 §19.1, §20.10)."""

from __future__ import annotations

import string
from dataclasses import dataclass, replace

from talktrack.telephony.sip.syntax import (
    Params,
    SipParseError,
    format_params,
    has_param,
    param_value,
    parse_params,
    quote,
    read_quoted,
    replace_param,
)

_HOST_CHARS = frozenset(string.ascii_letters + string.digits + "-._")
_IPV6_CHARS = frozenset(string.hexdigits + ":.")
# Characters that may never appear in a URI's user part (they delimit the URI inside a header).
_USER_FORBIDDEN = frozenset(' \t<>"@')
_SIP_SCHEMES = ("sip", "sips")


def parse_port(text: str, where: str) -> int:
    """A port number 1-65535, or SipParseError naming ``where``."""
    if not text.isdigit() or not text.isascii() or len(text) > 5 or not 0 < int(text) < 65536:
        raise SipParseError(f"bad port {text!r} in {where}")
    return int(text)


def parse_host(text: str, where: str) -> tuple[str, int | None]:
    """``host[:port]`` with IPv6 references in brackets; the host comes back without brackets."""
    if text.startswith("["):
        end = text.find("]")
        host = text[1:end] if end > 0 else ""
        if not host or not set(host) <= _IPV6_CHARS or ":" not in host:
            raise SipParseError(f"bad IPv6 reference in {where}")
        rest = text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise SipParseError(f"text after IPv6 reference in {where}")
        return host, parse_port(rest[1:], where) if rest else None
    host, colon, port = text.partition(":")
    if not host or not set(host) <= _HOST_CHARS:
        raise SipParseError(f"bad host {host!r} in {where}")
    return host, parse_port(port, where) if colon else None


def format_host(host: str, port: int | None) -> str:
    """``host[:port]``, bracketing IPv6 addresses."""
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


@dataclass(frozen=True)
class SipUri:
    """``sip:user@host:port;params?headers`` (also ``sips:``); other schemes are a SipParseError."""

    scheme: str
    user: str | None
    host: str
    port: int | None
    params: Params = ()
    headers: str = ""  # the raw ``?a=b&c=d`` part, without the "?"

    @classmethod
    def parse(cls, text: str) -> SipUri:
        """Parse a SIP or SIPS URI."""
        text = text.strip()
        scheme, colon, rest = text.partition(":")
        if not colon or not scheme:
            raise SipParseError(f"not a URI: {text!r}")
        scheme = scheme.lower()
        if scheme not in _SIP_SCHEMES:
            raise SipParseError(f"unsupported URI scheme {scheme!r} in {text!r}")
        rest, _, headers = rest.partition("?")
        user: str | None = None
        at = rest.find("@")
        if at >= 0:
            user = rest[:at]
            if not user or any(ch in _USER_FORBIDDEN for ch in user):
                raise SipParseError(f"bad user part {user!r} in {text!r}")
            rest = rest[at + 1 :]
        hostport, _, params = rest.partition(";")
        host, port = parse_host(hostport, repr(text))
        if any(ch in headers for ch in ' \t<>"'):
            raise SipParseError(f"bad URI headers in {text!r}")
        return cls(scheme, user, host, port, parse_params(params, repr(text)), headers)

    def __str__(self) -> str:
        user = "" if self.user is None else f"{self.user}@"
        headers = f"?{self.headers}" if self.headers else ""
        return f"{self.scheme}:{user}{format_host(self.host, self.port)}{format_params(self.params)}{headers}"

    def param(self, name: str) -> str | None:
        """A URI parameter's value (None when absent or valueless)."""
        return param_value(self.params, name)

    def has_param(self, name: str) -> bool:
        """True when the URI carries parameter ``name`` (e.g. ``lr``)."""
        return has_param(self.params, name)

    @property
    def address(self) -> tuple[str, int]:
        """Where to send to reach this URI over UDP: host and port (5060 when absent)."""
        return self.host, self.port or 5060


@dataclass(frozen=True)
class NameAddr:
    """``"Bob" <sip:bob@x>;tag=abc`` or ``sip:bob@x;tag=abc`` (without brackets the params are the header's)."""

    display: str | None
    uri: SipUri
    params: Params = ()

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        """Parse a From/To/Contact/Route value."""
        text = text.strip()
        if not text:
            raise SipParseError("empty name-addr")
        display: str | None = None
        rest = text
        if text.startswith('"'):
            display, end = read_quoted(text, 0)
            rest = text[end:].lstrip()
            if not rest.startswith("<"):
                raise SipParseError(f"expected '<' after display name in {text!r}")
        elif "<" in text and not any(ch in text[: text.index("<")] for ch in ":;"):
            # An unquoted display name is tokens; a ':' or ';' before '<' means an addr-spec with a quoted param.
            lt = text.index("<")
            display = " ".join(text[:lt].split()) or None
            if display is not None and any(ch in display for ch in '>;"'):
                raise SipParseError(f"bad display name {display!r} in {text!r}")
            rest = text[lt:]
        if rest.startswith("<"):
            gt = rest.find(">")
            if gt < 0:
                raise SipParseError(f"missing '>' in {text!r}")
            uri, params = rest[1:gt], rest[gt + 1 :].strip()
            if params and not params.startswith(";"):
                raise SipParseError(f"text after '>' in {text!r}")
        else:
            uri, _, params = rest.partition(";")
            if any(ch in uri for ch in " \t,"):
                raise SipParseError(f"bad address {text!r}")
        return cls(display or None, SipUri.parse(uri), parse_params(params, repr(text)))

    @property
    def tag(self) -> str | None:
        """The ``tag`` parameter (From/To)."""
        return param_value(self.params, "tag")

    def param(self, name: str) -> str | None:
        """A header parameter's value (None when absent or valueless)."""
        return param_value(self.params, name)

    def with_tag(self, tag: str) -> NameAddr:
        """This address with its ``tag`` set to ``tag``."""
        return replace(self, params=replace_param(self.params, "tag", tag))

    def without_params(self) -> NameAddr:
        """This address without header parameters (tag, expires...)."""
        return replace(self, params=())

    def __str__(self) -> str:
        display = "" if self.display is None else f"{quote(self.display)} "
        return f"{display}<{self.uri}>{format_params(self.params)}"
