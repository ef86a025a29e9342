"""Two app hosts on one machine, as README's "Scaling out" runs them: two Gunicorn "hosts"
(separate processes from the shipped deploy/gunicorn.conf.py, separate uploads folders, the same
secrets) in STORAGE_MODE=s3-only, sharing one PostgreSQL database and one S3 (moto's server),
each with its own mail worker, behind ONE Nginx upstream rendered from the shipped site with
both servers (passive health checks, the next server for an idempotent request).

Nothing is sticky to a host: a document uploaded through A downloads through B; a sign-out on A
ends the session on B at once; a lockout earned on A holds on B; two mail workers send every
message exactly once (an aiosmtpd server counts deliveries); a rolling reload (A, then B) under
load through Nginx fails no request; SIGKILL host A and requests through Nginx keep succeeding.
The modules are ordered: the kill comes last.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from support.common import BACKEND, VENV_BIN, free_port, require, wait_for, wait_for_http
from support.gunicorn import Gunicorn, app_env, flask_cli
from support.nginx import production_like_dirs, render_nginx
from support.postgres import scratch_database
from support.s3 import FakeS3

pytestmark = [pytest.mark.ops, pytest.mark.slow]

ADMIN = {"username": "twohosts", "email": "twohosts@example.com", "password": "two-" + secrets.token_urlsafe(16)}
VISIBLE = json.dumps({"everyone": True, "group_ids": [], "user_ids": []})


# ---- an SMTP server that counts deliveries -------------------------------------------------


class Deliveries:
    """aiosmtpd handler: how many times each Message-ID was accepted."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        import email

        message_id = email.message_from_bytes(envelope.content)["Message-ID"]
        with self.lock:
            self.counts[message_id] += 1
        return "250 OK"

    def snapshot(self) -> Counter:
        with self.lock:
            return Counter(self.counts)


# ---- the two hosts -----------------------------------------------------------------------


@dataclass
class TwoHosts:
    base: Path
    nginx_url: str
    hosts: dict[str, Gunicorn]
    uploads: dict[str, Path]
    mail_workers: dict[str, subprocess.Popen]
    env: dict
    s3: FakeS3
    deliveries: Deliveries
    nginx_proc: subprocess.Popen | None = None
    token: str = ""
    extra: dict = field(default_factory=dict)

    def url(self, host: str) -> str:
        return self.hosts[host].url

    def auth(self, token: str | None = None) -> dict:
        return {"Authorization": f"Bearer {token or self.token}"}


def login(url: str, username: str, password: str) -> requests.Response:
    return requests.post(f"{url}/api/login", json={"username": username, "password": password}, timeout=30)


def upload(url: str, token: str, content: bytes, name: str) -> requests.Response:
    return requests.post(
        f"{url}/api/admin/documents/upload",
        headers={"Authorization": f"Bearer {token}"},
        data={"title": name, "visibility": VISIBLE},
        files={"file": (name, io.BytesIO(content), "application/pdf")},
        timeout=60,
    )


