"""Schemas of documents: what clients and admins see, and what admins send."""

import json

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate
from werkzeug.datastructures import FileStorage

from ..documents import listing
from .fields import ID, NO_CONTROL, PageArgsSchema, RefSchema, UserRefSchema, id_list, page_of, text

URL = [
    validate.URL(schemes={"http", "https"}, error="Give an http:// or https:// address."),
    validate.Length(max=2048),
    NO_CONTROL,
]


class VisibilitySchema(Schema):
    """Who may see a document besides admins; none of it means admins only."""

    everyone = fields.Boolean(load_default=False)
    group_ids = id_list(load_default=list)
    user_ids = id_list(load_default=list)


def admins_only() -> dict:
    return {"everyone": False, "group_ids": [], "user_ids": []}


class FileField(Upload):
    """A file part of a multipart body (a plain form field of the same name is refused)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ValidationError("Send the file as a multipart file part.")
        return value


class JSONNested(fields.Nested):
    """A nested object that a multipart form sends as a JSON string."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ValidationError("Not valid JSON.") from exc
        return super()._deserialize(value, attr, data, **kwargs)


class CategorySchema(Schema):
    id = fields.Integer(dump_only=True)
    name = text(100, required=True, min_len=1)


# --- what is sent back -------------------------------------------------------------------


class DocumentSchema(Schema):
    """A document as a client sees it."""

    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    category = fields.Nested(RefSchema, allow_none=True)
    kind = fields.String(metadata={"enum": ["file", "link"]})
    filename = fields.String(allow_none=True)
    size_bytes = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    content_type = fields.String(allow_none=True)
    external_url = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    is_new = fields.Boolean(metadata={"description": "True until this user has downloaded its current version."})
    document_date = fields.Date(metadata={"description": "The date the document is about (default: the upload date)."})
    version = fields.Integer(metadata={"description": "1, then +1 per replaced file."})
    download_name = fields.String(metadata={"description": "The file name a download gets."})
    snippet = fields.String(
        allow_none=True,
        metadata={"description": "With `q` only: plain text around the match (at most 200 characters)."},
    )


class StorageStateSchema(Schema):
    s3 = fields.Boolean()
    local = fields.Boolean()


class ReaderCountsSchema(Schema):
    opened = fields.Integer(metadata={"description": "How many of the audience have downloaded it."})
    audience = fields.Integer(metadata={"description": "Active non-admin users who can see it."})


class AdminDocumentSchema(DocumentSchema):
    """A document as an admin sees it: who may see it, where it is stored, who uploaded it."""

    visibility = fields.Nested(VisibilitySchema)
    storage = fields.Nested(StorageStateSchema)
    uploaded_by = fields.Nested(UserRefSchema, allow_none=True)
    watermark = fields.Boolean(metadata={"description": "Each download carries the downloader's name."})
    readers = fields.Nested(ReaderCountsSchema)


class UserDocumentSchema(AdminDocumentSchema):
    """A document one user can see, as an admin looks at that user."""

    opened_at = fields.DateTime(allow_none=True, metadata={"description": "Their first download, or null."})


class ReaderUserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    email = fields.String()


class ReaderSchema(Schema):
    user = fields.Nested(ReaderUserSchema)
    opened_at = fields.DateTime(allow_none=True, metadata={"description": "Their first download, or null."})
    downloads = fields.Integer()


class RemindResultSchema(Schema):
    queued = fields.Integer(metadata={"description": "Reminders queued (one per user and document per 24 h)."})


class DocumentVersionSchema(Schema):
    """A file a document has had: earlier versions and the current one."""

    version = fields.Integer()
    filename = fields.String()
    size_bytes = fields.Integer()
    sha256 = fields.String()
    uploaded_at = fields.DateTime()
    uploaded_by = fields.Nested(UserRefSchema, allow_none=True)
    current = fields.Boolean(metadata={"description": "The version clients download."})


DocumentPageSchema = page_of(DocumentSchema, "DocumentPageSchema")
AdminDocumentPageSchema = page_of(AdminDocumentSchema, "AdminDocumentPageSchema")
UserDocumentPageSchema = page_of(UserDocumentSchema, "UserDocumentPageSchema")
ReaderPageSchema = page_of(ReaderSchema, "ReaderPageSchema")


# --- what is received --------------------------------------------------------------------

SORTS = list(listing.SORTS)  # the orders the list knows


class DocumentQuerySchema(PageArgsSchema):
    q = text(
        200,
        metadata={
            "description": (
                "Full-text search over the title, description, file name and the PDF's text: every word "
                "must match, in any order, case and accents ignored; by relevance unless `sort` is given."
            )
        },
    )
    category_id = fields.Integer(validate=ID)
    sort = fields.String(
        validate=validate.OneOf(SORTS),
        metadata={"description": "`-date` (the default without `q`): by document date, newest first."},
    )
    unread = fields.Boolean(metadata={"description": "Only the documents that are new for me."})


class CategoryQuerySchema(Schema):
    in_use = fields.Boolean(
        load_default=False, metadata={"description": "Only categories having a document visible to me."}
    )


class DownloadArgsSchema(Schema):
    disposition = fields.String(load_default="attachment", validate=validate.OneOf(["attachment", "inline"]))
    original = fields.Boolean(
        load_default=False, metadata={"description": "Admins: the stored file, without the watermark (403 for others)."}
    )


class ReaderQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(["opened", "unopened"]))


WATERMARK = fields.Boolean(
    load_default=False,
    metadata={"description": "Mark each download with the downloader's name, e-mail and the UTC time (files only)."},
)


class DocumentFieldsSchema(Schema):
    """What upload, link and PATCH accept besides their own fields."""

    document_date = fields.Date(metadata={"description": "YYYY-MM-DD; default the upload date."})
    download_name = text(
        200,
        allow_none=True,
        metadata={"description": "The file name a download gets (.pdf is added); null: the title made safe."},
    )
    watermark = fields.Boolean()


class DuplicateSchema(Schema):
    allow_duplicate = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Accept a file identical (sha256) to an existing document's; otherwise that is a 409."
        },
    )


class FileVersionSchema(DuplicateSchema):
    """A new file for a document (multipart). `file` is checked by the route once the document
    is known to exist, so that a missing document is a 404 whatever the body."""

    file = FileField(load_default=None, metadata={"description": "The PDF (at most MAX_UPLOAD_MB); required."})


class UploadSchema(DocumentFieldsSchema, DuplicateSchema):
    """The multipart upload: the file and its metadata."""

    file = FileField(required=True, metadata={"description": "The PDF (at most MAX_UPLOAD_MB)."})
    title = text(200, required=True, min_len=1)
    description = text(5000, load_default="")
    category_id = fields.Integer(validate=ID)
    visibility = JSONNested(
        VisibilitySchema,
        load_default=admins_only,
        metadata={"description": 'A JSON string: {"everyone": bool, "group_ids": [int], "user_ids": [int]}'},
    )
    watermark = WATERMARK


class LinkCreateSchema(DocumentFieldsSchema):
    title = text(200, required=True, min_len=1)
    external_url = fields.String(required=True, validate=URL)
    description = text(5000, load_default="")
    category_id = fields.Integer(validate=ID)
    visibility = fields.Nested(VisibilitySchema, load_default=admins_only)
    watermark = WATERMARK


class DocumentUpdateSchema(DocumentFieldsSchema):
    title = text(200, min_len=1)
    description = text(5000)
    category_id = fields.Integer(allow_none=True, validate=ID)
    visibility = fields.Nested(VisibilitySchema)
    external_url = fields.String(validate=URL)
    watermark = fields.Boolean()
