"""S3 through moto's real HTTP server: presigned downloads fetched for real, the outage path
(local fallback, then `storage sync`), deletes, and the health probe."""

import socket
import threading
import time
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.exc import OperationalError

from sequoalpha.documents import storage
from sequoalpha.documents.files import content_disposition
from sequoalpha.extensions import db
from sequoalpha.models import Document
from support.common import free_port
from support.documents import make_pdf, sha256, stored_files, upload

PDF = make_pdf(256 * 1024)


def _upload(client, headers, content=PDF, filename="Q3 “report” é.pdf"):
    response = upload(client, headers, content, filename, visibility={"everyone": True})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _key(s3_client, doc) -> str:
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_client.bucket).get("Contents", [])]
    return next(
        k for k in keys if s3_client.head_object(Bucket=s3_client.bucket, Key=k)["Metadata"]["sha256"] == doc["sha256"]
    )


def _sync(app, *args):
    return app.test_cli_runner().invoke(args=["storage", "sync", *args])


def test_presigned_download_is_fetched_for_real(s3, client, admin_headers, user_headers):
    doc = _upload(client, admin_headers)
    assert doc["storage"] == {"s3": True, "local": True}  # the local copy is kept by default
    head = s3.head_object(Bucket=s3.bucket, Key=_key(s3, doc))
    assert head["ServerSideEncryption"] == "AES256" and head["ContentType"] == "application/pdf"
    for disposition in ("attachment", "inline"):
        response = client.get(f"/api/documents/{doc['id']}/download?disposition={disposition}", headers=user_headers)
        assert response.status_code == 302
        url = response.headers["Location"]
        query = parse_qs(urlsplit(url).query)
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        assert query["X-Amz-Credential"][0].endswith("/us-east-1/s3/aws4_request")
        assert 0 < int(query["X-Amz-Expires"][0]) <= 300 and query["X-Amz-Signature"]
        with urllib.request.urlopen(url, timeout=10) as fetched:
            body = fetched.read()
            assert fetched.headers["Content-Type"] == "application/pdf"
            assert fetched.headers["Content-Disposition"] == content_disposition(disposition, doc["download_name"])
        assert sha256(body) == doc["sha256"] and body == PDF
    events = client.get("/api/admin/audit?action=document_downloaded", headers=admin_headers).get_json()["items"]
    assert [e["detail"]["via"] for e in events] == ["s3", "s3"]


def test_a_head_gets_no_presigned_url(s3, client, admin_headers, user_headers):
    """A presigned URL is a download: a HEAD, which is not audited, gets only the PDF's headers."""
    doc = _upload(client, admin_headers)
    head = client.head(f"/api/documents/{doc['id']}/download", headers=user_headers)
    assert head.status_code == 200 and "Location" not in head.headers and head.data == b""
    assert head.headers["Content-Disposition"] == content_disposition("attachment", doc["download_name"])
    assert client.get("/api/admin/audit?action=document_downloaded", headers=admin_headers).get_json()["total"] == 0
    assert client.get(f"/api/documents/{doc['id']}", headers=user_headers).get_json()["is_new"]


def test_presign_lifetime_follows_the_setting(s3, client, admin_headers, app):
    app.config["S3_PRESIGN_SECONDS"] = 60
    doc = _upload(client, admin_headers)
    url = client.get(f"/api/documents/{doc['id']}/download", headers=admin_headers).headers["Location"]
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["60"]


