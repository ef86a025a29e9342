"""Downloads without S3 (streamed, ranges, X-Accel-Redirect, 503), links, audit, and the admin's
edit and delete of documents."""

import os
import re
from urllib.parse import unquote

from werkzeug.http import parse_options_header

from sequoalpha.documents.files import content_disposition
from support.api import login
from support.documents import make_pdf, sha256, stored_files, upload

PDF = make_pdf(4096)


def _doc(client, headers, filename="report.pdf", **fields):
    response = upload(client, headers, PDF, filename, visibility={"everyone": True}, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _audit(client, admin_headers, action):
    return client.get(f"/api/admin/audit?action={action}", headers=admin_headers).get_json()["items"]


def test_local_download_streams_the_bytes_with_ranges_and_conditionals(client, admin_headers, user_headers):
    doc = _doc(client, admin_headers, "Q3 “final” résumé.pdf")
    response = client.get(f"/api/documents/{doc['id']}/download", headers=user_headers)
    assert response.status_code == 200
    assert response.data == PDF and sha256(response.data) == doc["sha256"]
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == content_disposition("attachment", doc["download_name"])
    etag = response.headers["ETag"]
    response.close()
    partial = client.get(f"/api/documents/{doc['id']}/download", headers={**user_headers, "Range": "bytes=0-99"})
    assert partial.status_code == 206 and partial.data == PDF[:100]
    partial.close()
    unchanged = client.get(f"/api/documents/{doc['id']}/download", headers={**user_headers, "If-None-Match": etag})
    assert unchanged.status_code == 304
    unchanged.close()
    inline = client.get(f"/api/documents/{doc['id']}/download?disposition=inline", headers=user_headers)
    assert inline.headers["Content-Disposition"].startswith("inline; ")
    inline.close()
    assert client.get(f"/api/documents/{doc['id']}/download?disposition=evil", headers=user_headers).status_code == 422


def test_behind_nginx_the_app_answers_with_x_accel_redirect(client, admin_headers, user_headers, app):
    app.config["X_ACCEL_PREFIX"] = "/_protected/"
    doc = _doc(client, admin_headers)
    response = client.get(f"/api/documents/{doc['id']}/download?disposition=inline", headers=user_headers)
    assert response.status_code == 200 and response.data == b""
    key = response.headers["X-Accel-Redirect"].removeprefix("/_protected/")
    assert key in stored_files(app) and "/" not in key
    assert response.headers["Content-Type"] == "application/pdf"
    assert (
        response.headers["Content-Disposition"]
        == "inline; filename=\"Quarterly report.pdf\"; filename*=UTF-8''Quarterly%20report.pdf"
    )


def test_downloads_are_audited_and_links_redirect(client, admin_headers, user_headers):
    doc = _doc(client, admin_headers)
    link = client.post(
        "/api/admin/documents/link",
        headers=admin_headers,
        json={"title": "Letter", "external_url": "https://example.com/letter", "visibility": {"everyone": True}},
    ).get_json()
    head = client.head(f"/api/documents/{doc['id']}/download", headers=user_headers)
    assert head.status_code == 200  # a HEAD is answered, but it is not a download
    head.close()
    client.get(f"/api/documents/{doc['id']}/download", headers=user_headers).close()
    redirect = client.get(f"/api/documents/{link['id']}/download", headers=user_headers)
    assert redirect.status_code == 302 and redirect.headers["Location"] == "https://example.com/letter"
    events = _audit(client, admin_headers, "document_downloaded")
    assert [(e["document_id"], e["actor"]["username"], e["detail"]["via"]) for e in events] == [
        (link["id"], "client1", "link"),
        (doc["id"], "client1", "local"),
    ]


def test_no_store_can_serve_it_is_503(client, admin_headers, user_headers, app):
    doc = _doc(client, admin_headers)
    for name in stored_files(app):
        os.remove(os.path.join(app.config["UPLOAD_FOLDER"], name))
    response = client.get(f"/api/documents/{doc['id']}/download", headers=user_headers)
    assert response.status_code == 503
    assert response.get_json()["message"] and "Retry-After" in response.headers
    assert _audit(client, admin_headers, "document_downloaded") == []


def test_content_disposition_survives_hostile_names():
    for name in [
        'a"b.pdf',
        "back\\slash.pdf",
        "x\r\nSet-Cookie: a=b.pdf",
        "报告.pdf",
        "semi;colon=.pdf",
        "percent%20.pdf",
        "😀.pdf",
        "",
        None,
    ]:
        header = content_disposition("attachment", name)
        assert "\r" not in header and "\n" not in header
        kind, params = parse_options_header(header)  # a parser that understands filename*
        assert (kind, params["filename"]) == ("attachment", name or "document.pdf")
        fallback = re.fullmatch(r'attachment; filename="([^"\\]*)"; filename\*=UTF-8\'\'(\S+)', header)
        assert fallback and fallback[1].isascii() and fallback[1].endswith(".pdf"), header
        assert unquote(fallback[2]) == (name or "document.pdf")
    assert (
        content_disposition("inline", "报告.pdf")
        == "inline; filename=\"document.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf"
    )


def test_admin_edits_a_document(client, admin_headers, app):
    doc = _doc(client, admin_headers)
    tax = client.post("/api/admin/categories", headers=admin_headers, json={"name": "Tax"}).get_json()
    response = client.patch(
        f"/api/admin/documents/{doc['id']}",
        headers=admin_headers,
        json={
            "title": "Q3 report (final)",
            "description": "Revised",
            "category_id": tax["id"],
            "visibility": {"everyone": False, "group_ids": [], "user_ids": [1]},
        },
    )
    assert response.status_code == 200
    edited = response.get_json()
    assert (edited["title"], edited["description"], edited["category"]) == ("Q3 report (final)", "Revised", tax)
    assert edited["visibility"] == {"everyone": False, "group_ids": [], "user_ids": [1]}
    assert edited["updated_at"] > doc["updated_at"] and edited["sha256"] == doc["sha256"]
    assert (
        client.patch(f"/api/admin/documents/{doc['id']}", headers=admin_headers, json={"category_id": None}).get_json()[
            "category"
        ]
        is None
    )
    for bad in (
        {"category_id": 999},
        {"visibility": {"user_ids": [999]}},
        {"title": ""},
        {"external_url": "https://example.com/"},
        {"kind": "link"},
    ):
        assert client.patch(f"/api/admin/documents/{doc['id']}", headers=admin_headers, json=bad).status_code == 422
    assert client.patch("/api/admin/documents/999", headers=admin_headers, json={}).status_code == 404
    link = client.post(
        "/api/admin/documents/link", headers=admin_headers, json={"title": "L", "external_url": "https://example.com/a"}
    ).get_json()
    moved = client.patch(
        f"/api/admin/documents/{link['id']}", headers=admin_headers, json={"external_url": "http://example.org/b"}
    )
    assert moved.get_json()["external_url"] == "http://example.org/b"
    fields = [sorted(e["detail"]["changes"]) for e in _audit(client, admin_headers, "document_updated")]
    assert ["external_url"] in fields and ["category_id", "description", "title", "visibility"] in fields


def test_admin_deletes_a_document_and_its_file(client, admin_headers, user_headers, app):
    doc = _doc(client, admin_headers)
    client.get(f"/api/documents/{doc['id']}/download", headers=user_headers).close()  # a read row too
    assert len(stored_files(app)) == 1
    assert client.delete(f"/api/admin/documents/{doc['id']}", headers=admin_headers).status_code == 204
    assert stored_files(app) == []
    assert client.get(f"/api/documents/{doc['id']}", headers=user_headers).status_code == 404
    assert client.get(f"/api/admin/documents/{doc['id']}", headers=admin_headers).status_code == 404
    assert client.delete(f"/api/admin/documents/{doc['id']}", headers=admin_headers).status_code == 404
    deleted = _audit(client, admin_headers, "document_deleted")
    assert deleted[0]["document_id"] == doc["id"] and deleted[0]["detail"]["title"] == doc["title"]
    assert client.delete(f"/api/admin/documents/{doc['id']}", headers=user_headers).status_code == 403


def test_deleting_the_uploader_keeps_the_document(client, admin_headers, make_user):
    make_user("second", is_admin=True)
    second = login(client, "second")
    doc = _doc(client, second)
    second_id = doc["uploaded_by"]["id"]
    assert client.delete(f"/api/admin/users/{second_id}", headers=admin_headers).status_code == 204
    assert client.get(f"/api/admin/documents/{doc['id']}", headers=admin_headers).get_json()["uploaded_by"] is None
