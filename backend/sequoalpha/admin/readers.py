"""Admin routes over who read what: a document's readers, reminding those who have not opened
it, and the documents one user can see (the queries are documents/readers.py's)."""

from flask_jwt_extended import current_user
from sqlalchemy.orm import with_expression

from .. import audit
from ..accounts.guard import admin_required
from ..documents import readers
from ..documents.listing import DEFAULT_SORT, SORTS
from ..documents.visibility import document_or_404, documents_for
from ..extensions import db
from ..models import Document, User
from ..pagination import paginate
from ..schemas.documents import ReaderPageSchema, ReaderQuerySchema, RemindResultSchema, UserDocumentPageSchema
from . import blp


@blp.get("/documents/<int:document_id>/readers")
@admin_required
@blp.arguments(ReaderQuerySchema, location="query")
@blp.response(200, ReaderPageSchema)
@blp.alt_response(404, description="No such document")
def document_readers(args, document_id):
    """The document's audience (active non-admin users who can see it), by username: when each
    first downloaded it and how many times; `status` keeps the opened or unopened only."""
    document_or_404(document_id)
    page = paginate(readers.readers(document_id, args.get("status")), args["page"], args["per_page"], scalars=False)
    page["items"] = [
        {"user": user, "opened_at": opened_at, "downloads": downloads} for user, opened_at, downloads in page["items"]
    ]
    return page


@blp.post("/documents/<int:document_id>/remind")
@admin_required
@blp.response(202, RemindResultSchema)
@blp.alt_response(404, description="No such document")
def remind_readers(document_id):
    """Queue a reminder e-mail to each of the audience who has not opened the document (at most
    one per user and document per 24 hours)."""
    document = document_or_404(document_id)
    queued = readers.remind(document)
    audit.record(
        "readers_reminded", current_user, document_id=document.id, detail={"title": document.title, "count": queued}
    )
    db.session.commit()
    return {"queued": queued}


@blp.get("/users/<int:user_id>/documents")
@admin_required
@blp.arguments(ReaderQuerySchema, location="query")
@blp.response(200, UserDocumentPageSchema)
@blp.alt_response(404, description="No such user")
def user_documents(args, user_id):
    """The documents this user can see, newest first, each with their first download
    (`opened_at`); `status` keeps the opened or unopened only."""
    user = db.get_or_404(User, user_id)
    first = readers.first_download(user.id)
    stmt = (
        documents_for(user, admin_view=True)
        .options(with_expression(Document.opened_at, first))
        .order_by(*SORTS[DEFAULT_SORT])
    )
    if args.get("status") == "opened":
        stmt = stmt.where(first.is_not(None))
    elif args.get("status") == "unopened":
        stmt = stmt.where(first.is_(None))
    page = paginate(stmt.execution_options(populate_existing=True), args["page"], args["per_page"])
    readers.with_counts(page["items"])
    return page
