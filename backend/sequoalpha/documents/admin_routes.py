"""Admin routes for documents: list all, upload a PDF, add a link, edit, delete. The file's
side of an upload and a delete is files.py's; every document is fetched by `_admin_view`."""

from flask_jwt_extended import current_user
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest import abort
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from .. import audit
from ..accounts.guard import admin_required
from ..extensions import db
from ..integrity import existing
from ..models import Category, Document, DocumentGroupGrant, DocumentUserGrant, Group, User, utcnow
from ..schemas.documents import (
    AdminDocumentPageSchema,
    AdminDocumentSchema,
    DocumentQuerySchema,
    DocumentUpdateSchema,
    LinkCreateSchema,
    UploadSchema,
)
from . import files, readers
from .listing import admin_page
from .names import safe_name
from .notices import audience_ids, notify_audience
from .uploads import check_pdf_name, clean_filename
from .visibility import document_or_404


class MultipartParser(FlaskParser):
    """The `files` location reads the whole multipart body: its files and its form fields."""

    def load_files(self, req, schema):
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = MultipartParser()


blp = Blueprint(
    "admin_documents", __name__, url_prefix="/api/admin/documents", description="Document management (admins)"
)


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
        existing(model, visibility[field], field, location, within="visibility")
    document.everyone = visibility["everyone"]
    _replace_grants(document.group_grants, DocumentGroupGrant, "group_id", visibility["group_ids"])
    _replace_grants(document.user_grants, DocumentUserGrant, "user_id", visibility["user_ids"])


def _replace_grants(grants: list, model, key: str, ids: list[int]) -> None:
    """Keep the grants still wanted, add the new ones; delete-orphan removes the rest."""
    current = {getattr(grant, key): grant for grant in grants}
    grants[:] = [current.get(i) or model(**{key: i}) for i in dict.fromkeys(ids)]


def _set_fields(document: Document, data: dict) -> None:
    """The fields upload, link and PATCH share; a null download_name returns to the default."""
    for field in ("document_date", "watermark"):
        if field in data:
            setattr(document, field, data[field])
    if "download_name" in data:
        document.custom_download_name = safe_name(data["download_name"]) if data["download_name"] else None


def _admin_view(document_id: int) -> Document:
    """The one way admin routes fetch a document: every document, with what the admin dump needs."""
    return readers.with_counts([document_or_404(document_id, admin_view=True)])[0]


NO_LINK_WATERMARK = "A link cannot be watermarked; only uploaded files can."
# What a `document_updated` event compares, before and after.
TRACKED = (
    "title",
    "description",
    "category_id",
    "external_url",
    "watermark",
    "visibility",
    "document_date",
    "download_name",
)


def _tracked(document: Document) -> dict:
    values = {field: getattr(document, field) for field in TRACKED}
    values["document_date"] = values["document_date"] and values["document_date"].isoformat()  # JSON in the trail
    values["download_name"] = document.custom_download_name  # as set: a new title is not a new name
    return values


def _changes(before: dict, after: dict) -> dict:
    """{field: [before, after]} of the fields whose value changed."""
    return {field: [before[field], after[field]] for field in TRACKED if before[field] != after[field]}


# --- routes ------------------------------------------------------------------------------


@blp.get("")
@admin_required
@blp.arguments(DocumentQuerySchema, location="query")
@blp.response(200, AdminDocumentPageSchema)
def list_all(args):
    """Every document, newest first, with visibility, storage state and how many of its
    audience have opened it."""
    page = admin_page(args, current_user)
    readers.with_counts(page["items"])
    return page


@blp.post("/upload")
@admin_required
@blp.arguments(UploadSchema, location="files")
@blp.response(201, AdminDocumentSchema)
@blp.alt_response(409, description='Identical to an existing document (`"duplicate_of": id`)')
@blp.alt_response(413, description="Larger than MAX_UPLOAD_MB")
@blp.alt_response(415, description="Not a readable PDF")
def upload(data):
    """Upload a PDF (multipart). Stored locally at once and in S3 when reachable."""
    filename = clean_filename(data["file"].filename)
    check_pdf_name(filename)
    document = Document(
        kind="file",
        title=data["title"],
        description=data["description"],
        filename=filename,
        uploaded_by_id=current_user.id,
        version_by_id=current_user.id,
    )
    _set_fields(document, data)
    _set_category(document, data.get("category_id"), "files")
    _set_visibility(document, data["visibility"], "files")
    files.accept(
        document,
        data["file"],
        current_user,
        allow_duplicate=data["allow_duplicate"],
        with_row=lambda: notify_audience(document),
    )
    document_id = document.id  # the row may be deleted during the push
    files.push(document)
    return _admin_view(document_id)


@blp.post("/link")
@admin_required
@blp.arguments(LinkCreateSchema)
@blp.response(201, AdminDocumentSchema)
def create_link(data):
    """Add a link (http/https) as a document."""
    if data["watermark"]:
        _invalid("json", "watermark", NO_LINK_WATERMARK)
    document = Document(
        kind="link",
        title=data["title"],
        description=data["description"],
        external_url=data["external_url"],
        uploaded_by_id=current_user.id,
        version_by_id=current_user.id,
    )
    _set_fields(document, data)
    _set_category(document, data.get("category_id"), "json")
    _set_visibility(document, data["visibility"], "json")
    db.session.add(document)
    db.session.flush()
    audit.record(
        "link_created",
        current_user,
        document_id=document.id,
        detail={"title": document.title, "external_url": document.external_url},
    )
    notify_audience(document)
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
    """Change the title, description, category, visibility, document date, download name,
    watermark, or a link's address."""
    document = _admin_view(document_id)
    if "external_url" in data and document.kind != "link":
        _invalid("json", "external_url", "Only a link has an address; upload a new file instead.")
    if data.get("watermark") and document.kind == "link":
        _invalid("json", "watermark", NO_LINK_WATERMARK)
    before = _tracked(document)
    for field in ("title", "description", "external_url"):
        if field in data:
            setattr(document, field, data[field])
    if "category_id" in data:
        _set_category(document, data["category_id"], "json")
    if "visibility" in data:
        could_see = audience_ids(document)
        _set_visibility(document, data["visibility"], "json")
        notify_audience(document, could_see)
    _set_fields(document, data)
    document.updated_at = utcnow()
    audit.record(
        "document_updated",
        current_user,
        document_id=document.id,
        detail={"changes": _changes(before, _tracked(document))},
    )
    db.session.commit()
    return _admin_view(document.id)


@blp.delete("/<int:document_id>")
@admin_required
@blp.response(204)
def delete(document_id):
    """Delete a document and its stored file everywhere (a store that fails is logged and
    left to `flask storage check`)."""
    document = _admin_view(document_id)
    audit.record(
        "document_deleted",
        current_user,
        document_id=document.id,
        detail={"title": document.title, "kind": document.kind},
    )
    files.discard(document)
