"""Reading classic pcap captures (SIPp's sample media, tshark's loopback captures) for tests."""

from __future__ import annotations

import struct
from pathlib import Path


def udp_payloads(path: Path) -> list[bytes]:
    """UDP payloads of a classic pcap (Ethernet or Linux cooked capture, IPv4), in capture order."""
    data = path.read_bytes()
    if len(data) < 24:
        return []
    endian = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}[data[:4]]
    link_header = {1: 14, 113: 16}[struct.unpack_from(endian + "I", data, 20)[0]]
    out, offset = [], 24
    while offset + 16 <= len(data):
        length = struct.unpack_from(endian + "I", data, offset + 8)[0]
        ip = data[offset + 16 + link_header : offset + 16 + length]
        offset += 16 + length
        if len(ip) >= 28 and ip[0] >> 4 == 4 and ip[9] == 17:
            udp = ip[(ip[0] & 0x0F) * 4 :]
            out.append(udp[8 : struct.unpack_from("!H", udp, 4)[0]])
    return out
