"""The browser softphone end to end: Debian's Chromium calls the real app over WebRTC; plus the routes behind it
(with a stand-in call) and a whole scripted call over WebRTC (the benchmark's path).

How ICE stays on loopback (both layers, because each alone has a gap):

* The Chromium test re-runs itself inside a private network namespace (``unshare -n``, then ``ip link set
  lo up``): the app, uvicorn and Chromium then see no interface but ``lo``, so no packet can leave the
  machine whatever a browser decides to gather. Where namespaces are not permitted (not root), it runs
  in place.
* The app runs with ``webrtc_loopback_only``: aiortc gathers one 127.0.0.1 candidate (it never offers
  loopback by itself, so inside the namespace it would have none) and ignores the browser's non-loopback
  and mDNS candidates; Chromium includes loopback candidates because of ``--allow-loopback-in-peer-connection``.

The browser speaks from a WAV (espeak-ng through talktrack's own wrapper, 48 kHz 16-bit, padded with
silence; Chromium loops it). The test checks the agent heard the prospect (the finished call's
transcript) and the page heard the agent (``getStats`` inbound bytes and a WebAudio analyser level).
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import importlib.util
import os
import re
import shutil
import sys
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from talktrack.api.app import create_app
from talktrack.api.webrtc import OFFER_PATH, webrtc_router
from talktrack.audio.g711 import ULAW_SILENCE, ulaw_encode
from talktrack.calls.agent import Agent, bundled_agent_dir
from talktrack.demo import bundled_scenario, local_office
from talktrack.settings import Settings
from talktrack.telephony.simline import LineClosed
from talktrack.telephony.webrtc_line import WebRtcCallerLine, WebRtcLine, http_signal
from talktrack.testing.scenario import load_scenario
from talktrack.testing.stream_harness import serve_app
from talktrack.testing.webrtc_harness import http_base, simulate_webrtc_call

if TYPE_CHECKING:
    from playwright.async_api import Page

CHROMIUM = Path("/usr/bin/chromium")
# Set in the re-run inside the private network namespace.
_IN_NETNS = "TALKTRACK_TEST_IN_NETNS"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]
PROSPECT_LINES = [(0.5, "Hello?"), (2.5, "Who is calling, please?"), (6.0, "")]
KEYWORDS = ("hello", "calling")
WAIT_S = 10.0
# The page's analyser level (0..1) that counts as hearing the agent, and how long its first words may take.
AUDIBLE_RMS = 0.01
AGENT_READY_S = 120
AGENTS = bundled_agent_dir().parent


def LoopbackSettings(**values) -> Settings:  # noqa: N802
    """The app's settings with ICE kept on 127.0.0.1."""
    return Settings(webrtc_loopback_only=True, **values)


# -- the routes, with a stand-in call (no speech models) ---------------------------------------------------------


class Calls:
    """A ``run_call`` that records its lines, answers each frame it hears with a tone, and can be told to fail."""

    def __init__(self, fail: bool = False) -> None:
        self.lines: dict[str, WebRtcLine] = {}
        self.heard: dict[str, int] = {}
        self.ended = asyncio.Event()
        self._fail = fail

    async def __call__(self, agent_id: str, line: WebRtcLine, call_id: str) -> None:
        self.lines[call_id] = line
        self.heard[call_id] = 0
        try:
            if self._fail:
                raise RuntimeError("the call broke")
            tone = ulaw_encode((6000 * np.sin(2 * np.pi * 500 * np.arange(160) / 8000)).astype(np.int16))
            while True:
                await line.recv()
                self.heard[call_id] += 1
                line.send(tone)
        except LineClosed:
            pass
        finally:
            self.ended.set()


def router_app(calls: Calls) -> FastAPI:
    app = FastAPI()
    app.include_router(webrtc_router(calls, agents_dir=AGENTS, loopback_only=True))
    return app


def test_the_page_and_the_agent_list_are_served():
    client = TestClient(router_app(Calls()))
    assert client.get("/webrtc/agents").json() == ["backbeam"]
    for path in ("/", "/softphone"):
        page = client.get(path)
        assert page.status_code == 200 and "window.softphone" in page.text
        # Self-contained: nothing is fetched from another host.
        assert not re.search(r"""(src|href)=["']https?://""", page.text)


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ("not json", 400, "not JSON"),
        ({"sdp": "v=0", "type": "offer"}, 400, "agent_id"),
        ({"sdp": "v=0", "type": "offer", "agent_id": "../etc"}, 400, "not a plain name"),
        ({"sdp": "v=0", "type": "offer", "agent_id": "nobody"}, 404, "no agent"),
        ({"sdp": "v=0\r\n", "type": "offer", "agent_id": "backbeam"}, 400, "no audio"),
        ({"sdp": "x", "type": "answer", "agent_id": "backbeam"}, 400, "expected an SDP offer"),
        ({"sdp": "v=0", "type": "offer", "agent_id": "backbeam", "parameters": {"a": 1}}, 400, "parameters"),
    ],
)
def test_bad_offer_requests_get_a_json_error(body, status, says):
    calls = Calls()
    client = TestClient(router_app(calls))
    response = client.post(OFFER_PATH, content=body) if isinstance(body, str) else client.post(OFFER_PATH, json=body)
    assert response.status_code == status
    assert says in response.json()["error"] and response.json()["fix"]
    assert calls.lines == {}


