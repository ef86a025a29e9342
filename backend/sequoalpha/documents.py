"""What a signed-in user sees and downloads: the document list, one document, the download.

Every read goes through `documents_for()`: one SQL query whose WHERE clause is the visibility
rule (admins: everything; others: everyone, or a grant to one of their groups, or to them).
A document that is not visible is a 404, exactly like a missing one.
"""
import os
import re
import unicodedata
from urllib.parse import quote

from flask import current_app, redirect, request, send_file
from flask_jwt_extended import current_user, jwt_required
from flask_smorest import Blueprint, abort
from sqlalchemy import ColumnElement, Select, exists, func, or_, select, true, union
from sqlalchemy.orm import joinedload, selectinload, with_expression

from . import audit
from .document_schemas import DocumentPageSchema, DocumentQuerySchema, DocumentSchema, DownloadArgsSchema
from .extensions import db, upsert
from .models import Document, DocumentGroupGrant, DocumentRead, DocumentUserGrant, User, user_groups, utcnow
from .pagination import paginate
from .storage import CONTENT_TYPE, LocalStore, StorageError, local_store, s3_store

blp = Blueprint("documents", __name__, url_prefix="/api", description="Documents")

NOT_FOUND = "No such document."


# --- the visibility query ----------------------------------------------------------------

def _granted(user: User) -> list[Select]:
    """Ids of the documents granted to one of the user's groups, and to the user."""
    return [
        select(DocumentGroupGrant.document_id)
        .join(user_groups, user_groups.c.group_id == DocumentGroupGrant.group_id)
        .where(user_groups.c.user_id == user.id),
        select(DocumentUserGrant.document_id).where(DocumentUserGrant.user_id == user.id),
    ]


def visible_to(user: User) -> ColumnElement[bool]:
    """The visibility rule as one SQL condition: everyone, or a grant to one of the user's
    groups, or to the user. Correlated EXISTS probes (grant indexes): a page of the newest
    documents, or one document, costs a few index lookups, not the user's whole visible set."""
    if user.is_admin:
        return true()
    to_group = exists().where(DocumentGroupGrant.document_id == Document.id,
                              DocumentGroupGrant.group_id == user_groups.c.group_id,
                              user_groups.c.user_id == user.id)
    to_user = exists().where(DocumentUserGrant.document_id == Document.id, DocumentUserGrant.user_id == user.id)
    return or_(Document.everyone, to_user, to_group)


def visible_count(user: User) -> int:
    """How many documents `user` sees, the same rule counted from the grant indexes and the
    partial index of `everyone` documents, without scanning every document."""
    if user.is_admin:
        return db.session.scalar(select(func.count(Document.id)))
    ids = union(select(Document.id).where(Document.everyone), *_granted(user)).subquery()
    return db.session.scalar(select(func.count()).select_from(ids))


def documents_for(user: User, admin_view: bool = False) -> Select:
    """Documents `user` may see, newest first, with their `is_new` and what the dump needs.

    `is_new` is a correlated NOT EXISTS rather than a join, so that it stays self-contained when
    a document expired by a commit is refreshed with the same options."""
    unread = ~exists().where(DocumentRead.document_id == Document.id, DocumentRead.user_id == user.id)
    stmt = (
        select(Document)
        .where(visible_to(user))
        .options(with_expression(Document.is_new, unread), joinedload(Document.category))
        .order_by(Document.created_at.desc(), Document.id.desc())
    )
    if admin_view:
        stmt = stmt.options(
            joinedload(Document.uploaded_by),
            selectinload(Document.group_grants),
            selectinload(Document.user_grants),
        )
    return stmt


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_documents(args: dict, admin_view: bool = False) -> dict:
    """One page of the visible documents matching `q` and `category_id`, and the total."""
    stmt = documents_for(current_user, admin_view)
    if args.get("q"):
        pattern = f"%{escape_like(args['q'])}%"
        stmt = stmt.where(or_(Document.title.ilike(pattern, escape="\\"),
                              Document.description.ilike(pattern, escape="\\")))
    if "category_id" in args:
        stmt = stmt.where(Document.category_id == args["category_id"])
    filtered = bool(args.get("q")) or "category_id" in args
    total = None if filtered else visible_count(current_user)
    return paginate(stmt, args["page"], args["per_page"], total=total)


