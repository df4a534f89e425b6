"""Store fixtures: a fresh SQLite file, and a REAL PostgreSQL server started by the test session.

The PostgreSQL cluster is created with ``initdb`` in a temporary folder and started with ``pg_ctl``
on a free port (one cluster per pytest-xdist worker, so ``-n 2`` works). When the tests run as root
the server runs as the ``postgres`` system user (PostgreSQL refuses to run as root). Set
``SHOPMIND_TEST_PG_URL=postgresql://user@host:port/db`` to use an existing server instead. If no
server can be had, the PostgreSQL tests are skipped with the reason spelled out.
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pg_bin(name: str) -> str | None:
    candidates = [shutil.which(name), f"/usr/local/bin/{name}"]
    candidates += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Cluster:
    """A throw-away PostgreSQL cluster: initdb → pg_ctl start → (tests) → pg_ctl stop → rm."""

    def __init__(self) -> None:
        self.initdb = _pg_bin("initdb")
        self.pg_ctl = _pg_bin("pg_ctl")
        if not self.initdb or not self.pg_ctl:
            raise RuntimeError(
                "initdb/pg_ctl not found (install postgresql, e.g. apt-get install postgresql)"
            )
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise RuntimeError(
                    "running as root and there is no 'postgres' user to run the server"
                ) from exc
            runuser = shutil.which("runuser")
            self.prefix = (
                [runuser, "-u", "postgres", "--"] if runuser else ["su", "postgres", "-s", "/bin/sh", "-c"]
            )
        self.root = Path(tempfile.mkdtemp(prefix="shopmind-pg-"))
        self.root.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres")
        self.data = self.root / "data"
        self.port = _free_port()
        self.url = f"postgresql://shopmind@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        cmd = [*self.prefix, *args]
        if self.prefix[-1:] == ["-c"]:  # su -c wants one shell string
            cmd = [*self.prefix, shlex.join(args)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        r = self._run(
            [
                str(self.initdb),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "shopmind",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stderr.strip()[-500:]}")
        # Durability is irrelevant for a test cluster; these make it several times faster.
        opts = (
            f"-p {{port}} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        for _attempt in range(3):
            r = self._run(
                [
                    *(str(self.pg_ctl), "-D", str(self.data), "-o", opts.format(port=self.port)),
                    *("-l", str(self.root / "server.log"), "-w", "-t", "60", "start"),
                ]
            )
            if r.returncode == 0:
                return
            # Lost a race for the port with another process: try another one.
            self.port = _free_port()
            self.url = f"postgresql://shopmind@127.0.0.1:{self.port}/postgres"
            time.sleep(0.5)
        logfile = self.root / "server.log"
        log = logfile.read_text(errors="replace")[-800:] if logfile.exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {r.stderr.strip()[-300:]} {log}")

    def stop(self) -> None:
        try:
            self._run([str(self.pg_ctl), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server (maintenance database ``postgres``) for this test session/worker."""
    given = os.environ.get("SHOPMIND_TEST_PG_URL")
    if given:
        yield given
        return
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency
        pytest.skip(f"postgres: SKIPPED LOUDLY — psycopg is not installed ({exc})")
    try:
        cluster = _Cluster()
        cluster.start()
    except Exception as exc:
        pytest.skip(f"postgres: SKIPPED LOUDLY — no PostgreSQL server could be started: {exc}")
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the session's server; dropped after the test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = pg_server_url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = pg_server_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shop.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty store on each backend."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[object]:
    from shopmind.store.sql import SqlStore

    s = SqlStore(store_url)
    try:
        yield s
    finally:
        s.close()
