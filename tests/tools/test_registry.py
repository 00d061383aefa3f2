"""The tool registry: generated schemas, validated arguments, and failures as sentences."""

from __future__ import annotations

import json
from typing import Any

from talktrack.tools.registry import ToolError, ToolRegistry, tool


class Services:
    def __init__(self) -> None:
        self.booked: list[str] = []


async def book(services: Services, start: str, email: str, attendees: int = 1) -> dict[str, Any]:
    """Book a meeting at `start` for `email`."""
    if not email.endswith(".com"):
        raise ToolError("That e-mail doesn't look right.", code="invalid_email", data={"email": email})
    services.booked.append(start)
    return {"start": start, "attendees": attendees}


async def broken(services: Services) -> dict[str, Any]:
    """Always fails."""
    raise RuntimeError("bug")


def registry() -> ToolRegistry:
    return ToolRegistry([tool(book), tool(broken)], Services())


def test_schema_is_generated_from_the_signature_and_docstring() -> None:
    schema = registry().schemas()[0]
    assert schema["type"] == "function"
    function = schema["function"]
    assert function["name"] == "book"
    assert function["description"] == "Book a meeting at `start` for `email`."
    params = function["parameters"]
    assert params["type"] == "object"
    assert params["required"] == ["start", "email"]
    assert params["properties"]["attendees"] == {"default": 1, "type": "integer"}
    assert params["additionalProperties"] is False


async def test_call_with_json_arguments() -> None:
    tools = registry()
    result = await tools.call("book", json.dumps({"start": "2026-12-01T10:00:00-05:00", "email": "a@b.com"}))
    assert result.ok and result.data == {"start": "2026-12-01T10:00:00-05:00", "attendees": 1}
    assert tools.services.booked == ["2026-12-01T10:00:00-05:00"]  # type: ignore[attr-defined]
    assert tools.calls[-1]["tool"] == "book" and tools.calls[-1]["ok"] is True
    assert json.loads(result.to_json())["ok"] is True


async def test_tool_error_is_a_sentence_with_a_code() -> None:
    result = await registry().call("book", {"start": "x", "email": "a@b"})
    assert not result.ok
    assert result.code == "invalid_email"
    assert result.say == "That e-mail doesn't look right."
    body = json.loads(result.to_json())
    assert body == {"ok": False, "email": "a@b", "error": "invalid_email", "say": "That e-mail doesn't look right."}


async def test_bad_arguments_never_raise() -> None:
    tools = registry()
    for name, arguments in [
        ("book", "{not json"),
        ("book", "[1, 2]"),
        ("book", {"start": "x"}),  # missing email
        ("book", {"start": "x", "email": "a@b.com", "extra": 1}),
        ("book", {"start": "x", "email": "a@b.com", "attendees": "many"}),
    ]:
        result = await tools.call(name, arguments)
        assert not result.ok and result.code == "bad_arguments", arguments
        assert result.say


async def test_unknown_tool_and_a_crashing_tool_give_sayable_failures() -> None:
    tools = registry()
    unknown = await tools.call("launch_rockets", {})
    assert (unknown.ok, unknown.code) == (False, "unknown_tool")
    crashed = await tools.call("broken")
    assert (crashed.ok, crashed.code) == (False, "error")
    assert crashed.say == "Sorry, something went wrong on my side."
    assert [c["tool"] for c in tools.calls] == ["launch_rockets", "broken"]
