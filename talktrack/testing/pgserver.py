"""A throwaway PostgreSQL 16 with pgvector (the ``pgserver`` wheel) in a temporary folder, for tests and benchmarks.

``LocalPostgres`` initializes a fresh cluster, starts it listening on a Unix socket only, and on ``stop()``
shuts it down and deletes the folder. Use it as ``with LocalPostgres() as pg: open_store(pg.url)``.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any, Self


class PostgresError(RuntimeError):
    """The local PostgreSQL server did not start."""


def _pgserver() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the /tmp fallback is fine here.
        warnings.simplefilter("ignore")
        try:
            import pgserver
        except ImportError as err:
            raise PostgresError("the local PostgreSQL needs the pgserver wheel: pip install pgserver") from err
    return pgserver


class LocalPostgres:
    """A PostgreSQL server in its own temporary folder; ``url`` connects as the superuser to ``postgres``."""

    def __init__(self) -> None:
        self._workdir: Path | None = None
        self._server: Any = None

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._server is not None

    @property
    def url(self) -> str:
        """A libpq URL for the server's ``postgres`` database."""
        if self._server is None:
            raise PostgresError("The local PostgreSQL is not running; call start() first.")
        return str(self._server.get_uri())

    @property
    def pgdata(self) -> Path:
        """The cluster's data folder."""
        if self._workdir is None:
            raise PostgresError("The local PostgreSQL is not running; call start() first.")
        return self._workdir / "pgdata"

    def start(self) -> Self:
        """Create the cluster and start the server; raises PostgresError with the server's log if it cannot."""
        if self._server is not None:
            return self
        pgserver = _pgserver()
        self._workdir = Path(tempfile.mkdtemp(prefix="talktrack-pg-"))
        try:
            self._server = pgserver.get_server(self.pgdata, cleanup_mode="delete")
        except Exception as err:
            log = self.pgdata / "log"
            detail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else str(err)
            self.stop()
            raise PostgresError(f"PostgreSQL did not start in {self._workdir}: {detail}") from err
        return self

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
