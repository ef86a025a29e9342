"""The life of a document's file: accepted from an upload, pushed to S3, served, discarded.

The stores (storage.py) hold bytes; this module keeps a document's row in step with them, so
that a row never names a store without the file:
- `accept`: the upload streams to a temporary file, is proven a PDF, and becomes the stored file
  only once its row is flushed; anything failing before the commit removes it again.
- `push_to_s3` (after the upload's commit, and by `flask storage sync`): S3 first, then the row
  says so, then the local copy may go. When S3 fails the document stays local (`storage.s3 =
  false`) until the next sync.
- `serve`: S3 by presigned URL, else the local copy (X-Accel-Redirect behind Nginx), else 503.
- `discard`: the row goes first; a store that then fails to delete is logged and left to
  `flask storage check`. Every version's file goes.
Earlier versions (DocumentVersion) keep their own files and store flags, pushed and served the
same way.
"""
import os
import re
import unicodedata
from collections.abc import Callable
from urllib.parse import quote

from flask import Response, current_app, redirect, request, send_file
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import FileStorage

from .. import audit
from ..extensions import db
from ..models import Document, DocumentVersion, User
from .pdf_text import extract_text
from .storage import CONTENT_TYPE, LocalStore, S3Store, StorageError, local_store, new_key, s3_store
from .uploads import check_pdf, received_file


def accept(document: Document, upload: FileStorage, uploader: User, *, action: str = "document_uploaded",
           allow_duplicate: bool = False, prepare: Callable[[], None] | None = None) -> None:
    """Store the upload as `document`'s (new) file and commit the row with it: both or neither.
    413 past MAX_UPLOAD_MB, 415 unless it is a readable PDF, 409 when another document (or this
    one) already has these bytes, unless `allow_duplicate`. `prepare` runs once the file is
    accepted, before the row takes it (a new version archives the current file there)."""
    local = local_store()
    max_bytes = current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024
    with received_file(upload, str(local.folder), max_bytes) as received:
        check_pdf(received)
        text = extract_text(received.path)
        if not allow_duplicate:
            refuse_duplicate(received.sha256)
        if prepare is not None:
            prepare()
        document.storage_key, document.content_type = new_key(), CONTENT_TYPE
        document.in_local, document.in_s3 = True, False
        document.size_bytes, document.sha256, document.text_content = received.size, received.sha256, text
        db.session.add(document)
        db.session.flush()
        audit.record(action, uploader, document_id=document.id,
                     detail={"title": document.title, "filename": document.filename, "size_bytes": received.size,
                             "version": document.version})
        try:  # the file takes its place only now that its row exists, and leaves with it
            local.put(document.storage_key, received.path, received.sha256)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            local.delete(document.storage_key)
            raise


def refuse_duplicate(sha256: str) -> None:
    """409 naming the document whose current file has these bytes, if any."""
    duplicate_of = db.session.scalar(
        select(Document.id).where(Document.sha256 == sha256).order_by(Document.id).limit(1))
    if duplicate_of is not None:
        abort(409, message=f"This file is already document {duplicate_of}; send allow_duplicate=true to upload it anyway.",
              extra={"duplicate_of": duplicate_of})


def push(document: Document) -> None:
    """Try S3 now; on failure the document stays local-only for `storage sync`."""
    document_id = document.id  # read before the push: the row may be gone after it
    s3 = s3_store()
    if s3 is None:
        return
    try:
        push_to_s3(document, s3, local_store())
    except StorageError as exc:
        current_app.logger.warning("document %s kept locally only: %s", document_id, exc)


def push_to_s3(document: Document | DocumentVersion, s3: S3Store, local: LocalStore) -> bool:
    """Copy a document's local file to S3 and commit that; only then, and only when
    S3_KEEP_LOCAL_COPY is off, drop the local copy (S3 has verified the bytes against the
    sha256 by then). A crash or failure after the commit leaves an extra, unrecorded local
    copy; never bytes in a store the row does not name. False, with the object removed again,
    when the document was deleted during the push. Raises StorageError."""
    document_id, key, keep_local = document.id, document.storage_key, current_app.config["S3_KEEP_LOCAL_COPY"]
    s3.put(key, local.path(key), document.sha256)
    document.in_s3, document.in_local = True, keep_local
    try:
        db.session.commit()
    except StaleDataError:  # the UPDATE found no row
        db.session.rollback()
        s3.delete(key)
        return False
    if not keep_local:  # the row is not read again: it may be deleted by now
        try:
            local.delete(key)
        except StorageError as exc:
            current_app.logger.warning("document %s: an extra local copy stays: %s", document_id, exc)
    return True


def serve(document: Document, disposition: str) -> tuple[str | None, Response]:
    """The answer to a download of `document` and the store that served it ("link", "s3",
    "local"); 503 when no store can. A HEAD (a browser or proxy checking the file) gets the same
    headers and `via` None: it is not a download, and from S3 it gets the PDF's headers rather
    than a presigned URL, which would be an unaudited download."""
    if document.kind == "link":
        return (None if request.method == "HEAD" else "link"), redirect(document.external_url)
    return serve_stored(document, content_disposition(disposition, document.download_name), f"download {document.id}")


def serve_stored(stored: Document | DocumentVersion, header: str, label: str) -> tuple[str | None, Response]:
    """A stored file (a document's current one or an earlier version) from S3, else locally."""
    head = request.method == "HEAD"
    s3 = s3_store()
    if stored.in_s3 and s3 is not None and s3.available():
        if head:
            return None, _pdf_response(header)
        try:
            return "s3", redirect(s3.presign(stored.storage_key, header))
        except StorageError as exc:
            current_app.logger.warning("%s: %s; trying the local copy", label, exc)
    local = local_store()
    if stored.in_local and local.exists(stored.storage_key):
        return (None if head else "local"), _local_response(local, stored.storage_key, header)
    current_app.logger.error("%s: no store can serve %s", label, stored.storage_key)
    abort(503, message="This document cannot be downloaded right now; try again shortly.",
          headers={"Retry-After": "30"})


def discard(document: Document) -> None:
    """Delete the document and commit, then its file everywhere (a store that fails is logged
    and left to `flask storage check`)."""
    document_id = document.id
    keys = [key for key in (document.storage_key, *(v.storage_key for v in document.versions)) if key]
    db.session.delete(document)
    db.session.commit()
    for store in filter(None, (local_store(), s3_store())):
        for key in keys:
            try:
                store.delete(key)
            except StorageError as exc:
                current_app.logger.error("delete of document %s left %s in %s: %s",
                                         document_id, key, store.name, exc)


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


def _local_response(local: LocalStore, key: str, disposition: str) -> Response:
    """Behind Nginx, an X-Accel-Redirect it serves; in development, the file itself."""
    prefix = current_app.config["X_ACCEL_PREFIX"]
    if not prefix:
        return _pdf_response(disposition, send_file(local.path(key), mimetype=CONTENT_TYPE, conditional=True))
    response = _pdf_response(disposition)
    response.headers["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + key
    return response


def _pdf_response(disposition: str, response: Response | None = None) -> Response:
    """`response` (by default an empty 200) with the PDF's Content-Type and Content-Disposition."""
    if response is None:
        response = current_app.response_class(status=200)
    response.headers["Content-Type"] = CONTENT_TYPE
    response.headers["Content-Disposition"] = disposition
    return response
