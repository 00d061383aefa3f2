"""Who is being called: the per-call facts a playbook is personalised with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml

from talktrack.errors import ConfigError

# Honorifics are skipped so "Dr. Dana Whitfield" is greeted as "Dana", not "Dr.".
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam"})
_REQUIRED = ("prospect_name", "company")


def _empty_extra() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class CallContext:
    """The prospect and the call's purpose, as known before dialling."""

    prospect_name: str
    company: str
    history: str = ""
    goal: str = "book a demo"
    language: str = "en"
    timezone: str = "America/New_York"
    phone: str = ""
    email: str = ""
    extra: Mapping[str, str] = field(default_factory=_empty_extra)

    @property
    def first_name(self) -> str:
        """The prospect's given name, without a title such as "Dr."."""
        parts = self.prospect_name.split()
        for part in parts:
            if part.rstrip(".").lower() not in _TITLES:
                return part
        return parts[0] if parts else ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], *, source: str = "context") -> CallContext:
        """Build a context from a parsed mapping, raising ConfigError on bad fields."""
        allowed = [f.name for f in fields(cls)]
        unknown = sorted(str(k) for k in data if k not in allowed)
        if unknown:
            raise ConfigError(
                f"{source}: unknown field '{unknown[0]}'",
                fix=f"remove it, or put it under 'extra:'; allowed fields: {', '.join(allowed)}",
            )
        for name in _REQUIRED:
            if not _text(data.get(name)):
                raise ConfigError(
                    f"{source}: {name}: field required",
                    fix=f"add '{name}: ...' with a non-empty text value",
                )
        values: dict[str, str] = {}
        for name in allowed:
            if name == "extra" or name not in data:
                continue
            value = data[name]
            if not isinstance(value, str):
                raise ConfigError(
                    f"{source}: {name}: expected text, got {type(value).__name__}",
                    fix=f"write {name} as a quoted string",
                )
            values[name] = value.strip()
        extra = _extra(data.get("extra"), source)
        _check_timezone(values.get("timezone", cls.timezone), source)
        return cls(extra=extra, **values)


def load_context(path: Path) -> CallContext:
    """Read a call context from a YAML file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found", fix="check the path to the call context YAML") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: invalid YAML{where}", fix="check indentation and quote values with ':'") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a mapping of fields", fix="write 'prospect_name: ...' and so on")
    return CallContext.from_mapping(raw, source=str(path))


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _extra(value: object, source: str) -> Mapping[str, str]:
    if value is None:
        return _empty_extra()
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{source}: extra: expected a mapping, got {type(value).__name__}",
            fix="write extra as 'key: value' lines indented under 'extra:'",
        )
    out: dict[str, str] = {}
    for key, item in value.items():
        # Numbers are accepted because YAML turns "employees: 200" into an int.
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ConfigError(
                f"{source}: extra.{key}: expected text or a number",
                fix="give each extra field a single text value",
            )
        out[str(key)] = str(item)
    return MappingProxyType(out)


def _check_timezone(name: str, source: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # Without any tz database every name fails; do not block calls for that.
        if available_timezones():
            raise ConfigError(
                f"{source}: timezone: unknown time zone '{name}'",
                fix="use an IANA name such as 'America/Chicago' or 'Europe/London'",
            ) from None
