"""Finding documents in the browser: full-text search ("q3 2026", "capital call 7", words inside
a PDF, with a snippet), the order by document date or title, "Unread only" and "Mark all as
read"; an admin's new version keeps the document and shows in its Versions dialog; a duplicate
upload asks before it is sent again. At a desktop and a phone width, axe clean."""

import pytest

from support.documents import text_pdf

pytestmark = pytest.mark.browser

PDF_WORDS = "The net asset value per share rose to 104.2 during the period."


@pytest.fixture
def shelf(admin_api, make_user, ui):
    """Three documents for everyone, with document dates out of their upload order."""
    make_user("ann")
    shelf = {}
    for key, title, data, date in [
        ("q3", "Q3-2026 Quarterly Report", ui.make_pdf(label="q3"), "2026-10-15"),
        ("call", "Capital Call Notice No. 7 — Fund I", ui.make_pdf(label="call"), "2026-03-01"),
        ("letter", "Annual letter", text_pdf("Dear investor,", PDF_WORDS), "2025-12-31"),
    ]:
        shelf[key] = {**admin_api.upload(title, data=data, everyone=True, document_date=date), "bytes": data}
    return shelf


def titles(page):
    return page.locator("#doc-rows tr[data-id] .doc-title").evaluate_all(
        "cells => cells.map(c => c.firstChild.textContent.trim())"
    )


def search(page, ui, words):
    page.get_by_label("Search", exact=True).fill(words)
    page.get_by_role("button", name="Search", exact=True).click()
    ui.wait_for_documents(page)


@pytest.mark.parametrize("width", (1280, 375))
def test_a_client_searches_orders_and_marks_all_read(open_page, shelf, ui, width):
    page, _watch = open_page(width=width)
    ui.sign_in(page, "ann")
    ui.wait_for_documents(page)
    # By document date, newest first; the date shown is the document's, not the upload's.
    assert titles(page) == ["Q3-2026 Quarterly Report", "Capital Call Notice No. 7 — Fund I", "Annual letter"]
    first = page.locator(f"#doc-rows tr[data-id='{shelf['q3']['id']}']")
    assert first.locator("time").get_attribute("datetime") == "2026-10-15"
    assert first.locator("time").inner_text() == "15 Oct 2026"

    search(page, ui, "q3 2026")
    assert titles(page) == ["Q3-2026 Quarterly Report"]
    assert page.get_by_label("Sort by").evaluate("s => s.selectedOptions[0].textContent") == "Best match"
    search(page, ui, "capital call 7")
    assert titles(page) == ["Capital Call Notice No. 7 — Fund I"]
    search(page, ui, "asset value per share")  # only inside the PDF
    assert titles(page) == ["Annual letter"]
    snippet = page.locator("#doc-rows .doc-snippet")
    assert "asset value per share" in snippet.inner_text().lower()
    assert snippet.locator("*").count() == 0  # plain text, never markup
    ui.check_accessibility(page)
    ui.screenshot(page, "documents-search-snippet")
    page.get_by_role("button", name="Clear", exact=True).click()
    ui.wait_for_documents(page)

    page.get_by_label("Sort by").select_option(label="Title A–Z")
    ui.wait_for_documents(page)
    assert titles(page) == ["Annual letter", "Capital Call Notice No. 7 — Fund I", "Q3-2026 Quarterly Report"]
    assert "sort=title" in page.url
    page.reload()  # the order lives in the address
    ui.wait_for_documents(page)
    assert titles(page) == ["Annual letter", "Capital Call Notice No. 7 — Fund I", "Q3-2026 Quarterly Report"]
    assert page.get_by_label("Sort by").input_value() == "title"

    # Opening one makes it read; "Unread only" leaves the other two.
    with page.expect_download():
        page.get_by_role("link", name="Download Annual letter").click()
    page.locator(f"#doc-rows tr[data-id='{shelf['letter']['id']}'] .badge--new").wait_for(state="detached")
    page.get_by_label("Unread only").check()
    ui.wait_for_documents(page)
    assert titles(page) == ["Capital Call Notice No. 7 — Fund I", "Q3-2026 Quarterly Report"]
    assert "unread=true" in page.url

    mark_all = page.get_by_role("button", name="Mark all as read")
    assert mark_all.is_enabled()
    mark_all.click()
    page.get_by_text("Nothing unread").wait_for()
    assert titles(page) == []
    page.get_by_label("Unread only").uncheck()
    ui.wait_for_documents(page)
    assert len(titles(page)) == 3 and page.locator("#doc-rows .badge--new").count() == 0
    assert mark_all.is_disabled()
    ui.check_accessibility(page)
    ui.screenshot(page, "documents-ordered")


