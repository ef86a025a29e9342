"""Admin routes for the audit trail: the JSON list, and the same rows as a streamed CSV file."""

import csv
import io
import json
from datetime import UTC, datetime, time, timedelta

from flask import Flask, Response, current_app
from sqlalchemy import Select, select

from ..accounts.guard import admin_required
from ..extensions import db
from ..models import AuditEvent, Document, User
from ..pagination import paginate
from ..schemas.accounts import AuditPageSchema, AuditQuerySchema
from . import blp

CSV_COLUMNS = ("id", "at", "action", "actor", "document_id", "target_user_id", "ip", "detail")
CSV_BATCH = 500
# A cell a spreadsheet would run as a formula (OWASP: CSV injection) is quoted with a '.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _filtered(args: dict) -> Select:
    """The events the filters keep, newest first."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    for field in ("action", "actor_id", "document_id", "target_user_id"):
        if field in args:
            stmt = stmt.where(getattr(AuditEvent, field) == args[field])
    if "date_from" in args:
        stmt = stmt.where(AuditEvent.at >= _midnight(args["date_from"]))
    if "date_to" in args:
        stmt = stmt.where(AuditEvent.at < _midnight(args["date_to"]) + timedelta(days=1))
    return stmt


def _midnight(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@blp.get("/audit")
@admin_required
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditPageSchema)
def list_audit(args):
    """The audit trail, newest first, filtered by action, actor, document, target user and UTC
    dates (`from`, `to`, both inclusive). Each event names its document's title: a deleted
    document's is the title it had when it was deleted."""
    page = paginate(_filtered(args), args["page"], args["per_page"])
    titles = document_titles({e.document_id for e in page["items"]} - {None})
    for event in page["items"]:
        event.document_title, event.document_deleted = titles.get(event.document_id, (None, False))
    return page


def document_titles(ids: set[int]) -> dict[int, tuple[str | None, bool]]:
    """{id: (title, deleted)}: the current title, or the one a deletion event recorded."""
    found = {
        i: (t, False) for i, t in db.session.execute(select(Document.id, Document.title).where(Document.id.in_(ids)))
    }
    gone = ids - found.keys()
    if gone:
        deletions = select(AuditEvent.document_id, AuditEvent.detail).where(
            AuditEvent.action == "document_deleted", AuditEvent.document_id.in_(gone)
        )
        for document_id, detail in db.session.execute(deletions):
            found[document_id] = ((detail or {}).get("title"), True)
        for document_id in gone - found.keys():
            found[document_id] = (None, True)
    return found


@blp.get("/audit.csv")
@admin_required
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, content_type="text/csv", description="The events as CSV (header row first), streamed")
def export_audit(args):
    """The audit trail as CSV: the same filters, rows and order as the JSON list (`page` and
    `per_page` are ignored: every matching event), read in batches while it is sent."""
    stmt = (
        _filtered(args)
        .with_only_columns(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.action,
            User.username,
            AuditEvent.document_id,
            AuditEvent.target_user_id,
            AuditEvent.ip,
            AuditEvent.detail,
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
    )
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        _csv_rows(current_app._get_current_object(), stmt),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _csv_rows(app: Flask, stmt: Select):
    """The header, then every row, fetched CSV_BATCH at a time by id (newest first), in an app
    context of its own (the request's has ended by then; a download abandoned before its first
    row leaves nothing to unwind)."""
    yield ",".join(CSV_COLUMNS) + "\r\n"
    with app.app_context():
        yield from _csv_lines(stmt)


def _csv_lines(stmt: Select):
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_safe(cell) for cell in cells])
        return buffer.getvalue()

    last_id = None
    while True:
        batch = stmt if last_id is None else stmt.where(AuditEvent.id < last_id)
        rows = db.session.execute(batch.limit(CSV_BATCH)).all()
        for event_id, at, action, actor, document_id, target, ip, detail in rows:
            yield line(
                (
                    event_id,
                    at.isoformat(),
                    action,
                    actor or "",
                    document_id,
                    target,
                    ip,
                    json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
                )
            )
        if len(rows) < CSV_BATCH:
            return
        last_id = rows[-1][0]


def _safe(cell) -> str:
    if cell is None:
        return ""
    text = str(cell)
    return "'" + text if text.startswith(FORMULA_START) else text
