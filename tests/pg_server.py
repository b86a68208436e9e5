"""A throwaway PostgreSQL server for the tests: initdb into a temporary folder, started on
a Unix socket only (no TCP port), stopped and removed after. Each test gets an empty
database of its own (``Server.database``).

The server's programs are the machine's (Debian's postgresql package: .ci/run installs it
in CI). As root, the server runs as the postgres user, as PostgreSQL insists. Where none
can be started, ``start`` says why, and the tests that need it are skipped, except in CI
(CHARGES_NEED_POSTGRES=1), where that is a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return versions[-1] if versions else None


@dataclass
class Server:
    folder: Path
    socket_dir: Path
    port: int
    as_user: list[str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)

    def database(self) -> str:
        """A new, empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.sql(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop(self, url: str) -> None:
        """Remove a database ``database`` made (its URL), and what it holds."""
        name = url.split("?", 1)[0].rsplit("/", 1)[1]
        self.sql(f"DROP DATABASE {name} WITH (FORCE)")

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, _bin("pg_ctl"), "-D", str(self.folder / "data"), *args],
            check=True,
            capture_output=True,
        )

    def restart(self) -> None:
        """Stop the server at once (its clients' connections are cut) and start it again."""
        self.pg_ctl("-m", "immediate", "-w", "stop")
        self.pg_ctl("-w", "-l", str(self.folder / "log"), "start")

    def stop(self) -> None:
        try:
            self.pg_ctl("-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _tuned() -> str:
    """Settings as PostgreSQL's documentation advises for a dedicated server."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20  # MiB
    return (
        f"shared_buffers = {min(memory // 4, 8192)}MB\n"
        f"effective_cache_size = {memory * 3 // 4}MB\n"
        "max_wal_size = 4GB\nwal_compression = on\n"
    )


def start(tuned: bool = False) -> Server | str:
    """A running server, or why none could be started. The tests' is quick and forgetful
    (no fsync); a ``tuned`` one (the benchmarks') is set as a production server would be:
    durable, with a quarter of the memory for its buffers."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return 'psycopg is not installed (pip install "device-charges[postgres]")'
    initdb = _bin("initdb")
    if initdb is None or _bin("pg_ctl") is None:
        return "no PostgreSQL server programs (apt-get install postgresql)"
    folder = Path(tempfile.mkdtemp(prefix="charges-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL will not run as root
        if shutil.which("runuser") is None:
            return "running as root, and runuser is missing to run PostgreSQL as postgres"
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    port = 20000 + os.getpid() % 20000
    try:
        subprocess.run(
            [*as_user, initdb, "-D", str(folder / "data"), "-U", "postgres", "-A", "trust"],
            check=True,
            capture_output=True,
        )
        conf = folder / "data" / "postgresql.conf"
        with conf.open("a") as f:
            f.write(
                f"listen_addresses = ''\nunix_socket_directories = '{folder}'\nport = {port}\n"
                "max_connections = 100\n"
            )
            f.write(
                _tuned()
                if tuned
                else "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )
        server = Server(folder, folder, port, as_user)
        server.pg_ctl("-w", "-l", str(folder / "log"), "start")
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        detail = getattr(exc, "stderr", b"") or b""
        return f"the server did not start: {exc} {detail.decode(errors='replace')[-300:]}"
    return server
