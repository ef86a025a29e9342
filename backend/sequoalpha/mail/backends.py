"""Delivering one composed e-mail: `smtp` (smtplib; STARTTLS, SSL or plain, with login when
SMTP_USERNAME is set) or `console` (development: the message goes to the log and to an .eml file
under MAIL_DIR, so invitation links show in the terminal of `./manage.sh dev`).

`open_backend(config)` gives an object with `send(EmailMessage)` and `close()`; one SMTP
connection serves a whole pass of the worker and is dropped after any error.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from ..models import OutboxMessage, utcnow

log = logging.getLogger("sequoalpha.mail")


def build_email(row: OutboxMessage, config: dict) -> EmailMessage:
    """The message of an outbox row: plain text with an HTML alternative. Its Message-ID depends
    on the row only, so a message sent again (see worker.py) can be recognised as the same one."""
    sender = config["MAIL_FROM"]
    domain = sender.rpartition("@")[2] or "localhost"
    email = EmailMessage()
    email["From"] = formataddr((config["FIRM_NAME"], sender))
    email["To"] = row.to
    email["Subject"] = row.subject
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = f"<outbox-{row.id}.{row.dedupe_key[:16]}@{domain}>"
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    email.set_content(row.text_body)
    email.add_alternative(row.html_body, subtype="html")
    return email


class ConsoleBackend:
    def __init__(self, config: dict):
        self.directory = Path(config["MAIL_DIR"])

    def send(self, email: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = email["Message-ID"].strip("<>").partition("@")[0]
        path = self.directory / f"{utcnow():%Y%m%dT%H%M%S}-{name}.eml"
        path.write_bytes(bytes(email))
        path.chmod(0o600)  # may hold a link with a token
        text = email.get_body(("plain",)).get_content()
        log.info("mail (console backend, not sent) to %s: %s (saved as %s)", email["To"], email["Subject"], path)
        for line in text.splitlines():  # a record per line: no record of ours spans lines
            log.info("  | %s", line)

    def close(self) -> None:
        pass


class SmtpBackend:
    def __init__(self, config: dict):
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        host, port, timeout = cfg["SMTP_HOST"], cfg["SMTP_PORT"], cfg["SMTP_TIMEOUT"]
        context = ssl.create_default_context()
        if cfg["SMTP_SECURITY"] == "ssl":
            connection = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            connection = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if cfg["SMTP_SECURITY"] == "starttls":
                connection.starttls(context=context)
            if cfg["SMTP_USERNAME"]:
                connection.login(cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"] or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def send(self, email: EmailMessage) -> None:
        try:
            if self.connection is None:
                self.connection = self._connect()
            self.connection.send_message(email)
        except BaseException:
            self.close(polite=False)  # a connection in an unknown state is not reused (nor waited on)
            raise

    def close(self, polite: bool = True) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            try:
                if polite:
                    connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            finally:
                connection.close()


def open_backend(config: dict) -> ConsoleBackend | SmtpBackend:
    return SmtpBackend(config) if config["MAIL_BACKEND"] == "smtp" else ConsoleBackend(config)
