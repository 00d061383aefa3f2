"""An agent folder with documents: the call's brain answers product questions from them, or abstains."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from talktrack.calls.agent import Agent, bundled_agent_dir
from talktrack.calls.brains import build_brain
from talktrack.settings import Settings
from talktrack.tools.services import Office


@pytest.fixture
def agent_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "agents" / "backbeam"
    shutil.copytree(bundled_agent_dir(), folder)
    return folder


async def _conversation(agent_dir: Path, settings: Settings, lines: list[str]):
    agent = Agent.load(agent_dir)
    office = Office(settings)
    context = agent.default_context()
    assert context is not None
    brain = build_brain(agent, context, call_id="call-1", settings=settings, office=office)
    replies = [await brain.respond(line) for line in lines]
    await office.aclose()
    return brain, replies


async def test_product_questions_are_answered_from_the_agents_documents(agent_dir: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    _, replies = await _conversation(
        agent_dir,
        settings,
        ["Hello?", "Sure, go ahead.", "How often do backups run?", "Is multi-factor authentication required?"],
    )
    backups, mfa = replies[2], replies[3]
    assert backups.text.startswith("Backups run automatically every day on every plan.")
    record = backups.decision["knowledge"]
    assert record["answered"] and record["sources"][0].startswith("product-faq.md")
    # The matcher calls this one off-topic; the documents answer it.
    assert "Multi-factor authentication is required" in mfa.text
    # After the answer, the agent brings the call back to its question.
    assert backups.text.endswith("So, how do you back up Salesforce today?")


async def test_uncovered_product_questions_get_the_abstain_line_and_a_follow_up(
    agent_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    brain, replies = await _conversation(
        agent_dir, settings, ["Hello?", "Sure, go ahead.", "Are you FedRAMP authorized?", "Did you watch the game?"]
    )
    fedramp, game = replies[2], replies[3]
    abstain = brain.playbook.render(brain.playbook.fallbacks.unknown_question, brain.context)
    assert fedramp.text.startswith(abstain)
    assert fedramp.decision["knowledge"]["answered"] is False
    assert "Are you FedRAMP authorized?" in brain.follow_up_questions
    assert game.text.startswith(brain.playbook.render(brain.playbook.fallbacks.off_topic, brain.context))


async def test_an_agent_without_documents_keeps_the_playbook_answers(tmp_path: Path) -> None:
    folder = tmp_path / "agents" / "plain"
    folder.mkdir(parents=True)
    for name in ("playbook.yaml", "context.yaml"):
        shutil.copyfile(bundled_agent_dir() / name, folder / name)
    settings = Settings(data_dir=tmp_path / "data")
    brain, replies = await _conversation(folder, settings, ["Hello?", "Sure, go ahead.", "How often do backups run?"])
    abstain = brain.playbook.render(brain.playbook.fallbacks.unknown_question, brain.context)
    assert replies[2].text.startswith(abstain)
    assert "knowledge" not in replies[2].decision
