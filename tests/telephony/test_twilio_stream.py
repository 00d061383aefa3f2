import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from talktrack.telephony import media_stream as ms
from talktrack.telephony import twilio_stream as tw

START = {
    "event": "start",
    "sequenceNumber": "1",
    "streamSid": "MZ123",
    "start": {
        "accountSid": "AC1",
        "streamSid": "MZ123",
        "callSid": "CA9",
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": {"call_id": "abc"},
    },
}


def test_parses_every_message_twilio_sends():
    assert tw.parse('{"event": "connected", "protocol": "Call", "version": "1.0.0"}') == ms.Connected("1.0.0")
    start = tw.parse(json.dumps(START))
    assert isinstance(start, ms.Start)
    assert (start.stream_id, start.call_id, start.sample_rate, start.encoding) == ("MZ123", "CA9", 8000, "ulaw")
    assert start.parameters == {"call_id": "abc"}
    payload = bytes(range(160))
    media = tw.parse(
        json.dumps(
            {
                "event": "media",
                "sequenceNumber": "3",
                "streamSid": "MZ123",
                "media": {
                    "track": "inbound",
                    "chunk": "2",
                    "timestamp": "40",
                    "payload": base64.b64encode(payload).decode(),
                },
            }
        )
    )
    assert media == ms.Media("MZ123", 2, 40, payload, "inbound")
    dtmf = tw.parse(
        '{"event":"dtmf","streamSid":"MZ123","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}'
    )
    assert dtmf == ms.Dtmf("MZ123", "1")
    assert tw.parse('{"event":"mark","streamSid":"MZ123","mark":{"name":"s800"}}') == ms.Mark("MZ123", "s800")
    stop = tw.parse('{"event":"stop","streamSid":"MZ123","stop":{"accountSid":"AC1","callSid":"CA9"}}')
    assert stop == ms.Stop("MZ123", "CA9")


def test_outbound_messages_round_trip_through_json():
    out = json.loads(tw.media("MZ1", b"\xff\x7f"))
    assert out == {"event": "media", "streamSid": "MZ1", "media": {"payload": base64.b64encode(b"\xff\x7f").decode()}}
    assert json.loads(tw.mark("MZ1", "s1")) == {"event": "mark", "streamSid": "MZ1", "mark": {"name": "s1"}}
    assert json.loads(tw.clear("MZ1")) == {"event": "clear", "streamSid": "MZ1"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"event": "dance"}', "unknown event"),
        ('{"event": "media", "media": {"payload": "@@@"}}', "base64"),
        ('{"event": "media", "media": {"payload": "AA==", "chunk": "x"}}', "chunk"),
        ('{"event": "media"}', "'media' must be an object"),
        ('{"event": "dtmf", "dtmf": {"digit": "12"}}', "one key"),
        ('{"event": "start", "start": {"mediaFormat": {"encoding": "audio/x-mulaw"}}}', "sampleRate"),
        ('{"event": "mark", "mark": {}}', "name"),
    ],
)
def test_malformed_messages_raise_a_precise_protocol_error(text, needle):
    with pytest.raises(ms.ProtocolError, match=needle):
        tw.parse(text)


@given(
    st.one_of(
        st.text(),
        st.binary(),
        st.dictionaries(
            st.text(),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.text(),
                lambda c: st.lists(c) | st.dictionaries(st.text(), c),
            ),
        ),
    )
)
def test_any_input_parses_or_raises_protocol_error(data):
    text = json.dumps(data) if isinstance(data, dict) else data
    try:
        tw.parse(text)
    except ms.ProtocolError:
        pass


@given(
    st.sampled_from(["connected", "start", "media", "dtmf", "mark", "stop"]),
    st.dictionaries(
        st.text(max_size=12),
        st.none() | st.integers() | st.text(max_size=8) | st.lists(st.integers(), max_size=3),
        max_size=6,
    ),
)
def test_known_events_with_junk_fields_never_crash(event, fields):
    try:
        tw.parse(json.dumps({"event": event, **{k: v for k, v in fields.items() if k != "event"}, event: fields}))
    except ms.ProtocolError:
        pass
