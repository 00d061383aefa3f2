"""Telnyx webhooks: ed25519 signatures with a real key pair, the event envelope, and fuzzing."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from talktrack.errors import ConfigError
from talktrack.telephony import telnyx_stream
from talktrack.telephony import telnyx_webhook as tw

NOW = 1_737_000_000
CALL = "v3:2EC-70CTEjlUq3tDM0CxKXIt5-5N4iP4wo7_-PfH-qub97Sk4EqO5w"

# A call.initiated as Telnyx delivers it for an inbound call.
INITIATED = {
    "data": {
        "event_type": "call.initiated",
        "id": "b97d4d5e-6fe7-4432-911f-79637bf6ebb7",
        "occurred_at": "2025-11-23T03:30:00.076316Z",
        "payload": {
            "call_control_id": CALL,
            "call_leg_id": "b0e6224c-c81c-11f0-afbb-02420aef93a0",
            "call_session_id": "b0e6141e-c81c-11f0-abac-02420aef93a0",
            "caller_id_name": "+18124040851",
            "client_state": None,
            "connection_id": "2811212257810187875",
            "direction": "incoming",
            "from": "+18124040851",
            "offered_codecs": "PCMU,G729",
            "start_time": "2025-11-23T03:30:00.076316Z",
            "state": "parked",
            "to": "+13057864498",
        },
        "record_type": "event",
    },
    "meta": {"attempt": 1, "delivered_to": "https://agent.example.com/telephony/telnyx/webhook"},
}


def envelope(event_type: str, **payload) -> bytes:
    data = {
        "event_type": event_type,
        "id": "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0",
        "occurred_at": "2025-11-23T03:31:10.5Z",
        "payload": {"call_control_id": CALL, "call_session_id": "sess", **payload},
        "record_type": "event",
    }
    return json.dumps({"data": data, "meta": {"attempt": 1}}).encode()


@pytest.fixture(scope="module")
def keys() -> tuple[Ed25519PrivateKey, str]:
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return private, base64.b64encode(raw).decode()


def telnyx_headers(body: bytes, timestamp: int, private: Ed25519PrivateKey) -> dict[str, str]:
    """What Telnyx sends, computed from its documented rule rather than with the module under test."""
    signature = private.sign(f"{timestamp}|{body.decode()}".encode())
    return {"Telnyx-Signature-Ed25519": base64.b64encode(signature).decode(), "Telnyx-Timestamp": str(timestamp)}


def test_a_real_signature_verifies_and_matches_the_simulator(keys):
    private, public_b64 = keys
    body = json.dumps(INITIATED).encode()
    key = tw.public_key(public_b64)
    tw.verify(body, telnyx_headers(body, NOW, private), key, now=NOW + 10)
    assert tw.sign(body, NOW, private) == {k.lower(): v for k, v in telnyx_headers(body, NOW, private).items()}
    der = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    tw.verify(body, tw.sign(body, NOW, private), tw.public_key(base64.b64encode(der).decode()), now=NOW)


def test_forged_tampered_and_stale_webhooks_are_refused(keys):
    private, public_b64 = keys
    key = tw.public_key(public_b64)
    body = json.dumps(INITIATED).encode()
    forged = tw.sign(body, NOW, Ed25519PrivateKey.generate())
    with pytest.raises(tw.SignatureError, match="does not match"):
        tw.verify(body, forged, key, now=NOW)
    with pytest.raises(tw.SignatureError, match="does not match"):
        tw.verify(body.replace(b"incoming", b"outgoing"), tw.sign(body, NOW, private), key, now=NOW)
    # The timestamp is signed too: moving it to look fresh breaks the signature.
    moved = {**tw.sign(body, NOW, private), tw.TIMESTAMP_HEADER: str(NOW + 1000)}
    with pytest.raises(tw.SignatureError, match="does not match"):
        tw.verify(body, moved, key, now=NOW + 1000)
    for now in (NOW + tw.TOLERANCE_S + 1, NOW - tw.TOLERANCE_S - 1):
        with pytest.raises(tw.SignatureError, match="off our clock"):
            tw.verify(body, tw.sign(body, NOW, private), key, now=now)
    with pytest.raises(tw.SignatureError, match="missing"):
        tw.verify(body, {}, key, now=NOW)
    with pytest.raises(tw.SignatureError, match="not base64"):
        tw.verify(body, {tw.SIGNATURE_HEADER: "%%%", tw.TIMESTAMP_HEADER: str(NOW)}, key, now=NOW)
    with pytest.raises(tw.SignatureError, match="not an ed25519 signature"):
        tw.verify(body, {tw.SIGNATURE_HEADER: "AAAA", tw.TIMESTAMP_HEADER: str(NOW)}, key, now=NOW)
    with pytest.raises(tw.SignatureError, match="Unix time"):
        tw.verify(body, {**tw.sign(body, NOW, private), tw.TIMESTAMP_HEADER: "yesterday"}, key, now=NOW)


def test_a_bad_public_key_is_a_configuration_error():
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(ConfigError, match="public key") as error:
            tw.public_key(bad)
        assert error.value.fix and "TALKTRACK_TELNYX_PUBLIC_KEY" in error.value.fix


def test_parses_the_call_events():
    initiated = tw.parse(json.dumps(INITIATED).encode())
    assert initiated == tw.CallInitiated(
        event_id="b97d4d5e-6fe7-4432-911f-79637bf6ebb7",
        event_type="call.initiated",
        occurred_at=datetime(2025, 11, 23, 3, 30, 0, 76316, tzinfo=UTC),
        call_control_id=CALL,
        call_session_id="b0e6141e-c81c-11f0-abac-02420aef93a0",
        parameters={},
        direction="incoming",
        from_number="+18124040851",
        to_number="+13057864498",
    )
    assert isinstance(tw.parse(envelope("call.answered")), tw.CallAnswered)
    hangup = tw.parse(envelope("call.hangup", hangup_cause="user_busy", hangup_source="callee", sip_hangup_cause="486"))
    assert isinstance(hangup, tw.CallHangup)
    assert (hangup.hangup_cause, hangup.hangup_source, hangup.sip_hangup_cause) == ("user_busy", "callee", "486")
    amd = tw.parse(envelope("call.machine.detection.ended", result="machine"))
    assert isinstance(amd, tw.MachineDetection) and amd.result == "machine"
    premium = tw.parse(envelope("call.machine.premium.detection.ended", result="human_business"))
    assert isinstance(premium, tw.MachineDetection) and premium.result == "human_business"
    beep = tw.parse(envelope("call.machine.greeting.ended", result="beep_detected"))
    assert isinstance(beep, tw.GreetingEnded) and beep.result == "beep_detected"
    failed = tw.parse(envelope("streaming.failed", failure_reason="connection_failed", stream_id="s1"))
    assert isinstance(failed, tw.Streaming) and (failed.state, failed.reason) == ("failed", "connection_failed")
    started = tw.parse(envelope("streaming.started", stream_url="wss://x"))
    assert isinstance(started, tw.Streaming) and started.state == "started"
    key = tw.parse(envelope("call.dtmf.received", digit="#"))
    assert isinstance(key, tw.DtmfReceived) and key.digit == "#"
    other = tw.parse(envelope("call.recording.saved", recording_urls={}))
    assert type(other) is tw.CallEvent and other.event_type == "call.recording.saved"


def test_our_client_state_comes_back_as_parameters_and_foreign_state_is_ignored():
    ours = telnyx_stream.encode_client_state({"agent_id": "backbeam", "call_id": "c-9"})
    assert "\n" not in ours
    parsed = tw.parse(envelope("call.answered", client_state=ours))
    assert parsed.parameters == {"agent_id": "backbeam", "call_id": "c-9"}
    for foreign in ("aGF2ZSBhIG5pY2UgZGF5ID1d", "%%%", base64.b64encode(b"[1, 2]").decode(), 7):
        assert tw.parse(envelope("call.answered", client_state=foreign)).parameters == {}
    # The stream's start carries the same client_state; custom_parameters win over it.
    start = {"client_state": ours, "custom_parameters": {"call_id": "c-10"}}
    assert telnyx_stream.start_parameters(start) == {"agent_id": "backbeam", "call_id": "c-10"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff\xfe junk", "not JSON"),
        (b"[]", "JSON object"),
        (b'{"meta": {}}', "'data'"),
        (b'{"data": {"payload": {}}}', "event_type"),
        (b'{"data": {"event_type": 5, "payload": {}}}', "event_type"),
        (b'{"data": {"event_type": "call.answered", "payload": []}}', "'payload'"),
        (envelope("call.answered", call_control_id=12), "call_control_id"),
        (envelope("call.dtmf.received", digit="12"), "digit"),
        (json.dumps({"data": {"event_type": "call.answered", "occurred_at": "noon", "payload": {}}}).encode(), "ISO"),
    ],
)
def test_junk_is_a_webhook_error(body, message):
    with pytest.raises(tw.WebhookError, match=message):
        tw.parse(body)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(st.one_of(st.binary(max_size=200), st.text(max_size=200), JSON.map(lambda v: json.dumps(v).encode())))
def test_any_body_parses_or_raises_webhook_error(body):
    try:
        assert isinstance(tw.parse(body), tw.CallEvent)
    except tw.WebhookError:
        pass


@given(
    st.sampled_from(
        [
            "call.initiated",
            "call.answered",
            "call.hangup",
            "call.machine.detection.ended",
            "call.machine.greeting.ended",
            "streaming.failed",
            "call.dtmf.received",
            "call.bridged",
        ]
    ),
    st.dictionaries(
        st.sampled_from(
            [
                "call_control_id",
                "client_state",
                "direction",
                "from",
                "to",
                "hangup_cause",
                "sip_hangup_cause",
                "result",
                "digit",
                "failure_reason",
                "occurred_at",
            ]
        ),
        JSON,
        max_size=6,
    ),
)
def test_known_events_with_junk_fields_parse_or_raise_webhook_error(event_type, payload):
    try:
        event = tw.parse(envelope(event_type, **payload))
    except tw.WebhookError:
        return
    assert event.event_type == event_type


@given(st.dictionaries(st.sampled_from([tw.SIGNATURE_HEADER, tw.TIMESTAMP_HEADER, "x"]), st.text(max_size=90)))
def test_any_headers_verify_or_raise_signature_error(headers):
    key = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    with pytest.raises(tw.SignatureError):
        tw.verify(b"{}", headers, key, now=NOW)
