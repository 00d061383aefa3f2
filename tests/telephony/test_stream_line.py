"""The agent's media-stream line end on a scripted socket: ordering, A-law, bad frames, hang-up."""

import asyncio
import base64
import json

import numpy as np
import pytest

from talktrack.audio.g711 import alaw_encode, ulaw_decode, ulaw_encode
from talktrack.telephony import telnyx_stream as tx
from talktrack.telephony import twilio_stream as tw
from talktrack.telephony.simline import LineClosed
from talktrack.telephony.stream_line import StreamLine


class ScriptedSocket:
    def __init__(self, messages: list[str]) -> None:
        self.incoming: asyncio.Queue[str] = asyncio.Queue()
        for m in messages:
            self.incoming.put_nowait(m)
        self.sent: list[str] = []
        self.closed = False

    async def receive_text(self) -> str:
        if self.incoming.empty() and self.closed:
            raise ConnectionError("closed")
        return await self.incoming.get()

    async def send_text(self, data: str) -> None:
        self.sent.append(data)

    async def close(self) -> None:
        self.closed = True


def frame(i: int) -> bytes:
    return bytes([i]) * 160


async def test_out_of_order_telnyx_frames_come_back_in_chunk_order():
    msgs = [tx.carrier_connected(), tx.carrier_start("S", "v3:c", 1, {})]
    msgs += [
        tx.carrier_media("S", 2 + i, chunk, chunk * 20, frame(chunk)) for i, chunk in enumerate([1, 3, 2, 4, 6, 5])
    ]
    line = StreamLine(ScriptedSocket(msgs), tx)
    await line.accept()
    got = [(await line.recv())[0][0] for _ in range(6)]
    assert got == [1, 2, 3, 4, 5, 6]


async def test_a_lost_frame_is_skipped_after_a_short_wait():
    msgs = [tx.carrier_start("S", "c", 1, {})]
    msgs += [tx.carrier_media("S", i, chunk, 0, frame(chunk)) for i, chunk in enumerate([1, 3, 4, 5, 6])]
    line = StreamLine(ScriptedSocket(msgs), tx)
    await line.accept()
    got = [(await line.recv())[0][0] for _ in range(5)]
    assert got == [1, 3, 4, 5, 6]


async def test_alaw_streams_are_transcoded_at_the_edge():
    tone = (np.sin(np.arange(160) / 3) * 8000).astype(np.int16)
    start = json.loads(tx.carrier_start("S", "c", 1, {}))
    start["start"]["media_format"]["encoding"] = "PCMA"
    sock = ScriptedSocket([json.dumps(start), tx.carrier_media("S", 2, 1, 0, alaw_encode(tone))])
    line = StreamLine(sock, tx)
    writer = asyncio.create_task(line.run())
    await line.accept()
    payload, _ = await line.recv()
    assert np.abs(ulaw_decode(payload).astype(int) - tone).max() < 600  # μ-law now, same sound
    line.send(ulaw_encode(tone))
    line.hangup()
    await writer
    sent = tx.parse_outbound(sock.sent[0])
    assert sent[0] == "media" and sent[1] == alaw_encode(ulaw_decode(ulaw_encode(tone)))


async def test_bad_frames_are_counted_and_skipped_then_stop_hangs_up():
    sock = ScriptedSocket(
        [
            tw.carrier_start("MZ", "CA", 1, {"agent_id": "a"}),
            "junk",
            '{"event": "x"}',
            tw.carrier_media("MZ", 2, 1, 0, frame(9)),
            tw.carrier_stop("MZ", "CA", 3),
        ]
    )
    line = StreamLine(sock, tw)
    writer = asyncio.create_task(line.run())
    start = await line.accept()
    assert start.parameters == {"agent_id": "a"}
    assert (await line.recv())[0][0] == 9
    assert line.protocol_errors == 2
    with pytest.raises(LineClosed):
        await line.recv()
    await writer
    assert sock.closed


async def test_clear_drops_unsent_audio_and_tells_the_carrier():
    sock = ScriptedSocket([tw.carrier_start("MZ", "CA", 1, {})])
    line = StreamLine(sock, tw)
    await line.accept()
    for i in range(5):
        line.send(frame(i))
    assert line.clear() == 5
    writer = asyncio.create_task(line.run())
    line.hangup()
    await writer
    assert [json.loads(m)["event"] for m in sock.sent] == ["clear"]


async def test_keys_go_in_band_on_twilio_and_survive_a_barge_in():
    from talktrack.audio.dtmf import DtmfDetector

    sock = ScriptedSocket([tw.carrier_start("MZ", "CA", 1, {})])
    line = StreamLine(sock, tw)
    await line.accept()
    await line.send_dtmf("58")
    assert line.clear() == 0  # key tones are not agent speech: a barge-in keeps them
    writer = asyncio.create_task(line.run())
    line.hangup()
    await writer
    media = [json.loads(m) for m in sock.sent if json.loads(m)["event"] == "media"]
    pcm = ulaw_decode(b"".join(base64.b64decode(m["media"]["payload"]) for m in media))
    assert DtmfDetector().process(pcm) == ["5", "8"]


async def test_keys_use_the_carriers_command_when_there_is_one():
    pressed: list[tuple[str, str]] = []

    async def send_keys(call_id: str, digits: str) -> None:
        pressed.append((call_id, digits))

    sock = ScriptedSocket([tx.carrier_start("st-1", "v3:call", 1, {})])
    line = StreamLine(sock, tx, send_keys=send_keys)
    await line.accept()
    await line.send_dtmf("1#")
    assert pressed == [("v3:call", "1#")]
    line.hangup()
    with pytest.raises(LineClosed):
        await line.send_dtmf("2")
