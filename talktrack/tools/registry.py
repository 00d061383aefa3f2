"""Tools are typed async functions; their JSON schemas are generated, and one registry serves both brains.

A tool takes the call's services as its first argument and keyword arguments after
it. The registry validates arguments against the generated schema, runs the tool
and always returns a :class:`ToolResult`: a failure carries a sentence the agent
can say, so neither brain ever sees a traceback.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, get_type_hints

from loguru import logger
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

ToolFn = Callable[..., Awaitable[Mapping[str, Any]]]


class ToolError(Exception):
    """A tool could not do its job; ``str()`` is a sentence a person on the phone could hear."""

    def __init__(self, say: str, *, code: str = "failed", data: Mapping[str, Any] | None = None) -> None:
        super().__init__(say)
        self.say = say
        self.code = code
        self.data = dict(data or {})


def _frozen(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class ToolResult:
    """What a tool call came to: ``ok``, its data, and a sentence (``say``) for the agent."""

    name: str
    ok: bool
    data: Mapping[str, Any] = field(default_factory=_frozen)
    say: str = ""
    code: str = "ok"
    ms: float = 0.0

    def to_json(self) -> str:
        """The tool message an LLM reads back."""
        body: dict[str, Any] = {"ok": self.ok, **self.data}
        if not self.ok:
            body |= {"error": self.code, "say": self.say}
        return json.dumps(body, default=str)

    def as_event(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """A call-record entry for this call."""
        return {
            "tool": self.name,
            "arguments": dict(arguments),
            "ok": self.ok,
            "code": self.code,
            "ms": round(self.ms, 1),
            "data": dict(self.data),
        }


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Tool:
    """One tool: its name, description (the docstring) and parameter model (from the signature)."""

    name: str
    description: str
    fn: ToolFn
    params: type[BaseModel]

    def schema(self) -> dict[str, Any]:
        """The OpenAI chat-completions ``tools`` entry."""
        parameters = self.params.model_json_schema()
        parameters.pop("title", None)
        for prop in parameters.get("properties", {}).values():
            prop.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": parameters},
        }


def tool(fn: ToolFn) -> Tool:
    """Make a tool of ``async def name(services, *, arg: T = default) -> dict``; the docstring describes it."""
    hints = get_type_hints(fn)
    fields: dict[str, Any] = {}
    for index, param in enumerate(inspect.signature(fn).parameters.values()):
        if index == 0:
            continue  # the call's services
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (hints[param.name], default)
    params = create_model(f"{fn.__name__}_params", __base__=_Params, **fields)
    description = inspect.cleandoc(fn.__doc__ or fn.__name__)
    return Tool(name=fn.__name__, description=description, fn=fn, params=params)


class ToolRegistry:
    """The tools of one call, bound to that call's services."""

    def __init__(self, tools: Iterable[Tool], services: object) -> None:
        self._tools = {t.name: t for t in tools}
        self.services = services
        self.calls: list[dict[str, Any]] = []

    @property
    def names(self) -> list[str]:
        """Tool names, in registration order."""
        return list(self._tools)

    def schemas(self) -> list[dict[str, Any]]:
        """Every tool's schema, for an LLM request."""
        return [t.schema() for t in self._tools.values()]

    async def call(self, name: str, arguments: str | Mapping[str, Any] | None = None) -> ToolResult:
        """Run a tool; unknown names, bad arguments and failures come back as a sayable ToolResult."""
        started = time.monotonic()
        parsed: Mapping[str, Any] = {}
        try:
            parsed = _arguments(arguments)
            found = self._tools.get(name)
            if found is None:
                raise ToolError("Sorry, I can't do that from here.", code="unknown_tool")
            try:
                params = found.params.model_validate(parsed)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "arguments"
                problem = {"problem": f"{where}: {first['msg']}"}
                raise ToolError("Sorry, I didn't get that quite right.", code="bad_arguments", data=problem) from None
            data = await found.fn(self.services, **params.model_dump())
            result = ToolResult(name, True, _frozen(data), str(data.get("say", "")), ms=_ms(started))
        except ToolError as exc:
            result = ToolResult(name, False, _frozen(exc.data), exc.say, exc.code, _ms(started))
        except Exception:  # a tool bug must not leave the prospect in dead air
            logger.exception(f"tool {name} failed")
            sorry = "Sorry, something went wrong on my side."
            result = ToolResult(name, False, _frozen(), sorry, "error", _ms(started))
        self.calls.append(result.as_event(parsed))
        return result


def _arguments(arguments: str | Mapping[str, Any] | None) -> Mapping[str, Any]:
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, str):
        try:
            value = json.loads(arguments)
        except json.JSONDecodeError:
            raise ToolError("Sorry, I didn't get that quite right.", code="bad_arguments") from None
    else:
        value = arguments
    if not isinstance(value, Mapping):
        raise ToolError("Sorry, I didn't get that quite right.", code="bad_arguments")
    return value


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000.0
