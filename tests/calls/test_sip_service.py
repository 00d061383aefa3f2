"""Routing and dialling rules of the SIP service (no network)."""

from __future__ import annotations

import pytest

from talktrack.calls.agent import AgentDirectory, bundled_agent_dir, parse_routes, routed_agent_id
from talktrack.calls.sip_service import SipService, parse_hostport
from talktrack.errors import ConfigError
from talktrack.settings import Settings


def service(**overrides) -> SipService:
    settings = Settings(**overrides)
    return SipService(settings, AgentDirectory(bundled_agent_dir().parent), lambda: None, {})  # type: ignore[arg-type,return-value]


def test_routes_parse_and_fall_back_to_the_default():
    routes = parse_routes(" 1001=backbeam , +13125550100=other ")
    assert routes == {"1001": "backbeam", "+13125550100": "other"}
    assert routed_agent_id(routes, "backbeam", "+13125550100") == "other"
    assert routed_agent_id(routes, "backbeam", "9999") == "backbeam"
    assert routed_agent_id(routes, None, "9999") is None


@pytest.mark.parametrize("bad", ["1001", "=backbeam", "1001=", "a=b,c"])
def test_bad_routes_name_the_setting(bad):
    with pytest.raises(ConfigError, match="TALKTRACK_AGENT_ROUTES"):
        parse_routes(bad)


def test_targets_numbers_go_through_the_trunk():
    s = service(sip_trunk="trunk.example.com:5080")
    assert s.target("+13125550142") == ("sip:+13125550142@trunk.example.com:5080", ("trunk.example.com", 5080))
    assert s.target("sip:bob@10.0.0.2") == ("sip:bob@10.0.0.2", ("trunk.example.com", 5080))
    assert service().target("sip:bob@10.0.0.2:5062") == ("sip:bob@10.0.0.2:5062", None)


@pytest.mark.parametrize(
    ("to", "overrides", "needle"),
    [
        ("+13125550142", {}, "no SIP trunk"),
        ("call-me-maybe", {"sip_trunk": "trunk.example.com"}, "not a phone number"),
    ],
)
def test_bad_targets_are_clear_errors(to, overrides, needle):
    with pytest.raises(ConfigError, match=needle):
        service(**overrides).target(to)


@pytest.mark.parametrize("bad", ["", ":5060", "host:port", "host:70000"])
def test_bad_trunk_addresses(bad):
    with pytest.raises(ConfigError, match="host"):
        parse_hostport(bad)
