"""The database over TLS, as on RDS: DATABASE_URL=...?sslmode=require. A throwaway PostgreSQL
cluster (initdb + pg_ctl, run as the postgres user) gets a self-signed certificate made with
openssl, ssl=on and a pg_hba.conf that takes TCP connections over TLS only (hostssl). The app,
its migrations and Gunicorn work over it, every one of its connections is encrypted, a client
without TLS is refused, and `./manage.sh status` shows the connections in use against
max_connections."""

import os
import pwd
import subprocess

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from support.common import REPO, require
from support.gunicorn import Gunicorn, app_env, flask_cli
from support.postgres import PostgresCluster

pytestmark = [pytest.mark.ops, pytest.mark.slow]

HBA = """# TCP only over TLS; the server's own socket for pg_ctl.
local    all  all                  trust
hostssl  all  all  127.0.0.1/32    trust
"""


class TlsCluster(PostgresCluster):
    """A PostgresCluster that takes TCP connections over TLS only."""

    def __init__(self):
        super().__init__()
        openssl = require("openssl", "openssl")
        cert, key = self.data / "server.crt", self.data / "server.key"
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
        (self.data / "pg_hba.conf").write_text(HBA)
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        key.chmod(0o600)  # PostgreSQL refuses a key others can read
        if self.run_as:  # as root: the server runs as postgres and must own its files
            owner = pwd.getpwnam("postgres")
            for path in (cert, key, self.data / "pg_hba.conf"):
                os.chown(path, owner.pw_uid, owner.pw_gid)


@pytest.fixture(scope="module")
def tls_cluster():
    with TlsCluster() as cluster:
        yield cluster


def test_the_app_works_over_tls_and_a_client_without_tls_is_refused(tls_cluster, tmp_path):
    url = tls_cluster.create_database("sequoalpha_tls") + "?sslmode=require"
    env = app_env(url, tmp_path)
    migrated = flask_cli(env, "db", "upgrade")
    assert migrated.returncode == 0, migrated.stderr
    made = flask_cli(
        env,
        "create-admin",
        "--username",
        "tlsadmin",
        "--email",
        "tls@example.com",
        "--password-stdin",
        input="tls-admin-password-123\n",
    )
    assert made.returncode == 0, made.stderr
    with Gunicorn(env, tmp_path, workers=2) as server:
        assert requests.get(server.url + "/api/health", timeout=10).json()["database"] == "ok"
        signed_in = requests.post(
            server.url + "/api/login", timeout=30, json={"username": "tlsadmin", "password": "tls-admin-password-123"}
        )
        assert signed_in.status_code == 200, signed_in.text
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.ssl, s.version FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                    "WHERE a.datname = 'sequoalpha_tls' AND a.backend_type = 'client backend'"
                )
            ).all()
        engine.dispose()
    assert len(rows) >= 2, rows  # the workers' connections and ours
    assert all(ssl and version.startswith("TLSv1.") for ssl, version in rows), rows

    plain = url.replace("sslmode=require", "sslmode=disable")
    refused = flask_cli(app_env(plain, tmp_path), "db", "upgrade")
    assert refused.returncode != 0 and "no encryption" in refused.stderr, refused.stderr[-500:]
    engine = create_engine(plain.replace("postgresql://", "postgresql+psycopg://"))
    with pytest.raises(OperationalError, match="no encryption"):
        engine.connect()
    engine.dispose()


def test_manage_status_shows_connections_against_max_connections(tls_cluster, tmp_path):
    require("psql", "postgresql-client")
    url = tls_cluster.create_database("sequoalpha_budget") + "?sslmode=require"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect(), engine.connect():  # two held open, as a pool would
        status = subprocess.run(
            [str(REPO / "manage.sh"), "status"],
            capture_output=True,
            text=True,
            timeout=120,
            env={
                **os.environ,
                "DATABASE_URL": url,
                "SEQUOALPHA_ENV_FILE": "/nonexistent",
                "UPLOAD_FOLDER": str(tmp_path),
                "SEQUOALPHA_URL": "http://127.0.0.1:9",
            },
        )
    engine.dispose()
    lines = status.stdout.splitlines()
    at = lines.index(next(line for line in lines if line.startswith("Database connections")))
    # The two held, and psql's own: all on this database.
    assert lines[at + 1].strip() == "3 in use of max_connections 100 (3 on this database)", status.stdout
