"""Watermarked downloads: every page of the PDF a client gets names them (extractable text),
the app streams it (never a presigned URL or the original), the original stays unchanged and
admins can still download it; links cannot be watermarked."""

import io
import re

from pypdf import PdfReader

from support.api import login
from support.documents import make_pdf, sha256, upload


def _marked_doc(client, admin_headers, pages=3):
    original = make_pdf(pages=pages, label="marked")
    response = upload(client, admin_headers, original, watermark="true", visibility={"everyone": True})
    assert response.status_code == 201, response.get_json()
    doc = response.get_json()
    assert doc["watermark"] is True
    return doc, original


def _pages_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_every_page_names_the_downloader(client, admin_headers, make_user):
    doc, original = _marked_doc(client, admin_headers)
    make_user("ann", email="ann@example.com")
    client.patch(f"/api/admin/users/{2}", headers=admin_headers, json={"full_name": "Ann Zoë Łukasz"})
    response = client.get(f"/api/documents/{doc['id']}/download", headers=login(client, "ann"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "X-Accel-Redirect" not in response.headers and "no-store" in response.headers["Cache-Control"]
    data = response.get_data()
    response.close()
    assert data != original and data.startswith(original)  # an incremental update of the original
    texts = _pages_text(data)
    assert len(texts) == 3
    for text in texts:
        assert text.count("Ann Zoë Łukasz · ann@example.com") == 2  # diagonal and footer
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", text)
    # The stored original is unchanged, and an admin can have it.
    plain = client.get(f"/api/documents/{doc['id']}/download?original=true", headers=admin_headers)
    assert sha256(plain.get_data()) == doc["sha256"]
    plain.close()
    assert (
        client.get(f"/api/documents/{doc['id']}/download?original=true", headers=login(client, "ann")).status_code
        == 403
    )
    events = client.get("/api/admin/audit?action=document_downloaded", headers=admin_headers).get_json()["items"]
    assert [e["detail"] for e in events] == [{"via": "local"}, {"via": "local", "watermarked": True}]


def test_username_when_no_full_name(client, admin_headers, user_headers):
    doc, _ = _marked_doc(client, admin_headers, pages=1)
    response = client.get(f"/api/documents/{doc['id']}/download", headers=user_headers)
    assert "client1 · client1@example.com" in _pages_text(response.get_data())[0]
    response.close()


def test_links_cannot_be_watermarked(client, admin_headers):
    link = {"title": "Deck", "external_url": "https://example.com/d"}
    response = client.post("/api/admin/documents/link", headers=admin_headers, json={**link, "watermark": True})
    assert response.status_code == 422 and "watermark" in response.get_json()["errors"]["json"]
    made = client.post("/api/admin/documents/link", headers=admin_headers, json=link).get_json()
    response = client.patch(f"/api/admin/documents/{made['id']}", headers=admin_headers, json={"watermark": True})
    assert response.status_code == 422
    assert (
        client.patch(f"/api/admin/documents/{made['id']}", headers=admin_headers, json={"watermark": False}).status_code
        == 200
    )


def test_s3_never_presigns_a_watermarked_document(s3, client, admin_headers, user_headers, app):
    app.config["S3_KEEP_LOCAL_COPY"] = False
    doc, _original = _marked_doc(client, admin_headers, pages=2)
    doc = client.get(f"/api/admin/documents/{doc['id']}", headers=admin_headers).get_json()
    assert doc["storage"] == {"s3": True, "local": False}  # only S3 holds it
    response = client.get(f"/api/documents/{doc['id']}/download", headers=user_headers)
    assert response.status_code == 200 and "Location" not in response.headers
    texts = _pages_text(response.get_data())
    response.close()
    assert len(texts) == 2 and all("client1@example.com" in t for t in texts)
    head = client.head(f"/api/documents/{doc['id']}/download", headers=user_headers)
    assert head.status_code == 200 and "Location" not in head.headers
    # Unmarked, the same document is presigned again.
    client.patch(f"/api/admin/documents/{doc['id']}", headers=admin_headers, json={"watermark": False})
    assert client.get(f"/api/documents/{doc['id']}/download", headers=user_headers).status_code == 302
