"""Mail in tests: the `smtp` fixture (a real SMTP server, aiosmtpd, on a loopback port), the app
settings that send to it, one pass of the mail worker, and reading a message's parts and links.
A module whose app mails there overrides `app_config` with `smtp_config` (tests/mail/conftest.py
does it for that directory)."""

import re

import pytest

from sequoalpha.extensions import db
from sequoalpha.mail import worker
from sequoalpha.models import OutboxMessage, utcnow
from support.smtp import SmtpServer

SITE = "https://portal.firm.example"  # SmtpServer.settings()'s PUBLIC_URL
LINK = re.compile(re.escape(SITE) + r"(/[\w/.-]*)(?:#token=([\w-]+))?")


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


def smtp_config(app_config: dict, smtp: SmtpServer, tmp_path) -> dict:
    """`app_config` with the app's mail going to `smtp` (and .eml files under tmp_path)."""
    return {**app_config, **smtp.settings(), "MAIL_DIR": str(tmp_path / "mail")}


def deliver(app, now=utcnow):
    """One pass of the mail worker; every message due is sent to the SMTP server."""
    with app.app_context():
        result = worker.send_pending(now)
    assert not result.errors, result.errors
    return result


def received(smtp, to: str | None = None) -> list:
    """Messages the SMTP server accepted (for `to` only, when given), oldest first."""
    with smtp.handler.lock:
        pairs = list(zip(smtp.handler.messages, smtp.handler.envelopes, strict=True))
    return [message for message, (_, rcpts) in pairs if to is None or rcpts == [to]]


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def links(message) -> list[tuple[str, str | None]]:
    """(path, token) of every link in the plain part; the HTML part must hold the same ones."""
    found = LINK.findall(text_of(message))
    html = message.get_body(("html",)).get_content()
    for path, token in found:
        assert f'href="{SITE}{path}{"#token=" + token if token else ""}"' in html
    return [(path, token or None) for path, token in found]


def outbox_rows(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return rows
