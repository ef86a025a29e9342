"""Operator command for search: `flask --app main documents reindex`."""

import sys
import tempfile

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..models import Document
from . import search
from .pdf_text import extract_text_bounded
from .storage import StorageError, local_store, s3_store
from .uploads import TEMP_PREFIX

documents = AppGroup("documents", help="Documents: rebuild the search index.")


@documents.command("reindex")
@click.option("--missing", is_flag=True, help="Only documents whose PDF text is still empty.")
def reindex(missing):
    """Extract every PDF's text again (from the local copy, else from S3) and rebuild the
    search index. Each document is committed on its own: an interrupted run can be repeated.
    Exit status 1 when some file could not be read."""
    stmt = select(Document.id).order_by(Document.id)
    if missing:
        stmt = stmt.where(Document.kind == "file", Document.text_content == "")
    ids = db.session.scalars(stmt).all()
    click.echo(f"{len(ids)} document(s) to index")
    failed = 0
    for number, document_id in enumerate(ids, 1):
        document = db.session.get(Document, document_id)
        if document is None:
            continue
        prefix = f"[{number}/{len(ids)}] document {document_id}"
        try:
            if document.kind == "file":
                document.text_content = _text_of(document)
            document.search_text = search.search_text_of(document)
            db.session.commit()
            click.echo(f"{prefix}: {len(document.text_content)} characters of text")
        except StorageError as exc:
            db.session.rollback()
            failed += 1
            click.echo(f"{prefix}: FAILED: {exc}", err=True)
    with db.engine.begin() as connection:
        search.rebuild(connection)
    click.echo(f"reindex: {len(ids) - failed} indexed, {failed} failed")
    if failed:
        sys.exit(1)


def _text_of(document: Document) -> str:
    """The PDF's text, read from the local copy or, through a temporary file, from S3."""
    local = local_store()
    if document.in_local and local.exists(document.storage_key):
        return extract_text_bounded(local.path(document.storage_key))
    s3 = s3_store()
    if not document.in_s3 or s3 is None:
        raise StorageError("no store holds the file")
    with tempfile.NamedTemporaryFile(prefix=TEMP_PREFIX, suffix=".part", dir=local.folder) as tmp:
        s3.fetch(document.storage_key, tmp)
        tmp.flush()
        return extract_text_bounded(tmp.name)
