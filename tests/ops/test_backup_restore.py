"""`./manage.sh backup` -> wipe the database and the uploads folder -> `./manage.sh restore`:
every document downloadable again with the same sha256. The scripts are pointed at the test
stack through the environment (DATABASE_URL, UPLOAD_FOLDER, BACKUP_DIR ...), as documented."""

import hashlib
import stat
import tarfile
import time

import requests
from sqlalchemy import create_engine, text

from support.common import require

from .conftest import record_measurement


def fetch(stack, document_id: int, token: str) -> bytes:
    """The bytes of a download, whichever way it is served (presigned S3 or X-Accel)."""
    r = stack.get(f"/api/documents/{document_id}/download", headers=stack.auth(token))
    if r.status_code == 302:
        r = requests.get(r.headers["Location"], timeout=30)
    assert r.status_code == 200, (document_id, r.status_code, r.text[:200])
    return r.content


def test_backup_wipe_restore_round_trip(stack, documents, tmp_path):
    require("pg_dump", "postgresql-client")
    require("pg_restore", "postgresql-client")
    backups = tmp_path / "backups"
    env = {
        "DATABASE_URL": stack.database_url,
        "UPLOAD_FOLDER": str(stack.upload_dir),
        "BACKUP_DIR": str(backups),
        "BACKUP_KEEP": "2",
        "SEQUOALPHA_ENV_FILE": str(tmp_path / "no-such.env"),
        "SEQUOALPHA_DEPLOY_CONF": str(tmp_path / "no-such.conf"),
    }
    expected = {doc["id"]: doc["sha256"] for doc, _ in documents.values()}

    # Backups: one file, mode 0600, verified, the newest BACKUP_KEEP kept.
    made = []
    for _ in range(3):
        result = stack.manage("backup", env=env)
        assert result.returncode == 0, result.stderr
        made.append(result.stdout.strip().splitlines()[-1])
        time.sleep(1.1)  # names carry the second
    kept = sorted(p.name for p in backups.glob("sequoalpha-*.tar"))
    assert kept == sorted(p.rsplit("/", 1)[-1] for p in made[1:]), kept
    newest = backups / kept[-1]
    assert stat.S_IMODE(newest.stat().st_mode) == 0o600
    assert stat.S_IMODE(backups.stat().st_mode) == 0o700
    with tarfile.open(newest) as archive:
        assert sorted(archive.getnames()) == ["MANIFEST", "database.pgdump", "uploads.tar.gz"]
    stored = {p.name for p in stack.upload_dir.iterdir() if p.is_file()}

    # Wipe: every table and every stored file.
    engine = create_engine(stack.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    for path in stack.upload_dir.iterdir():
        path.unlink()
    assert stack.post("/api/login", json={"username": "opsadmin", "password": "x" * 12}).status_code != 200

    # Restore refuses to go on without a confirmation.
    refused = stack.manage("restore", str(newest), env=env, input="")
    assert refused.returncode != 0 and "--yes" in refused.stderr
    assert not any(stack.upload_dir.iterdir())

    restored = stack.manage("restore", str(newest), "--yes", env=env)
    assert restored.returncode == 0, restored.stderr
    assert (backups / "pre-restore").is_dir()  # the state before the restore, kept apart
    assert {p.name for p in stack.upload_dir.iterdir() if p.is_file()} == stored

    token = stack.login()
    listed = stack.get("/api/documents?per_page=100", headers=stack.auth(token)).json()
    assert {item["id"] for item in listed["items"]} >= set(expected)
    for document_id, sha256 in expected.items():
        assert hashlib.sha256(fetch(stack, document_id, token)).hexdigest() == sha256
    record_measurement(
        f"backup/restore: {len(expected)} documents, {len(stored)} stored files, "
        f"backup {newest.stat().st_size} bytes, all sha256 equal after restore"
    )
