"""A throwaway PostgreSQL cluster a test owns, and scratch databases next to TEST_DATABASE_URL's.

`PostgresCluster`: initdb + pg_ctl of the installed server on a free loopback port, in a
temporary directory, stopped and deleted at the end; it can be stopped and started again in the
middle of a test. The machine's own server is never used. `scratch_database()`: a new database
on TEST_DATABASE_URL's server, dropped by the caller. Both skip the calling test, saying why,
when PostgreSQL is missing.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from .common import free_port

PG_BIN_DIRS = [Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15", "14", "13")]


def pg_tool(name: str) -> str:
    """initdb/pg_ctl from the installed PostgreSQL (Debian keeps them off PATH)."""
    for directory in PG_BIN_DIRS:
        if (directory / name).is_file():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (apt-get install postgresql)")
    return found


class PostgresCluster:
    """A throwaway cluster. As root, its files belong to the `postgres` user and the server
    runs as that user (PostgreSQL refuses to run as root)."""

    def __init__(self):
        self.initdb, self.pg_ctl = pg_tool("initdb"), pg_tool("pg_ctl")
        self.run_as: list[str] = []
        owner = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no postgres user to run PostgreSQL as")
            runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
            if runuser is None:
                pytest.skip("running as root and runuser (util-linux) is missing: PostgreSQL refuses root")
            self.run_as = [runuser, "-u", "postgres", "--"]
        self.base = Path(tempfile.mkdtemp(prefix="sequoalpha-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.port = free_port()
        if owner is not None:
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
        self._run(
            [
                self.initdb,
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            timeout=120,
        )

    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        done = subprocess.run(self.run_as + args, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr or done.stdout}")
        return done

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run([self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "30", "start"])

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: disconnect everyone; `immediate`: like a crash)."""
        self._run([self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop"])

    def running(self) -> bool:
        done = subprocess.run(
            [*self.run_as, self.pg_ctl, "-D", str(self.data), "status"], capture_output=True, text=True
        )
        return done.returncode == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """A new database in this cluster (a copy of `template` if given); returns its URL."""
        from sqlalchemy import create_engine, text

        name = name or f"sequoalpha_{secrets.token_hex(5)}"
        engine = create_engine(
            self.url().replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        finally:
            engine.dispose()
        return self.url(name)

    def close(self) -> None:
        if self.data.exists() and self.running():
            with contextlib.suppress(RuntimeError):  # it may have stopped meanwhile: removed below anyway
                self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def scratch_database(prefix: str = "sequoalpha_test") -> tuple[str, callable]:
    """A new database next to TEST_DATABASE_URL's: (its plain postgresql:// URL, drop())."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(
            "TEST_DATABASE_URL is not set: the PostgreSQL runs need it "
            "(e.g. postgresql://postgres@127.0.0.1:5432/test; .ci/run sets it)"
        )
    url = make_url(base)
    name = f"{prefix}_{secrets.token_hex(5)}"
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    plain = url.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    return plain, drop
