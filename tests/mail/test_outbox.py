"""The outbox against a real SMTP server: what a message looks like, that only committed events
send mail, retries with back-off, the secret removed once sent, the console backend, the admin
panel and the `flask mail` commands. (Worker processes: test_worker_processes.py.)"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from sequoalpha import create_app
from sequoalpha.config import ConfigError
from sequoalpha.extensions import db
from sequoalpha.mail import messages, outbox, worker
from sequoalpha.models import OutboxMessage, utcnow
from support.api import login, make_config
from support.s3 import BlackHole

TOKEN = "tok_" + "x1Y2" * 10


def invitation(token=TOKEN):
    return messages.compose(
        "Your invitation to <Acme> & co",
        [
            "Choose a password to open your account.\nThe link works for 72 hours.",
            messages.Link("Choose your password", "/frontend/set-password.html", token=token),
        ],
        greeting="Ann <Smith>",
    )


def queue(app, to="ann@example.com", event="invite:1", secret=TOKEN, **kw) -> int:
    with app.app_context():
        message_id = outbox.enqueue("invitation", to, invitation(secret or TOKEN), event=event, secret=secret, **kw)
        db.session.commit()
        return message_id


def rows(app) -> list[OutboxMessage]:
    with app.app_context():
        found = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return found


def send(app, now=utcnow):
    with app.app_context():
        return worker.send_pending(now)


class Clock:
    """The workers' time, moved by the test; it starts a second ahead, so what the test queued
    (stamped with the real time) is due."""

    def __init__(self):
        self.now = utcnow() + timedelta(seconds=1)

    def __call__(self):
        return self.now


def test_a_message_has_both_parts_the_firm_and_a_working_link(app, smtp):
    queue(app)
    assert send(app).sent == 1
    [(mail_from, rcpts)] = smtp.handler.envelopes
    assert (mail_from, rcpts) == ("portal@firm.example", ["ann@example.com"])
    [message] = smtp.handler.messages
    assert message["From"] == "Acme Capital <portal@firm.example>"
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Your invitation to <Acme> & co"
    assert message["Message-ID"].startswith("<outbox-1.") and message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = f"https://portal.firm.example/frontend/set-password.html#token={TOKEN}"
    assert link in text and f'href="{link}"' in html
    assert "Dear Ann <Smith>," in text and "Acme Capital" in text
    assert "Dear Ann &lt;Smith&gt;," in html and "<Smith>" not in html
    assert "<title>Your invitation to &lt;Acme&gt; &amp; co</title>" in html
    assert "The link works for 72 hours." in text and "open your account.<br>" in html


def test_a_rolled_back_action_sends_nothing(app, smtp):
    with app.app_context():
        assert outbox.enqueue("invitation", "ann@example.com", invitation(), event="e", secret=TOKEN)
        db.session.rollback()
    assert send(app).tried == 0 and rows(app) == [] and smtp.handler.messages == []


def test_one_event_and_recipient_is_one_message(app, smtp):
    first = queue(app, event="invite:7")
    assert queue(app, event="invite:7") is None  # replayed: nothing new
    assert queue(app, event="invite:7", to="bob@example.com") not in (None, first)
    assert send(app).sent == 2
    assert queue(app, event="invite:7") is None  # not even once it was sent
    assert send(app).tried == 0 and len(smtp.handler.messages) == 2


def test_enqueue_refuses_what_it_could_not_send_safely(app):
    with app.app_context():
        with pytest.raises(ValueError, match="kind"):
            outbox.enqueue("spam", "a@example.com", invitation(), event="e")
        with pytest.raises(ValueError, match="recipient"):
            outbox.enqueue("invitation", "a@example.com\nBcc: b@example.com", invitation(), event="e")
        leaky = messages.compose("Hello", [f"Your code is {TOKEN}"])
        with pytest.raises(ValueError, match="#token="):
            outbox.enqueue("invitation", "a@example.com", leaky, event="e", secret=TOKEN)
        with pytest.raises(ValueError, match="subject"):
            outbox.enqueue(
                "invitation",
                "a@example.com",
                messages.compose(f"x {TOKEN}", [messages.Link("go", "/", token=TOKEN)]),
                event="e",
                secret=TOKEN,
            )


def test_the_secret_is_removed_once_sent_and_only_then(app, smtp):
    queue(app)
    [row] = rows(app)
    assert TOKEN in row.text_body and TOKEN in row.html_body and row.has_secret
    send(app)
    [row] = rows(app)
    assert row.status == "sent" and not row.has_secret
    assert TOKEN not in row.text_body + row.html_body
    assert "set-password.html#token=(removed-after-sending)" in row.text_body
    assert TOKEN in smtp.handler.messages[0].get_body(("plain",)).get_content()  # it did go out


@pytest.mark.parametrize("refusal", ["451 4.3.0 try again later", "554 5.7.1 message rejected"])
def test_refused_then_recovered_sends_each_message_once(app, smtp, refusal):
    clock = Clock()
    for n in range(3):
        queue(app, to=f"c{n}@example.com", event=f"e{n}")
    smtp.handler.refuse = refusal
    result = send(app, clock)
    assert (result.sent, result.retrying) == (0, 3) and refusal.split()[0] in result.errors[0]
    assert send(app, clock).tried == 0  # nothing due before the back-off
    smtp.handler.refuse = None
    clock.now += timedelta(seconds=30)
    assert send(app, clock).sent == 3
    assert sorted(rcpt for _, [rcpt] in smtp.handler.envelopes) == [
        "c0@example.com",
        "c1@example.com",
        "c2@example.com",
    ]
    assert set(smtp.handler.deliveries().values()) == {1}
    assert [(r.status, r.attempts) for r in rows(app)] == [("sent", 2)] * 3


def test_a_black_holed_server_times_out_and_enqueueing_does_not_wait(app, smtp):
    clock = Clock()
    with BlackHole() as hole:
        app.config.update(SMTP_PORT=hole.port, SMTP_TIMEOUT=0.5)
        started = utcnow()
        queue(app)  # a request's transaction: it never talks to SMTP
        assert (utcnow() - started).total_seconds() < 0.5
        result = send(app, clock)
        assert result.retrying == 1 and "timed out" in result.errors[0].lower()
    app.config["SMTP_PORT"] = smtp.port
    clock.now += timedelta(seconds=31)
    assert send(app, clock).sent == 1 and len(smtp.handler.messages) == 1


def test_back_off_doubles_then_the_message_fails_with_its_error(app, smtp):
    clock = Clock()
    queue(app)
    smtp.handler.refuse = "451 4.4.1 no answer from host"
    waits = []
    for attempt in range(1, 9):
        result = send(app, clock)
        assert result.tried == 1, attempt
        [row] = rows(app)
        assert row.attempts == attempt
        if attempt < 8:
            wait = row.next_attempt_at - clock.now
            waits.append(wait.total_seconds())
            clock.now += wait - timedelta(seconds=1)
            assert send(app, clock).tried == 0  # not due a second early
            clock.now += timedelta(seconds=1)
    assert waits == [30, 60, 120, 240, 480, 960, 1920]
    assert row.status == "failed" and "451 4.4.1 no answer from host" in row.last_error
    assert not row.has_secret and TOKEN not in row.text_body  # given up: the token goes too
    clock.now += timedelta(days=1)
    assert send(app, clock).tried == 0
    assert smtp.handler.messages == []


def test_a_claim_whose_worker_died_is_retried_after_its_lease(app, smtp):
    clock = Clock()
    queue(app)
    with app.app_context():
        assert worker.claim(clock(), app.config) is not None  # ... and the worker dies here
        db.session.remove()
    assert send(app, clock).tried == 0  # still leased
    clock.now += timedelta(seconds=app.config["MAIL_LEASE_SECONDS"])
    assert send(app, clock).sent == 1
    [row] = rows(app)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(smtp.handler.messages) == 1


def test_the_console_backend_logs_the_text_and_writes_an_eml(app, tmp_path, caplog):
    app.config["MAIL_BACKEND"] = "console"
    queue(app)
    with caplog.at_level("INFO", logger="sequoalpha.mail"):
        assert send(app).sent == 1
    [eml] = (tmp_path / "mail").glob("*.eml")
    assert eml.stat().st_mode & 0o077 == 0
    content = eml.read_text()
    assert "Subject: Your invitation to <Acme> & co" in content and "Content-Type: text/html" in content
    assert f"https://portal.firm.example/frontend/set-password.html#token={TOKEN}" in caplog.text


def test_admin_mail_panel(app, client, make_user, smtp):
    make_user("admin", is_admin=True)
    make_user("client1")
    clock = Clock()
    queue(app, to="ok@example.com", event="a")
    send(app, clock)
    queue(app, to="later@example.com", event="b")
    app.config["MAIL_MAX_ATTEMPTS"] = 1
    smtp.handler.refuse = "554 5.7.1 nope"
    send(app, clock)
    queue(app, to="queued@example.com", event="c", not_before=clock.now + timedelta(hours=1))

    assert client.get("/api/admin/mail", headers=login(client, "client1")).status_code == 403
    assert app.test_client().get("/api/admin/mail").status_code == 401
    admin = login(client, "admin")
    page = client.get("/api/admin/mail", headers=admin).get_json()
    assert page["total"] == 3 and [m["to"] for m in page["items"]] == [
        "queued@example.com",
        "later@example.com",
        "ok@example.com",
    ]
    assert set(page["items"][0]) == {
        "id",
        "to",
        "kind",
        "subject",
        "status",
        "attempts",
        "created_at",
        "sent_at",
        "last_error",
    }
    [failed] = client.get("/api/admin/mail?status=failed", headers=admin).get_json()["items"]
    assert failed["to"] == "later@example.com" and "554 5.7.1 nope" in failed["last_error"]
    [sent] = client.get("/api/admin/mail?status=sent&per_page=1", headers=admin).get_json()["items"]
    assert sent["sent_at"] and sent["attempts"] == 1 and sent["kind"] == "invitation"
    bad = client.get("/api/admin/mail?status=lost", headers=admin)
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]["query"]
    assert "/api/admin/mail" in client.get("/api/openapi.json").get_json()["paths"]


def test_mail_commands(app, smtp):
    runner = app.test_cli_runner()
    done = runner.invoke(args=["mail", "test", "--to", "ops@example.com"])
    assert done.exit_code == 0 and "sent to ops@example.com" in done.output, done.output
    assert smtp.handler.messages[0]["Subject"] == "Acme Capital: test message"

    app.config["MAIL_MAX_ATTEMPTS"] = 1
    smtp.handler.refuse = "554 5.7.1 nope"
    queue(app, to="a@example.com", event="x", secret=None)
    queue(app, to="b@example.com", event="y")  # carries a token: not retried, it was removed
    refused = runner.invoke(args=["mail", "send-pending"])
    assert refused.exit_code == 1 and "failed 2" in refused.output
    status = runner.invoke(args=["mail", "status"])
    assert status.exit_code == 0 and "pending 0" in status.output and "failed 2" in status.output
    assert "554 5.7.1 nope" in status.output and "a@example.com" in status.output
    smtp.handler.refuse = None
    assert "queued again: 1" in runner.invoke(args=["mail", "retry", "--all-failed"]).output
    sent = runner.invoke(args=["mail", "send-pending"])
    assert sent.exit_code == 0 and "sent 1," in sent.output
    assert [m["To"] for m in smtp.handler.messages] == ["ops@example.com", "a@example.com"]


def test_production_needs_public_url(tmp_path, monkeypatch):
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        create_app(make_config(f"sqlite:///{tmp_path / 'p.db'}", tmp_path, ENV_MODE="production", BCRYPT_ROUNDS=12))
    monkeypatch.setenv("PUBLIC_URL", "portal.example.com")
    with pytest.raises(ConfigError, match="http"):
        create_app(make_config(f"sqlite:///{tmp_path / 'p.db'}", tmp_path))
    monkeypatch.setenv("PUBLIC_URL", "https://portal.example.com/")
    app = create_app(make_config(f"sqlite:///{tmp_path / 'p.db'}", tmp_path, ENV_MODE="production", BCRYPT_ROUNDS=12))
    assert app.config["PUBLIC_URL"] == "https://portal.example.com"
    with app.app_context():
        db.engine.dispose()
