"""deploy_ec2.sh's database step on this machine's PostgreSQL: the role gets the password of
backend/.env (or a new one), and the password never appears on a command line, where `ps`
shows it to every user of the host. `runuser -u postgres` is played by a stand-in that runs the
client as the test's superuser; `psql` by one that records its arguments, then runs the real one."""

import base64
import hashlib
import hmac
import os
import secrets
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from support.common import REPO, require

pytestmark = pytest.mark.ops

FAKE_RUNUSER = """#!/bin/sh
# runuser -u USER -- COMMAND...: COMMAND as ourselves (PGHOST/PGUSER name the superuser).
shift 3
exec "$@"
"""
FAKE_PSQL = """#!/bin/sh
printf '%s\\n' "$*" >> "$PSQL_ARGV_LOG"
exec "$REAL_PSQL" "$@"
"""


def scram_matches(stored: str, password: str) -> bool:
    """Whether PostgreSQL's SCRAM-SHA-256 verifier `stored` was made from `password` (RFC 5802)."""
    method, rest = stored.split("$", 1)
    assert method == "SCRAM-SHA-256", stored
    params, keys = rest.split("$")
    iterations, salt = params.split(":")
    stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return (
        hashlib.sha256(client_key).digest() == stored_key
        and hmac.new(salted, b"Server Key", "sha256").digest() == server_key
    )


@pytest.fixture
def postgres(tmp_path):
    """(environment for the script, role name, database name, superuser engine); both dropped after."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    real_psql = require("psql", "postgresql-client")
    require("createdb", "postgresql-client")
    url = make_url(base)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("runuser", FAKE_RUNUSER), ("psql", FAKE_PSQL)):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "REAL_PSQL": real_psql,
        "PSQL_ARGV_LOG": str(tmp_path / "psql-argv.log"),
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
    }
    if url.password:
        env["PGPASSWORD"] = url.password
    name = f"sequoalpha_deploy_{secrets.token_hex(5)}"
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    yield env, name, admin
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
    admin.dispose()


def setup_database(env: dict, env_file: Path, name: str) -> subprocess.CompletedProcess:
    script = 'source "$1/deploy_ec2.sh" && setup_database "$2" "$3" "$3"'
    return subprocess.run(
        ["bash", "-c", script, "bash", str(REPO), str(env_file), name],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def stored_password(admin, role: str) -> str:
    with admin.connect() as conn:
        return conn.execute(text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": role}).scalar_one()


@pytest.mark.parametrize("password", [None, 'it\'s a \\ "quoted" pass:word; DROP ROLE x; --'])
def test_the_database_password_reaches_psql_on_stdin_only(postgres, tmp_path, password):
    env, name, admin = postgres
    env_file = tmp_path / ".env"
    if password is not None:  # an earlier run's backend/.env, the role gone (a rebuilt database host)
        env_file.write_text(f"DATABASE_URL=postgresql://{name}:{password}@127.0.0.1:5432/{name}\n")
    result = setup_database(env, env_file, name)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip()
    if password is None:
        assert len(printed) == 48, "a new password: 24 random bytes in hex"
    else:
        assert printed == password
    argv = Path(env["PSQL_ARGV_LOG"]).read_text()
    assert argv.count("\n") >= 2, argv  # psql did run: looked up the role, and set it up
    assert printed not in argv
    assert printed not in result.stderr
    assert scram_matches(stored_password(admin, name), printed)
    with admin.connect() as conn:
        owner = conn.execute(
            text("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :d"), {"d": name}
        ).scalar_one()
    assert owner == name

    again = setup_database(env, env_file, name) if password is not None else None
    if again is not None:  # a second run with the role in place changes nothing
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == password and "setting up" not in again.stderr
