"""Whole outbound calls answered by machines: a voicemail greeting with its beep, a phone menu, a fax.

The greetings and menus are Debian's recorded Asterisk prompts (real human speech); the beep is
Asterisk's own. The scripted far end plays them on the simulated line and listens for the agent's keys.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from talktrack.calls.agent import Agent, bundled_agent_dir
from talktrack.testing.caller import load_wav_8k
from talktrack.testing.harness import simulate_call
from talktrack.testing.scenario import Hangup, Say, Scenario, Silence, WaitAgent, WaitKeys

pytestmark = pytest.mark.integration

SOUNDS = Path("/usr/share/asterisk/sounds/en")
if not (SOUNDS / "basic-pbx-ivr-main.wav").exists():
    pytest.skip("make test-deps installs asterisk-core-sounds-en-wav", allow_module_level=True)


@pytest.fixture(scope="module")
def agent() -> Agent:
    return Agent.load(bundled_agent_dir())


def _wav(path: Path, pcm: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(pcm.astype(np.int16).tobytes())
    return path


def _events(call, kind: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [e for e in call.log.events if e["kind"] == kind]


async def test_voicemail_gets_the_message_right_after_the_beep(agent, engines, settings):
    scenario = Scenario(
        name="voicemail",
        context={"prospect_name": "Dana Whitfield", "company": "Acme"},
        steps=[
            Silence(silence=0.3),
            Say(say_wav=SOUNDS / "vm-nobodyavail.wav"),  # "Nobody is available to take your call at the moment"
            Say(say_wav=SOUNDS / "vm-intro.wav"),  # "Please leave your message after the tone. …"
            Say(say_wav=SOUNDS / "beep.wav"),
            Silence(silence=14.0),
            Hangup(),
        ],
    )
    call = await simulate_call(agent, scenario, engines, settings, transcribe_agent=True)
    assert call.log.outcome == "voicemail"
    assert call.caller.hung_up_by == "agent"
    said = [line for line in call.log.transcript if line["role"] == "agent"]
    assert [line["kind"] for line in said] == ["voicemail"]
    assert said[0]["text"].startswith("Hi Dana")
    beep = call.caller.utterances[-1]
    assert call.caller.agent, "the agent never spoke"
    first = call.caller.agent[0]
    # Nothing over the greeting; the message starts right after the beep (~0.3 s on a quiet box; the
    # 0.5 s target is measured by `talktrack bench detection`, this allows for a busy one).
    assert first.start > beep.end
    assert first.start - beep.end <= 0.9, f"message began {first.start - beep.end:.3f} s after the beep"
    heard = " ".join(segment.text for segment in call.caller.agent).lower()
    assert "follow up" in heard or "e-mail" in heard or "email" in heard, heard
    verdicts = _events(call, "answered_by")
    assert verdicts and verdicts[0]["answer"] == "voicemail"


async def test_voicemail_hang_up_policy_leaves_nothing(agent, engines, settings):
    playbook = agent.playbook.model_copy(
        update={"voicemail": agent.playbook.voicemail.model_copy(update={"action": "hang_up"})}
    )
    quiet_agent = Agent(agent_id=agent.agent_id, path=agent.path, playbook=playbook)
    scenario = Scenario(
        name="voicemail-hang-up",
        steps=[Silence(silence=0.3), Say(say_wav=SOUNDS / "vm-nobodyavail.wav"), Silence(silence=5.0), Hangup()],
    )
    call = await simulate_call(quiet_agent, scenario, engines, settings)
    assert call.log.outcome == "voicemail"
    assert call.caller.hung_up_by == "agent"
    assert not [line for line in call.log.transcript if line["role"] == "agent"]
    assert call.caller.agent == []


# Known open problems (issue #6 is still open): on a busy box the menu's pieces are transcribed late and the
# greeting-length verdict leaves the voicemail message before the menu words arrive, and the opener may start
# on the person's "Hi," before their sentence ends. The replay in `talktrack bench detection` measures both.
_MENU_FLAKY = pytest.mark.xfail(reason="phone-menu navigation is not yet reliable under load (issue #6)", strict=False)


@_MENU_FLAKY
async def test_a_phone_menu_gets_the_extension_then_the_person_gets_the_opener(agent, engines, settings, tmp_path):
    # The first 10.6 s of a real PBX menu: "Thank you for calling Super Awesome Company, … If you know your
    # party's extension, you may dial it at any time."
    menu = _wav(tmp_path / "menu.wav", load_wav_8k(SOUNDS / "basic-pbx-ivr-main.wav")[: int(10.6 * 8000)])
    scenario = Scenario(
        name="ivr-extension",
        context={"prospect_name": "Dana Whitfield", "company": "Acme", "extra": {"extension": "214"}},
        steps=[
            Silence(silence=0.3),
            Say(say_wav=menu),
            WaitKeys(wait_keys="214", timeout_s=10.0),
            Say(say_wav=SOUNDS / "transfer.wav"),  # "Please hold while I try that extension."
            Silence(silence=1.5),
            Say(say="Hi, this is Dana."),
            WaitAgent(),
            Hangup(),
        ],
    )
    call = await simulate_call(agent, scenario, engines, settings, transcribe_agent=True)
    assert call.caller.failures == []
    assert "".join(key for key, _ in call.caller.keys) == "214"
    presses = _events(call, "ivr")
    assert presses and presses[0]["keys"] == "214"
    said = [line for line in call.log.transcript if line["role"] == "agent"]
    assert said and said[0]["kind"] == "opener"
    # After its keys, the agent spoke only once the person had.
    person = call.caller.utterances[-1]
    spoken = [segment for segment in call.caller.agent if segment.start > call.caller.keys[-1][1] + 0.2]
    assert spoken and spoken[0].start > person.end


@_MENU_FLAKY
async def test_a_whole_menu_is_heard_before_choosing_sales(agent, engines, settings):
    scenario = Scenario(
        name="ivr-menu",
        context={"prospect_name": "Dana", "company": "Acme"},
        steps=[
            Silence(silence=0.3),
            Say(say_wav=SOUNDS / "basic-pbx-ivr-main.wav"),
            WaitKeys(wait_keys="1", timeout_s=8.0),
            Silence(silence=1.0),
            Say(say="Sales, this is Dana."),
            WaitAgent(),
            Hangup(),
        ],
    )
    call = await simulate_call(agent, scenario, engines, settings)
    assert call.caller.failures == []
    presses = _events(call, "ivr")
    assert [p["keys"] for p in presses] == ["1"]
    assert "sales" in presses[0]["reason"]
    # Chosen once the menu had ended (the operator, option 0, is read out last).
    menu = call.caller.utterances[0]
    assert call.caller.keys[0][1] > menu.end
    said = [line for line in call.log.transcript if line["role"] == "agent"]
    assert said and said[0]["kind"] == "opener"


async def test_a_fax_tone_is_hung_up_on(agent, engines, settings, tmp_path):
    t = np.arange(int(3.0 * 8000)) / 8000
    ced = _wav(tmp_path / "ced.wav", 8000 * np.sin(2 * np.pi * 2100 * t))  # a fax machine's answer tone
    scenario = Scenario(name="fax", steps=[Silence(silence=0.3), Say(say_wav=ced), Silence(silence=3.0), Hangup()])
    call = await simulate_call(agent, scenario, engines, settings)
    assert call.log.outcome == "fax_or_tone"
    assert call.caller.hung_up_by == "agent"
    assert not [line for line in call.log.transcript if line["role"] == "agent"]
