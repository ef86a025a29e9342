"""The life of a document's file: accepted from an upload, pushed to S3, served, discarded.

The stores (storage.py) hold bytes; this module keeps a document's row in step with them, so
that a row never names a store without the file:
- `accept`: the upload streams to a temporary file, is proven a PDF, and becomes the stored file
  only once its row is flushed; anything failing before the commit removes it again.
- `push_to_s3` (after the upload's commit, and by `flask storage sync`): S3 first, then the row
  says so, then the local copy may go. When S3 fails the document stays local (`storage.s3 =
  false`) until the next sync.
- `serve`: S3 by presigned URL, else the local copy (X-Accel-Redirect behind Nginx), else 503;
  a watermarked document is always marked and streamed by the app (watermark.py).
- `discard`: the row goes first; a store that then fails to delete is logged and left to
  `flask storage check`. Every version's file goes.
Earlier versions (DocumentVersion) keep their own files and store flags, pushed and served the
same way.

With STORAGE_MODE=s3-only (several app hosts) S3 is the only store: `accept` stages the upload
in the uploads folder, puts it to S3 and verifies it there (size and sha256) before the row is
committed, or answers 503 with nothing stored; `serve` only presigns; `push` has nothing to do.
"""

import contextlib
import os
import re
import shutil
import tempfile
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
from ..models import Document, DocumentVersion, User, utcnow
from .pdf_text import extract_text_bounded
from .storage import CONTENT_TYPE, LocalStore, S3Store, StorageError, local_store, new_key, s3_only, s3_store
from .uploads import check_pdf, received_file
from .watermark import label, watermark


def accept(
    document: Document,
    upload: FileStorage,
    uploader: User,
    *,
    action: str = "document_uploaded",
    allow_duplicate: bool = False,
    prepare: Callable[[], None] | None = None,
    with_row: Callable[[], None] | None = None,
) -> None:
    """Store the upload as `document`'s (new) file and commit the row with it: both or neither.
    413 past MAX_UPLOAD_MB, 415 unless it is a readable PDF, 409 when another document (or this
    one) already has these bytes, unless `allow_duplicate`. `prepare` runs once the file is
    accepted, before the row takes it (a new version archives the current file there);
    `with_row` once the row is flushed, in its transaction (the audience's notices).

    In s3-only mode the upload is staged here, put to S3 and read back (size and sha256) before
    the row is committed; S3 unreachable or wrong → 503 and nothing stored. The staging file goes
    in every case (received_file); only a killed worker leaves one, or an object without a row,
    for `flask storage sync` to remove once stale."""
    s3 = s3_store() if s3_only() else None
    if s3 is not None and not s3.available():  # before reading the body: a dead S3 costs no staging
        _s3_unreachable(None)
    local = local_store()
    max_bytes = current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024
    with received_file(upload, str(local.folder), max_bytes) as received:
        check_pdf(received)
        text = extract_text_bounded(received.path)
        if not allow_duplicate:
            refuse_duplicate(received.sha256)
        if prepare is not None:
            prepare()
        key = document.storage_key = new_key()
        document.content_type, document.in_local, document.in_s3 = CONTENT_TYPE, s3 is None, s3 is not None
        document.size_bytes, document.sha256, document.text_content = received.size, received.sha256, text
        if s3 is not None:
            _put_verified(s3, key, received)
        try:  # the file takes its place only once its row exists, and leaves with it
            db.session.add(document)
            db.session.flush()
            audit.record(
                action,
                uploader,
                document_id=document.id,
                detail={
                    "title": document.title,
                    "filename": document.filename,
                    "size_bytes": received.size,
                    "version": document.version,
                },
            )
            if with_row is not None:
                with_row()
            if s3 is None:
                local.put(key, received.path, received.sha256)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            if s3 is None:
                local.delete(key)
            else:
                _delete_object(s3, key)
            raise


def _put_verified(s3: S3Store, key: str, received) -> None:
    """s3-only: the staged file to S3, read back to prove size and sha256; 503 otherwise."""
    try:
        s3.put(key, received.path, received.sha256)
        s3.verify(key, received.size, received.sha256)
    except StorageError as exc:
        _delete_object(s3, key)
        _s3_unreachable(exc)


def refuse_duplicate(sha256: str) -> None:
    """409 naming the document whose current file has these bytes, if any."""
    duplicate_of = db.session.scalar(
        select(Document.id).where(Document.sha256 == sha256).order_by(Document.id).limit(1)
    )
    if duplicate_of is not None:
        abort(
            409,
            message=f"This file is already document {duplicate_of}; send allow_duplicate=true to upload it anyway.",
            extra={"duplicate_of": duplicate_of},
        )


def _delete_object(s3: S3Store, key: str) -> None:
    """Remove an object no row names; a failure leaves it to `flask storage check`/`sync`."""
    try:
        s3.delete(key)
    except StorageError as exc:
        current_app.logger.error("upload to s3-only storage left %s without a row: %s", key, exc)


