"""Log hygiene of the e-mailed links: the token of an invitation or a reset link never reaches a
log, whether the message is sent, refused by the SMTP server and retried, or the token is used,
reused or mistyped. (The console backend prints messages on purpose, for development; this runs
the SMTP backend, as production does.)"""

from datetime import timedelta

import pytest

from sequoalpha.mail import worker
from sequoalpha.models import utcnow
from support import figures
from support.api import login
from support.mail import deliver, links, received, smtp_config


@pytest.fixture
def app_config(app_config, smtp, tmp_path):
    return smtp_config(app_config, smtp, tmp_path)


def test_link_tokens_stay_out_of_logs(app, client, make_user, smtp):
    mark = len(figures.records())
    make_user("admin", is_admin=True)
    make_user("bob", email="bob@example.com")
    admin = login(client, "admin")
    assert (
        client.post("/api/admin/users", headers=admin, json={"username": "ann", "email": "ann@example.com"}).status_code
        == 201
    )
    assert client.post("/api/password/forgot", json={"email": "bob@example.com"}).status_code == 202
    smtp.handler.refuse = "451 4.3.0 try again later"  # a refused try is logged with its error
    with app.app_context():
        assert worker.send_pending().retrying == 2
    smtp.handler.refuse = None
    deliver(app, lambda: utcnow() + timedelta(minutes=2))  # past the retry's back-off
    tokens = [token for message in received(smtp) for _, token in links(message) if token]
    assert len(tokens) == 2
    for token in tokens:
        figures.secret(token)  # the end-of-session scan looks for them too
    invitation, reset = tokens
    for token, password in (
        (invitation, "ann's own password"),
        (reset, "bob's new password"),
        (reset, "reused link"),
        (invitation[:-2] + "zz", "a mistyped link"),
    ):
        client.post("/api/password/reset", json={"token": token, "new_password": password})
    leaks = [(source, text) for source, text in figures.records()[mark:] if any(t in text for t in tokens)]
    assert not leaks, leaks
    assert any("password_reset" in text for _, text in figures.records()[mark:])
