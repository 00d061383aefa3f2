"""Real SIP peers for interop tests: SIPp, baresip, linphonec and PJSIP (pjsua2), run as processes on loopback.

Each helper writes its peer's configuration into a work folder, starts it, and reads back what the
peer recorded (the audio it heard, the digits it received).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

from talktrack.audio.resample import resample

HERE = Path(__file__).parent
SIPP_SHARE = Path("/usr/share/sip-tester")


def free_udp_port() -> int:
    """A UDP port nobody listens on right now (loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def have(command: str) -> bool:
    return shutil.which(command) is not None


def prospect_wav(folder: Path, text: str, *, pad_s: float = 12.0, rate: int = 8000) -> Path:
    """The prospect's microphone: espeak-ng saying ``text`` after 0.5 s, then silence (16-bit mono WAV)."""
    raw = folder / "say-raw.wav"
    out = folder / f"say-{rate}.wav"
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(out), "pad", "0.5", str(pad_s)], check=True
    )
    return out


def read_wav_8k(path: Path) -> np.ndarray:
    """A 16-bit WAV as 8 kHz int16 mono; tolerates a header whose sizes were never filled in (pjsua)."""
    data = path.read_bytes()
    fmt = data.find(b"fmt ")
    start = data.find(b"data", fmt) + 8
    if data[:4] != b"RIFF" or fmt < 0 or start < 8:
        raise ValueError(f"{path}: not a WAV file")
    channels, rate = struct.unpack("<HI", data[fmt + 10 : fmt + 16])
    width = struct.unpack("<H", data[fmt + 22 : fmt + 24])[0] // 8
    if width != 2:
        raise ValueError(f"{path}: {width * 8}-bit audio")
    pcm = np.frombuffer(data[start : start + (len(data) - start) // 2 * 2], dtype=np.int16)
    if channels > 1:
        pcm = pcm[: pcm.size // channels * channels].reshape(-1, channels)[:, 0]
    return pcm if rate == 8000 else resample(pcm, rate, 8000).astype(np.int16)


def rms_dbfs(pcm: np.ndarray) -> float:
    if pcm.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))
    return 20 * np.log10(max(rms, 1e-3) / 32768.0)


class Peer:
    """A softphone process with a work folder, a log, and the WAV it plays as its microphone."""

    log_name = "peer.log"

    def __init__(self, folder: Path, wav: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.wav = wav
        self.sip_port = free_udp_port()
        self.log = folder / self.log_name
        self.proc: asyncio.subprocess.Process | None = None

    async def wait(self, within_s: float = 30.0) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), within_s)

    def kill(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


# -- baresip ------------------------------------------------------------------------------------


class Baresip(Peer):
    """baresip 1.0 with auto-answer, a WAV as microphone, and a dump of what it hears."""

    log_name = "baresip.log"

    def __init__(self, folder: Path, wav: Path) -> None:
        super().__init__(folder, wav)
        self.cons_port = free_udp_port()
        (folder / "config").write_text(
            "\n".join(
                [
                    "poll_method epoll",
                    f"sip_listen 127.0.0.1:{self.sip_port}",
                    "net_interface 127.0.0.1",
                    "audio_player alsa,null",
                    f"audio_source aufile,{wav}",
                    "audio_alert alsa,null",
                    "audio_srate 8000",
                    "audio_channels 1",
                    "module_path /usr/lib/baresip/modules",
                    "module g711.so",
                    "module aufile.so",
                    "module alsa.so",
                    "module sndfile.so",
                    "module cons.so",
                    "module_app account.so",
                    "module_app menu.so",
                    f"snd_path {folder}",
                    f"cons_listen 127.0.0.1:{self.cons_port}",
                    "jitter_buffer_delay 1-10",
                    "",
                ]
            )
        )
        (folder / "accounts").write_text(
            f"<sip:prospect@127.0.0.1:{self.sip_port}>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA\n"
        )

    @property
    def uri(self) -> str:
        return f"sip:prospect@127.0.0.1:{self.sip_port}"

    async def start(self, *, dial: str | None = None, seconds: float = 20.0) -> None:
        # -v: baresip logs the RFC 4733 events it receives ("received event: '3'").
        args = ["baresip", "-v", "-f", str(self.folder), "-t", str(int(seconds))]
        if dial:
            args += ["-e", f"/dial {dial}"]
        self.proc = await asyncio.create_subprocess_exec(
            *args, stdin=subprocess.DEVNULL, stdout=self.log.open("wb"), stderr=subprocess.STDOUT
        )
        await asyncio.sleep(0.5)

    def press(self, digits: str) -> None:
        """Press keys in the call (the console module turns each into an RFC 4733 event)."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for digit in digits:
                s.sendto(digit.encode(), ("127.0.0.1", self.cons_port))

    def heard(self) -> np.ndarray:
        """What baresip received from the far end (its decoder-side dump)."""
        dumps = sorted(self.folder.glob("dump-*-dec.wav"))
        return read_wav_8k(dumps[-1]) if dumps else np.zeros(0, dtype=np.int16)


# -- linphonec --------------------------------------------------------------------------------------


class Linphone(Peer):
    """linphonec 5.1 auto-answering (or dialling), playing a WAV and recording what it hears."""

    log_name = "linphonec.log"

    def __init__(self, folder: Path, wav: Path) -> None:
        super().__init__(folder, wav)
        self.rtp_port = free_udp_port()
        self.record = folder / "heard.wav"
        home = folder / "home"
        (home / ".local" / "share" / "linphone").mkdir(parents=True, exist_ok=True)
        self.home = home
        self.rc = folder / "rc"
        self.rc.write_text(
            "[sip]\n"
            f"sip_port={self.sip_port}\nsip_tcp_port=-1\nbind_address=127.0.0.1\nuse_ipv6=0\n"
            "default_proxy=-1\nregister_only_when_network_is_up=0\n"
            f"[rtp]\naudio_rtp_port={self.rtp_port}\nbind_address=127.0.0.1\n"
            "[sound]\nechocancellation=0\n"
        )

    @property
    def uri(self) -> str:
        return f"sip:linphone@127.0.0.1:{self.sip_port}"

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "linphonec",
            "-a",
            "-c",
            str(self.rc),
            "-d",
            "0",
            stdin=subprocess.PIPE,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            env={"HOME": str(self.home), "PATH": "/usr/bin:/bin"},
        )
        await asyncio.sleep(1.0)
        await self.command("soundcard use files")
        await self.command(f"play {self.wav}")
        await self.command(f"record {self.record}")

    async def command(self, text: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        await self.proc.stdin.drain()
        await asyncio.sleep(0.3)

    async def quit(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            await self.command("terminate")
            await self.command("quit")
            await asyncio.wait_for(self.proc.wait(), 10)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.proc.kill()

    def heard(self) -> np.ndarray:
        return read_wav_8k(self.record) if self.record.is_file() else np.zeros(0, dtype=np.int16)


# -- PJSIP ---------------------------------------------------------------------------------------------


class Pjsua(Peer):
    """A pjsua2 softphone process (see pjsua_peer.py)."""

    log_name = "pjsua.log"

    def __init__(self, folder: Path, wav: Path) -> None:
        super().__init__(folder, wav)
        self.rtp_port = free_udp_port()
        self.record = folder / "pjsua-heard.wav"
        self.digits_file = folder / "pjsua-digits.txt"

    @property
    def uri(self) -> str:
        return f"sip:pjsua@127.0.0.1:{self.sip_port}"

    async def start(
        self, *, dial: str | None = None, digits: str = "", digits_after: float = 2.0, seconds: float = 15.0
    ) -> None:
        args = [
            sys.executable,
            str(HERE / "pjsua_peer.py"),
            "--port",
            str(self.sip_port),
            "--rtp-port",
            str(self.rtp_port),
            "--play",
            str(self.wav),
            "--record",
            str(self.record),
            "--digits-out",
            str(self.digits_file),
            "--seconds",
            str(seconds),
            "--digits-after",
            str(digits_after),
        ]
        args += ["--dial", dial] if dial else ["--listen"]
        if digits:
            args += ["--digits", digits]
        self.proc = await asyncio.create_subprocess_exec(
            *args, stdin=subprocess.DEVNULL, stdout=self.log.open("wb"), stderr=subprocess.STDOUT
        )
        for _ in range(100):
            await asyncio.sleep(0.1)
            if "ready" in self.output():
                return
        raise RuntimeError(f"pjsua did not start: {self.output()[-2000:]}")

    def digits(self) -> str:
        return self.digits_file.read_text() if self.digits_file.exists() else ""

    def heard(self) -> np.ndarray:
        return read_wav_8k(self.record) if self.record.is_file() else np.zeros(0, dtype=np.int16)


# -- SIPp ----------------------------------------------------------------------------------------------


def sipp_uac_pcap_scenario(folder: Path, *, digit: str = "1") -> Path:
    """SIPp's built-in pcap-playing UAC with absolute pcap paths (speech, then one RFC 4733 digit)."""
    # `sipp -sd` prints the scenario and exits 99.
    text = subprocess.run(["sipp", "-sd", "uac_pcap"], capture_output=True, text=True, check=False).stdout
    text = text.replace("pcap/g711a.pcap", str(SIPP_SHARE / "g711a.pcap"))
    text = re.sub(r"pcap/dtmf_2833_\w+\.pcap", str(SIPP_SHARE / f"dtmf_2833_{digit}.pcap"), text)
    path = folder / "uac_pcap.xml"
    path.write_text(text)
    return path


async def run_sipp(args: list[str], folder: Path, *, within_s: float = 60.0) -> tuple[int, str]:
    """Run sipp to completion in ``folder``; returns its exit code and error log."""
    proc = await asyncio.create_subprocess_exec(
        "sipp",
        *args,
        "-nostdin",
        "-trace_err",
        cwd=folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        code = await asyncio.wait_for(proc.wait(), within_s)
    except TimeoutError:
        proc.kill()
        code = -1
    return code, sipp_errors(folder)


def sipp_errors(folder: Path) -> str:
    """What SIPp wrote to its error logs in ``folder``."""
    return "\n".join(p.read_text(errors="replace") for p in folder.glob("*_errors.log"))


async def start_sipp(args: list[str], folder: Path) -> asyncio.subprocess.Process:
    """Start sipp in the background (a UAS waiting for us)."""
    proc = await asyncio.create_subprocess_exec(
        "sipp",
        *args,
        "-nostdin",
        "-trace_err",
        cwd=folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    await asyncio.sleep(0.5)
    return proc
