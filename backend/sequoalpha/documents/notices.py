"""New-document notices: when a document becomes visible to a user, a notice waits in
`pending_notices`; the mail worker gathers a user's notices for NOTIFY_DIGEST_MINUTES from the
first one and sends a single e-mail listing the titles (and a link to the portal, never the
file). Visibility is checked again when the digest is built: a document hidden meanwhile, or
deleted, is left out, and with nothing left no e-mail is sent."""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from ..extensions import db, upsert
from ..mail import messages
from ..mail.outbox import enqueue
from ..models import Document, PendingNotice, User, utcnow
from .visibility import audience, visible_to


def audience_ids(document: Document) -> set[int]:
    """Who sees `document` now (active non-admin users); flushes pending grant changes first."""
    db.session.flush()
    return {user_id for _document_id, user_id in db.session.execute(audience([document.id]))}


def notify_audience(document: Document, previously_visible_user_ids: set[int] = frozenset()) -> int:
    """Queue a notice, in the caller's transaction, for each user who can see `document` now and
    could not before (give `audience_ids(document)` from before a change; a new document or a new
    version passes nothing). Users who turned notices off, or have not chosen a password yet, get
    none. Returns how many were queued."""
    db.session.flush()
    stmt = audience([document.id]).where(User.notify_new_documents, User.password_hash.is_not(None))
    user_ids = {user_id for _document_id, user_id in db.session.execute(stmt)} - set(previously_visible_user_ids)
    if not user_ids:
        return 0
    now = utcnow()
    db.session.execute(
        upsert(PendingNotice)
        .values([{"user_id": uid, "document_id": document.id, "queued_at": now} for uid in sorted(user_ids)])
        .on_conflict_do_nothing(index_elements=["user_id", "document_id"])
    )
    return len(user_ids)


def build_due_digests(now: datetime) -> int:
    """Turn every user's notices whose first one is NOTIFY_DIGEST_MINUTES old into one queued
    e-mail (committed per user). Returns how many e-mails were queued."""
    wait = timedelta(minutes=current_app.config["NOTIFY_DIGEST_MINUTES"])
    due = db.session.execute(
        select(PendingNotice.user_id, func.min(PendingNotice.queued_at))
        .group_by(PendingNotice.user_id)
        .having(func.min(PendingNotice.queued_at) <= now - wait)
    ).all()
    db.session.rollback()
    queued = 0
    for user_id, first in due:
        queued += _digest(user_id, first)
    return queued


def _digest(user_id: int, first: datetime) -> int:
    notices = db.session.scalars(select(PendingNotice).where(PendingNotice.user_id == user_id)).all()
    document_ids = [notice.document_id for notice in notices]
    # Deleting exactly the notices read: one queued meanwhile waits for the next digest.
    db.session.execute(
        delete(PendingNotice).where(PendingNotice.user_id == user_id, PendingNotice.document_id.in_(document_ids))
    )
    user = db.session.get(User, user_id)
    titles = []
    if user is not None and user.is_active and user.notify_new_documents and not user.is_admin:
        titles = list(
            db.session.scalars(
                select(Document.title)
                .where(Document.id.in_(document_ids), visible_to(user))
                .order_by(Document.created_at, Document.id)
            )
        )
    if titles:
        # The event names the user's first notice: two workers building the same digest queue it once.
        enqueue(
            "new_documents",
            user.email,
            messages.new_documents(user, titles),
            event=f"digest:{user.id}:{first:%Y%m%dT%H%M%S.%f}",
            user_id=user.id,
        )
    db.session.commit()
    return 1 if titles else 0
