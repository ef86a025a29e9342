"""A client's download of a watermarked document, in Chromium: every page of the PDF carries
their name and e-mail as text a PDF reader extracts, while the admin's original is unchanged."""

import io
import json

from pypdf import PdfReader

from support.documents import sha256


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_a_clients_download_carries_their_name_on_every_page(open_page, admin_api, make_user, ui):
    ann = make_user("ann", email="ann@investor.example")
    admin_api.call("PATCH", f"/api/admin/users/{ann}", json={"full_name": "Ann Investor"})
    original = ui.make_pdf(pages=3, label="Side letter")
    doc = admin_api.call(
        "POST",
        "/api/admin/documents/upload",
        content_type="multipart/form-data",
        data={
            "file": (io.BytesIO(original), "side-letter.pdf", "application/pdf"),
            "title": "Side letter",
            "visibility": json.dumps({"everyone": False, "group_ids": [], "user_ids": [ann]}),
            "watermark": "true",
        },
    )
    assert doc["watermark"] is True

    page, _watch = open_page()
    ui.sign_in(page, "ann")
    ui.wait_for_documents(page)

    # Through the page's own link, and through its cookies: the same marks.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download Side letter").click()
    with open(download.value.path(), "rb") as fh:
        clicked = fh.read()
    fetched = page.request.get(f"/api/documents/{doc['id']}/download")
    assert fetched.status == 200 and fetched.headers["content-type"] == "application/pdf"
    for data in (clicked, fetched.body()):
        texts = page_texts(data)
        assert len(texts) == 3
        for number, text in enumerate(texts, 1):
            assert "Ann Investor" in text and "ann@investor.example" in text, (number, text)
        assert sha256(data) != doc["sha256"]

    # The stored original is unchanged: an admin can still have it, mark-free.
    admin_page, _ = open_page()
    ui.sign_in(admin_page, "boss", expect_url="**/frontend/admin.html*")
    untouched = admin_page.request.get(f"/api/documents/{doc['id']}/download?original=true")
    assert untouched.status == 200 and sha256(untouched.body()) == sha256(original) == doc["sha256"]
    assert all("Ann Investor" not in text for text in page_texts(untouched.body()))
