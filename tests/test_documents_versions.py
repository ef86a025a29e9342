"""Versions: a new file keeps the document (id, title, visibility, history, read marks), makes it
new again for its audience, keeps the earlier files for admins only, and every file goes when
the document does; storage sync and check know the version files."""

from sqlalchemy import select

from sequoalpha.extensions import db
from sequoalpha.models import DocumentRead
from support.api import login
from support.documents import make_pdf, sha256, stored_files, upload

V1, V2, V3 = (make_pdf(label=f"version {n}") for n in (1, 2, 3))


def _replace(client, headers, doc_id, content, filename="report-v2.pdf", **fields):
    from io import BytesIO

    data = {"file": (BytesIO(content), filename, "application/pdf"), **fields}
    return client.post(
        f"/api/admin/documents/{doc_id}/file", headers=headers, data=data, content_type="multipart/form-data"
    )


def _get(client, headers, path):
    response = client.get(path, headers=headers)
    body = response.data
    response.close()
    return response, body


def _first_upload(client, admin_headers, **fields):
    response = upload(
        client, admin_headers, V1, "report-v1.pdf", title="Q3 report", visibility={"everyone": True}, **fields
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_new_version_keeps_the_document_and_is_new_again(client, admin_headers, user_headers, app):
    doc = _first_upload(client, admin_headers, description="Quarterly")
    _get(client, user_headers, f"/api/documents/{doc['id']}/download")
    assert client.get(f"/api/documents/{doc['id']}", headers=user_headers).get_json()["is_new"] is False

    response = _replace(client, admin_headers, doc["id"], V2)
    assert response.status_code == 200, response.get_json()
    new = response.get_json()
    assert (new["id"], new["title"], new["description"], new["visibility"]) == (
        doc["id"],
        "Q3 report",
        "Quarterly",
        doc["visibility"],
    )
    assert (new["version"], new["filename"], new["sha256"]) == (2, "report-v2.pdf", sha256(V2))
    assert new["download_name"] == "Q3 report.pdf" and new["created_at"] == doc["created_at"]

    # New again for the client, whose read mark (the readers' history) stays.
    assert client.get(f"/api/documents/{doc['id']}", headers=user_headers).get_json()["is_new"] is True
    with app.app_context():
        assert db.session.scalars(select(DocumentRead.document_id)).all() == [doc["id"]]
    response, body = _get(client, user_headers, f"/api/documents/{doc['id']}/download")
    assert response.status_code == 200 and body == V2  # clients always get the latest
    assert client.get(f"/api/documents/{doc['id']}", headers=user_headers).get_json()["is_new"] is False

    audit = client.get(f"/api/admin/audit?document_id={doc['id']}", headers=admin_headers).get_json()["items"]
    actions = [event["action"] for event in audit]
    assert actions.count("document_version_added") == 1 and "document_uploaded" in actions
    added = next(e for e in audit if e["action"] == "document_version_added")
    assert added["detail"]["version"] == 2 and added["detail"]["filename"] == "report-v2.pdf"


def test_admins_list_and_download_every_version(client, admin_headers, user_headers):
    doc = _first_upload(client, admin_headers)
    assert _replace(client, admin_headers, doc["id"], V2).status_code == 200
    assert _replace(client, admin_headers, doc["id"], V3, "report-v3.pdf").status_code == 200
    versions = client.get(f"/api/admin/documents/{doc['id']}/versions", headers=admin_headers).get_json()
    assert [(v["version"], v["filename"], v["sha256"], v["current"]) for v in versions] == [
        (3, "report-v3.pdf", sha256(V3), True),
        (2, "report-v2.pdf", sha256(V2), False),
        (1, "report-v1.pdf", sha256(V1), False),
    ]
    assert all(v["uploaded_by"]["username"] == "admin" and v["uploaded_at"] for v in versions)
    for number, content in ((1, V1), (2, V2), (3, V3)):
        response, body = _get(client, admin_headers, f"/api/admin/documents/{doc['id']}/versions/{number}/download")
        assert response.status_code == 200 and body == content
        assert "attachment;" in response.headers["Content-Disposition"]
    assert _get(client, admin_headers, f"/api/admin/documents/{doc['id']}/versions/4/download")[0].status_code == 404
    assert client.get("/api/admin/documents/999/versions", headers=admin_headers).status_code == 404
    # Clients: admin routes are refused, whether the document is visible to them or not.
    for path in (f"/api/admin/documents/{doc['id']}/versions", f"/api/admin/documents/{doc['id']}/versions/1/download"):
        assert client.get(path, headers=user_headers).status_code == 403
    assert _replace(client, user_headers, doc["id"], V2).status_code == 403


def test_a_new_version_is_checked_like_an_upload(client, admin_headers, app):
    doc = _first_upload(client, admin_headers)
    other = upload(client, admin_headers, V2, title="Other", visibility={"everyone": True}).get_json()
    duplicate = _replace(client, admin_headers, doc["id"], V2)
    assert duplicate.status_code == 409 and duplicate.get_json()["duplicate_of"] == other["id"]
    assert _replace(client, admin_headers, doc["id"], b"not a pdf", "x.pdf").status_code == 415
    assert _replace(client, admin_headers, doc["id"], V3, "notes.txt").status_code == 415
    no_file = client.post(
        f"/api/admin/documents/{doc['id']}/file", headers=admin_headers, data={}, content_type="multipart/form-data"
    )
    assert no_file.status_code == 422 and "file" in no_file.get_json()["errors"]["files"]
    missing = client.post(
        "/api/admin/documents/999/file", headers=admin_headers, data={}, content_type="multipart/form-data"
    )
    assert missing.status_code == 404
    link = client.post(
        "/api/admin/documents/link",
        headers=admin_headers,
        json={"title": "Site", "external_url": "https://example.com/"},
    ).get_json()
    assert _replace(client, admin_headers, link["id"], V3).status_code == 422
    unchanged = client.get(f"/api/admin/documents/{doc['id']}", headers=admin_headers).get_json()
    assert (unchanged["version"], unchanged["sha256"]) == (1, sha256(V1))
    assert client.get(f"/api/admin/documents/{doc['id']}/versions", headers=admin_headers).get_json()[0]["version"] == 1
    assert len([name for name in stored_files(app) if not name.startswith(".")]) == 2  # nothing left behind
    confirmed = _replace(client, admin_headers, doc["id"], V2, allow_duplicate="true")
    assert confirmed.status_code == 200 and confirmed.get_json()["version"] == 2


def test_deleting_a_document_removes_every_version_file(client, admin_headers, app):
    doc = _first_upload(client, admin_headers)
    _replace(client, admin_headers, doc["id"], V2)
    assert len([n for n in stored_files(app) if not n.startswith(".")]) == 2
    assert client.delete(f"/api/admin/documents/{doc['id']}", headers=admin_headers).status_code == 204
    assert [n for n in stored_files(app) if not n.startswith(".")] == []


def test_storage_sync_and_check_know_version_files(s3, client, admin_headers, app, make_user):
    bucket = app.config["S3_BUCKET"]
    app.config["S3_BUCKET"] = None  # uploaded while S3 is off: both files are local only
    doc = _first_upload(client, admin_headers)
    _replace(client, admin_headers, doc["id"], V2)
    app.config["S3_BUCKET"] = bucket
    runner = app.test_cli_runner()
    synced = runner.invoke(args=["storage", "sync"])
    assert synced.exit_code == 0, synced.output
    assert "2 document(s) to push" in synced.output and f"document {doc['id']} version 1" in synced.output
    assert len(s3.list_objects_v2(Bucket=s3.bucket)["Contents"]) == 2
    clean = runner.invoke(args=["storage", "check"])
    assert clean.exit_code == 0 and clean.output.strip() == "check: 2 file document(s), 0 problem(s)"
    for obj in s3.list_objects_v2(Bucket=s3.bucket)["Contents"]:
        if s3.head_object(Bucket=s3.bucket, Key=obj["Key"])["Metadata"]["sha256"] == sha256(V1):
            s3.delete_object(Bucket=s3.bucket, Key=obj["Key"])
    broken = runner.invoke(args=["storage", "check"])
    assert broken.exit_code == 1 and f"s3: document {doc['id']} version 1 (" in broken.output
    make_user("ann")
    ann = login(client, "ann")
    response = client.get(f"/api/documents/{doc['id']}/download", headers=ann)
    assert response.status_code == 302  # the current version, from S3
