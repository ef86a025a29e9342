"""Who a document is for and who has opened it.

A document's audience is every active non-admin user who can see it (visibility.py's rule, read
from the document's side: tests/test_readers.py proves both sides agree). A user has opened a
document when the audit trail holds a download of it by them: the trail is the record of every
download, and unlike the per-user read mark it is not set by anything but a download."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, func, select

from ..extensions import db, upsert
from ..mail import messages
from ..mail.outbox import enqueue
from ..models import AuditEvent, Document, Reminder, User, utcnow
from .visibility import audience

DOWNLOADED = "document_downloaded"
REMIND_EVERY = timedelta(hours=24)


def now() -> datetime:
    """The clock of reminders (tests move it)."""
    return utcnow()


def opens(document_ids: Iterable[int]) -> Select:
    """(document_id, user_id, opened_at, downloads): each user's first download of each document
    and how many there were, from the audit trail's index on document_id."""
    return (
        select(
            AuditEvent.document_id,
            AuditEvent.actor_id.label("user_id"),
            func.min(AuditEvent.at).label("opened_at"),
            func.count().label("downloads"),
        )
        .where(
            AuditEvent.document_id.in_(list(document_ids)),
            AuditEvent.action == DOWNLOADED,
            AuditEvent.actor_id.is_not(None),
        )
        .group_by(AuditEvent.document_id, AuditEvent.actor_id)
    )


def readers(document_id: int, status: str | None) -> Select:
    """Rows (User, opened_at, downloads) of a document's audience, by username; `status`
    "opened" or "unopened" keeps those only."""
    pairs = audience([document_id]).subquery()
    opened = opens([document_id]).subquery()
    stmt = (
        select(User, opened.c.opened_at, func.coalesce(opened.c.downloads, 0))
        .join(pairs, pairs.c.user_id == User.id)
        .outerjoin(opened, opened.c.user_id == User.id)
        .order_by(User.username)
    )
    if status == "opened":
        stmt = stmt.where(opened.c.opened_at.is_not(None))
    elif status == "unopened":
        stmt = stmt.where(opened.c.opened_at.is_(None))
    return stmt


def counts(document_ids: Iterable[int]) -> dict[int, dict]:
    """{document_id: {"opened": N, "audience": M}} for a page of documents, in one query."""
    ids = list(document_ids)
    found = {i: {"opened": 0, "audience": 0} for i in ids}
    if not ids:
        return found
    pairs = audience(ids).subquery()
    opened = opens(ids).subquery()
    stmt = (
        select(pairs.c.document_id, func.count(), func.count(opened.c.user_id))
        .outerjoin(opened, and_(opened.c.document_id == pairs.c.document_id, opened.c.user_id == pairs.c.user_id))
        .group_by(pairs.c.document_id)
    )
    for document_id, members, opened_count in db.session.execute(stmt):
        found[document_id] = {"opened": opened_count, "audience": members}
    return found


def with_counts(documents: list[Document]) -> list[Document]:
    """Set `readers` on each document of a page (what the admin view shows), in one query."""
    found = counts(d.id for d in documents)
    for document in documents:
        document.readers = found[document.id]
    return documents


def first_download(user_id: int):
    """A correlated scalar: `user_id`'s first download of the Document in the outer query."""
    return (
        select(func.min(AuditEvent.at))
        .where(AuditEvent.document_id == Document.id, AuditEvent.action == DOWNLOADED, AuditEvent.actor_id == user_id)
        .scalar_subquery()
    )


def remind(document: Document) -> int:
    """Queue a reminder to each of the audience who has not opened the document and was not
    reminded of it in the last REMIND_EVERY; returns how many were queued. Not committed."""
    rows = db.session.execute(readers(document.id, "unopened")).all()
    return sum(queue_reminder(user, document) for user, _opened, _downloads in rows)


def queue_reminder(user: User, document: Document) -> bool:
    """Record that `user` is reminded of `document` now, unless they were in the last
    REMIND_EVERY (one conditional upsert: two admins clicking at once remind once). True when
    the reminder is to be sent. The e-mail joins the outbox here, in the same transaction."""
    at = now()
    stmt = upsert(Reminder).values(document_id=document.id, user_id=user.id, reminded_at=at)
    stmt = stmt.on_conflict_do_update(
        index_elements=["document_id", "user_id"],
        set_={"reminded_at": stmt.excluded.reminded_at},
        where=Reminder.reminded_at <= at - REMIND_EVERY,
    ).returning(Reminder.user_id)
    if not db.session.execute(stmt).all():  # read to the end: SQLite keeps the table locked till then
        return False
    enqueue(
        "reminder",
        user.email,
        messages.reminder(user, document.title),
        event=f"reminder:{document.id}:{user.id}:{at.isoformat()}",
        user_id=user.id,
    )
    return True
