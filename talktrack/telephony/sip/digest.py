"""HTTP Digest authentication as SIP trunks use it (RFC 2617, RFC 7616, RFC 3261 §22).

Parses a ``WWW-Authenticate``/``Proxy-Authenticate`` challenge and computes the matching
``Authorization``/``Proxy-Authorization`` value. MD5 and SHA-256, their ``-sess`` forms, ``qop=auth`` or none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from talktrack.telephony.sip.syntax import SipParseError, is_token, quote, split_outside, unquote

__all__ = ["SUPPORTED_ALGORITHMS", "Challenge", "authorization", "parse_challenge", "supported"]

_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data, usedforsecurity=False).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
}
# Canonical spellings, looked up case-insensitively.
SUPPORTED_ALGORITHMS = ("SHA-256", "SHA-256-sess", "MD5", "MD5-sess")
_CANONICAL = {name.upper(): name for name in SUPPORTED_ALGORITHMS}


@dataclass(frozen=True)
class Challenge:
    """A Digest challenge from a 401 or 407 response."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False


def parse_challenge(header_value: str) -> Challenge:
    """Parse a ``WWW-Authenticate``/``Proxy-Authenticate`` value; SipParseError when it is not a Digest one."""
    words = header_value.strip().split(None, 1)
    scheme, rest = (words[0], words[1] if len(words) > 1 else "") if words else ("", "")
    if scheme.lower() != "digest":
        raise SipParseError(f"unsupported authentication scheme {scheme[:20]!r}")
    fields: dict[str, str] = {}
    for piece in split_outside(rest, ","):
        if not piece:
            continue
        name, eq, value = piece.partition("=")
        name = name.strip().lower()
        if not eq or not is_token(name):
            raise SipParseError(f"bad challenge parameter {piece[:40]!r}")
        fields[name] = unquote(value.strip())
    if "realm" not in fields or "nonce" not in fields:
        raise SipParseError("Digest challenge without realm or nonce")
    algorithm = fields.get("algorithm", "MD5")
    qop = tuple(option.strip().lower() for option in fields.get("qop", "").split(",") if option.strip())
    return Challenge(
        realm=fields["realm"],
        nonce=fields["nonce"],
        algorithm=_CANONICAL.get(algorithm.upper(), algorithm),
        qop=qop,
        opaque=fields.get("opaque"),
        stale=fields.get("stale", "").lower() == "true",
    )


def supported(challenge: Challenge) -> bool:
    """True when ``authorization`` can answer this challenge."""
    return challenge.algorithm in SUPPORTED_ALGORITHMS and (not challenge.qop or "auth" in challenge.qop)


def authorization(
    challenge: Challenge, *, method: str, uri: str, username: str, password: str, cnonce: str, nc: int = 1
) -> str:
    """The ``Authorization``/``Proxy-Authorization`` value ("Digest ...") answering ``challenge``.

    ``uri`` is the Request-URI as sent; ``cnonce`` should be fresh and unpredictable for each request.
    """
    if not supported(challenge):
        raise ValueError(
            f"cannot answer a Digest challenge with algorithm {challenge.algorithm!r}, qop {challenge.qop}"
        )
    base = challenge.algorithm.removesuffix("-sess")
    digest = _HASHES[base]

    def h(*parts: str) -> str:
        return digest(":".join(parts).encode("utf-8"))

    ha1 = h(username, challenge.realm, password)
    if challenge.algorithm.endswith("-sess"):
        ha1 = h(ha1, challenge.nonce, cnonce)
    ha2 = h(method, uri)
    count = f"{nc:08x}"
    if "auth" in challenge.qop:
        response = h(ha1, challenge.nonce, count, cnonce, "auth", ha2)
    else:
        response = h(ha1, challenge.nonce, ha2)
    parts = [
        f"username={quote(username)}",
        f"realm={quote(challenge.realm)}",
        f"nonce={quote(challenge.nonce)}",
        f"uri={quote(uri)}",
        f"response={quote(response)}",
        f"algorithm={challenge.algorithm}",
    ]
    if challenge.opaque is not None:
        parts.append(f"opaque={quote(challenge.opaque)}")
    if "auth" in challenge.qop:
        parts += ["qop=auth", f"nc={count}", f"cnonce={quote(cnonce)}"]
    elif challenge.algorithm.endswith("-sess"):
        parts.append(f"cnonce={quote(cnonce)}")
    return "Digest " + ", ".join(parts)
