"""Versions of a document's file (admins): a new file replaces the current one under the same
document (id, title, visibility, history and read marks kept), the earlier one is kept as a
DocumentVersion with its own stored file. Clients only ever get the current file; the document
is new again for its audience because its `version_at` is younger than their read marks."""

from flask_jwt_extended import current_user
from flask_smorest import abort
from sqlalchemy import select

from .. import audit
from ..accounts.guard import admin_required
from ..extensions import db
from ..models import DocumentVersion, utcnow
from ..schemas.documents import AdminDocumentSchema, DocumentVersionSchema, DownloadArgsSchema, FileVersionSchema
from . import files
from .admin_routes import _admin_view, _invalid, blp
from .notices import notify_audience
from .uploads import check_pdf_name, clean_filename


@blp.post("/<int:document_id>/file")
@admin_required
@blp.arguments(FileVersionSchema, location="files")
@blp.response(200, AdminDocumentSchema)
@blp.alt_response(409, description='Identical to an existing document (`"duplicate_of": id`)')
@blp.alt_response(413, description="Larger than MAX_UPLOAD_MB")
@blp.alt_response(415, description="Not a readable PDF")
def add_version(data, document_id):
    """Replace the document's file by a new version (multipart `file`); earlier files are kept."""
    document = _admin_view(document_id)
    if data["file"] is None:
        _invalid("files", "file", "Missing data for required field.")
    if document.kind != "file":
        _invalid("files", "file", "A link has no file; change its address instead.")
    filename = clean_filename(data["file"].filename)
    check_pdf_name(filename)

    def archive_current() -> None:
        db.session.add(
            DocumentVersion(
                document_id=document.id,
                version=document.version,
                storage_key=document.storage_key,
                filename=document.filename,
                size_bytes=document.size_bytes,
                sha256=document.sha256,
                in_s3=document.in_s3,
                in_local=document.in_local,
                uploaded_at=document.version_at or document.created_at,
                uploaded_by_id=document.version_by_id,
            )
        )
        now = utcnow()
        document.filename, document.version = filename, document.version + 1
        document.version_at, document.version_by_id, document.updated_at = now, current_user.id, now

    files.accept(
        document,
        data["file"],
        current_user,
        action="document_version_added",
        allow_duplicate=data["allow_duplicate"],
        prepare=archive_current,
        with_row=lambda: notify_audience(document),
    )
    files.push(document)
    return _admin_view(document_id)


@blp.get("/<int:document_id>/versions")
@admin_required
@blp.response(200, DocumentVersionSchema(many=True))
def list_versions(document_id):
    """Every file the document has had, the current one first."""
    document = _admin_view(document_id)
    if document.kind != "file":
        return []
    current = {
        "version": document.version,
        "filename": document.filename,
        "size_bytes": document.size_bytes,
        "sha256": document.sha256,
        "uploaded_at": document.version_at or document.created_at,
        "uploaded_by": document.version_by,
        "current": True,
    }
    earlier = db.session.scalars(
        select(DocumentVersion)
        .where(DocumentVersion.document_id == document.id)
        .order_by(DocumentVersion.version.desc())
    ).all()
    return [
        current,
        *(
            {
                "version": v.version,
                "filename": v.filename,
                "size_bytes": v.size_bytes,
                "sha256": v.sha256,
                "uploaded_at": v.uploaded_at,
                "uploaded_by": v.uploaded_by,
                "current": False,
            }
            for v in earlier
        ),
    ]


@blp.get("/<int:document_id>/versions/<int:number>/download")
@admin_required
@blp.arguments(DownloadArgsSchema, location="query")
@blp.response(302, description="To a presigned S3 URL")
@blp.alt_response(200, description="The PDF, when only the local copy can serve it")
@blp.alt_response(404, description="No such document or version")
@blp.alt_response(503, description="No store can serve the file right now")
def download_version(args, document_id, number):
    """Download one version's file, the current one included (audited like a download)."""
    document = _admin_view(document_id)
    stored = (
        document
        if number == document.version and document.kind == "file"
        else db.session.scalar(
            select(DocumentVersion).where(DocumentVersion.document_id == document.id, DocumentVersion.version == number)
        )
    )
    if stored is None:
        abort(404, message="No such version of this document.")
    header = files.content_disposition(args["disposition"], stored.filename)
    via, response = files.serve_stored(stored, header, f"download of document {document.id} version {number}")
    if via is not None:
        audit.record(
            "document_downloaded", current_user, document_id=document.id, detail={"via": via, "version": number}
        )
        db.session.commit()
    return response
