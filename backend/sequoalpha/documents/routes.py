"""What a signed-in user sees and downloads: the document list, one document, the download.
Which documents those are is visibility.py's rule; how the file is served, files.py's."""

from functools import cache

from flask_jwt_extended import current_user, jwt_required
from flask_smorest import Blueprint, abort
from sqlalchemy import Insert, bindparam, literal, select

from .. import audit
from ..config import PRESIGN_MAX_SECONDS
from ..connections import read_only
from ..extensions import db, upsert
from ..models import Document, DocumentRead, UTCDateTime, utcnow
from ..schemas.documents import DocumentPageSchema, DocumentQuerySchema, DocumentSchema, DownloadArgsSchema
from . import files
from .listing import client_document, client_page
from .visibility import document_row_or_404, unread_by, visible_to

blp = Blueprint("documents", __name__, url_prefix="/api", description="Documents")


@blp.get("/documents")
@jwt_required()
@blp.arguments(DocumentQuerySchema(), location="query")  # an instance: not built per request
@blp.response(200, DocumentPageSchema)
@read_only
def list_visible(args):
    """The documents meant for me, by document date, newest first (admins: every document);
    with `q`, a full-text search by relevance."""
    return client_page(args, current_user)


@blp.get("/documents/<int:document_id>")
@jwt_required()
@blp.response(200, DocumentSchema)
@blp.alt_response(404, description="No such document, or not visible to you")
@read_only
def get_document(document_id):
    """One document I may see."""
    return client_document(document_id, current_user)


@blp.get("/documents/<int:document_id>/download")
@jwt_required()
@blp.arguments(DownloadArgsSchema(), location="query")
@blp.response(302, description=f"To a presigned S3 URL (≤ {PRESIGN_MAX_SECONDS} s), or to the link's address")
@blp.alt_response(
    200,
    description="The PDF, when only the local copy can serve it, and always for a "
    "watermarked document (marked with the downloader's name)",
)
@blp.alt_response(403, description="`original=true` from a user who is not an admin")
@blp.alt_response(404, description="No such document, or not visible to you")
@blp.alt_response(503, description="No store can serve the file right now")
def download(args, document_id):
    """Download a document: S3 by presigned URL, else the local copy; a link redirects. A
    watermarked document is marked with the downloader's name and streamed by the app; admins
    may ask for the `original`."""
    document = document_row_or_404(document_id)
    if args["original"] and not current_user.is_admin:
        abort(403, message="Only admins can download the original of a watermarked document.")
    marked = document.watermark and not args["original"]
    via, response = files.serve(document, args["disposition"], current_user if marked else None)
    if via is not None:  # a download, not a HEAD: recorded, and the document is no longer new
        detail = {"via": via, "watermarked": True} if marked and document.kind == "file" else {"via": via}
        audit.record_now("document_downloaded", current_user, document_id=document.id, detail=detail)
        db.session.execute(
            _mark_read(db.session.get_bind().dialect.name), {"user": current_user.id, "doc": document.id}
        )
        db.session.commit()
    return response


@blp.post("/documents/read-all")
@jwt_required()
@blp.response(204)
def read_all():
    """Mark every document I can see as no longer new (one statement)."""
    now = utcnow()
    visible_new = select(literal(current_user.id), Document.id, literal(now, UTCDateTime())).where(
        visible_to(current_user), unread_by(current_user.id)
    )
    db.session.execute(
        _refreshing(upsert(DocumentRead).from_select(["user_id", "document_id", "read_at"], visible_new))
    )
    db.session.commit()


@cache
def _mark_read(dialect: str) -> Insert:
    """Insert or refresh a user's read of a document; built once."""
    stmt = upsert(DocumentRead.__table__, dialect)  # the table: no ORM bulk insert around it
    return _refreshing(
        stmt.values(user_id=bindparam("user"), document_id=bindparam("doc"), read_at=bindparam("at", callable_=utcnow))
    )


def _refreshing(stmt: Insert) -> Insert:
    """A read mark that exists already takes the new time (an upsert: no race on the key)."""
    return stmt.on_conflict_do_update(
        index_elements=["user_id", "document_id"], set_={"read_at": stmt.excluded.read_at}
    )