def _s3_unreachable(exc: StorageError | None):
    current_app.logger.warning("upload refused: S3 is the only store and failed: %s", exc or "unreachable")
    abort(503, message="Documents cannot be stored right now; try again shortly.", headers={"Retry-After": "30"})


def push(document: Document) -> None:
    """Try S3 now; on failure the document stays local-only for `storage sync`."""
    document_id = document.id  # read before the push: the row may be gone after it
    s3 = s3_store()
    if s3 is None or s3_only():  # s3-only: accept() put it there already
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


def serve(document: Document, disposition: str, downloader: User | None = None) -> tuple[str | None, Response]:
    """The answer to a download of `document` and the store that served it ("link", "s3",
    "local"); 503 when no store can. A HEAD (a browser or proxy checking the file) gets the same
    headers and `via` None: it is not a download, and from S3 it gets the PDF's headers rather
    than a presigned URL, which would be an unaudited download. With a `downloader`, a
    watermarked document is marked with their name and streamed by the app."""
    head = request.method == "HEAD"
    if document.kind == "link":
        return (None if head else "link"), redirect(document.external_url)
    header = content_disposition(disposition, document.download_name)
    if document.watermark and downloader is not None:
        return (None, _pdf_response(header)) if head else _serve_marked(document, header, downloader)
    return serve_stored(document, header, f"download {document.id}")


def serve_stored(stored: Document | DocumentVersion, header: str, what: str) -> tuple[str | None, Response]:
    """A stored file (a document's current one or an earlier version) from S3, else locally."""
    head = request.method == "HEAD"
    s3 = s3_store()
    if stored.in_s3 and s3 is not None and s3.available():
        if head:
            return None, _pdf_response(header)
        try:
            return "s3", redirect(s3.presign(stored.storage_key, header))
        except StorageError as exc:
            current_app.logger.warning("%s: %s; trying the local copy", what, exc)
    local = local_store()
    if not s3_only() and stored.in_local and local.exists(stored.storage_key):
        return (None if head else "local"), _local_response(local, stored.storage_key, header)
    _no_store(what, stored.storage_key)


def _serve_marked(document: Document, header: str, downloader: User) -> tuple[str, Response]:
    """The marked copy, written to an anonymous temporary file and sent from it in chunks (the
    file goes when the response closes): memory stays bounded whatever the PDF's size."""
    text = label(downloader.full_name, downloader.username, downloader.email, utcnow())
    with contextlib.ExitStack() as on_failure:  # closes `marked` unless it reaches the response
        marked = on_failure.enter_context(tempfile.TemporaryFile(dir=current_app.config["UPLOAD_FOLDER"]))
        with tempfile.TemporaryFile(dir=current_app.config["UPLOAD_FOLDER"]) as original:
            via = _fetch_original(document, original)
            try:
                watermark(original, marked, text)
            except Exception:  # never the unmarked file instead: refused, and logged for the admin
                current_app.logger.exception("download %s: the PDF could not be watermarked", document.id)
                abort(503, message="This document cannot be prepared for download right now.")
        marked.seek(0)
        on_failure.pop_all()
    response = send_file(marked, mimetype=CONTENT_TYPE, conditional=False, etag=False, max_age=0)
    return via, _pdf_response(header, response)


def _fetch_original(document: Document, out) -> str:
    """Copy the stored file into `out` from S3, else the local copy; 503 when neither can."""
    s3 = s3_store()
    if document.in_s3 and s3 is not None and s3.available():
        try:
            s3.fetch(document.storage_key, out)
            out.seek(0)
            return "s3"
        except StorageError as exc:
            current_app.logger.warning("download %s: %s; trying the local copy", document.id, exc)
            out.seek(0)
            out.truncate()
    local = local_store()
    if document.in_local and local.exists(document.storage_key):
        with open(local.path(document.storage_key), "rb") as fh:
            shutil.copyfileobj(fh, out, 1 << 20)
        out.seek(0)
        return "local"
    _no_store(f"download {document.id}", document.storage_key)


def _no_store(what: str, key: str):
    """Neither S3 nor the local copy can serve `key`: logged for the admin, a 503 for the user."""
    current_app.logger.error("%s: no store can serve %s", what, key)
    abort(
        503, message="This document cannot be downloaded right now; try again shortly.", headers={"Retry-After": "30"}
    )


def discard(document: Document) -> None:
    """Delete the document and commit, then its files (every version's) everywhere; a store that
    fails is logged and left to `flask storage check`."""
    document_id = document.id
    keys = [key for key in (document.storage_key, *(v.storage_key for v in document.versions)) if key]
    db.session.delete(document)
    db.session.commit()
    for store in filter(None, (None if s3_only() else local_store(), s3_store())):
        for key in keys:
            try:
                store.delete(key)
            except StorageError as exc:
                current_app.logger.error("delete of document %s left %s in %s: %s", document_id, key, store.name, exc)


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
