"""STORAGE_MODE=s3-only (several app hosts): an upload is in S3, verified, before its 201; the
uploads folder only stages it; S3 unreachable means a 503 and nothing stored; downloads are
presigned only; `storage check` and `sync` know the mode. Through moto's real HTTP server."""

import urllib.request

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from sequoalpha.config import ConfigError, load_config
from sequoalpha.documents import storage
from sequoalpha.extensions import db
from sequoalpha.models import Document
from support.common import free_port
from support.documents import make_pdf, sha256, stored_files, upload

PDF = make_pdf(128 * 1024)


@pytest.fixture
def s3_only(s3, app):
    app.config["STORAGE_MODE"] = "s3-only"
    return s3


def _objects(s3_client) -> list[str]:
    return [o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_client.bucket).get("Contents", [])]


def _rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Document))


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["storage", *args])


def test_an_upload_is_in_s3_verified_before_its_201_and_nothing_stays_local(
    s3_only, app, client, admin_headers, user_headers
):
    response = upload(client, admin_headers, PDF, "q3.pdf", visibility={"everyone": True})
    assert response.status_code == 201, response.get_json()
    doc = response.get_json()
    assert doc["storage"] == {"s3": True, "local": False} and doc["sha256"] == sha256(PDF)
    [key] = _objects(s3_only)
    head = s3_only.head_object(Bucket=s3_only.bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(PDF) and head["ServerSideEncryption"] == "AES256"
    assert stored_files(app) == []  # the staging file is gone
    download = client.get(f"/api/documents/{doc['id']}/download", headers=user_headers)
    assert download.status_code == 302 and "X-Accel-Redirect" not in download.headers
    with urllib.request.urlopen(download.headers["Location"], timeout=10) as fetched:
        assert fetched.read() == PDF
    assert client.get("/api/health").get_json()["storage"] == {"s3": "ok", "local": "ok", "mode": "s3-only"}
    checked = _cli(app, "check")
    assert checked.exit_code == 0 and "1 file document(s), 0 problem(s)" in checked.output, checked.output
    synced = _cli(app, "sync")
    assert synced.exit_code == 0 and "nothing to push; 0 orphan object(s) removed" in synced.output, synced.output
    assert client.delete(f"/api/admin/documents/{doc['id']}", headers=admin_headers).status_code == 204
    assert _objects(s3_only) == []


def test_s3_unreachable_is_a_503_with_nothing_stored(s3_only, app, client, admin_headers):
    app.config["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    response = upload(client, admin_headers, PDF, "q3.pdf")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert response.get_json()["code"] == 503 and "try again" in response.get_json()["message"]
    assert _rows(app) == 0 and stored_files(app) == []
    assert client.get("/api/health").get_json()["storage"]["s3"] == "unavailable"


def test_s3_failing_during_the_put_is_a_503_with_nothing_stored(s3_only, app, client, admin_headers, monkeypatch):
    """S3 answers the probe, then the put itself fails (it went away in between)."""

    def broken_put(self, key, source, sha256):
        raise storage.StorageError("S3 put_object failed: connection reset")

    monkeypatch.setattr(storage.S3Store, "put", broken_put)
    response = upload(client, admin_headers, PDF, "q3.pdf")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert _rows(app) == 0 and stored_files(app) == [] and _objects(s3_only) == []


def test_an_object_that_fails_verification_is_removed(s3_only, app, client, admin_headers, monkeypatch):
    """S3 holding other bytes than were sent (the re-read sha256 differs): 503, object deleted."""
    real_put = storage.S3Store.put

    def put_other_bytes(self, key, source, sha256):
        other = source.with_name(source.name + ".other")
        other.write_bytes(make_pdf(4096))
        try:
            real_put(self, key, other, storage.file_sha256(other))
        finally:
            other.unlink()

    monkeypatch.setattr(storage.S3Store, "put", put_other_bytes)
    response = upload(client, admin_headers, PDF, "q3.pdf")
    assert response.status_code == 503, response.get_json()
    assert _rows(app) == 0 and stored_files(app) == [] and _objects(s3_only) == []


def test_a_failed_commit_after_the_put_deletes_the_object(s3_only, app, client, admin_headers, monkeypatch):
    def lost_database():
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(db.session, "commit", lost_database)
    response = upload(client, admin_headers, PDF, "q3.pdf")
    monkeypatch.undo()
    assert response.status_code == 503 and response.get_json()["code"] == 503
    assert _rows(app) == 0 and stored_files(app) == [] and _objects(s3_only) == []


def test_downloads_never_fall_back_to_a_local_copy(s3_only, app, client, admin_headers, user_headers):
    doc = upload(client, admin_headers, PDF, "q3.pdf", visibility={"everyone": True}).get_json()
    app.config["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    storage._probes.clear()
    response = client.get(f"/api/documents/{doc['id']}/download", headers=user_headers)
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"


def test_check_and_sync_deal_with_what_an_interrupted_upload_leaves(s3_only, app, client, admin_headers):
    """An object without a row (a worker killed between its put and its commit) is reported by
    check and removed by sync once stale; a row naming only a local copy is reported by both."""
    s3_only.put_object(Bucket=s3_only.bucket, Key="0" * 32 + ".pdf", Body=PDF)
    checked = _cli(app, "check")
    assert checked.exit_code == 1 and "file without a document row (storage sync removes it" in checked.output
    fresh = _cli(app, "sync")
    assert fresh.exit_code == 0 and "0 orphan object(s) removed" in fresh.output  # it may be a live upload
    assert len(_objects(s3_only)) == 1
    stale = _cli(app, "sync", "--orphans-older-than", "0")
    assert stale.exit_code == 0 and "1 orphan object(s) removed" in stale.output, stale.output
    assert _objects(s3_only) == [] and _cli(app, "check").exit_code == 0

    app.config["STORAGE_MODE"] = "fallback"  # a document uploaded while S3 was away, before the switch
    app.config["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    storage._probes.clear()
    held = upload(client, admin_headers, PDF, "local.pdf").get_json()
    assert held["storage"] == {"s3": False, "local": True}
    app.config["STORAGE_MODE"] = "s3-only"
    checked = _cli(app, "check", "--no-hash")
    assert (
        checked.exit_code == 1 and f"document {held['id']} " in checked.output and "held only locally" in checked.output
    )
    assert "local: document" not in checked.output  # the uploads folder is not a store in s3-only


def test_the_mode_is_checked_at_start(monkeypatch):
    monkeypatch.setenv("STORAGE_MODE", "s3")
    with pytest.raises(ConfigError, match="STORAGE_MODE must be one of fallback, s3-only"):
        load_config({"ENV_MODE": "testing"})
    monkeypatch.setenv("STORAGE_MODE", "s3-only")
    monkeypatch.delenv("S3_BUCKET", raising=False)
    with pytest.raises(ConfigError, match="needs S3_BUCKET"):
        load_config({"ENV_MODE": "testing", "S3_BUCKET": None})
    assert load_config({"ENV_MODE": "testing", "S3_BUCKET": "b"})["STORAGE_MODE"] == "s3-only"
    monkeypatch.delenv("STORAGE_MODE")
    assert load_config({"ENV_MODE": "testing", "S3_BUCKET": None})["STORAGE_MODE"] == "fallback"
