"""A whole call whose calendar server hangs: the agent holds the line, then e-mails times instead."""

from __future__ import annotations

import asyncio

import pytest

from talktrack.calls.agent import Agent, bundled_agent_dir
from talktrack.testing.harness import simulate_call
from talktrack.testing.scenario import Hangup, Say, Scenario, Silence, WaitAgent
from talktrack.testing.smtp import LocalSmtp

pytestmark = pytest.mark.integration


async def test_a_hanging_calendar_gets_a_hold_line_then_a_follow_up_email(engines, settings):
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accept the connection, then say nothing until the client gives up

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    scenario = Scenario(
        name="slow-calendar",
        steps=[
            Silence(silence=0.3),
            Say(say="Hello?"),
            WaitAgent(quiet_ms=1500),
            Say(say="Yes now is fine."),  # not a bare "Sure.": tiny.en hears "Here." once in a while
            WaitAgent(quiet_ms=1500),
            Say(say="We export to a spreadsheet."),
            WaitAgent(quiet_ms=1500),
            Say(say="About forty people."),
            WaitAgent(quiet_ms=1500),
            Say(say="Can we just book a demo?"),
            WaitAgent(quiet_ms=2500),
            Hangup(),
        ],
    )
    async with silent, LocalSmtp() as smtp:
        office = settings.model_copy(
            update={
                "caldav_url": f"http://127.0.0.1:{port}/sales/demo/",
                "calendar_timeout_s": 2.0,
                "smtp_host": smtp.host,
                "smtp_port": smtp.port,
                "smtp_starttls": False,
                "reprompt_after_s": 6.0,  # no reprompt while the prospect's lines are being voiced
            }
        )
        call = await simulate_call(Agent.load(bundled_agent_dir()), scenario, engines, office)
        said = [(line["kind"], line["text"]) for line in call.log.transcript if line["role"] == "agent"]
        assert ("hold", "One moment, I'm checking the calendar.") in said, said
        await smtp.wait_for(1, 5.0)
    hold = said.index(("hold", "One moment, I'm checking the calendar."))
    [text] = [t for _, t in said[hold + 1 :] if t.startswith("I can't get into the calendar right now")]
    assert text.startswith("I can't get into the calendar right now, so I'll e-mail you a few times instead.")
    assert "on its way to dana dot whitfield at acmelogistics dot com" in text
    assert call.log.outcome == "follow_up_email"
    # The prospect heard the agent within the hold delay plus turn taking, not after the calendar's timeout.
    assert call.caller.v2v_ms[-1] < 1500
    assert list(smtp.messages[0].recipients) == ["dana.whitfield@acmelogistics.com"]
