"""`flask mail …`: the worker (the sequoalpha-mail service runs it), one pass, a test message,
the outbox's state (`./manage.sh mail`, `./manage.sh status`), and retrying failed messages."""

from __future__ import annotations

import signal
import sys
import threading
import uuid

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select, update

from ..extensions import db
from ..models import OutboxMessage, utcnow
from . import messages, worker
from .outbox import REMOVED, counts, enqueue

mail = AppGroup("mail", help="The outbox: send, inspect and retry e-mail.")

EX_CONFIG = 78  # sysexits.h; the systemd unit does not restart on it


@mail.command("worker")
@with_appcontext
def worker_command():
    """Send the outbox until SIGTERM (or Ctrl-C)."""
    config = current_app.config
    if config["MAIL_BACKEND"] == "console" and config["ENV_MODE"] == "production":
        # Messages stay pending (nothing is lost) until SMTP is configured.
        click.echo(
            "mail worker: MAIL_BACKEND=console in production would only log the messages; "
            "set MAIL_BACKEND=smtp and the SMTP_* settings in backend/.env",
            err=True,
        )
        sys.exit(EX_CONFIG)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    app = current_app._get_current_object()
    worker.run(app, stop)


@mail.command("send-pending")
@with_appcontext
def send_pending_command():
    """Send every due message once, then exit (status 1 when some failed to send)."""
    result = worker.send_pending()
    click.echo(f"sent {result.sent}, to retry {result.retrying}, failed {result.failed}")
    for error in result.errors:
        click.echo(f"  error: {error}", err=True)
    sys.exit(1 if result.errors else 0)


@mail.command("test")
@click.option("--to", "to", required=True, help="The address to send the test message to.")
@with_appcontext
def test_command(to):
    """Queue a test message to ADDRESS and send it now, reporting the server's refusal if any."""
    if "@" not in to or any(c.isspace() for c in to):
        raise click.BadParameter("an e-mail address", param_hint="--to")
    message_id = enqueue("test", to, messages.mail_test(), event=f"test:{uuid.uuid4()}")
    db.session.commit()
    result = worker.send_pending(message_id=message_id)
    if result.sent:
        backend = current_app.config["MAIL_BACKEND"]
        click.echo(f"sent to {to} (backend {backend})")
        return
    click.echo(
        f"not sent: {result.errors[0] if result.errors else 'claimed by a running worker'}; the worker will retry it",
        err=True,
    )
    sys.exit(1)


@mail.command("status")
@click.option(
    "--failed", "show_failed", default=10, show_default=True, help="How many of the latest failed messages to list."
)
@with_appcontext
def status_command(show_failed):
    """Pending and failed messages."""
    by_status = counts()
    now = utcnow()
    due = db.session.scalar(
        select(db.func.count()).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
    )
    oldest = db.session.scalar(select(db.func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending"))
    age = f", oldest queued {int((now - oldest).total_seconds())} s ago" if oldest else ""
    click.echo(
        f"pending {by_status['pending']} ({due} due now{age}), failed {by_status['failed']}, sent {by_status['sent']}"
    )
    if by_status["failed"] and show_failed:
        click.echo("failed (newest first; `flask mail retry --all-failed` queues them again):")
        rows = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "failed")
            .order_by(OutboxMessage.id.desc())
            .limit(show_failed)
        )
        for row in rows:
            click.echo(f"  #{row.id} {row.created_at:%Y-%m-%d %H:%M} {row.kind} to {row.to}: {row.last_error}")


@mail.command("retry")
@click.option("--id", "ids", type=int, multiple=True, help="A failed message to queue again (repeatable).")
@click.option("--all-failed", is_flag=True, help="Queue every failed message again.")
@with_appcontext
def retry_command(ids, all_failed):
    """Queue failed messages again, with a fresh set of attempts. A message that carried a link
    with a token has lost the token (removed when it was given up): send a new invitation or
    reset instead; such messages are left as they are."""
    if not ids and not all_failed:
        raise click.UsageError("give --id N or --all-failed")
    stmt = (
        update(OutboxMessage)
        .where(OutboxMessage.status == "failed", ~OutboxMessage.text_body.contains("#token=" + REMOVED))
        .values(status="pending", attempts=0, next_attempt_at=utcnow())
    )
    if not all_failed:
        stmt = stmt.where(OutboxMessage.id.in_(ids))
    queued = db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    click.echo(f"queued again: {queued}")
