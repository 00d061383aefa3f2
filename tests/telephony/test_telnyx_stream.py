import base64
import json

import pytest

from talktrack.telephony import media_stream as ms
from talktrack.telephony import telnyx_stream as tx

# The start frame as Telnyx documents it (bidirectional RTP mode).
START = {
    "event": "start",
    "sequence_number": "1",
    "stream_id": "32DE0DEA-53CB-4B21-89A4-9E1819C043BC",
    "start": {
        "user_id": "3E6F995F-85F7-4705-9741-53B116D28237",
        "call_control_id": "v2:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ",
        "call_session_id": "ff55a038-6f5d-11ef-9692-02420aeffb1f",
        "from": "+13122010094",
        "to": "+13122123456",
        "tags": ["TAG1", "TAG2"],
        "client_state": "aGF2ZSBhIG5pY2UgZGF5ID1d",
        "custom_parameters": {"customer_id": "customer_123"},
        "media_format": {"encoding": "PCMU", "sample_rate": 8000, "channels": 1},
    },
}


def test_parses_the_documented_frames():
    assert tx.parse('{"event": "connected", "version": "1.0.0"}') == ms.Connected("1.0.0")
    start = tx.parse(json.dumps(START))
    assert start == ms.Start(
        stream_id="32DE0DEA-53CB-4B21-89A4-9E1819C043BC",
        call_id="v2:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ",
        encoding="ulaw",
        sample_rate=8000,
        channels=1,
        parameters={"customer_id": "customer_123"},
    )
    pcma = json.loads(json.dumps(START))
    pcma["start"]["media_format"]["encoding"] = "PCMA"
    assert tx.parse(json.dumps(pcma)).encoding == "alaw"  # type: ignore[union-attr]
    payload = bytes(range(160))
    media = {
        "event": "media",
        "sequence_number": "4",
        "stream_id": "S",
        "media": {"track": "inbound", "chunk": "2", "timestamp": "5", "payload": base64.b64encode(payload).decode()},
    }
    assert tx.parse(json.dumps(media)) == ms.Media("S", 2, 5, payload, "inbound")
    assert tx.parse('{"event":"dtmf","stream_id":"S","sequence_number":"5","dtmf":{"digit":"#"}}') == ms.Dtmf("S", "#")
    assert tx.parse('{"event":"mark","stream_id":"S","mark":{"name":"m1"}}') == ms.Mark("S", "m1")
    stop = '{"event":"stop","sequence_number":"9","stream_id":"S","stop":{"user_id":"u","call_control_id":"v2:x"}}'
    assert tx.parse(stop) == ms.Stop("S", "v2:x")


def test_telnyx_error_frames_are_reported_as_protocol_errors():
    with pytest.raises(ms.ProtocolError, match="malformed frame"):
        tx.parse('{"event":"error","payload":{"code":100002,"title":"Unknown error","detail":"malformed frame"}}')


def test_outbound_frames_and_their_parse():
    assert json.loads(tx.media("S", b"\x01\x02")) == {"event": "media", "media": {"payload": "AQI="}}
    assert json.loads(tx.clear("S")) == {"event": "clear"}
    assert tx.parse_outbound(tx.media("S", b"\x01\x02")) == ("media", b"\x01\x02")
    assert tx.parse_outbound(tx.mark("S", "m")) == ("mark", "m")
    assert tx.parse_outbound(tx.clear("S")) == ("clear", None)
    with pytest.raises(ms.ProtocolError):
        tx.parse_outbound('{"event": "dance"}')


def test_carrier_side_frames_parse_back():
    start = tx.parse(tx.carrier_start("S", "v3:call", 1, {"agent_id": "backbeam"}))
    assert isinstance(start, ms.Start) and start.parameters == {"agent_id": "backbeam"}
    assert tx.parse(tx.carrier_media("S", 2, 7, 140, b"\xff" * 160)) == ms.Media("S", 7, 140, b"\xff" * 160, "inbound")
    assert tx.parse(tx.carrier_stop("S", "v3:call", 3)) == ms.Stop("S", "v3:call")
