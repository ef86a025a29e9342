"""The outbox: `enqueue` adds a message to the caller's transaction (it is sent only if that
transaction commits); the worker (worker.py) sends it later.

    from sequoalpha.mail import messages
    from sequoalpha.mail.outbox import enqueue

    token = ...  # random; only its hash is stored by the flow
    message = messages.compose("Your invitation", ["...", messages.Link("Choose a password",
                               "/frontend/set-password.html", token=token)], greeting=user.full_name)
    enqueue("invitation", user.email, message, event=f"invitation:{invitation.id}",
            user_id=user.id, secret=token)
    db.session.commit()  # the caller's commit sends it (a rollback sends nothing)
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from sqlalchemy import ColumnElement, func, literal, select

from ..extensions import db, upsert
from ..models import OutboxMessage, utcnow
from .messages import Message

# The kinds of message (the admin panel shows them). A new flow adds its kind here.
KINDS = frozenset(
    {
        "test",
        "invitation",
        "password_reset",
        "password_changed",
        "new_documents",
        "reminder",
        "mfa_reset",
    }
)
# A secret travels only as a link's fragment; this is what is removed once the message is sent.
SECRET_IN_LINK = re.compile(r"(#token=)[^\s\"'<>&]+")
REMOVED = "(removed-after-sending)"
REDACTED = r"\1" + REMOVED


def dedupe_key(kind: str, event: str, to: str) -> str:
    return hashlib.sha256(f"{kind}\0{event}\0{to.lower()}".encode()).hexdigest()


def enqueue(
    kind: str,
    to: str,
    message: Message,
    *,
    event: str,
    user_id: int | None = None,
    secret: str | None = None,
    not_before: datetime | None = None,
    only_if: ColumnElement[bool] | None = None,
) -> int | None:
    """Add `message` for `to` to the current transaction, without committing; the id of the new
    row, or None when this event already has a message for this recipient (sent or not: nothing is
    sent twice).

    `event` names what happened, uniquely and stably (e.g. "invitation:<invitation id>",
    "reset:<reset token id>", "password_changed:<user id>:<time>", "digest:<user id>:<digest id>"):
    a replay of the same event for the same recipient is a no-op. `secret` is a token that the
    bodies carry in a link's fragment (messages.Link(token=…)); it is removed from the stored
    bodies once the message is sent or given up, so only its hash (kept by the flow) remains.
    `not_before` delays the first attempt (digests). `only_if` is an SQL condition: the row is
    added only where it holds, by the same statement either way (a flow whose answer and timing
    must not tell whether a message was queued: a password reset for an address that may be no
    account's)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of message: {kind!r}")
    if not to or "\n" in to or "\r" in to:
        raise ValueError("one recipient address")
    if secret is not None:
        _check_secret_is_removable(message, secret)
    now = utcnow()
    values = dict(
        to=to,
        kind=kind,
        subject=message.subject,
        text_body=message.text,
        html_body=message.html,
        status="pending",
        attempts=0,
        next_attempt_at=not_before or now,
        created_at=now,
        dedupe_key=dedupe_key(kind, event, to),
        has_secret=secret is not None,
        user_id=user_id,
    )
    if only_if is None:
        stmt = upsert(OutboxMessage).values(**values)
    else:
        columns = [OutboxMessage.__mapper__.attrs[name].columns[0] for name in values]
        row = select(*[literal(value, column.type) for column, value in zip(columns, values.values(), strict=True)])
        stmt = upsert(OutboxMessage).from_select(columns, row.where(only_if))
    stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(OutboxMessage.id)
    return db.session.execute(stmt).scalar_one_or_none()


def _check_secret_is_removable(message: Message, secret: str) -> None:
    """The secret must appear only where the scrub finds it (a #token= fragment), else it would
    outlive the sending."""
    if len(secret) < 16:
        raise ValueError("a secret this short cannot be told apart from the text around it")
    if secret in message.subject:
        raise ValueError("a secret never goes in a subject")
    for body in (message.text, message.html):
        if secret not in body or secret in SECRET_IN_LINK.sub(REDACTED, body):
            raise ValueError("the secret must appear in the bodies only as a link's #token= fragment")


def scrub(row: OutboxMessage) -> None:
    """Remove the secret from a message that will not be sent again (the caller commits)."""
    if row.has_secret:
        row.text_body = SECRET_IN_LINK.sub(REDACTED, row.text_body)
        row.html_body = SECRET_IN_LINK.sub(REDACTED, row.html_body)
        row.has_secret = False


def counts() -> dict[str, int]:
    """Messages per status (pending, sent, failed), for `flask mail status` and the admin panel."""
    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    return {"pending": 0, "sent": 0, "failed": 0, **dict(rows.all())}