def document_or_404(document_id: int, admin_view: bool = False) -> Document:
    stmt = documents_for(current_user, admin_view).where(Document.id == document_id)
    document = db.session.scalar(stmt.execution_options(populate_existing=True))
    if document is None:
        abort(404, message=NOT_FOUND)
    return document


# --- routes ------------------------------------------------------------------------------

@blp.get("/documents")
@jwt_required()
@blp.arguments(DocumentQuerySchema, location="query")
@blp.response(200, DocumentPageSchema)
def list_visible(args):
    """The documents meant for me, newest first (admins: every document)."""
    return list_documents(args)


@blp.get("/documents/<int:document_id>")
@jwt_required()
@blp.response(200, DocumentSchema)
@blp.alt_response(404, description="No such document, or not visible to you")
def get_document(document_id):
    """One document I may see."""
    return document_or_404(document_id)


@blp.get("/documents/<int:document_id>/download")
@jwt_required()
@blp.arguments(DownloadArgsSchema, location="query")
@blp.response(302, description="To a presigned S3 URL (≤ 300 s), or to the link's address")
@blp.alt_response(200, description="The PDF, when only the local copy can serve it")
@blp.alt_response(404, description="No such document, or not visible to you")
@blp.alt_response(503, description="No store can serve the file right now")
def download(args, document_id):
    """Download a document: S3 by presigned URL, else the local copy; a link redirects."""
    document = document_or_404(document_id)
    if document.kind == "link":
        return _served(document, "link", redirect(document.external_url))
    disposition = content_disposition(args["disposition"], document.filename)
    s3 = s3_store()
    if document.in_s3 and s3 is not None and s3.available():
        if request.method == "HEAD":  # the file's headers; a presigned URL would be an unaudited download
            return _pdf_response(disposition)
        try:
            return _served(document, "s3", redirect(s3.presign(document.storage_key, disposition)))
        except StorageError as exc:
            current_app.logger.warning("download %s: %s; trying the local copy", document.id, exc)
    local = local_store()
    if document.in_local and local.exists(document.storage_key):
        return _served(document, "local", _local_response(local, document.storage_key, disposition))
    current_app.logger.error("download %s: no store can serve %s", document.id, document.storage_key)
    abort(503, message="This document cannot be downloaded right now; try again shortly.",
          headers={"Retry-After": "30"})


# --- helpers -----------------------------------------------------------------------------

def content_disposition(disposition: str, filename: str | None) -> str:
    """RFC 6266: an ASCII fallback `filename` and the exact name as UTF-8 `filename*`.

    Quotes, backslashes, CR/LF and non-ASCII cannot break the header: the fallback keeps only
    safe ASCII (and always ends in .pdf), the exact name is percent-encoded.
    """
    name = filename or "document.pdf"
    stem = unicodedata.normalize("NFKD", os.path.splitext(name)[0]).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9 ._()-]", "_", stem).strip(" ._")
    fallback = f"{stem}.pdf" if re.search(r"[A-Za-z0-9]", stem) else "document.pdf"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _local_response(local: LocalStore, key: str, disposition: str):
    """Behind Nginx, an X-Accel-Redirect it serves; in development, the file itself."""
    prefix = current_app.config["X_ACCEL_PREFIX"]
    if not prefix:
        return _pdf_response(disposition, send_file(local.path(key), mimetype=CONTENT_TYPE, conditional=True))
    response = _pdf_response(disposition)
    response.headers["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + key
    return response


def _pdf_response(disposition: str, response=None):
    """`response` (by default an empty 200) with the PDF's Content-Type and Content-Disposition."""
    if response is None:
        response = current_app.response_class(status=200)
    response.headers["Content-Type"] = CONTENT_TYPE
    response.headers["Content-Disposition"] = disposition
    return response


def _served(document: Document, via: str, response):
    """Record the download and mark the document read for this user, then answer.

    A HEAD (a browser or proxy checking the file) is answered the same but is not a download
    (from S3 it gets the PDF's headers before any URL is presigned: see `download`)."""
    if request.method == "HEAD":
        return response
    audit.record("document_downloaded", current_user, document_id=document.id, detail={"via": via})
    mark_read(current_user.id, document.id)
    db.session.commit()
    return response


def mark_read(user_id: int, document_id: int) -> None:
    """Insert or refresh this user's read of the document (an upsert: no race on the key)."""
    stmt = upsert(DocumentRead).values(user_id=user_id, document_id=document_id, read_at=utcnow())
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=["user_id", "document_id"], set_={"read_at": stmt.excluded.read_at}
    ))