async def test_an_offer_starts_a_call_and_the_router_closes_its_line():
    calls = Calls()
    async with serve_app(router_app(calls)) as base:
        reply: dict[str, object] = {}
        body = {"agent_id": "backbeam", "parameters": {"prospect_name": "Dana"}}
        caller = await WebRtcCallerLine.dial(http_signal(http_base(base) + OFFER_PATH, body, reply), loopback_only=True)
        try:
            tones = 0
            while tones < 25:  # the stand-in agent answers every frame with a tone
                payload, _ = await asyncio.wait_for(caller.recv(), WAIT_S)
                if payload != bytes([ULAW_SILENCE]) * len(payload):
                    tones += 1
        finally:
            await caller.aclose()
        await asyncio.wait_for(calls.ended.wait(), WAIT_S)
        call_id = str(reply["call_id"])
        line = calls.lines[call_id]
        assert line.parameters == {"prospect_name": "Dana"}
        assert calls.heard[call_id] > 0
        for _ in range(100):  # the router's task closes the line right after run_call returns
            if line.pc.connectionState == "closed":
                break
            await asyncio.sleep(0.05)
        assert line.closed and line.pc.connectionState == "closed"


async def test_a_refused_offer_reaches_the_caller_with_the_servers_reason():
    calls = Calls()
    async with serve_app(router_app(calls)) as base:
        signal = http_signal(http_base(base) + OFFER_PATH, {"agent_id": "nobody"})
        with pytest.raises(ConnectionError, match=r"404.*no agent 'nobody'"):
            await WebRtcCallerLine.dial(signal, loopback_only=True)
    assert calls.lines == {}


async def test_a_failing_call_still_closes_its_line():
    calls = Calls(fail=True)
    async with serve_app(router_app(calls)) as base:
        reply: dict[str, object] = {}
        signal = http_signal(http_base(base) + OFFER_PATH, {"agent_id": "backbeam"}, reply)
        # The agent's side closes before media flows, so the caller never gets a line.
        with pytest.raises(ConnectionError, match="no media path"):
            await WebRtcCallerLine.dial(signal, loopback_only=True, connect_timeout_s=2.0)
        await asyncio.wait_for(calls.ended.wait(), WAIT_S)
        line = calls.lines[str(reply["call_id"])]
        for _ in range(100):
            if line.pc.connectionState == "closed":
                break
            await asyncio.sleep(0.05)
        assert line.closed and line.pc.connectionState == "closed"


# -- the scripted prospect calls the real app over WebRTC ----------------------------------------------------------


@pytest.mark.integration
async def test_the_demo_call_over_webrtc(engines, tmp_path):
    settings = LoopbackSettings(data_dir=tmp_path / "data", listen_first_s=1.0, reprompt_after_s=1.5)
    agent = Agent.load(bundled_agent_dir())
    scenario = load_scenario(bundled_scenario("demo"))
    async with local_office(settings) as office_settings:
        app = create_app(office_settings, engines)
        async with serve_app(app) as base:
            log, report, caller = await simulate_webrtc_call(app, base, "backbeam", agent.default_context(), scenario)
    assert report.failures == []
    assert log is not None and log.outcome == "meeting_booked"
    assert report.hung_up_by == "agent"
    assert len(report.v2v_ms) >= 8
    assert report.bargein_ms  # the prospect cut the agent off once, and the agent stopped
    assert (settings.data_dir / "calls" / f"{log.call_id}.wav").exists()


# -- Chromium calls the real app --------------------------------------------------------------------------------


def prospect_wav(path: Path) -> Path:
    """The prospect's side of the call as Chromium wants it: 48 kHz, 16-bit mono, silences between lines."""
    from talktrack.speech.tts_espeak import EspeakTTS

    tts = EspeakTTS(voice="en-us", rate_wpm=150)
    parts: list[np.ndarray] = []
    for pause_s, text in PROSPECT_LINES:
        parts.append(np.zeros(int(pause_s * 48000), dtype=np.int16))
        if text:
            parts.append(tts.synthesize_at(text, 48000))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(np.concatenate(parts).astype(np.int16).tobytes())
    return path