def mail_worker(env: dict, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [str(VENV_BIN / "flask"), "--app", "main", "mail", "worker"],
            cwd=BACKEND,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen | None, sig=signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def two_hosts():
    require("nginx", "nginx-light")
    from aiosmtpd.controller import Controller

    database_url, drop_database = scratch_database()
    base, uploads_a = production_like_dirs()
    uploads_b = base / "uploads-b"
    shutil.copytree(uploads_a, uploads_b)  # the same owner and mode: host B's own folder
    s3 = FakeS3()
    s3.bucket = "sequoalpha-two-hosts"
    deliveries = Deliveries()
    smtp = Controller(deliveries, hostname="127.0.0.1", port=free_port())
    hosts: dict[str, Gunicorn] = {}
    workers: dict[str, subprocess.Popen] = {}
    cluster = None
    try:
        s3.start()
        s3.client().create_bucket(Bucket=s3.bucket)
        smtp.start()
        env_a = app_env(
            database_url,
            uploads_a,
            STORAGE_MODE="s3-only",
            S3_BUCKET=s3.bucket,
            S3_ENDPOINT_URL=s3.endpoint,
            TRUSTED_PROXIES="127.0.0.1",
            MAIL_BACKEND="smtp",
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(smtp.port),
            SMTP_SECURITY="none",
            MAIL_FROM="portal@example.com",
            MAIL_POLL_SECONDS="0.2",
            MAIL_LEASE_SECONDS="10",
        )
        env_b = {**env_a, "UPLOAD_FOLDER": str(uploads_b)}  # the same secrets: tokens work on both
        migrated = flask_cli(env_a, "db", "upgrade")
        assert migrated.returncode == 0, migrated.stderr
        made = flask_cli(
            env_a,
            "create-admin",
            "--username",
            ADMIN["username"],
            "--email",
            ADMIN["email"],
            "--password-stdin",
            input=ADMIN["password"] + "\n",
        )
        assert made.returncode == 0, made.stderr
        for name, env in (("a", env_a), ("b", env_b)):
            hosts[name] = Gunicorn(env, base, workers=2).start()
            workers[name] = mail_worker(env, base / f"mail-{name}.log")
        nginx = render_nginx(
            base / "nginx", upstream=f"{hosts['a'].url[7:]},{hosts['b'].url[7:]}", upload_dir=uploads_a
        )
        checked = nginx.test_config()
        assert checked.returncode == 0, checked.stderr
        cluster = TwoHosts(
            base=base,
            nginx_url=f"http://127.0.0.1:{nginx.http_port}",
            hosts=hosts,
            uploads={"a": uploads_a, "b": uploads_b},
            mail_workers=workers,
            env=env_a,
            s3=s3,
            deliveries=deliveries,
        )
        cluster.nginx_proc = subprocess.Popen(
            nginx.cmd("-g", "daemon off;"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_http(cluster.nginx_url + "/api/health", 15, proc=cluster.nginx_proc)
        signed_in = login(cluster.url("a"), ADMIN["username"], ADMIN["password"])
        assert signed_in.status_code == 200, signed_in.text
        cluster.token = signed_in.json()["access_token"]
        yield cluster
    finally:
        if cluster is not None:
            stop(cluster.nginx_proc, signal.SIGQUIT)
        for proc in workers.values():
            stop(proc)
        for host in hosts.values():
            host.stop()
        smtp.stop()
        s3.stop()
        drop_database()
        shutil.rmtree(base, ignore_errors=True)


# ---- load through Nginx --------------------------------------------------------------------


class Load:
    """Clients sending GETs through Nginx until stopped (at most `limit` each): every answer
    that is not a 200 is a failure."""

    PATHS = ("/api/health", "/api/documents?per_page=5", "/api/me")

    def __init__(self, cluster: TwoHosts, clients: int = 3, limit: int = 5000):
        self.cluster, self.limit = cluster, limit
        self.ok = 0
        self.failures: list = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(clients)]

    def _run(self, n: int) -> None:
        session, headers = requests.Session(), self.cluster.auth()
        for i in range(n, n + self.limit):
            if self._stop.is_set():
                return
            path = self.PATHS[i % len(self.PATHS)]
            try:
                result = session.get(self.cluster.nginx_url + path, headers=headers, timeout=30).status_code
            except requests.RequestException as exc:
                result = type(exc).__name__
            with self._lock:
                if result == 200:
                    self.ok += 1
                else:
                    self.failures.append((path, result))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        time.sleep(1)
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(1)
        self._stop.set()
        for thread in self._threads:
            thread.join(60)


def reload_and_wait(host: Gunicorn) -> None:
    """HUP the master (a rolling reload: new workers, the old ones finish), then wait until
    every worker is new and the host answers its health check."""
    old = host.worker_pids()
    os.kill(host.proc.pid, signal.SIGHUP)
    wait_for(
        lambda: (pids := host.worker_pids()) and not pids & old and len(pids) == len(old),
        60,
        "the reloaded workers",
        interval=0.2,
    )
    wait_for_http(host.url + "/api/health", 30, proc=host.proc)


# ---- the tests -----------------------------------------------------------------------------


def test_a_document_uploaded_through_a_downloads_through_b(two_hosts):
    from support.documents import make_pdf

    content = make_pdf(200 * 1024, label="two hosts")
    stored = upload(two_hosts.url("a"), two_hosts.token, content, "two-hosts.pdf")
    assert stored.status_code == 201, stored.text
    assert stored.json()["storage"] == {"s3": True, "local": False}
    download = requests.get(
        f"{two_hosts.url('b')}/api/documents/{stored.json()['id']}/download",
        headers=two_hosts.auth(),
        allow_redirects=False,
        timeout=30,
    )
    assert download.status_code == 302 and download.headers["Location"].startswith(two_hosts.s3.endpoint)
    assert requests.get(download.headers["Location"], timeout=30).content == content
    # Neither host keeps a copy: the uploads folders only staged it.
    assert [p.name for d in two_hosts.uploads.values() for p in d.iterdir()] == []
    for host in ("a", "b"):
        health = requests.get(f"{two_hosts.url(host)}/api/health", timeout=10).json()
        assert health["storage"] == {"s3": "ok", "local": "ok", "mode": "s3-only"}


def test_a_sign_out_on_a_ends_the_session_on_b_at_once(two_hosts):
    signed_in = login(two_hosts.url("a"), ADMIN["username"], ADMIN["password"])
    token = signed_in.json()["access_token"]
    assert requests.get(f"{two_hosts.url('b')}/api/me", headers=two_hosts.auth(token), timeout=10).status_code == 200
    out = requests.post(f"{two_hosts.url('a')}/api/logout", headers=two_hosts.auth(token), timeout=10)
    assert out.status_code == 204, out.text
    after = requests.get(f"{two_hosts.url('b')}/api/me", headers=two_hosts.auth(token), timeout=10)
    assert after.status_code == 401 and after.json()["code"] == 401


def test_a_lockout_earned_on_a_holds_on_b(two_hosts):
    password = "client-" + secrets.token_urlsafe(12)
    made = requests.post(
        f"{two_hosts.url('a')}/api/admin/users",
        headers=two_hosts.auth(),
        timeout=30,
        json={"username": "lockme", "email": "lockme@example.com", "password": password},
    )
    assert made.status_code == 201, made.text
    answers = [login(two_hosts.url("a"), "lockme", "wrong-password-123").status_code for _ in range(5)]
    assert answers == [401] * 5, answers
    on_b = login(two_hosts.url("b"), "lockme", password)  # the right password, on the other host
    assert on_b.status_code == 429 and on_b.json()["code"] == 429, on_b.text


def test_two_mail_workers_send_every_message_exactly_once(two_hosts, tmp_path):
    from sequoalpha import create_app
    from sequoalpha.extensions import db
    from sequoalpha.mail import messages, outbox
    from support.api import make_config

    count = 40
    app = create_app(make_config(two_hosts.env["DATABASE_URL"], tmp_path))
    with app.app_context():
        ids = [
            outbox.enqueue(
                "test", f"client{n}@example.com", messages.compose(f"Statement {n}", ["Hello."]), event=f"two-hosts:{n}"
            )
            for n in range(count)
        ]
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    assert all(ids)
    wait_for(lambda: sum(two_hosts.deliveries.snapshot().values()) >= count, 60, f"{count} deliveries", interval=0.2)
    time.sleep(2)  # a double would arrive now
    delivered = two_hosts.deliveries.snapshot()
    assert all(proc.poll() is None for proc in two_hosts.mail_workers.values())
    assert len(delivered) >= count and max(delivered.values()) == 1, delivered.most_common(3)


def test_a_rolling_reload_under_load_fails_no_request(two_hosts):
    with Load(two_hosts) as load:
        reload_and_wait(two_hosts.hosts["a"])
        reload_and_wait(two_hosts.hosts["b"])
    print(f"rolling reload: {load.ok} requests through Nginx, {len(load.failures)} failed")
    assert load.ok > 50
    assert load.failures == []


def test_host_a_killed_requests_keep_succeeding_through_b(two_hosts):
    from support.documents import make_pdf

    host_a = two_hosts.hosts["a"]
    os.killpg(host_a.proc.pid, signal.SIGKILL)  # master and workers, and no cleanup
    host_a.proc.wait(10)
    os.killpg(two_hosts.mail_workers["a"].pid, signal.SIGKILL)
    with Load(two_hosts, limit=300) as load:
        time.sleep(3)
    stored = upload(two_hosts.nginx_url, two_hosts.token, make_pdf(label="after the kill"), "after-kill.pdf")
    print(f"host A killed: {load.ok} requests through Nginx, {len(load.failures)} failed")
    assert load.failures == [] and load.ok > 20
    # A refused connection never reached A: Nginx passes even an upload on to B.
    assert stored.status_code == 201, stored.text
