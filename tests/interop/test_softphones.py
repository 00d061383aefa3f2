"""The agent on real softphones over SIP/RTP: baresip 1.0, linphonec 5.1 and PJSIP 2.15 (pjsua2).

Each phone plays a WAV as its microphone and records what it hears; the agent's recorded speech is
transcribed, and RFC 4733 digits are checked in both directions.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
import sys

import numpy as np
import pytest
from peers import Baresip, Linphone, Pjsua, prospect_wav, rms_dbfs

from talktrack.audio.g711 import ulaw_encode
from talktrack.audio.resample import float_at
from talktrack.telephony.sip_endpoint import SipEndpoint
from talktrack.testing.sip_harness import serve_sip

pytestmark = pytest.mark.integration
PROSPECT = "Hello? This is Jordan speaking."
AGENT_WORDS = ("sarah", "backbeam", "jordan")


def heard_text(engines, pcm: np.ndarray) -> str:
    """Transcribe the first ~9 s of speech in what a phone recorded."""
    loud = np.flatnonzero(np.abs(pcm) > 500)
    if loud.size == 0:
        return ""
    start = max(int(loud[0]) - 800, 0)
    return engines.stt.transcribe(float_at(pcm[start : start + 9 * 8000], 8000, 16000)).text.lower()


async def wait_record(service, within_s: float = 10.0):
    for _ in range(int(within_s * 10)):
        if service.finished:
            return next(iter(service.finished.values()))
        await asyncio.sleep(0.1)
    raise AssertionError("the agent kept no record of the call")


def digits_of(log) -> str:
    return "".join(e["digit"] for e in log.events if e["kind"] == "dtmf")


@pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip (Debian baresip-core) is not installed")
async def test_baresip_calls_the_agent_and_presses_a_key(tmp_path, engines, settings):
    wav = prospect_wav(tmp_path, PROSPECT, pad_s=16)
    async with serve_sip(settings, engines) as service:
        phone = Baresip(tmp_path / "baresip", wav)
        try:
            await phone.start(dial=f"sip:backbeam@127.0.0.1:{service.endpoint.port}", seconds=14)
            await asyncio.sleep(10)
            phone.press("5")
            await phone.wait(30)
        finally:
            phone.kill()
        log = await wait_record(service)
    assert "Call established" in phone.output()
    assert digits_of(log) == "5"
    prospect = " ".join(line["text"].lower() for line in log.transcript if line["role"] == "prospect")
    assert "jordan" in prospect or "hello" in prospect, log.transcript
    text = heard_text(engines, phone.heard())
    assert any(w in text for w in AGENT_WORDS), text
    assert log.outcome == "prospect_hung_up"


@pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip (Debian baresip-core) is not installed")
async def test_agent_calls_baresip(tmp_path, engines, settings):
    wav = prospect_wav(tmp_path, PROSPECT, pad_s=16)
    phone = Baresip(tmp_path / "baresip", wav)
    async with serve_sip(settings, engines) as service:
        try:
            await phone.start(seconds=16)
            log = await asyncio.wait_for(service.place_call(phone.uri, "backbeam"), 40)
        finally:
            phone.kill()
    assert "Call established" in phone.output()
    assert any(line["role"] == "agent" for line in log.transcript)
    text = heard_text(engines, phone.heard())
    assert any(w in text for w in AGENT_WORDS), text


@pytest.mark.skipif(shutil.which("linphonec") is None, reason="linphonec (Debian linphone-cli) is not installed")
async def test_agent_calls_linphone(tmp_path, engines, settings):
    wav = prospect_wav(tmp_path, PROSPECT, pad_s=16)
    phone = Linphone(tmp_path / "linphone", wav)
    await phone.start()
    async with serve_sip(settings, engines) as service:
        try:
            call = asyncio.create_task(service.place_call(phone.uri, "backbeam"))
            await asyncio.sleep(10)
            await phone.command("1")  # a digit typed during a call goes out as RFC 4733
            await asyncio.sleep(3)
            await phone.command("terminate")
            log = await asyncio.wait_for(call, 20)
        finally:
            await phone.quit()
    assert "connected" in phone.output()
    assert "1" in digits_of(log)
    text = heard_text(engines, phone.heard())
    assert any(w in text for w in AGENT_WORDS), text
    assert log.outcome == "prospect_hung_up"


@pytest.mark.skipif(shutil.which("linphonec") is None, reason="linphonec (Debian linphone-cli) is not installed")
async def test_linphone_calls_the_agent(tmp_path, engines, settings):
    wav = prospect_wav(tmp_path, PROSPECT, pad_s=16)
    phone = Linphone(tmp_path / "linphone", wav)
    await phone.start()
    async with serve_sip(settings, engines) as service:
        try:
            await phone.command(f"call sip:backbeam@127.0.0.1:{service.endpoint.port}")
            await asyncio.sleep(11)
            await phone.command("terminate")
            log = await wait_record(service)
        finally:
            await phone.quit()
    prospect = " ".join(line["text"].lower() for line in log.transcript if line["role"] == "prospect")
    assert "jordan" in prospect or "hello" in prospect, log.transcript
    text = heard_text(engines, phone.heard())
    assert any(w in text for w in AGENT_WORDS), text
    assert log.outcome == "prospect_hung_up"


pjsua = pytest.mark.skipif(importlib.util.find_spec("pjsua2") is None, reason="pjsua2-python is not installed")


@pjsua
async def test_pjsua_calls_the_agent_with_digits(tmp_path, engines, settings):
    wav = prospect_wav(tmp_path, PROSPECT, pad_s=14)
    async with serve_sip(settings, engines) as service:
        phone = Pjsua(tmp_path, wav)
        try:
            await phone.start(
                dial=f"sip:backbeam@127.0.0.1:{service.endpoint.port}", digits="42", digits_after=8, seconds=13
            )
            await phone.wait(30)
        finally:
            phone.kill()
        log = await wait_record(service)
    assert digits_of(log) == "42", (log.outcome, log.events[-6:], phone.output()[-1500:])
    text = heard_text(engines, phone.heard())
    assert any(w in text for w in AGENT_WORDS), text


@pjsua
async def test_digits_and_audio_to_pjsua(tmp_path):
    """Our UAC sends a tone and RFC 4733 digits; PJSIP records the tone and reports the digits."""
    wav = prospect_wav(tmp_path, PROSPECT, pad_s=6)
    phone = Pjsua(tmp_path, wav)
    await phone.start(seconds=12)
    try:
        async with SipEndpoint(host="127.0.0.1", port=0) as ep:
            call = await ep.dial(phone.uri)
            await ep.wait_answer(call, ring_s=10)
            t = np.arange(8000) / 8000
            pcm = (8000 * np.sin(2 * np.pi * 800 * t)).astype(np.int16)
            for i in range(0, pcm.size, 160):
                call.send(ulaw_encode(pcm[i : i + 160]))
            heard = []
            async with asyncio.timeout(5):
                while len(heard) < 100:  # 2 s of the phone's microphone (its WAV)
                    heard.append((await call.recv())[0])
            await call.send_dtmf("9#")
            await asyncio.sleep(1.0)
            call.hangup()
            await asyncio.sleep(0.5)
        await phone.wait(15)
    finally:
        phone.kill()
    assert phone.digits() == "9#", phone.output()[-2000:]
    recorded = phone.heard()
    assert rms_dbfs(recorded) > -40, "pjsua recorded silence"
    from talktrack.audio.g711 import ulaw_decode

    mic = np.concatenate([ulaw_decode(p) for p in heard])
    assert rms_dbfs(mic) > -45, "we heard nothing from pjsua's microphone"


@pytest.mark.skipif(
    shutil.which("baresip") is None or shutil.which("linphonec") is None, reason="baresip or linphonec is missing"
)
async def test_our_rfc4733_keys_reach_baresip_and_linphone(tmp_path):
    wav = prospect_wav(tmp_path, "Hello?", pad_s=8)
    bare = Baresip(tmp_path / "baresip", wav)
    linphone = Linphone(tmp_path / "linphone", wav)
    await bare.start(seconds=12)
    await linphone.start()
    try:
        async with SipEndpoint(host="127.0.0.1", port=0) as ep:
            for uri in (bare.uri, linphone.uri):
                call = await ep.dial(uri)
                await ep.wait_answer(call, ring_s=5)
                await asyncio.sleep(0.5)
                await call.send_dtmf("37#")
                await asyncio.sleep(0.5)
                call.hangup()
        await asyncio.sleep(0.5)
    finally:
        bare.kill()
        await linphone.quit()
    assert re.findall(r"received event: '(.)' \(end=0\)", bare.output()) == ["3", "7", "#"]
    assert re.findall(r"Receiving tone (.) from", linphone.output()) == ["3", "7", "#"]


@pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip (Debian baresip-core) is not installed")
async def test_talktrack_call_over_sip_from_the_command_line(tmp_path, interop_data):
    """`talktrack call --transport sip --to sip:…` places a real call: baresip answers, the agent talks."""
    wav = prospect_wav(tmp_path, PROSPECT, pad_s=14)
    phone = Baresip(tmp_path / "baresip", wav)
    await phone.start(seconds=14)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "talktrack.cli", "call", "--transport", "sip", "--to", phone.uri,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "TALKTRACK_DATA_DIR": str(interop_data)},
        )
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    finally:
        phone.kill()
    text = out.decode()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert f"calling {phone.uri}" in text
    assert "agent: Hi" in text and "prospect_hung_up" in text
