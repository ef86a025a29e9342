"""Fixtures of the ops tests: a full stack started on loopback ports from the shipped deploy/
files (rendered by tests/support/nginx.py into a temporary directory):

    Nginx (deploy/nginx/*, rendered)  ->  Gunicorn (deploy/gunicorn.conf.py)  ->  Flask
        -> PostgreSQL (a scratch database on TEST_DATABASE_URL)  and  moto's server as S3.

Everything is started here and stopped at the end of the session; nothing of the machine's own
Nginx, PostgreSQL or systemd is touched. Tests skip, saying why, when a tool is missing.
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import pytest
import requests

from support.common import BACKEND, REPO, VENV_BIN, free_port, require, wait_for_http
from support.documents import make_pdf
from support.gunicorn import GUNICORN_CONF, flask_cli
from support.nginx import NginxSetup, production_like_dirs, render_nginx
from support.postgres import scratch_database
from support.s3 import FakeS3

UNIT_TEMPLATE = REPO / "deploy" / "systemd" / "sequoalpha.service"
SHELL_SCRIPTS = [
    REPO / "manage.sh",
    REPO / "update.sh",
    REPO / "deploy_ec2.sh",
    REPO / "deploy" / "render.sh",
    REPO / "deploy" / "lib.sh",
]

ADMIN = {"username": "opsadmin", "email": "opsadmin@example.com", "password": "ops-" + secrets.token_urlsafe(16)}
# The headers every answer must carry exactly once (deploy/nginx/security-headers.conf).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


# ---- TLS -----------------------------------------------------------------------------------


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for localhost (the TLS server's `nginx -t` and HTTPS checks)."""
    from datetime import datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


# ---- the stack -------------------------------------------------------------------------------


@dataclass
class Stack:
    base: Path
    url: str  # Nginx, e.g. http://127.0.0.1:PORT
    http_port: int
    gunicorn_bind: str
    database_url: str
    upload_dir: Path
    env: dict
    s3: FakeS3
    nginx: NginxSetup
    gunicorn: subprocess.Popen = None
    nginx_proc: subprocess.Popen = None
    _token: str = None

    def get(self, path: str, **kw) -> requests.Response:
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 30)
        return requests.get(self.url + path, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 60)
        return requests.post(self.url + path, **kw)

    def login(self, username=ADMIN["username"], password=ADMIN["password"]) -> str:
        r = self.post("/api/login", json={"username": username, "password": password})
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()["access_token"]

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.login()
        return self._token

    def auth(self, token: str | None = None) -> dict:
        return {"Authorization": f"Bearer {token or self.token}"}

    def flask(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return flask_cli(self.env, *args, input=input)

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.gunicorn.pid}/task/{self.gunicorn.pid}/children")
        return {int(p) for p in children.read_text().split()}

    def gunicorn_log(self) -> str:
        return (self.base / "gunicorn.log").read_text(errors="replace")

    def manage(self, *args: str, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(REPO / "manage.sh"), *args],
            env={**os.environ, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            timeout=300,
        )


