"""Admin routes for documents: list all, upload a PDF, add a link, edit, delete.

An upload never leaves a row without a file or a file without a row: the bytes stream to a
temporary file, which becomes the stored file only once the row is flushed, and is removed if
anything fails before the commit. S3 is tried after the commit; when it fails the document
stays local (`storage.s3 = false`) until `flask storage sync`.
"""
from flask import current_app
from flask_jwt_extended import current_user
from flask_smorest import Blueprint as SmorestBlueprint, abort
from sqlalchemy import select
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from . import audit
from .auth import admin_required
from .document_schemas import (
    AdminDocumentPageSchema,
    AdminDocumentSchema,
    DocumentQuerySchema,
    DocumentUpdateSchema,
    LinkCreateSchema,
    UploadSchema,
)
from .documents import document_or_404, list_documents
from .extensions import db
from .models import Category, Document, DocumentGroupGrant, DocumentUserGrant, Group, User, utcnow
from .storage import CONTENT_TYPE, StorageError, local_store, new_key, push_to_s3, s3_store
from .uploads import check_pdf, check_pdf_name, clean_filename, received_file


class MultipartParser(FlaskParser):
    """The `files` location reads the whole multipart body: its files and its form fields."""

    def load_files(self, req, schema):
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = MultipartParser()


blp = Blueprint("admin_documents", __name__, url_prefix="/api/admin/documents",
                description="Document management (admins)")


# --- helpers -----------------------------------------------------------------------------

def _invalid(location: str, field: str, message: str, subfield: str | None = None):
    messages = {subfield: [message]} if subfield else [message]
    abort(422, message=f"Invalid {field}: {message}", errors={location: {field: messages}})


def _set_category(document: Document, category_id: int | None, location: str) -> None:
    if category_id is not None and db.session.get(Category, category_id) is None:
        _invalid(location, "category_id", "Unknown category.")
    document.category_id = category_id


def _set_visibility(document: Document, visibility: dict, location: str) -> None:
    """Replace who may see the document; unknown group or user ids are a 422."""
    for field, model in (("group_ids", Group), ("user_ids", User)):
        ids = set(visibility[field])
        found = set(db.session.scalars(select(model.id).where(model.id.in_(ids)))) if ids else set()
        if ids - found:
            _invalid(location, "visibility", f"Unknown ids: {sorted(ids - found)}", field)
    document.everyone = visibility["everyone"]
    _replace_grants(document.group_grants, DocumentGroupGrant, "group_id", visibility["group_ids"])
    _replace_grants(document.user_grants, DocumentUserGrant, "user_id", visibility["user_ids"])


def _replace_grants(grants: list, model, key: str, ids: list[int]) -> None:
    """Keep the grants still wanted, add the new ones; delete-orphan removes the rest."""
    current = {getattr(grant, key): grant for grant in grants}
    grants[:] = [current.get(i) or model(**{key: i}) for i in dict.fromkeys(ids)]


def _admin_view(document_id: int) -> Document:
    return document_or_404(document_id, admin_view=True)


# --- routes ------------------------------------------------------------------------------

@blp.get("")
@admin_required
@blp.arguments(DocumentQuerySchema, location="query")
@blp.response(200, AdminDocumentPageSchema)
def list_all(args):
    """Every document, newest first, with visibility and storage state."""
    return list_documents(args, admin_view=True)


@blp.post("/upload")
@admin_required
@blp.arguments(UploadSchema, location="files")
@blp.response(201, AdminDocumentSchema)
@blp.alt_response(413, description="Larger than MAX_UPLOAD_MB")
@blp.alt_response(415, description="Not a readable PDF")
def upload(data):
    """Upload a PDF (multipart). Stored locally at once and in S3 when reachable."""
    filename = clean_filename(data["file"].filename)
    check_pdf_name(filename)
    local, key = local_store(), new_key()
    document = Document(kind="file", title=data["title"], description=data["description"], filename=filename,
                        content_type=CONTENT_TYPE, storage_key=key, in_local=True, uploaded_by_id=current_user.id)
    _set_category(document, data.get("category_id"), "files")
    _set_visibility(document, data["visibility"], "files")
    max_bytes = current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024
    with received_file(data["file"], str(local.folder), max_bytes) as received:
        check_pdf(received)
        document.size_bytes, document.sha256 = received.size, received.sha256
        db.session.add(document)
        db.session.flush()
        audit.record("document_uploaded", current_user, document_id=document.id,
                     detail={"title": document.title, "filename": filename, "size_bytes": received.size})
        try:  # the file takes its place only now that its row exists, and leaves with it
            local.put(key, received.path, received.sha256)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            local.delete(key)
            raise
    document_id = document.id  # the row may be deleted during the push
    _push(document)
    return _admin_view(document_id)


def _push(document: Document) -> None:
    """Try S3 now; on failure the document stays local-only for `storage sync`."""
    document_id = document.id  # read before the push: the row may be gone after it
    s3 = s3_store()
    if s3 is None:
        return
    try:
        push_to_s3(document, s3, local_store())
    except StorageError as exc:
        current_app.logger.warning("document %s kept locally only: %s", document_id, exc)


@blp.post("/link")
@admin_required
@blp.arguments(LinkCreateSchema)
@blp.response(201, AdminDocumentSchema)
def create_link(data):
    """Add a link (http/https) as a document."""
    document = Document(kind="link", title=data["title"], description=data["description"],
                        external_url=data["external_url"], uploaded_by_id=current_user.id)
    _set_category(document, data.get("category_id"), "json")
    _set_visibility(document, data["visibility"], "json")
    db.session.add(document)
    db.session.flush()
    audit.record("document_uploaded", current_user, document_id=document.id,
                 detail={"title": document.title, "external_url": document.external_url})
    db.session.commit()
    return _admin_view(document.id)


@blp.get("/<int:document_id>")
@admin_required
@blp.response(200, AdminDocumentSchema)
def get_one(document_id):
    """One document, admin view."""
    return _admin_view(document_id)


@blp.patch("/<int:document_id>")
@admin_required
@blp.arguments(DocumentUpdateSchema)
@blp.response(200, AdminDocumentSchema)
def update(data, document_id):
    """Change the title, description, category, visibility, or a link's address."""
    document = db.get_or_404(Document, document_id)
    if "external_url" in data and document.kind != "link":
        _invalid("json", "external_url", "Only a link has an address; upload a new file instead.")
    for field in ("title", "description", "external_url"):
        if field in data:
            setattr(document, field, data[field])
    if "category_id" in data:
        _set_category(document, data["category_id"], "json")
    if "visibility" in data:
        _set_visibility(document, data["visibility"], "json")
    document.updated_at = utcnow()
    audit.record("document_updated", current_user, document_id=document.id, detail={"fields": sorted(data)})
    db.session.commit()
    return _admin_view(document.id)


@blp.delete("/<int:document_id>")
@admin_required
@blp.response(204)
def delete(document_id):
    """Delete a document and its stored file everywhere (a store that fails is logged and
    left to `flask storage check`)."""
    document = db.get_or_404(Document, document_id)
    key = document.storage_key
    audit.record("document_deleted", current_user, document_id=document.id,
                 detail={"title": document.title, "kind": document.kind, "storage_key": key})
    db.session.delete(document)
    db.session.commit()
    if key is None:
        return
    for store in filter(None, (local_store(), s3_store())):
        try:
            store.delete(key)
        except StorageError as exc:
            current_app.logger.error("delete of document %s left %s in %s: %s", document_id, key, store.name, exc)
