"""Operator commands for the stores: `flask --app main storage sync|check`."""

import sys
import time
from pathlib import Path
from typing import NamedTuple

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..models import Document, DocumentVersion
from .files import push_to_s3
from .storage import KEY_PATTERN, LocalStore, S3Store, StorageError, local_store, s3_only, s3_store
from .uploads import TEMP_PREFIX

storage = AppGroup("storage", help="The document stores: push pending files to S3, check consistency.")

STALE_TEMP_SECONDS = 3600


@storage.command("sync")
@click.option(
    "--orphans-older-than",
    "orphan_seconds",
    type=click.IntRange(min=0),
    default=STALE_TEMP_SECONDS,
    show_default=True,
    help="s3-only: remove objects without a row once this many seconds old.",
)
def sync(orphan_seconds):
    """Push every local-only file (documents' and earlier versions') to S3.

    Idempotent and resumable: each document is committed as soon as it is in S3, so an
    interrupted run picks up where it stopped. A local copy whose sha256 no longer matches is
    not pushed. Exit status 1 when some push failed.

    With STORAGE_MODE=s3-only there is nothing to push (an upload is in S3 before its row):
    sync removes what interrupted uploads left (stale staging files, objects without a row)
    and fails if a row still names only a local copy.
    """
    s3 = s3_store()
    if s3 is None:
        click.echo("error: S3_BUCKET is not set; there is nowhere to sync to.", err=True)
        sys.exit(2)
    local = local_store()
    for path in _stale_temporaries(local):
        path.unlink(missing_ok=True)
        click.echo(f"removed {path.name}: a temporary upload left by an interrupted worker")
    if s3_only():
        _sync_s3_only(s3, orphan_seconds)
        return
    pending = _local_only()
    click.echo(f"{len(pending)} document(s) to push to s3://{s3.bucket}")  # earlier versions included
    pushed = failed = 0
    for number, (model, row_id) in enumerate(pending, 1):
        stored = db.session.get(model, row_id)
        if stored is None or stored.in_s3:  # deleted or pushed meanwhile
            continue
        prefix = f"[{number}/{len(pending)}] {_label(stored)} ({stored.storage_key})"
        try:
            if local.sha256(stored.storage_key) != stored.sha256:
                raise StorageError("the local copy does not match its sha256; not pushed")
            if push_to_s3(stored, s3, local):
                pushed += 1
                click.echo(f"{prefix}: pushed")
            else:
                click.echo(f"{prefix}: deleted during the push; its object was removed from S3")
        except StorageError as exc:
            failed += 1
            click.echo(f"{prefix}: FAILED: {exc}", err=True)
    click.echo(f"sync: {pushed} pushed, {failed} failed, {len(pending) - pushed - failed} skipped")
    if failed:
        sys.exit(1)


@storage.command("check")
@click.option("--no-hash", is_flag=True, help="Skip comparing every file's sha256 (faster).")
def check(no_hash):
    """Report rows without files, files without rows and sha256 mismatches, in both stores.

    Exit status 1 when anything is wrong.
    """
    problems: list[str] = []
    rows = [
        StoredRow(f"document {r.id}", *r[1:])
        for r in db.session.execute(
            select(Document.id, Document.storage_key, Document.sha256, Document.in_local, Document.in_s3)
            .where(Document.kind == "file")
            .order_by(Document.id)
        )
    ]
    rows += [
        StoredRow(f"document {r.document_id} version {r.version}", *r[2:])
        for r in db.session.execute(
            select(
                DocumentVersion.document_id,
                DocumentVersion.version,
                DocumentVersion.storage_key,
                DocumentVersion.sha256,
                DocumentVersion.in_local,
                DocumentVersion.in_s3,
            ).order_by(DocumentVersion.document_id, DocumentVersion.version)
        )
    ]
    for row in rows:
        if not row.in_local and not row.in_s3:
            problems.append(f"{row.label} ({row.storage_key}): no store holds it")
    local, s3 = local_store(), s3_store()
    if s3_only():  # the uploads folder only stages uploads: a row naming it is a problem
        problems += [
            f"{row.label} ({row.storage_key}): held only locally, which s3-only does not serve "
            "(push it with STORAGE_MODE=fallback `storage sync` on the host that holds it)"
            for row in rows
            if row.in_local and not row.in_s3
        ]
    for store in filter(None, (None if s3_only() else local, s3)):
        try:
            problems += _check_store(store, rows, hash_files=not no_hash)
        except StorageError as exc:
            problems.append(f"{store.name}: cannot be checked: {exc}")
    problems += [
        f"local: {path.name}: stale temporary upload (storage sync removes it)" for path in _stale_temporaries(local)
    ]
    for problem in problems:
        click.echo(problem)
    click.echo(f"check: {len(rows)} file document(s), {len(problems)} problem(s)")  # earlier versions included
    if problems:
        sys.exit(1)


