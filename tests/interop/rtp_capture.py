"""Capture RTP on loopback with tshark, and decode what a peer that records nothing (SIPp) received."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np

from talktrack.audio.g711 import alaw_decode, ulaw_decode
from talktrack.telephony.rtp import RtpError, RtpPacket
from talktrack.testing.pcap import udp_payloads


class Capture:
    """``async with Capture(path, bpf_filter):`` records matching loopback packets into a pcap file."""

    def __init__(self, path: Path, bpf_filter: str) -> None:
        self.path = path
        self.filter = bpf_filter
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Capture:
        if shutil.which("tshark") is None:
            raise RuntimeError("tshark is not installed (Debian package tshark)")
        self.proc = await asyncio.create_subprocess_exec(
            "tshark",
            "-i",
            "lo",
            "-f",
            self.filter,
            "-F",
            "pcap",
            "-w",
            str(self.path),
            "-q",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stderr is not None
        # tshark says "Capturing on 'Loopback: lo'" once it listens.
        async with asyncio.timeout(15):
            while b"Capturing" not in await self.proc.stderr.readline():
                pass
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.proc is not None
        await asyncio.sleep(0.3)
        self.proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(self.proc.wait(), 10)

    @staticmethod
    def rtp_packets(path: Path) -> list[RtpPacket]:
        """The RTP packets in a libpcap file of loopback UDP."""
        packets: list[RtpPacket] = []
        for payload in udp_payloads(path):
            try:
                packets.append(RtpPacket.parse(payload))
            except RtpError:
                continue
        return packets

    @staticmethod
    def audio(path: Path, *, payload_type: int) -> np.ndarray:
        """The G.711 audio of one payload type in the capture (arrival order: loopback keeps it), int16 8 kHz."""
        packets = [p for p in Capture.rtp_packets(path) if p.payload_type == payload_type]
        decode = alaw_decode if payload_type == 8 else ulaw_decode
        if not packets:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate([decode(p.payload) for p in packets])
