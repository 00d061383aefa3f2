"""A PJSIP (pjsua2) softphone for interop tests, run as its own process.

Answers (``--listen``) or dials (``--dial URI``); plays a WAV into the call, records what it hears,
sends RFC 4733 digits after ``--digits-after`` seconds and writes the digits it received to ``--digits-out``.
It exits with ``os._exit`` because pjsua2 aborts on a normal interpreter exit.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from pathlib import Path

import pjsua2 as pj


class Call(pj.Call):  # type: ignore[misc]
    def __init__(self, acc: pj.Account, args: argparse.Namespace, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(acc, call_id)
        self.args = args
        self.digits: list[str] = []
        self.media: list[object] = []  # keep player/recorder alive
        self.connected_at: float | None = None
        self.ended = False

    def onCallState(self, prm: pj.OnCallStateParam) -> None:  # noqa: N802
        info = self.getInfo()
        print(f"state {info.stateText} {info.lastStatusCode}", flush=True)
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
            self.connected_at = time.monotonic()
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.ended = True

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:  # noqa: N802
        if self.media:
            return
        aud = self.getAudioMedia(-1)
        player = pj.AudioMediaPlayer()
        player.createPlayer(self.args.play, pj.PJMEDIA_FILE_NO_LOOP)
        player.startTransmit(aud)
        recorder = pj.AudioMediaRecorder()
        recorder.createRecorder(self.args.record)
        aud.startTransmit(recorder)
        self.media = [player, recorder]
        print("media started", flush=True)

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:  # noqa: N802
        self.digits.append(prm.digit)
        print(f"digit {prm.digit}", flush=True)


class Account(pj.Account):  # type: ignore[misc]
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args
        self.call: Call | None = None

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:  # noqa: N802
        self.call = Call(self, self.args, prm.callId)
        op = pj.CallOpParam()
        op.statusCode = 200
        self.call.answer(op)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=5076)
    p.add_argument("--rtp-port", type=int, default=4000)
    p.add_argument("--listen", action="store_true")
    p.add_argument("--dial")
    p.add_argument("--play", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--digits", default="")
    p.add_argument("--digits-after", type=float, default=2.0)
    p.add_argument("--digits-out", required=True)
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args()

    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.logConfig.level = 1
    cfg.logConfig.consoleLevel = 1
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.port = args.port
    tcfg.boundAddress = "127.0.0.1"
    tcfg.publicAddress = "127.0.0.1"
    ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    ep.audDevManager().setNullDev()
    ep.libStart()
    acfg = pj.AccountConfig()
    acfg.idUri = f"sip:pjsua@127.0.0.1:{args.port}"
    acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    acfg.mediaConfig.transportConfig.publicAddress = "127.0.0.1"
    acfg.mediaConfig.transportConfig.port = args.rtp_port
    acc = Account(args)
    acc.create(acfg)
    if args.dial:
        acc.call = Call(acc, args)
        acc.call.makeCall(args.dial, pj.CallOpParam(True))
    print("ready", flush=True)
    deadline = time.monotonic() + args.seconds
    sent = False
    while time.monotonic() < deadline:
        ep.libHandleEvents(20)
        call = acc.call
        if call is None:
            continue
        if call.ended:
            break
        if args.digits and not sent and call.connected_at and time.monotonic() - call.connected_at > args.digits_after:
            call.dialDtmf(args.digits)
            sent = True
    if acc.call and not acc.call.ended:
        try:
            acc.call.hangup(pj.CallOpParam(True))
            for _ in range(25):
                ep.libHandleEvents(20)
        except pj.Error:
            pass
    if acc.call:
        acc.call.media.clear()  # destroying the recorder writes the WAV header
        gc.collect()
    Path(args.digits_out).write_text("".join(acc.call.digits) if acc.call else "")
    print("done", flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
