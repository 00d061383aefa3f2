"""The brain of one call: the playbook engine with the call's tools, or the LLM brain with the engine as fallback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from talktrack.brain.base import Brain
from talktrack.brain.context import CallContext
from talktrack.brain.engine import PlaybookBrain
from talktrack.calls.agent import Agent
from talktrack.errors import ConfigError
from talktrack.settings import Settings
from talktrack.tools.sales import sales_registry
from talktrack.tools.services import Office

BRAINS = ("playbook", "llm")


def build_brain(
    agent: Agent,
    context: CallContext,
    *,
    call_id: str,
    settings: Settings,
    office: Office,
    send_dtmf: Callable[[str], Awaitable[None]] | None = None,
) -> Brain:
    """A fresh brain for one call, its tools bound to this call's services."""
    if settings.brain not in BRAINS:
        raise ConfigError(f"TALKTRACK_BRAIN: unknown brain '{settings.brain}'", fix="use 'playbook' or 'llm'")
    documents = office.knowledge_for(agent.agent_id, agent.playbook, agent.path / "knowledge")
    services = office.services(
        call_id=call_id,
        agent_id=agent.agent_id,
        playbook=agent.playbook,
        context=context,
        knowledge=documents,
        send_dtmf=send_dtmf,
    )
    tools = sales_registry(services)
    engine = PlaybookBrain(agent.playbook, context, tools=tools, knowledge=documents)
    services.summary = engine.summary
    if settings.brain == "playbook":
        return engine
    from talktrack.brain.llm import LlmBrain  # the openai SDK loads only when it is used

    return LlmBrain(
        agent.playbook,
        context,
        tools,
        fallback=engine,
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key,
        model=settings.llm_model,
        first_token_timeout_s=settings.llm_first_token_timeout_s,
    )

