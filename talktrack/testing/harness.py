"""Run one simulated call: the agent on one end of a SimLine, the scripted prospect on the other."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from talktrack.audio.resample import float_at
from talktrack.brain.context import CallContext
from talktrack.calls.agent import Agent
from talktrack.calls.engines import SpeechEngines
from talktrack.calls.record import CallLog
from talktrack.calls.session import CallSession
from talktrack.settings import Settings
from talktrack.telephony.simline import RATE, LineConditions, LineEnd, SimLine
from talktrack.testing.caller import CallerReport, ScriptedCaller
from talktrack.testing.scenario import Scenario
from talktrack.testing.voices import prospect_voice


@dataclass
class SimulatedCall:
    """The agent's record and the prospect's measurements of one call."""

    log: CallLog
    caller: CallerReport
    session: CallSession | None
    scripted: ScriptedCaller


# Runs some other agent implementation on the agent's end of the line (the benchmark's baseline peer).
AgentRunner = Callable[[LineEnd, CallContext], Awaitable[CallLog]]


def scenario_context(agent: Agent, scenario: Scenario) -> CallContext:
    """The scenario's context, else the agent's sample context, else a generic prospect."""
    if scenario.context:
        return CallContext.from_mapping(scenario.context)
    return agent.default_context() or CallContext(prospect_name="Alex Morgan", company="Example Co")


async def simulate_call(
    agent: Agent,
    scenario: Scenario,
    engines: SpeechEngines,
    settings: Settings,
    *,
    conditions: LineConditions | None = None,
    on_event: Callable[[str, str], None] | None = None,
    transcribe_agent: bool = False,
    save_to: Path | None = None,
    agent_runner: AgentRunner | None = None,
) -> SimulatedCall:
    """Ring, prepare the agent while ringing, answer, and play the scenario to its end."""
    line = SimLine(to_agent=conditions, to_caller=conditions)
    context = scenario_context(agent, scenario)
    caller = ScriptedCaller(scenario, line.caller, prospect_voice(scenario.voice), on_event=on_event)
    session: CallSession | None = None
    agent_side: Awaitable[CallLog]
    if agent_runner is None:
        session = CallSession(agent, context, line.agent, engines, settings)
        # "Ringing": the opener and fixed phrases are synthesized before anyone answers.
        await asyncio.gather(session.prepare(all_phrases=True), asyncio.to_thread(caller.prepare))
        if on_event:
            # Agent lines as the engine decides them; the prospect's as the agent's STT heard them.
            session.log.listeners.append(lambda entry: on_event(_who(entry), entry["text"]))
        agent_side = session.run()
    else:
        await asyncio.to_thread(caller.prepare)
        agent_side = agent_runner(line.agent, context)
    log, report = await asyncio.gather(agent_side, caller.run())
    if transcribe_agent:
        stt = engines.stt

        def text_of(pcm8k: np.ndarray) -> str:
            return stt.transcribe(float_at(pcm8k, RATE, 16000)).text

        await asyncio.to_thread(caller.transcribe_agent, text_of)
    if save_to is not None and session is not None:
        session.save(save_to)
    return SimulatedCall(log=log, caller=report, session=session, scripted=caller)


def _who(entry: dict[str, object]) -> str:
    """How a transcript entry is reported: the agent's lines, withdrawn replies, what the agent heard."""
    if entry["role"] != "agent":
        return "heard"
    return "withdrawn" if entry.get("retracted") else "agent"
