"""A real Radicale CalDAV server on a loopback port, for tests and `talktrack demo`.

``LocalRadicale`` runs ``python -m radicale`` as a child process with its own storage folder and no
configuration file, waits until it answers HTTP, and kills it on exit (also if this process dies first,
on Linux). Use it as ``async with LocalRadicale() as server`` or with ``start()``/``stop()``.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import ctypes.util
import http.client
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

# Radicale imports its storage and auth plugins on start; a cold start takes ~1 s on a slow box.
START_TIMEOUT_S = 10.0
_POLL_S = 0.05
_PR_SET_PDEATHSIG = 1
_SIGKILL = 9


class RadicaleError(RuntimeError):
    """The local Radicale server did not start."""


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """Ask Linux to kill the child when the process that started it dies (no orphan servers)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, _SIGKILL)


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Looked up once here: the function that runs between fork and exec must not import anything.
_prctl = _load_prctl()


def _answers_http(host: str, port: int) -> bool:
    conn = http.client.HTTPConnection(host, port, timeout=1.0)
    try:
        conn.request("OPTIONS", "/")
        conn.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        conn.close()


class LocalRadicale:
    """A Radicale server on 127.0.0.1 (anonymous, or one htpasswd user with a plain password)."""

    def __init__(
        self,
        storage_dir: Path | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("give both username and password for a password-protected server, or neither")
        if username is not None and (":" in username or not username):
            raise ValueError(f"username {username!r} cannot be empty or contain ':'; choose another name")
        self.host = host
        self.username = username
        self.password = password
        self.port = 0
        self._given_storage = storage_dir
        self._workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL, ending in a slash."""
        if not self.port:
            raise RadicaleError("The Radicale server is not running; call start() first.")
        return f"http://{self.host}:{self.port}/"

    @property
    def storage_dir(self) -> Path:
        """Where the server keeps its collections."""
        if self._given_storage is not None:
            return self._given_storage
        if self._workdir is None:
            raise RadicaleError("The Radicale server is not running; call start() first.")
        return self._workdir / "collections"

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    def calendar_url(self, user: str, name: str) -> str:
        """The URL of calendar ``name`` of ``user`` (the collection may not exist yet)."""
        return f"{self.url}{user}/{name}/"

    def start(self) -> Self:
        """Start the server and wait until it answers HTTP; raises RadicaleError with its stderr if it cannot."""
        if self.running:
            return self
        self._workdir = Path(tempfile.mkdtemp(prefix="talktrack-radicale-"))
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        last_error = ""
        for _ in range(3):  # another process may take the free port between our probe and Radicale's bind
            self.port = _free_port(self.host)
            last_error = self._launch()
            if not last_error:
                atexit.register(self.stop)
                return self
        self.stop()
        raise RadicaleError(f"Radicale did not start on {self.host}: {last_error}")

    def _launch(self) -> str:
        assert self._workdir is not None
        args = [
            sys.executable, "-m", "radicale", "--config",
            "--server-hosts", f"{self.host}:{self.port}",
            "--storage-filesystem-folder", str(self.storage_dir),
            "--rights-type", "authenticated",
            "--logging-level", "warning",
            "--auth-delay", "0",  # Radicale slows every 401 by ~1 s against password guessing...
            "--server-delay-on-error", "0",  # ...and every 5xx by 1 s; tests want the answer now
        ]  # fmt: skip
        if self.username is not None:
            htpasswd = self._workdir / "users"
            htpasswd.write_text(f"{self.username}:{self.password}\n", encoding="utf-8")
            args += ["--auth-type", "htpasswd", "--auth-htpasswd-filename", str(htpasswd)]
            args += ["--auth-htpasswd-encryption", "plain"]
        else:
            args += ["--auth-type", "none"]
        stderr_path = self._workdir / f"stderr-{self.port}.log"
        with stderr_path.open("wb") as stderr:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            if _answers_http(self.host, self.port):
                return ""
            time.sleep(_POLL_S)
        self._kill()
        err = stderr_path.read_text(encoding="utf-8", errors="replace").strip()
        return err[-2000:] or f"no answer within {START_TIMEOUT_S:g} s"

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        """Terminate the server, wait for it, and delete its temporary folder."""
        self._kill()
        atexit.unregister(self.stop)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self.port = 0

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def events_in(storage_dir: Path) -> list[str]:
    """The raw iCalendar text of every stored event file below ``storage_dir`` (sorted by path)."""
    files = [p for p in sorted(storage_dir.rglob("*.ics")) if p.is_file()]
    # Radicale keeps caches under ".Radicale.*" folders with the same file names; skip them.
    return [p.read_text(encoding="utf-8") for p in files if not any(part.startswith(".Radicale") for part in p.parts)]
