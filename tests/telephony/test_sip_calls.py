"""Whole calls over our SIP edge on loopback: the prospect is a SIP phone (our own UAC) playing a scenario."""

from __future__ import annotations

import asyncio

import pytest

from talktrack.demo import bundled_scenario, local_office
from talktrack.telephony.sip_endpoint import SipCallFailed, SipEndpoint
from talktrack.testing.scenario import load_scenario
from talktrack.testing.sip_harness import serve_sip, simulate_sip_call

pytestmark = pytest.mark.integration


async def test_demo_call_over_sip(engines, settings):
    scenario = load_scenario(bundled_scenario("demo"))
    async with local_office(settings) as office_settings, serve_sip(office_settings, engines) as service:
        log, report, caller = await simulate_sip_call(service, scenario, called_user="backbeam")
    assert report.failures == []
    assert log is not None and log.outcome == "meeting_booked"
    assert report.hung_up_by == "agent"
    assert len(report.v2v_ms) >= 8
    assert report.bargein_ms and report.bargein_ms[0] < 1000
    assert (settings.data_dir / "calls" / f"{log.call_id}.wav").exists()


async def test_unrouted_number_gets_404_when_there_is_no_default_agent(engines, settings):
    settings.default_agent = None
    settings.agent_routes = "1001=backbeam"
    async with serve_sip(settings, engines) as service, SipEndpoint(port=0) as phone:
        call = await phone.dial(f"sip:2002@127.0.0.1:{service.endpoint.port}")
        with pytest.raises(SipCallFailed) as refused:
            await phone.wait_answer(call, ring_s=5)
        assert refused.value.status == 404
        routed = await phone.dial(f"sip:1001@127.0.0.1:{service.endpoint.port}")
        await phone.wait_answer(routed, ring_s=10)
        routed.hangup()
        for _ in range(50):
            if service.finished:
                break
            await asyncio.sleep(0.1)
    assert [log.agent for log in service.finished.values()] == ["backbeam"]


async def test_caller_hanging_up_while_ringing_leaves_no_call(engines, settings):
    async with serve_sip(settings, engines) as service, SipEndpoint(port=0) as phone:
        call = await phone.dial(f"sip:backbeam@127.0.0.1:{service.endpoint.port}")
        call.hangup()  # CANCEL, possibly before the agent answers
        with pytest.raises(SipCallFailed):
            await phone.wait_answer(call, ring_s=5)
        await asyncio.sleep(0.5)
        assert service.endpoint.rejected == 0
