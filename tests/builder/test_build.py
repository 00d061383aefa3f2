"""Building an agent folder end to end: script PDF + recordings -> a playbook the engine runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from talktrack.brain.engine import PlaybookBrain
from talktrack.builder.build import build_agent
from talktrack.builder.errors import BuildError
from talktrack.builder.report import BuildReport
from talktrack.builder.samples import SampleFiles, render_samples, write_wav
from talktrack.calls.agent import Agent


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> SampleFiles:
    return render_samples(tmp_path_factory.mktemp("samples"))


@pytest.fixture(scope="module")
def built(samples: SampleFiles, tmp_path_factory: pytest.TempPathFactory) -> BuildReport:
    root = tmp_path_factory.mktemp("build")
    doc = root / "security-overview.md"
    doc.write_text("# Security\nBackbeam is SOC 2 Type 2 audited.\n", encoding="utf-8")
    report = build_agent(samples.script, samples.calls, [doc], root / "agent", cache_dir=root / "cache")
    print(f"\nbuild took {report.elapsed_s:.1f} s\n{report.summary()}")
    return report


@pytest.mark.integration
def test_built_agent_loads_with_learned_entries(built: BuildReport) -> None:
    agent = Agent.load(built.out)
    playbook = agent.playbook
    assert agent.default_context() is not None
    assert (built.out / "knowledge" / "security-overview.md").is_file()
    learned_objections = [o for o in playbook.objections if o.learned]
    learned_faq = [f for f in playbook.faq if f.learned]
    assert learned_objections and learned_faq
    # The script's own entries stay unlearned, and no intent appears twice.
    assert [o.intent for o in playbook.objections][:5] == [o for o in built.objections[:5]]
    assert not any(o.learned for o in playbook.objections[:5])
    summary = built.summary()
    assert f"{len(learned_objections)} learned from calls" in summary
    assert f"{len(learned_faq)} learned from calls" in summary
    for entry in learned_objections:
        assert entry.intent in summary
    for faq in learned_faq:
        assert faq.question in summary
    assert "Not placed" in summary and "Before you dial" in summary


@pytest.mark.integration
async def test_a_learned_question_is_answered_in_conversation(built: BuildReport) -> None:
    agent = Agent.load(built.out)
    context = agent.default_context()
    assert context is not None
    index, faq = next((i, f) for i, f in enumerate(agent.playbook.faq) if f.learned)
    brain = PlaybookBrain(agent.playbook, context)
    brain.opener()
    pitch = await brain.respond("Sure, go ahead.")
    assert pitch.phase == "pitch"
    reply = await brain.respond(faq.question)
    assert reply.intent == f"faq:{index}"
    assert reply.text.startswith(faq.answer)


def test_script_only_build_validates_and_reports_defaults(script_pdf: Path, tmp_path: Path) -> None:
    report = build_agent(script_pdf, [], [], tmp_path / "agent", agent_name="Sarah")
    playbook = Agent.load(tmp_path / "agent").playbook
    assert playbook.persona.name == "Sarah" and playbook.persona.company == "Backbeam"
    assert not report.learned and not any(o.learned for o in playbook.objections)
    assert "how_much" in {o.intent for o in playbook.objections}  # drafted from the pricing section
    text = (tmp_path / "agent" / "playbook.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Drafted by") and "# from script: Objection handling" in text
    assert "\n    learned: true" not in text
    assert "Learned entries" not in report.summary()


def test_bad_inputs_name_the_file(script_pdf: Path, tmp_path: Path) -> None:
    out = tmp_path / "agent"
    with pytest.raises(BuildError, match="missing.wav: recording not found"):
        build_agent(script_pdf, [tmp_path / "missing.wav"], [], out)
    fake = tmp_path / "fake.wav"
    shutil.copy(script_pdf, fake)
    with pytest.raises(BuildError, match="fake.wav: not a PCM WAV recording"):
        build_agent(script_pdf, [fake], [], out)
    with pytest.raises(BuildError, match="nothere.pdf: document not found"):
        build_agent(script_pdf, [], [tmp_path / "nothere.pdf"], out)
    sound = tmp_path / "sound.pdf"
    write_wav(sound, np.zeros(1600, dtype=np.int16))
    with pytest.raises(BuildError, match="sound.pdf: not a readable PDF"):
        build_agent(sound, [], [], out)
    assert not out.exists()


@pytest.mark.integration
async def test_the_built_agent_takes_a_whole_call(built: BuildReport, engines, tmp_path: Path) -> None:
    from talktrack.settings import Settings
    from talktrack.testing.harness import simulate_call
    from talktrack.testing.scenario import Hangup, Say, Scenario, Silence, WaitAgent

    scenario = Scenario(
        name="built",
        steps=[
            Silence(silence=0.3),
            Say(say="Hello?"),
            WaitAgent(quiet_ms=1500),
            Say(say="Yes now is fine."),
            WaitAgent(quiet_ms=1500),
            Say(say="How much does it cost?"),
            WaitAgent(quiet_ms=1500),
            Hangup(),
        ],
    )
    settings = Settings(data_dir=tmp_path / "data", listen_first_s=1.0, reprompt_after_s=6.0)
    agent = Agent.load(built.out)
    call = await simulate_call(agent, scenario, engines, settings)
    said = [line["text"] for line in call.log.transcript if line["role"] == "agent"]
    playbook = agent.playbook
    context = agent.default_context()
    assert context is not None
    assert said[0].startswith(playbook.render(playbook.opener, context))
    price = next(o for o in playbook.objections if o.intent == "how_much")
    assert any(line.startswith(playbook.render(price.response, context)) for line in said), said
    assert call.log.outcome == "prospect_hung_up"
