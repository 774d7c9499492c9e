"""Real services for the tests: a PostgreSQL server from the system's binaries and an S3
endpoint (moto's server in its own process, ArcticDB's own test recipe: moto in the test
process deadlocks with ArcticDB). Registered as a pytest plugin by the root conftest."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL_POSTGRES = "PostgreSQL binaries not found: apt-get install postgresql"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL's bin folder, or wherever initdb is on the PATH."""
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PostgresServer:
    """A throwaway PostgreSQL cluster in a temporary folder, trusting 127.0.0.1, on a free
    port. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="marketdata-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync")

    def _run(self, tool: str, *args) -> None:
        command = [str(self.bin / tool), *map(str, args)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{tool} failed: {done.stdout[-1000:]}{done.stderr[-2000:]}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            "pg_ctl", "-D", self.data, "-o", options, "-l", self.folder / "log", "-w", "start"
        )

    def reload(self) -> None:
        """Reread pg_hba.conf and the settings."""
        self._run("pg_ctl", "-D", self.data, "reload")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database's URL: each test's shared state starts clean."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _postgres() -> PostgresServer:
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip(INSTALL_POSTGRES)
    server = PostgresServer(bin_dir)
    server.start()
    return server


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the session (use `pg_url` for a database of one's own)."""
    server = _postgres()
    yield server
    server.remove()


@pytest.fixture
def pg_url(postgres) -> str:
    """A fresh database on the session's server."""
    return postgres.new_database()


@pytest.fixture
def own_postgres():
    """A PostgreSQL server of the test's own, to stop (`.stop()`) and start (`.start()`)."""
    server = _postgres()
    yield server
    server.remove()


@dataclass
class S3:
    port: int
    access: str = "testing"
    secret: str = "testing"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def new_bucket(self) -> str:
        import boto3

        name = f"t-{uuid.uuid4().hex[:12]}"
        boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access,
            aws_secret_access_key=self.secret,
            region_name="us-east-1",
        ).create_bucket(Bucket=name)
        return name

    def arctic_uri(self, bucket: str) -> str:
        """ArcticDB's URI for the bucket: `s3://<endpoint>:<bucket>?port=..&access=..&secret=..`."""
        return f"s3://127.0.0.1:{bucket}?port={self.port}&access={self.access}&secret={self.secret}"


@pytest.fixture(scope="session")
def s3():
    """moto's S3 server in its own process, on a free port."""
    pytest.importorskip("moto.server", reason="moto's server missing: pip install 'moto[server]'")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.1)
        yield S3(port)
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def s3_uri(s3) -> str:
    """The ArcticDB URI of a fresh bucket."""
    return s3.arctic_uri(s3.new_bucket())
