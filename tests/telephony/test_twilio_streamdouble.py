"""Interop: a third-party Twilio Media Streams simulator (streamdouble) calls our stream endpoint."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from talktrack.api.app import create_app
from talktrack.audio.resample import float_at
from talktrack.testing.scenario import Voice
from talktrack.testing.stream_harness import serve_app
from talktrack.testing.voices import prospect_voice

pytestmark = pytest.mark.integration
STREAMDOUBLE = shutil.which("streamdouble") or str(Path(sys.executable).with_name("streamdouble"))


def write_wav(path: Path, audio: np.ndarray, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(audio.astype(np.int16).tobytes())
    return path


@pytest.mark.skipif(not Path(STREAMDOUBLE).exists(), reason="pip install streamdouble")
async def test_streamdouble_hears_the_opener_after_its_hello(engines, settings, tmp_path):
    hello = prospect_voice(Voice())("Hello?")
    audio = np.concatenate([np.zeros(4000, np.int16), hello, np.zeros(8000 * 9, np.int16)])
    mic = write_wav(tmp_path / "hello.wav", audio)
    reply = tmp_path / "reply.wav"
    app = create_app(settings, engines)
    async with serve_app(app) as base:
        proc = await asyncio.create_subprocess_exec(
            STREAMDOUBLE,
            "call",
            f"{base}/telephony/twilio/stream",
            "--audio",
            str(mic),
            "--param",
            "agent_id=backbeam",
            "--out",
            str(reply),
            "--json",
            "--response-timeout",
            "15",
            "--quiet-period",
            "2.5",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()
    metrics = json.loads(out)
    # The agent listened first: its first audio comes after the prospect's "Hello?" (0.5 s in, ~0.4 s long).
    assert metrics["time_to_first_audio_ms"] > 800
    with wave.open(str(reply)) as w:
        heard = np.frombuffer(w.readframes(w.getnframes()), np.int16)
        rate = w.getframerate()
    text = engines.stt.transcribe(float_at(heard, rate, 16000)).text.lower()
    assert "sarah" in text or "backbeam" in text or "dana" in text, text


@pytest.mark.skipif(not Path(STREAMDOUBLE).exists(), reason="pip install streamdouble")
async def test_streamdouble_key_presses_reach_the_call_record(engines, settings, tmp_path):
    hello = prospect_voice(Voice())("Hello?")
    mic = write_wav(tmp_path / "hello.wav", np.concatenate([np.zeros(4000, np.int16), hello]))
    scenario = tmp_path / "keys.yaml"
    scenario.write_text(
        f"name: keys\nsteps:\n  - say: {mic}\n  - wait: 2.0\n  - dtmf: '5#'\n  - wait: 1.0\n  - hangup\n"
    )
    app = create_app(settings, engines)
    async with serve_app(app) as base:
        proc = await asyncio.create_subprocess_exec(
            STREAMDOUBLE, "scenario", str(scenario), f"{base}/telephony/twilio/stream",
            "--param", "agent_id=backbeam", "--param", "call_id=keys-1", "--allow-no-audio",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 90)
        for _ in range(100):
            if "keys-1" in app.state.finished_calls:
                break
            await asyncio.sleep(0.05)
    assert proc.returncode == 0, err.decode()
    log = app.state.finished_calls["keys-1"]
    assert "".join(e["digit"] for e in log.events if e["kind"] == "dtmf") == "5#"
