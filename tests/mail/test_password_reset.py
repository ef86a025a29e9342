"""Forgotten passwords: the reset link by e-mail (to a real SMTP server), the same answer in the
same time for an unknown address, the throttles, and what a completed reset does."""

import statistics
import time
from datetime import timedelta

from sqlalchemy import select, update

from sequoalpha.extensions import db
from sequoalpha.models import AccountToken, AuditEvent, ThrottleCounter, utcnow
from support.api import PASSWORD, login
from support.mail import deliver, links, outbox_rows, received, text_of

NEW_PASSWORD = "a brand new password"


def forgot(client, email, ip="10.0.0.1"):
    return client.post("/api/password/forgot", json={"email": email}, environ_base={"REMOTE_ADDR": ip})


def reset_token(smtp, to) -> str:
    [(path, token)] = links(received(smtp, to)[-1])
    assert path == "/frontend/set-password.html" and token
    return token


def test_a_reset_link_sets_a_new_password_ends_sessions_and_clears_a_lock(app, client, make_user, smtp):
    make_user("ann", email="ann@example.com")
    session = login(client, "ann")
    for _ in range(5):
        client.post("/api/login", json={"username": "ann", "password": "not the password"})
    assert client.post("/api/login", json={"username": "ann", "password": PASSWORD}).status_code == 429

    r = forgot(client, "ANN@example.com")
    assert r.status_code == 202 and "on its way" in r.get_json()["message"]
    deliver(app)
    [message] = received(smtp)
    assert smtp.handler.envelopes == [("portal@firm.example", ["ann@example.com"])]
    assert message["Subject"] == "Reset your Acme Capital portal password"
    assert "30 minutes" in text_of(message) and "ann" in text_of(message)
    token = reset_token(smtp, "ann@example.com")
    with app.app_context():
        row = db.session.scalar(select(AccountToken))
        assert row.purpose == "reset"
        assert timedelta(minutes=29) < row.expires_at - row.created_at <= timedelta(minutes=30)

    assert client.post("/api/password/reset", json={"token": token, "new_password": NEW_PASSWORD}).status_code == 204
    assert client.get("/api/me", headers=session).status_code == 401  # every session ended
    login(client, "ann", NEW_PASSWORD)  # the lock is cleared
    assert client.post("/api/login", json={"username": "ann", "password": PASSWORD}).status_code == 401
    again = client.post("/api/password/reset", json={"token": token, "new_password": "third password here"})
    assert again.status_code == 400

    deliver(app)
    confirmation = received(smtp, "ann@example.com")[-1]
    assert confirmation["Subject"] == "Your Acme Capital portal password was changed"
    assert "If this was not you" in text_of(confirmation) and links(confirmation) == [("/frontend/forgot.html", None)]
    with app.app_context():
        done = set(db.session.scalars(select(AuditEvent.action)))
    assert {"password_reset_requested", "password_reset"} <= done
    # Once sent, the stored messages keep no token.
    assert all(token not in row.text_body + row.html_body for row in outbox_rows(app))


def test_unknown_and_disabled_addresses_get_the_same_answer_and_no_mail(app, client, make_user, smtp):
    make_user("ann", email="ann@example.com")
    make_user("dan", email="dan@example.com", is_active=False)
    known = forgot(client, "ann@example.com", "10.0.0.1")
    for email, ip in (("nobody@example.com", "10.0.0.2"), ("dan@example.com", "10.0.0.3")):
        r = forgot(client, email, ip)
        assert (r.status_code, r.data, r.headers.get("Content-Type")) == (
            known.status_code,
            known.data,
            known.headers.get("Content-Type"),
        )
    deliver(app)
    assert [m["To"] for m in received(smtp)] == ["ann@example.com"]
    r = client.post("/api/password/forgot", json={"email": "not an address"})
    assert r.status_code == 422


def test_a_new_reset_link_retires_the_previous_one_and_expired_links_fail(app, client, make_user, smtp):
    make_user("ann", email="ann@example.com")
    forgot(client, "ann@example.com")
    deliver(app)
    first = reset_token(smtp, "ann@example.com")
    forgot(client, "ann@example.com")
    deliver(app)
    second = reset_token(smtp, "ann@example.com")
    assert client.post("/api/password/reset", json={"token": first, "new_password": NEW_PASSWORD}).status_code == 400
    with app.app_context():
        db.session.execute(update(AccountToken).values(expires_at=utcnow()))
        db.session.commit()
    r = client.post("/api/password/reset", json={"token": second, "new_password": NEW_PASSWORD})
    assert r.status_code == 400 and r.get_json()["status"] == "Bad Request"
    login(client, "ann")


def test_throttled_per_client_address_and_per_account(app, client, make_user, smtp):
    make_user("ann", email="ann@example.com")
    # Per client address: 5 requests in 15 minutes, whatever the addresses asked for.
    for i in range(5):
        assert forgot(client, f"someone{i}@example.com", "10.1.1.1").status_code == 202
    r = forgot(client, "ann@example.com", "10.1.1.1")
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 900
    assert r.get_json()["code"] == 429 and r.get_json()["message"]
    assert forgot(client, "ann@example.com", "10.1.1.2").status_code == 202  # another address is not held back
    # Per account: 3 reset e-mails in 15 minutes, from any address; an unknown address alike.
    for ip in ("10.2.0.1", "10.2.0.2"):
        assert forgot(client, "ann@example.com", ip).status_code == 202
    for email in ("ann@example.com", "nobody@example.com"):
        if email == "nobody@example.com":
            for i in range(3):
                assert forgot(client, email, f"10.3.0.{i}").status_code == 202
        r = forgot(client, email, "10.4.0.1")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    deliver(app)
    assert len(received(smtp, "ann@example.com")) == 3
    # The window ends: counting starts again. The table holds no address in clear.
    with app.app_context():
        db.session.execute(update(ThrottleCounter).values(window_start=utcnow() - timedelta(minutes=15, seconds=1)))
        db.session.commit()
        keys = list(db.session.scalars(select(ThrottleCounter.key)))
    assert keys and not any("@" in key or "10." in key for key in keys)
    assert forgot(client, "ann@example.com", "10.1.1.1").status_code == 202


def test_an_unknown_address_answers_in_the_time_of_a_known_one(app, client, make_user, smtp):
    rounds = 30
    for i in range(rounds):
        make_user(f"user{i}", email=f"user{i}@example.com")
    forgot(client, "warm@example.com", "10.9.9.9")  # first-request costs out of the measure
    known, unknown = [], []
    for i in range(rounds):  # interleaved, so drift in the machine's load hits both alike
        for email, times in ((f"user{i}@example.com", known), (f"ghost{i}@example.com", unknown)):
            started = time.perf_counter()
            r = forgot(client, email, f"10.8.{i}.{len(times) % 2}")
            times.append(time.perf_counter() - started)
            assert r.status_code == 202
    ratio = statistics.median(known) / statistics.median(unknown)
    assert 0.67 < ratio < 1.5, (ratio, statistics.median(known), statistics.median(unknown))
    assert len(outbox_rows(app)) == rounds
