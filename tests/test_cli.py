"""Bad input at the command line: one clear message naming the file and the fix, exit code 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from talktrack.calls.agent import bundled_agent_dir


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "talktrack.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "fix:" in result.stderr
    for needle in needles:
        assert needle in result.stderr


def test_malformed_scenario(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps:\n  - shout: hello\n")
    assert_clean_error(run("demo", "--scenario", str(bad), "--data-dir", str(tmp_path)), str(bad), "steps[0]")


def test_malformed_playbook(tmp_path):
    agent = tmp_path / "agent"
    agent.mkdir()
    text = (bundled_agent_dir() / "playbook.yaml").read_text().replace("goal: book a 30-minute demo\n", "")
    (agent / "playbook.yaml").write_text(text)
    assert_clean_error(run("demo", "--agent", str(agent), "--data-dir", str(tmp_path)), "playbook.yaml", "goal")


def test_unreadable_wav(tmp_path):
    wav = tmp_path / "hello.wav"
    wav.write_text("this is not audio")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: x\nsteps:\n  - say_wav: hello.wav\n")
    assert_clean_error(run("demo", "--scenario", str(scenario), "--data-dir", str(tmp_path)), str(wav), "WAV")


@pytest.mark.integration
def test_missing_model(tmp_path):
    missing = tmp_path / "no-such-model"
    result = run("demo", "--data-dir", str(tmp_path), env={"TALKTRACK_WHISPER_MODEL_DIR": str(missing)})
    assert_clean_error(result, str(missing))


def test_missing_agent_folder(tmp_path):
    assert_clean_error(run("demo", "--agent", str(tmp_path / "nowhere")), "nowhere")


def test_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("demo", "bench"):
        assert command in result.stdout


def test_serve_answers_the_twilio_webhook(tmp_path):
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "talktrack.cli", "serve", "--port", str(port)],
        env={**os.environ, "TALKTRACK_DATA_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = b""
        for _ in range(100):
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/telephony/twilio/voice", data=b"CallSid=CA1&From=%2B13125550142"
                )
                body = urllib.request.urlopen(request, timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        assert b"<Connect><Stream" in body
        assert f"ws://127.0.0.1:{port}/telephony/twilio/stream".encode() in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_call_without_twilio_settings_says_what_is_missing(tmp_path):
    env = {k: "" for k in ("TALKTRACK_TWILIO_ACCOUNT_SID", "TALKTRACK_TWILIO_AUTH_TOKEN", "TALKTRACK_PUBLIC_URL")}
    assert_clean_error(run("call", "--to", "+13125550142", env=env), "TALKTRACK_TWILIO_ACCOUNT_SID")


def test_call_to_a_bad_number_is_refused(tmp_path):
    env = {
        "TALKTRACK_TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TALKTRACK_TWILIO_AUTH_TOKEN": "t",
        "TALKTRACK_TWILIO_FROM_NUMBER": "+13125550100",
        "TALKTRACK_PUBLIC_URL": "https://agent.example.com",
        "TALKTRACK_TWILIO_API_BASE_URL": "http://127.0.0.1:9",
    }
    assert_clean_error(run("call", "--to", "call-me-maybe", env=env), "call-me-maybe", "E.164")


def test_sip_call_to_a_number_without_a_trunk(tmp_path):
    result = run("call", "--transport", "sip", "--to", "+13125550142", env={"TALKTRACK_DATA_DIR": str(tmp_path)})
    assert_clean_error(result, "no SIP trunk", "TALKTRACK_SIP_TRUNK")


def test_serve_with_the_sip_port_taken(tmp_path):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = run("serve", "--port", "0", "--sip-port", str(port), env={"TALKTRACK_DATA_DIR": str(tmp_path)})
    assert_clean_error(result, "cannot listen for SIP", str(port))


def test_outbox_lists_and_shows_messages_and_names_an_unknown_id(tmp_path):
    from talktrack.tools.mail import follow_up_message
    from talktrack.tools.outbox import Outbox

    assert "is empty" in run("outbox", "--data-dir", str(tmp_path)).stdout
    message = follow_up_message(
        sender="sarah@backbeam.example", to="dana@acme.io", to_name="Dana", subject="The overview", body="Hi Dana"
    )
    entry = Outbox(tmp_path / "outbox").save(message, status="sent")
    listed = run("outbox", "--data-dir", str(tmp_path))
    assert listed.returncode == 0 and entry.id[:8] in listed.stdout and "The overview" in listed.stdout
    shown = run("outbox", entry.id[:6], "--data-dir", str(tmp_path))
    assert shown.returncode == 0 and "Hi Dana" in shown.stdout
    assert_clean_error(run("outbox", "zzzz", "--data-dir", str(tmp_path)), "zzzz")
