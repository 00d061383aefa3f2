"""Lexical pieces of SIP (RFC 3261 §25) shared by the URI, header and digest parsers.

Everything here works on already-unfolded header text. Splitting respects quoted strings (with backslash
escapes) and ``<...>`` brackets, so a display name or a URI parameter never breaks a list apart.
"""

from __future__ import annotations

import string

Params = tuple[tuple[str, str | None], ...]

# RFC 3261 "token": the characters a method, a parameter name or a header name may use.
TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-.!%*_+`'~")


class SipParseError(ValueError):
    """A datagram that is not a well-formed SIP message (message says what and where)."""


def is_token(text: str) -> bool:
    """True when ``text`` is a non-empty RFC 3261 token."""
    return bool(text) and all(ch in TOKEN_CHARS for ch in text)


def read_quoted(text: str, start: int) -> tuple[str, int]:
    """The quoted string opening at ``text[start]`` (unescaped), and the index just past its closing quote."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise SipParseError(f"unterminated quoted string in {text!r}")


def quote(text: str) -> str:
    """``text`` as a quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote(text: str) -> str:
    """A parameter value without its quotes (values that are not quoted are returned as they are)."""
    if text.startswith('"'):
        value, end = read_quoted(text, 0)
        if end != len(text):
            raise SipParseError(f"text after quoted string in {text!r}")
        return value
    return text


def split_outside(text: str, sep: str) -> list[str]:
    """Split on ``sep`` where it is outside quotes and ``<...>``; pieces are stripped, empty ones kept."""
    pieces: list[str] = []
    current: list[str] = []
    in_quotes = False
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if in_quotes:
            if ch == "\\" and i + 1 < len(text):
                current.append(text[i : i + 2])
                i += 2
                continue
            if ch == '"':
                in_quotes = False
        elif ch == '"':
            in_quotes = True
        elif ch == "<":
            depth += 1
        elif ch == ">" and depth:
            depth -= 1
        elif ch == sep and depth == 0:
            pieces.append("".join(current).strip())
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    pieces.append("".join(current).strip())
    return pieces


def parse_params(text: str, where: str) -> Params:
    """``;name=value;flag`` parameters (the leading ``;`` is optional); ``where`` names them in errors."""
    text = text.strip()
    if not text:
        return ()
    if text.startswith(";"):
        text = text[1:]
    params: list[tuple[str, str | None]] = []
    for piece in split_outside(text, ";"):
        if not piece:
            continue  # ";;" and a trailing ";" are harmless; real stacks emit both
        name, eq, value = piece.partition("=")
        name = name.strip()
        if not is_token(name):
            raise SipParseError(f"bad parameter name {name!r} in {where}")
        if not eq:
            params.append((name, None))
            continue
        value = value.strip()
        if value.startswith('"'):
            unquote(value)  # validates; the raw quoted form is kept so it serializes back unchanged
        elif any(ch in value for ch in ' \t"<>'):
            raise SipParseError(f"bad value {value!r} for parameter {name!r} in {where}")
        params.append((name, value))
    return tuple(params)


def format_params(params: Params) -> str:
    """Parameters as ``;name=value;flag``."""
    return "".join(f";{name}" if value is None else f";{name}={value}" for name, value in params)


def has_param(params: Params, name: str) -> bool:
    """True when a parameter named ``name`` (case-insensitive) is present, with or without a value."""
    lowered = name.lower()
    return any(key.lower() == lowered for key, _ in params)


def param_value(params: Params, name: str) -> str | None:
    """The unquoted value of parameter ``name`` (case-insensitive); None when absent or valueless."""
    lowered = name.lower()
    for key, value in params:
        if key.lower() == lowered:
            return None if value is None else unquote(value)
    return None


def replace_param(params: Params, name: str, value: str | None) -> Params:
    """``params`` with ``name`` set to ``value`` (kept in place when present, appended otherwise)."""
    lowered = name.lower()
    if has_param(params, name):
        return tuple((key, value) if key.lower() == lowered else (key, old) for key, old in params)
    return (*params, (name, value))
