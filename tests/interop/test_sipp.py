"""Our SIP edge against SIPp 3.6 (Debian `sip-tester`): both directions, CANCEL, rejections, digest, DTMF."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest
from peers import free_udp_port, run_sipp, sipp_uac_pcap_scenario, start_sipp
from rtp_capture import Capture

from talktrack.audio.g711 import ulaw_decode, ulaw_encode
from talktrack.audio.resample import float_at
from talktrack.telephony.sip import Credentials
from talktrack.telephony.sip_endpoint import SipCallFailed, SipEndpoint
from talktrack.testing.sip_harness import serve_sip

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (Debian sip-tester) is not installed"),
]
SCENARIOS = Path(__file__).parent / "sipp"


def tone(freq: float, seconds: float, rate: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def dominant_hz(pcm: np.ndarray, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    return float(np.fft.rfftfreq(pcm.size, 1 / rate)[int(np.argmax(spectrum))])


async def test_sipp_uac_calls_the_agent_with_speech_and_a_digit(tmp_path, engines, settings):
    """SIPp dials the agent, plays 7 s of A-law speech and an RFC 4733 "1", then hangs up."""
    scenario = sipp_uac_pcap_scenario(tmp_path, digit="1")
    media_port = free_udp_port()
    async with serve_sip(settings, engines) as service:
        async with Capture(tmp_path / "to-sipp.pcap", f"udp and dst port {media_port}"):
            code, errors = await run_sipp(
                [
                    f"127.0.0.1:{service.endpoint.port}",
                    "-sf",
                    str(scenario),
                    "-s",
                    "backbeam",
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(free_udp_port()),
                    "-mi",
                    "127.0.0.1",
                    "-mp",
                    str(media_port),
                    "-m",
                    "1",
                ],
                tmp_path,
            )
            for _ in range(100):
                if service.finished:
                    break
                await asyncio.sleep(0.1)
    assert code == 0, errors
    (log,) = service.finished.values()
    assert {"kind": "dtmf", "digit": "1"}.items() <= next(e for e in log.events if e["kind"] == "dtmf").items()
    assert log.outcome == "prospect_hung_up" or "hang" in log.outcome
    # What SIPp received from the agent: A-law RTP (it offered only PCMA) carrying the agent's words.
    heard = Capture.audio(tmp_path / "to-sipp.pcap", payload_type=8)
    text = engines.stt.transcribe(float_at(heard, 8000, 16000)).text.lower()
    assert any(word in text for word in ("sarah", "backbeam", "hello", "hi")), text


async def test_our_call_to_sipp_uas_carries_audio_and_dtmf_both_ways(tmp_path):
    """We dial SIPp as a trunk that challenges with digest; it echoes RTP, so our tone and digit come back."""
    sipp_port = free_udp_port()
    proc = await start_sipp(
        [
            "-sf",
            str(SCENARIOS / "uas_auth.xml"),
            "-i",
            "127.0.0.1",
            "-p",
            str(sipp_port),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(free_udp_port()),
            "-rtp_echo",
            "-m",
            "1",
            "-key",
            "user",
            "talktrack",
            "-key",
            "secret",
            "s3cret",
            "-timeout",
            "30s",
        ],
        tmp_path,
    )
    async with SipEndpoint(host="127.0.0.1", port=0, credentials=Credentials("talktrack", "s3cret")) as ep:
        call = await ep.dial(f"sip:+13125550142@127.0.0.1:{sipp_port}")
        await ep.wait_answer(call, ring_s=10)
        pcm = tone(1000, 1.0)
        for i in range(0, pcm.size, 160):
            call.send(ulaw_encode(pcm[i : i + 160]))
        heard = []
        async with asyncio.timeout(5):
            while len(heard) < 60:
                payload, _ = await call.recv()
                heard.append(ulaw_decode(payload))
        await call.send_dtmf("7")
        digit = await asyncio.wait_for(call.digits.get(), 3)
        call.hangup()
    code = await asyncio.wait_for(proc.wait(), 15)
    echoed = np.concatenate(heard)
    loud = echoed[np.abs(echoed) > 1000]
    assert loud.size > 2000 and abs(dominant_hz(echoed) - 1000) < 20
    assert digit == "7"
    assert code == 0


async def test_cancel_before_answer(tmp_path):
    sipp_port = free_udp_port()
    proc = await start_sipp(
        [
            "-sf",
            str(SCENARIOS / "uas_cancel.xml"),
            "-i",
            "127.0.0.1",
            "-p",
            str(sipp_port),
            "-m",
            "1",
            "-timeout",
            "20s",
        ],
        tmp_path,
    )
    async with SipEndpoint(host="127.0.0.1", port=0) as ep:
        call = await ep.dial(f"sip:agent@127.0.0.1:{sipp_port}")
        for _ in range(50):
            if 180 in call.progress:
                break
            await asyncio.sleep(0.05)
        assert 180 in call.progress
        call.hangup()
        with pytest.raises(SipCallFailed):
            await ep.wait_answer(call, ring_s=5)
        await asyncio.sleep(0.3)  # the ACK to the 487 leaves
    assert await asyncio.wait_for(proc.wait(), 10) == 0


@pytest.mark.parametrize("status", ["486 Busy Here", "404 Not Found"])
async def test_rejections_reach_the_caller(tmp_path, status):
    sipp_port = free_udp_port()
    # SIPp checks status codes when it loads a scenario, so the code is written into the file.
    scenario = tmp_path / "uas_reject.xml"
    scenario.write_text((SCENARIOS / "uas_reject.xml").read_text().replace("[status]", status))
    proc = await start_sipp(
        ["-sf", str(scenario), "-i", "127.0.0.1", "-p", str(sipp_port), "-m", "1", "-timeout", "20s"], tmp_path
    )
    async with SipEndpoint(host="127.0.0.1", port=0) as ep:
        call = await ep.dial(f"sip:agent@127.0.0.1:{sipp_port}")
        with pytest.raises(SipCallFailed) as failed:
            await ep.wait_answer(call, ring_s=5)
        await asyncio.sleep(0.3)
    assert failed.value.status == int(status.split()[0])
    assert failed.value.fix
    assert await asyncio.wait_for(proc.wait(), 10) == 0


@pytest.mark.parametrize(("password", "granted"), [("s3cret", 120), ("wrong", None)])
async def test_register_with_a_digest_registrar(tmp_path, password, granted):
    sipp_port = free_udp_port()
    proc = await start_sipp(
        ["-sf", str(SCENARIOS / "uas_register.xml"), "-i", "127.0.0.1", "-p", str(sipp_port), "-m", "1",
         "-key", "user", "talktrack", "-key", "secret", "s3cret", "-timeout", "20s"],
        tmp_path,
    )
    async with SipEndpoint(host="127.0.0.1", port=0, credentials=Credentials("talktrack", password)) as ep:
        if granted is None:
            with pytest.raises(SipCallFailed) as refused:
                await ep.register(f"sip:127.0.0.1:{sipp_port}", expires=300)
            assert refused.value.status == 403
        else:
            assert await ep.register(f"sip:127.0.0.1:{sipp_port}", expires=300) == granted
    await asyncio.wait_for(proc.wait(), 10)
