"""The mail worker: sends due outbox messages, one at a time, each in three steps:

1. claim: in one short transaction, count the attempt and push `next_attempt_at` a lease
   (MAIL_LEASE_SECONDS) ahead, then commit. On PostgreSQL the row is picked with
   `FOR UPDATE SKIP LOCKED`, and the claim is a compare-and-set on `attempts` everywhere, so two
   workers (or hosts) never both claim it; a claimed row is not due again until its lease ends.
2. send it through the backend, outside any transaction.
3. mark it sent (or schedule the retry, or give up), and remove its secret, in a second commit.

A worker killed between 1 and 3 loses nothing: the row is still pending and is tried again once
its lease ends. The one way a message goes out twice is a worker dying after the SMTP server
accepted it and before step 3 committed (a window of one UPDATE); the copy has the same
Message-ID. Retries: MAIL_RETRY_SECONDS after the first failure, doubling each time, until
MAIL_MAX_ATTEMPTS tries (every try counted, the successful one included), then `failed`.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import Flask, current_app
from sqlalchemy import select, update

from ..extensions import db
from ..models import OutboxMessage, utcnow
from .backends import build_email, open_backend
from .outbox import scrub

log = logging.getLogger("sequoalpha.mail")
Clock = Callable[[], datetime]


@dataclass
class PassResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def tried(self) -> int:
        return self.sent + self.retrying + self.failed


def describe(error: Exception) -> str:
    """One line for `last_error` and the log: the server's own answer when it gave one."""
    if isinstance(error, smtplib.SMTPResponseException):
        answer = (
            error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        )
        return f"SMTP {error.smtp_code} {answer}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "SMTP recipient refused: " + "; ".join(
            f"{code} {answer.decode('utf-8', 'replace')}" for code, answer in error.recipients.values()
        )
    return f"{type(error).__name__}: {error}"


def retry_delay(attempts: int, config: dict) -> timedelta:
    """The wait after the `attempts`-th failed try: the base, then doubling."""
    return timedelta(seconds=config["MAIL_RETRY_SECONDS"] * 2 ** (attempts - 1))


@dataclass(frozen=True)
class Claimed:
    """A claimed message, with its e-mail built before the claim committed (nothing is read from
    the database while the SMTP server is talked to, so no transaction stays open meanwhile)."""

    id: int
    to: str
    kind: str
    attempts: int
    email: EmailMessage


def claim(now: datetime, config: dict, message_id: int | None = None) -> Claimed | None:
    """Claim the oldest due message (or this one); committed before anything is sent."""
    due = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )  # SQLite has no row locks; the compare-and-set suffices
    if message_id is not None:
        due = due.where(OutboxMessage.id == message_id)
    try:
        while (row := db.session.scalars(due).first()) is not None:
            claimed = Claimed(row.id, row.to, row.kind, row.attempts + 1, build_email(row, config))
            won = (
                db.session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id == row.id,
                        OutboxMessage.attempts == row.attempts,
                        OutboxMessage.status == "pending",
                    )
                    .values(
                        attempts=claimed.attempts, next_attempt_at=now + timedelta(seconds=config["MAIL_LEASE_SECONDS"])
                    )
                    .execution_options(synchronize_session=False)
                ).rowcount
                == 1
            )
            db.session.commit()
            if won:
                return claimed
        return None
    finally:
        db.session.rollback()  # ends the read transaction when nothing was due


def _finish(claimed: Claimed, error: Exception | None, now: datetime, config: dict) -> tuple[str, str | None]:
    """Record the outcome of a try, in its own transaction: (the new status, the error)."""
    row = db.session.get(OutboxMessage, claimed.id, populate_existing=True)
    if row is None:  # deleted meanwhile (an operator's cleanup): nothing to record
        db.session.rollback()
        return "sent" if error is None else "failed", None
    if error is None:
        row.status, row.sent_at, row.last_error = "sent", now, None
    else:
        row.last_error = describe(error)[:500]
        if row.attempts >= config["MAIL_MAX_ATTEMPTS"]:
            row.status = "failed"
        else:
            row.next_attempt_at = now + retry_delay(row.attempts, config)
    if row.status != "pending":
        scrub(row)
    outcome = row.status, row.last_error
    db.session.commit()
    return outcome


def send_pending(now: Clock = utcnow, stop: threading.Event | None = None, message_id: int | None = None) -> PassResult:
    """One pass: send every due message (or only `message_id`), until none is due or `stop`."""
    config = current_app.config
    result = PassResult()
    if message_id is None:
        build_digests(now())
    backend = open_backend(config)
    try:
        while not (stop is not None and stop.is_set()):
            claimed = claim(now(), config, message_id)
            if claimed is None:
                break
            error = None
            try:
                backend.send(claimed.email)
            except Exception as exc:
                error = exc
                log.warning(
                    "mail %s to %s (%s), attempt %s: %s",
                    claimed.id,
                    claimed.to,
                    claimed.kind,
                    claimed.attempts,
                    describe(exc),
                )
            status, last_error = _finish(claimed, error, now(), config)
            if status == "sent":
                result.sent += 1
            elif status == "failed":
                result.failed += 1
                log.error(
                    "mail %s to %s (%s) failed after %s attempts: %s",
                    claimed.id,
                    claimed.to,
                    claimed.kind,
                    claimed.attempts,
                    last_error,
                )
            else:
                result.retrying += 1
            if error is not None:
                result.errors.append(last_error)
            if message_id is not None:
                break
    finally:
        backend.close()
        db.session.remove()
    return result


def build_digests(now: datetime) -> None:
    """Queue the new-document digests that are due, so this pass sends them. A failure here is
    logged and does not hold back the rest of the outbox."""
    from ..documents.notices import build_due_digests  # documents imports mail: import when used

    try:
        build_due_digests(now)
    except Exception:
        db.session.rollback()
        log.exception("mail worker: building new-document digests failed; retrying at the next pass")


def run(app: Flask, stop: threading.Event, now: Clock = utcnow) -> None:
    """Send until `stop` is set, polling every MAIL_POLL_SECONDS (≤ 2 s, so a message leaves
    within seconds of its commit). A database outage is logged and waited out."""
    poll = app.config["MAIL_POLL_SECONDS"]
    log.info("mail worker started (backend %s, polling every %.1f s)", app.config["MAIL_BACKEND"], poll)
    while not stop.is_set():
        with app.app_context():
            try:
                tried = send_pending(now, stop).tried
            except Exception:
                log.exception("mail worker: pass failed; retrying in %.0f s", max(poll, 5))
                stop.wait(max(poll, 5) - poll)
                tried = 0
        if not tried:
            stop.wait(poll)
    log.info("mail worker stopped")


def start_thread(app: Flask) -> threading.Thread:
    """The worker beside the development server (`./manage.sh dev`); a daemon, gone with it."""
    thread = threading.Thread(target=run, args=(app, threading.Event()), name="mail-worker", daemon=True)
    thread.start()
    return thread