def test_s3_outage_then_sync(s3, client, admin_headers, user_headers, app, moto_endpoint):
    both = _upload(client, admin_headers)
    app.config["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    local_only = _upload(client, admin_headers, make_pdf(4096), "during outage.pdf")
    assert time.monotonic() - started < 15
    assert local_only["storage"] == {"s3": False, "local": True}
    assert client.get("/api/health").get_json()["storage"] == {"s3": "unavailable", "local": "ok", "mode": "fallback"}
    for doc, content in ((both, PDF), (local_only, None)):
        response = client.get(f"/api/documents/{doc['id']}/download", headers=user_headers)
        assert response.status_code == 200, response.get_json()
        assert sha256(response.data) == doc["sha256"] and (content is None or response.data == content)
        response.close()
    failed = _sync(app)
    assert failed.exit_code == 1 and "1 failed" in failed.output
    # S3 is back.
    app.config["S3_ENDPOINT_URL"] = moto_endpoint
    result = _sync(app)
    assert result.exit_code == 0, result.output
    assert "1 document(s) to push" in result.output and "1 pushed, 0 failed" in result.output
    assert client.get(f"/api/admin/documents/{local_only['id']}", headers=admin_headers).get_json()["storage"] == {
        "s3": True,
        "local": True,
    }
    assert _key(s3, local_only)
    again = _sync(app)
    assert again.exit_code == 0 and "0 document(s) to push" in again.output
    assert client.get(f"/api/documents/{local_only['id']}/download", headers=user_headers).status_code == 302


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.slow  # waits out S3 timeouts
def test_a_silent_s3_costs_seconds_not_a_worker_timeout(s3, client, admin_headers, user_headers, app):
    """An endpoint that accepts connections and never answers: the worst kind of dead."""
    doc = _upload(client, admin_headers)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        app.config["S3_ENDPOINT_URL"] = endpoint
        started = time.monotonic()
        assert _upload(client, admin_headers, make_pdf(2048), "a.pdf")["storage"]["s3"] is False
        assert time.monotonic() - started < 5  # one short probe, then the put is skipped
        started = time.monotonic()
        response = client.get(f"/api/documents/{doc['id']}/download", headers=user_headers)
        assert response.status_code == 200 and response.data == PDF
        response.close()
        assert client.get("/api/health").get_json()["storage"]["s3"] == "unavailable"
        assert time.monotonic() - started < 1  # the failed probe is remembered
    # S3 falls silent right after a good probe: the transfer itself must give up well within
    # Gunicorn's 30 s. Its worst case, from the client's own settings: every attempt waits out
    # connect and read, plus a second for "Expect: 100-continue" on a put; ≤ 1 s of backoff.
    config = storage._s3_client(endpoint, "us-east-1").meta.config
    attempts = config.retries["total_max_attempts"]
    assert config.signature_version == "s3v4" and config.retries["mode"] == "standard"
    assert attempts * (config.connect_timeout + config.read_timeout + 1) + (attempts - 1) <= 20


def test_dropping_the_local_copy_after_a_verified_upload(s3, client, admin_headers, app):
    app.config["S3_KEEP_LOCAL_COPY"] = False
    doc = _upload(client, admin_headers)
    assert doc["storage"] == {"s3": True, "local": False}
    assert stored_files(app) == []
    assert client.get(f"/api/documents/{doc['id']}/download", headers=admin_headers).status_code == 302
    assert app.test_cli_runner().invoke(args=["storage", "check"]).exit_code == 0


def test_the_local_copy_goes_only_after_the_row_says_s3_holds_it(s3, client, admin_headers, app, monkeypatch):
    app.config.update(S3_KEEP_LOCAL_COPY=False, S3_BUCKET=None)
    doc = _upload(client, admin_headers)
    app.config["S3_BUCKET"] = s3.bucket
    with monkeypatch.context() as patched:
        patched.setattr(db.session, "commit", lambda: (_ for _ in ()).throw(OperationalError("COMMIT", {}, None)))
        assert isinstance(_sync(app).exception, OperationalError)
    assert len(stored_files(app)) == 1  # the row still says local only, and so it is
    with client.get(f"/api/documents/{doc['id']}/download", headers=admin_headers) as response:
        assert response.status_code == 200 and response.data == PDF
    assert _sync(app).exit_code == 0 and stored_files(app) == []
    assert app.test_cli_runner().invoke(args=["storage", "check"]).exit_code == 0


def test_a_document_deleted_during_its_sync_push_leaves_no_object(s3, client, admin_headers, app, monkeypatch):
    app.config["S3_BUCKET"] = None
    doc = _upload(client, admin_headers)
    app.config["S3_BUCKET"] = s3.bucket
    call, statuses = storage.S3Store._call, []

    def delete_during_the_put(store, operation, **kwargs):
        if operation == "put_object":  # the file is open, the transfer under way
            # Another thread: another app context, so another database session.
            deleter = threading.Thread(
                target=lambda: statuses.append(
                    client.delete(f"/api/admin/documents/{doc['id']}", headers=admin_headers).status_code
                )
            )
            deleter.start()
            deleter.join()
        return call(store, operation, **kwargs)

    monkeypatch.setattr(storage.S3Store, "_call", delete_during_the_put)
    result = _sync(app)
    assert result.exit_code == 0 and result.exception is None, result.output
    assert statuses == [204] and "deleted during the push; its object was removed from S3" in result.output
    assert "Contents" not in s3.list_objects_v2(Bucket=s3.bucket) and stored_files(app) == []


def test_delete_removes_both_copies_and_survives_a_dead_s3(s3, client, admin_headers, app, moto_endpoint):
    first, second = _upload(client, admin_headers), _upload(client, admin_headers, make_pdf(2048), "b.pdf")
    assert client.delete(f"/api/admin/documents/{first['id']}", headers=admin_headers).status_code == 204
    assert len(stored_files(app)) == 1
    assert len(s3.list_objects_v2(Bucket=s3.bucket)["Contents"]) == 1
    app.config["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    assert client.delete(f"/api/admin/documents/{second['id']}", headers=admin_headers).status_code == 204
    assert stored_files(app) == []
    app.config["S3_ENDPOINT_URL"] = moto_endpoint
    check = app.test_cli_runner().invoke(args=["storage", "check"])
    assert check.exit_code == 1 and "file without a document row" in check.output


def test_health_reports_s3(s3, client, app):
    assert client.get("/api/health").get_json()["storage"] == {"s3": "ok", "local": "ok", "mode": "fallback"}
    app.config["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    assert client.get("/api/health").get_json()["storage"]["s3"] == "unavailable"
    probe = dict(storage._probes)
    assert client.get("/api/health").get_json()["storage"]["s3"] == "unavailable"
    assert storage._probes == probe  # answered from the cached probe, not a new one
    app.config["S3_BUCKET"] = None
    assert client.get("/api/health").get_json()["storage"]["s3"] == "disabled"


def test_sync_needs_s3_and_refuses_a_changed_local_copy(s3, client, admin_headers, app):
    app.config["S3_BUCKET"] = None
    kept = _upload(client, admin_headers)
    changed = _upload(client, admin_headers, make_pdf(2048), "changed.pdf")
    result = _sync(app)
    assert result.exit_code == 2 and "S3_BUCKET is not set" in result.output
    app.config["S3_BUCKET"] = s3.bucket
    with app.app_context():
        path = storage.local_store().path(db.session.get(Document, changed["id"]).storage_key)
    path.write_bytes(make_pdf(3000))
    result = _sync(app)
    assert result.exit_code == 1
    assert "1 pushed, 1 failed" in result.output and "does not match its sha256" in result.output
    statuses = {
        d["id"]: d["storage"]["s3"]
        for d in client.get("/api/admin/documents", headers=admin_headers).get_json()["items"]
    }
    assert statuses == {kept["id"]: True, changed["id"]: False}