async def _netns_works() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    proc = await asyncio.create_subprocess_exec(
        "unshare", "-n", "true", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await proc.wait() == 0


async def reran_in_private_netns(request: pytest.FixtureRequest) -> bool:
    """Run the calling test again inside a new network namespace with only ``lo`` up (it must pass there).

    Returns False when the caller should go on in this process: it is the re-run, or namespaces are not
    permitted here (then loopback-only candidates alone keep ICE on 127.0.0.1).
    """
    if os.environ.get(_IN_NETNS) or not await _netns_works():
        return False
    pytest_cmd = [sys.executable, "-m", "pytest", request.node.nodeid, "-q", "-p", "no:cacheprovider"]
    proc = await asyncio.create_subprocess_exec(
        "unshare",
        "-n",
        "bash",
        "-c",
        'ip link set lo up && exec "$@"',
        "netns",
        *pytest_cmd,
        env={**os.environ, _IN_NETNS: "1"},
        cwd=request.config.rootpath,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    assert proc.returncode == 0 and "1 passed" in text, f"the run in the network namespace failed:\n{text[-6000:]}"
    return True


@contextlib.asynccontextmanager
async def softphone(base_url: str, profile: Path, wav: Path | None = None) -> AsyncIterator[Page]:
    """Chromium (a fresh profile, fake microphone from ``wav``) with the softphone page open and an agent picked."""
    from playwright.async_api import async_playwright

    args = [*CHROMIUM_FLAGS, *([f"--use-file-for-fake-audio-capture={wav}"] if wav else [])]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=args
        )
        try:
            page = await browser.new_page()
            await page.goto(http_base(base_url) + "/softphone")
            await page.wait_for_function("document.getElementById('agent').value === 'backbeam'")
            yield page
        finally:
            await browser.close()


def heard_keyword(prospect_lines: list[str]) -> bool:
    """True when a word close to one of the keywords is in what the agent transcribed."""
    words = re.findall(r"[a-z]+", " ".join(prospect_lines).lower())
    return any(difflib.get_close_matches(k, words, n=1, cutoff=0.8) for k in KEYWORDS)


needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install chromium")
needs_playwright = pytest.mark.skipif(
    importlib.util.find_spec("playwright") is None,
    reason="pip install playwright (it drives Debian's Chromium; never run `playwright install`)",
)


@pytest.mark.integration
@needs_chromium
@needs_playwright
async def test_chromium_calls_the_agent_from_the_softphone(request, tmp_path):
    if await reran_in_private_netns(request):
        return
    engines = request.getfixturevalue("engines")
    settings = LoopbackSettings(data_dir=tmp_path / "data")
    app = create_app(settings, engines)
    wav = prospect_wav(tmp_path / "prospect.wav")
    with wave.open(str(wav)) as w:
        wav_s = w.getnframes() / w.getframerate()
    async with serve_app(app) as base:
        async with softphone(base, tmp_path / "chromium-profile", wav) as page:
            await page.click("#call")
            await page.wait_for_function("softphone.state === 'connected'", timeout=20_000)
            call_id = await page.evaluate("softphone.callId")
            first_bytes = await page.evaluate("softphone.bytesReceived()")
            # The agent speaks once it has prepared its opener and listened first.
            await page.wait_for_function(f"softphone.peakRms > {AUDIBLE_RMS}", timeout=AGENT_READY_S * 1000)
            # Then one more pass of the prospect's WAV, and time for the agent to hear it out.
            loop = asyncio.get_running_loop()
            until = loop.time() + wav_s + 4.0
            while loop.time() < until:
                await asyncio.sleep(0.5)
                assert await page.evaluate("softphone.state") == "connected"
            last_bytes = await page.evaluate("softphone.bytesReceived()")
            await page.click("#hangup")
            assert await page.evaluate("softphone.state") == "ended"
        finished = app.state.finished_calls
        for _ in range(300):  # the call ends once the agent's line notices the hang-up
            if call_id in finished:
                break
            await asyncio.sleep(0.1)
    assert call_id in finished, "the agent kept no record of the call"
    log = finished[call_id]
    prospect = [line["text"] for line in log.transcript if line["role"] == "prospect"]
    assert heard_keyword(prospect), f"the agent did not hear the prospect: {prospect}"
    assert any(line["role"] == "agent" for line in log.transcript)
    assert last_bytes > first_bytes


@pytest.mark.integration
@needs_chromium
@needs_playwright
async def test_the_page_ends_the_call_when_the_agent_hangs_up(request, tmp_path):
    if await reran_in_private_netns(request):
        return

    async def short_call(agent_id: str, line: WebRtcLine, call_id: str) -> None:
        for _ in range(50):  # one second of the caller's audio, then the agent hangs up
            await line.recv()

    app = FastAPI()
    app.include_router(webrtc_router(short_call, agents_dir=AGENTS, loopback_only=True))
    async with serve_app(app) as base, softphone(base, tmp_path / "chromium-profile") as page:
        await page.click("#call")
        await page.wait_for_function("softphone.state === 'connected'", timeout=20_000)
        await page.wait_for_function("softphone.state !== 'connected'", timeout=WAIT_S * 1000)
        assert await page.evaluate("softphone.state") == "ended"
        assert "hung up" in await page.text_content("#status")
        assert await page.is_enabled("#call") and not await page.is_enabled("#hangup")