def _stop(proc: subprocess.Popen | None, sig=signal.SIGTERM, timeout: float = 30):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def stack():
    """Nginx -> Gunicorn -> Flask -> PostgreSQL + moto S3, all from the shipped configs."""
    require("nginx", "nginx-light")
    database_url, drop_database = scratch_database("sequoalpha_ops")
    base, upload_dir = production_like_dirs()
    s3 = FakeS3("sequoalpha-ops").start()
    gunicorn_bind = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "SEQUOALPHA_ENV": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "UPLOAD_FOLDER": str(upload_dir),
        "MAX_UPLOAD_MB": "50",
        "S3_BUCKET": s3.bucket,
        "S3_ENDPOINT_URL": s3.endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "X_ACCEL_PREFIX": "/_protected/",
        "TRUSTED_PROXIES": "127.0.0.1",
        "COOKIE_SECURE": "false",
        "PUBLIC_URL": "http://localhost",
        # The stack's admin signs in with a password; tests/test_mfa_* cover the policy.
        "MFA_REQUIRED_FOR_ADMINS": "false",
        "GUNICORN_BIND": gunicorn_bind,
        "GUNICORN_WORKERS": "3",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("NOTIFY_SOCKET", None)
    nginx = render_nginx(base / "nginx", upstream=gunicorn_bind, upload_dir=upload_dir)
    st = Stack(
        base=base,
        url=f"http://127.0.0.1:{nginx.http_port}",
        http_port=nginx.http_port,
        gunicorn_bind=gunicorn_bind,
        database_url=database_url,
        upload_dir=upload_dir,
        env=env,
        s3=s3,
        nginx=nginx,
    )
    try:
        migrated = st.flask("db", "upgrade")
        assert migrated.returncode == 0, migrated.stderr
        made = st.flask(
            "create-admin",
            "--username",
            ADMIN["username"],
            "--email",
            ADMIN["email"],
            "--password-stdin",
            input=ADMIN["password"] + "\n",
        )
        assert made.returncode == 0, made.stderr
        with open(base / "gunicorn.log", "wb") as log:
            # umask 0027: sequoalpha.service's UMask=.
            st.gunicorn = subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "--config", str(GUNICORN_CONF)],
                cwd=BACKEND,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                umask=0o027,
            )
        try:
            wait_for_http(f"http://{gunicorn_bind}/api/health", 30, proc=st.gunicorn)
        except RuntimeError:
            pytest.fail(f"Gunicorn exited:\n{st.gunicorn_log()}")
        checked = nginx.test_config()
        assert checked.returncode == 0, checked.stderr
        st.nginx_proc = subprocess.Popen(
            nginx.cmd("-g", "daemon off;"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for_http(st.url + "/api/health", 15, proc=st.nginx_proc)
        except RuntimeError:
            pytest.fail(f"Nginx exited:\n{(nginx.prefix / 'logs' / 'error.log').read_text()}")
        yield st
    finally:
        _stop(st.nginx_proc, signal.SIGQUIT)
        _stop(st.gunicorn)
        s3.stop()
        drop_database()
        # Keep the logs for a look after a failure (CI keeps test-artifacts/).
        logs = REPO / "test-artifacts" / "ops-stack-logs"
        shutil.rmtree(logs, ignore_errors=True)
        logs.mkdir(parents=True)
        for log in [base / "gunicorn.log", *(base / "nginx" / "logs").glob("*.log")]:
            if log.exists():
                shutil.copy(log, logs / log.name)
        shutil.rmtree(base, ignore_errors=True)


# ---- documents -----------------------------------------------------------------------------


def upload(stack, label: str, **fields) -> tuple[dict, bytes]:
    pdf = make_pdf(label=label)
    data = {"title": label, "visibility": json.dumps({"everyone": True, "group_ids": [], "user_ids": []}), **fields}
    r = stack.post(
        "/api/admin/documents/upload",
        headers=stack.auth(),
        data=data,
        files={"file": (f"{label}.pdf", pdf, "application/pdf")},
    )
    assert r.status_code == 201, (r.status_code, r.text)
    return r.json(), pdf


@pytest.fixture(scope="session")
def documents(stack):
    """One document held only locally (uploaded while S3 was down) and one in S3."""
    from sequoalpha.documents.storage import PROBE_SECONDS

    stack.s3.stop()
    try:
        local_doc, local_pdf = upload(stack, "Held locally Q1 résumé")
    finally:
        stack.s3.start()
    assert local_doc["storage"] == {"s3": False, "local": True}, local_doc
    # A worker that saw S3 fail believes it down for PROBE_SECONDS; let that pass.
    time.sleep(PROBE_SECONDS + 0.5)
    s3_doc, s3_pdf = upload(stack, "In S3 annual report")
    assert s3_doc["storage"]["s3"] is True, s3_doc
    return {"local": (local_doc, local_pdf), "s3": (s3_doc, s3_pdf)}


# ---- traffic -------------------------------------------------------------------------------


class Traffic:
    """Clients sending requests through Nginx until stopped; counts what did not answer 200.

    Their timeout (90 s) is above Nginx's proxy_read_timeout (60 s): a request kept waiting too
    long shows as Nginx's 504, a failure."""

    PATHS = ("/api/health", "/api/documents?per_page=5", "/api/me", "/")

    def __init__(self, stack, clients: int = 4):
        self.stack, self.clients = stack, clients
        self.ok = 0
        self.failures: list = []
        self.slowest = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(clients)]

    @property
    def total(self) -> int:
        return self.ok + len(self.failures)

    def _run(self, n: int):
        session = requests.Session()
        headers = self._headers
        i = n
        while not self._stop.is_set():
            path = self.PATHS[i % len(self.PATHS)]
            i += 1
            started = time.monotonic()
            try:
                result = session.get(self.stack.url + path, headers=headers, timeout=90).status_code
            except requests.RequestException as exc:
                result = type(exc).__name__
            with self._lock:
                self.slowest = max(self.slowest, time.monotonic() - started)
                if result == 200:
                    self.ok += 1
                else:
                    self.failures.append((path, result))

    def __enter__(self):
        self._headers = self.stack.auth()  # sign in before the clients start: they share the token
        for thread in self._threads:
            thread.start()
        time.sleep(1)
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(100)

    def summary(self) -> str:
        return (
            f"{self.total} requests by {self.clients} clients, {len(self.failures)} failed, "
            f"slowest {self.slowest:.1f} s"
        )


def record_measurement(line: str) -> None:
    """Figures worth reporting go to test-artifacts/ops-measurements.txt (and the output)."""
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    with open(REPO / "test-artifacts" / "ops-measurements.txt", "a") as fh:
        fh.write(line.rstrip("\n") + "\n")
    print(line)
