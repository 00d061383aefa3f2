"""A whole call to an agent whose whitepaper was uploaded as a PDF: the prospect asks about SOC 2 and hears the
answer from the whitepaper; asks what no document covers and hears the abstain line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from talktrack.builder.samples import render_script_pdf
from talktrack.calls.agent import Agent, bundled_agent_dir
from talktrack.testing.harness import simulate_call
from talktrack.testing.scenario import Hangup, Say, Scenario, Silence, WaitAgent

pytestmark = pytest.mark.integration


@pytest.fixture
def agent_dir(tmp_path: Path) -> Path:
    """The Backbeam agent without the playbook's own FAQ, and with its whitepaper uploaded as a PDF."""
    folder = tmp_path / "agents" / "whitepaper"
    (folder / "knowledge").mkdir(parents=True)
    playbook = yaml.safe_load((bundled_agent_dir() / "playbook.yaml").read_text())
    playbook["faq"] = []
    (folder / "playbook.yaml").write_text(yaml.safe_dump(playbook, sort_keys=False))
    shutil.copyfile(bundled_agent_dir() / "context.yaml", folder / "context.yaml")
    source = bundled_agent_dir() / "knowledge" / "security-whitepaper.md"
    render_script_pdf(source, folder / "knowledge" / "security-whitepaper.pdf")
    return folder


async def test_the_prospect_hears_the_whitepapers_answer_and_the_abstain_line(engines, settings, agent_dir):
    scenario = Scenario(
        name="knowledge",
        steps=[
            Silence(silence=0.3),
            Say(say="Hello?"),
            WaitAgent(quiet_ms=1500),
            Say(say="Yes now is fine."),
            WaitAgent(quiet_ms=1500),
            Say(say="So does your SOC 2 cover type two?"),
            WaitAgent(quiet_ms=1500),
            Say(say="Do you have a bug bounty program?"),
            WaitAgent(quiet_ms=1500),
            Hangup(),
        ],
    )
    office = settings.model_copy(update={"reprompt_after_s": 6.0})
    call = await simulate_call(Agent.load(agent_dir), scenario, engines, office, transcribe_agent=True)
    decisions = [e["decision"] for e in call.log.events if e["kind"] == "brain" and "knowledge" in e["decision"]]
    answered = [d for d in decisions if d["knowledge"]["answered"]]
    assert answered, [(line["role"], line["text"]) for line in call.log.transcript] + decisions
    assert answered[0]["knowledge"]["sources"][0].startswith("security-whitepaper.pdf p. 1")
    said = [line["text"] for line in call.log.transcript if line["role"] == "agent"]
    [soc] = [line for line in said if "SOC 2 Type II report" in line]
    assert "We hold a SOC 2 Type II report." in soc
    abstain = "Good question. I don't want to guess, so I'll have our team e-mail you the details."
    assert any(line.startswith(abstain) for line in said), said
    heard = " ".join(seg.text for seg in call.caller.agent).lower()
    assert "type" in heard and "report" in heard  # the prospect heard the answer, not just the record
