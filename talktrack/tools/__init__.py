"""Tools the agent uses while on the phone: typed functions, one registry for both brains."""

from talktrack.tools.registry import Tool, ToolError, ToolRegistry, ToolResult, tool

__all__ = ["Tool", "ToolError", "ToolRegistry", "ToolResult", "tool"]
