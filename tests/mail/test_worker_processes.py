"""`flask mail worker` as real processes against a real SMTP server: killed with SIGKILL in the
middle of a batch (nothing lost, nothing doubled), two workers on one PostgreSQL outbox (no message
sent twice), and a clean stop on SIGTERM."""

import os
import signal
import subprocess
import time

import pytest
from sqlalchemy import func, select

from sequoalpha import create_app
from sequoalpha.extensions import db
from sequoalpha.mail import messages, outbox
from sequoalpha.models import OutboxMessage
from support.api import SECRETS, make_config
from support.common import BACKEND, VENV_BIN, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def outbox_app(request, tmp_path, smtp):
    url = (
        request.getfixturevalue("postgres_url")
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path / 'mail.db'}"
    )
    app = create_app(make_config(url, tmp_path, **smtp.settings()))
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def fill(app, count: int) -> None:
    with app.app_context():
        for n in range(count):
            outbox.enqueue(
                "test", f"c{n}@example.com", messages.compose(f"Statement {n}", ["Hello."]), event=f"batch:{n}"
            )
        db.session.commit()


def pending(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).where(OutboxMessage.status != "sent"))
        db.session.remove()
        return n


def start_worker(app, smtp, log_path, **extra) -> subprocess.Popen:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SEQUOALPHA_", "SMTP_", "MAIL_")) and k not in {"DATABASE_URL", "PUBLIC_URL"}
    }
    env.update(SECRETS)
    env.update(smtp.env())
    env.update(
        {
            "SEQUOALPHA_ENV": "testing",
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "MAIL_POLL_SECONDS": "0.2",
            "BCRYPT_ROUNDS": "4",
            "PYTHONDONTWRITEBYTECODE": "1",
            **extra,
        }
    )
    with open(log_path, "ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [str(VENV_BIN / "flask"), "--app", "main", "mail", "worker"],
            cwd=BACKEND,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


@pytest.mark.parametrize("outbox_app", ["sqlite"], indirect=True)
def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(outbox_app, smtp, tmp_path):
    fill(outbox_app, 30)
    smtp.handler.delay = 0.15  # each message takes a while: the kill lands inside a delivery
    first = start_worker(outbox_app, smtp, tmp_path / "worker1.log", MAIL_LEASE_SECONDS="2")
    try:
        wait_for(lambda: len(smtp.handler.messages) >= 10, 60, "ten deliveries")
        smtp.handler.receiving.clear()
        wait_for(smtp.handler.receiving.is_set, 10, "a message in flight")
        first.kill()  # SIGKILL: no cleanup at all, one message half-sent
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    delivered_at_kill = len(smtp.handler.messages)
    assert 10 <= delivered_at_kill < 30
    second = start_worker(outbox_app, smtp, tmp_path / "worker2.log", MAIL_LEASE_SECONDS="2")
    try:
        wait_for(lambda: pending(outbox_app) == 0, 60, "every message sent")
    finally:
        assert stop(second) == 0, (tmp_path / "worker2.log").read_text()
    deliveries = smtp.handler.deliveries()
    assert len(deliveries) == 30 and set(deliveries.values()) == {1}, deliveries
    with outbox_app.app_context():
        attempts = db.session.scalars(select(OutboxMessage.attempts)).all()
    assert sorted(attempts)[-1] == 2 and attempts.count(2) == 1  # the one cut off was tried again


@pytest.mark.parametrize("outbox_app", ["postgresql"], indirect=True)
def test_two_workers_on_postgresql_never_send_one_message_twice(outbox_app, smtp, tmp_path):
    fill(outbox_app, 200)
    workers = [start_worker(outbox_app, smtp, tmp_path / f"worker{n}.log") for n in (1, 2)]
    try:
        wait_for(lambda: pending(outbox_app) == 0, 120, "200 messages sent")
    finally:
        codes = [stop(proc) for proc in workers]
    assert codes == [0, 0]
    deliveries = smtp.handler.deliveries()
    assert len(deliveries) == 200 and set(deliveries.values()) == {1}
    logs = [(tmp_path / f"worker{n}.log").read_text() for n in (1, 2)]
    assert all("mail worker started" in log and "mail worker stopped" in log for log in logs), logs
    with outbox_app.app_context():
        assert set(db.session.scalars(select(OutboxMessage.attempts))) == {1}


@pytest.mark.parametrize("outbox_app", ["sqlite"], indirect=True)
def test_a_committed_message_leaves_within_seconds(outbox_app, smtp, tmp_path):
    worker = start_worker(outbox_app, smtp, tmp_path / "worker.log")
    try:
        time.sleep(1)  # the worker is idle, polling
        fill(outbox_app, 1)
        committed = time.monotonic()
        wait_for(lambda: smtp.handler.messages, 10, "the message")
        assert time.monotonic() - committed < 10
    finally:
        assert stop(worker) == 0