@pytest.mark.parametrize("width", (1280, 375))
def test_an_admin_adds_a_version_lists_versions_and_confirms_a_duplicate(
    open_page, shelf, admin_api, ui, tmp_path, width
):
    doc = shelf["q3"]
    page, watch = open_page(width=width)
    watch.allow_status(409)
    ui.sign_in(page, "boss", expect_url="**/frontend/admin.html*")
    panel = page.locator("#panel-documents")
    row = panel.locator(f"tr[data-id='{doc['id']}']")
    row.wait_for()
    assert row.locator("time").first.get_attribute("datetime") == "2026-10-15"

    # The admin list orders and filters like the client's.
    panel.get_by_label("Sort by").select_option(label="Title Z–A")
    panel.locator("tr[data-id]").first.locator(".doc-title", has_text="Q3-2026 Quarterly Report").wait_for()
    assert "sort=-title" in page.url

    # A new version: same document, version 2.
    second = tmp_path / "q3-revised.pdf"
    second.write_bytes(ui.make_pdf(label="Q3-2026 revised"))
    row.get_by_role("button", name="New version of Q3-2026 Quarterly Report").click()
    dialog = page.get_by_role("dialog", name="New version of “Q3-2026 Quarterly Report”")
    dialog.get_by_label("PDF file").set_input_files(str(second))
    ui.check_accessibility(page)
    dialog.get_by_role("button", name="Upload new version").click()
    dialog.wait_for(state="detached")
    row.get_by_text("Version 2").wait_for()
    now = admin_api.call("GET", f"/api/admin/documents/{doc['id']}")
    assert now["version"] == 2 and now["title"] == doc["title"] and now["sha256"] == ui.sha256_of(second)

    # The same bytes as another document: asked first, then sent anyway.
    call = tmp_path / "call-copy.pdf"
    call.write_bytes(shelf["call"]["bytes"])
    row.get_by_role("button", name="New version of Q3-2026 Quarterly Report").click()
    dialog.get_by_label("PDF file").set_input_files(str(call))
    dialog.get_by_role("button", name="Upload new version").click()
    dialog.get_by_role("alert").get_by_text(
        f"This file is already document {shelf['call']['id']} (“Capital Call Notice No. 7 — Fund I”). Upload it anyway?"
    ).wait_for()
    dialog.get_by_role("button", name="Upload anyway").click()
    dialog.wait_for(state="detached")
    row.get_by_text("Version 3").wait_for()

    # Versions, newest first, each downloadable as uploaded.
    row.get_by_role("button", name="Versions of Q3-2026 Quarterly Report").click()
    versions = page.get_by_role("dialog", name="Versions of “Q3-2026 Quarterly Report”")
    lines = versions.locator("tbody tr")
    lines.nth(2).wait_for()
    assert lines.count() == 3
    assert lines.first.get_attribute("data-version") == "3" and "Current" in lines.first.inner_text()
    assert "q3-revised.pdf" in lines.nth(1).inner_text()
    ui.check_accessibility(page)
    ui.screenshot(page, "admin-versions")
    with page.expect_download() as download:
        versions.get_by_role("link", name="Download version 1").click()
    assert ui.sha256_of(download.value.path()) == doc["sha256"]
    versions.get_by_role("button", name="Close").click()

    # The edit dialog: document date and download name (empty: the title's).
    row.get_by_role("button", name="Edit Q3-2026 Quarterly Report").click()
    edit = page.get_by_role("dialog", name="Edit “Q3-2026 Quarterly Report”")
    name = edit.get_by_label("Download name (optional)")
    assert name.input_value() == "" and name.get_attribute("placeholder") == "Q3-2026 Quarterly Report.pdf"
    edit.get_by_label("Document date").fill("2026-09-30")
    name.fill("SequoAlpha Q3 2026")
    edit.get_by_role("button", name="Save changes").click()
    edit.wait_for(state="detached")
    row.locator("time[datetime='2026-09-30']").wait_for()
    saved = admin_api.call("GET", f"/api/admin/documents/{doc['id']}")
    assert saved["document_date"] == "2026-09-30" and saved["download_name"] == "SequoAlpha Q3 2026.pdf"
    ui.check_accessibility(page)


def test_the_upload_form_sends_a_duplicate_only_when_told(open_page, shelf, admin_api, ui, tmp_path):
    copy = tmp_path / "Q3_copy.pdf"
    copy.write_bytes(shelf["q3"]["bytes"])
    page, watch = open_page()
    watch.allow_status(409)
    ui.sign_in(page, "boss", expect_url="**/frontend/admin.html*")
    page.get_by_label("Choose PDF files to upload").set_input_files(str(copy))
    page.get_by_role("button", name="Upload", exact=True).click()
    item = page.locator(".upload-item")
    item.get_by_text(
        f"This file is already document {shelf['q3']['id']} (“Q3-2026 Quarterly Report”). Upload it anyway?"
    ).wait_for()
    assert item.locator("progress").is_hidden()
    ui.check_accessibility(page)
    item.get_by_role("button", name="Upload anyway").click()
    item.get_by_text("Uploaded as “Q3 copy”.").wait_for()
    listed = admin_api.call("GET", "/api/admin/documents", query_string={"q": "copy"})["items"]
    assert [d["sha256"] for d in listed] == [shelf["q3"]["sha256"]]