def _local_only() -> list[tuple[type, int]]:
    """(model, id) of every stored file, a document's or an earlier version's, held only locally."""
    return [
        (model, row_id)
        for model in (Document, DocumentVersion)
        for row_id in db.session.scalars(
            select(model.id)
            .where(model.storage_key.is_not(None), model.in_local.is_(True), model.in_s3.is_(False))
            .order_by(model.id)
        )
    ]


def _sync_s3_only(s3: S3Store, orphan_seconds: int) -> None:
    """s3-only: delete objects no row names once `orphan_seconds` old (an upload killed between
    its put and its commit; a live upload commits within seconds); report local-only rows."""
    known = {
        key
        for model in (Document, DocumentVersion)
        for key in db.session.scalars(select(model.storage_key).where(model.storage_key.is_not(None)))
    }
    local_only = [_label(db.session.get(model, row_id)) for model, row_id in _local_only()]
    cutoff, removed = time.time() - orphan_seconds, 0
    try:
        for key, modified in sorted(s3.listing().items()):
            if key not in known and KEY_PATTERN.fullmatch(key) and modified <= cutoff:
                s3.delete(key)
                removed += 1
                click.echo(f"removed s3://{s3.bucket}/{key}: an object without a row, left by an interrupted upload")
    except StorageError as exc:
        click.echo(f"sync: FAILED: {exc}", err=True)
        sys.exit(1)
    click.echo(f"sync: s3-only mode, nothing to push; {removed} orphan object(s) removed")
    if local_only:
        click.echo(
            f"sync: {len(local_only)} file(s) held only locally ({', '.join(local_only)}): "
            "run `storage sync` with STORAGE_MODE=fallback on the host that holds them",
            err=True,
        )
        sys.exit(1)


class StoredRow(NamedTuple):
    """A stored file as its row describes it: a document's current file or an earlier version."""

    label: str
    storage_key: str
    sha256: str
    in_local: bool
    in_s3: bool


def _label(stored: Document | DocumentVersion) -> str:
    if isinstance(stored, DocumentVersion):
        return f"document {stored.document_id} version {stored.version}"
    return f"document {stored.id}"


def _check_store(store: LocalStore | S3Store, rows: list[StoredRow], hash_files: bool) -> list[str]:
    """Compare one store's contents with what the rows say it holds."""
    problems = []
    keys = store.keys()
    for row in rows:
        recorded = row.in_local if store.name == "local" else row.in_s3
        present = row.storage_key in keys
        label = f"{store.name}: {row.label} ({row.storage_key})"
        if recorded and not present:
            problems.append(f"{label}: file missing")
        elif present and not recorded:
            problems.append(f"{label}: file present but not recorded (storage.{store.name} is false)")
        elif present and hash_files and store.sha256(row.storage_key) != row.sha256:
            problems.append(f"{label}: sha256 mismatch (the stored bytes changed)")
    known = {row.storage_key for row in rows}
    hint = " (storage sync removes it once an hour old)" if store.name == "s3" and s3_only() else ""
    problems += [f"{store.name}: {key}: file without a document row{hint}" for key in sorted(keys - known)]
    return problems


def _stale_temporaries(local: LocalStore) -> list[Path]:
    """Upload temporaries left by a killed worker (a live upload's file is younger).

    No row ever names a temporary: a file is renamed to its key before its row is committed."""
    cutoff = time.time() - STALE_TEMP_SECONDS
    return [path for path in sorted(local.folder.glob(TEMP_PREFIX + "*")) if path.stat().st_mtime < cutoff]
