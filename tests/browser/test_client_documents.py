"""A client in the document center: sees exactly their documents, searches, filters, downloads
(the bytes are the uploaded bytes), signs out, and the document URLs then answer 401."""

import hashlib

import pytest


@pytest.fixture
def library(admin_api, make_user, ui):
    """Two clients, a group, two categories and documents shared in every possible way."""
    ann = make_user("ann", groups=["Fund I"])
    bob = make_user("bob")
    fund_i = admin_api.call("GET", "/api/admin/groups")["items"][0]
    assert fund_i["name"] == "Fund I"
    reports = admin_api.category("Quarterly reports")
    tax = admin_api.category("Tax documents")
    docs = {}
    for title, kw in [
        ("Letter to all investors Q1 2026", {"everyone": True, "category_id": reports["id"]}),
        ("Fund I quarterly report Q1 2026", {"group_ids": [fund_i["id"]], "category_id": reports["id"]}),
        ("Ann tax statement 2025", {"user_ids": [ann], "category_id": tax["id"], "description": "Form 1099 for 2025"}),
        ("Bob tax statement 2025", {"user_ids": [bob], "category_id": tax["id"]}),
        ("Internal board memo", {}),
    ]:
        pdf = ui.make_pdf(label=title)
        docs[title] = {**admin_api.upload(title, data=pdf, **kw), "bytes": pdf}
    return docs


def listed_titles(page):
    return page.locator("#doc-rows tr[data-id] .doc-title").evaluate_all(
        "cells => cells.map(c => c.firstChild.textContent.trim())"
    )


def test_client_sees_searches_filters_downloads_and_signs_out(open_page, library, ui):
    page, _watch = open_page()
    ui.sign_in(page, "ann")
    ui.wait_for_documents(page)

    # Exactly Ann's documents (everyone + her group + her own), newest first.
    assert listed_titles(page) == [
        "Ann tax statement 2025",
        "Fund I quarterly report Q1 2026",
        "Letter to all investors Q1 2026",
    ]
    assert page.locator("#doc-rows .badge--new").count() == 3
    assert "Showing 1–3 of 3 documents" in page.locator("#result-status").inner_text()

    # Search (title or description).
    page.get_by_label("Search", exact=True).fill("1099")
    page.get_by_role("button", name="Search", exact=True).click()
    ui.wait_for_documents(page)
    assert listed_titles(page) == ["Ann tax statement 2025"]
    page.get_by_label("Search", exact=True).fill("board memo")  # not hers: nothing
    page.get_by_role("button", name="Search", exact=True).click()
    ui.wait_for_documents(page)
    assert listed_titles(page) == []
    assert page.get_by_text("No documents match your search").is_visible()
    page.get_by_role("button", name="Clear search").click()
    ui.wait_for_documents(page)
    assert len(listed_titles(page)) == 3

    # Filter by category.
    page.get_by_label("Category").select_option(label="Quarterly reports")
    ui.wait_for_documents(page)
    assert listed_titles(page) == ["Fund I quarterly report Q1 2026", "Letter to all investors Q1 2026"]
    page.get_by_label("Category").select_option(label="All categories")
    ui.wait_for_documents(page)

    # Download: the bytes are exactly the uploaded bytes; the "new" badge goes away.
    doc = library["Ann tax statement 2025"]
    with page.expect_download() as download:
        page.get_by_role("link", name="Download Ann tax statement 2025").click()
    assert download.value.suggested_filename == doc["download_name"]
    assert ui.sha256_of(download.value.path()) == doc["sha256"]
    assert doc["sha256"] == hashlib.sha256(doc["bytes"]).hexdigest()
    row = page.locator(f"#doc-rows tr[data-id='{doc['id']}']")
    row.locator(".badge--new").wait_for(state="detached")

    # "View" opens the browser's own PDF viewer in a new tab (inline disposition).
    with page.context.expect_page() as new_tab:
        page.get_by_role("link", name="View Letter to all investors Q1 2026").click()
    tab = new_tab.value
    tab.wait_for_url(f"**/api/documents/{library['Letter to all investors Q1 2026']['id']}/download?disposition=inline")
    tab.close()

    # Sign out: back to sign-in; the same session can no longer reach any document.
    cookies = page.context.cookies()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/frontend/signin.html?signedout=1")
    assert "signed out" in page.locator("#notice").inner_text()
    for url in (f"/api/documents/{doc['id']}/download", "/api/documents", f"/api/documents/{doc['id']}"):
        assert page.request.get(url).status == 401, url
    page.context.add_cookies(cookies)  # even the old cookies, replayed, are dead
    for url in (f"/api/documents/{doc['id']}/download", "/api/documents"):
        assert page.request.get(url).status == 401, url


def test_another_clients_document_is_a_404_even_by_its_url(open_page, library, ui):
    page, _watch = open_page()
    ui.sign_in(page, "bob")
    ui.wait_for_documents(page)
    assert listed_titles(page) == ["Bob tax statement 2025", "Letter to all investors Q1 2026"]
    ann_doc = library["Ann tax statement 2025"]
    assert page.request.get(f"/api/documents/{ann_doc['id']}/download").status == 404
    assert page.request.get(f"/api/documents/{library['Internal board memo']['id']}").status == 404


def test_pages_of_twenty_with_previous_and_next(open_page, admin_api, make_user, ui):
    make_user("zoe")
    for n in range(1, 24):
        admin_api.call(
            "POST",
            "/api/admin/documents/link",
            json={
                "title": f"Market note {n:02d}",
                "external_url": f"https://research.example/notes/{n}",
                "visibility": {"everyone": True},
            },
        )
    page, _watch = open_page(width=375)
    ui.sign_in(page, "zoe")
    ui.wait_for_documents(page)
    status = page.locator("#result-status")
    assert "Showing 1–20 of 23 documents" in status.inner_text()
    assert page.locator("#doc-rows tr[data-id]").count() == 20
    assert page.get_by_text("Page 1 of 2").is_visible()
    page.get_by_role("button", name="Next page").click()
    page.get_by_text("Page 2 of 2").wait_for()
    ui.wait_for_documents(page)
    assert "Showing 21–23 of 23 documents" in status.inner_text()
    assert listed_titles(page) == ["Market note 03", "Market note 02", "Market note 01"]
    assert page.get_by_role("button", name="Next page").is_disabled()
    page.reload()  # the page number lives in the address
    page.get_by_text("Page 2 of 2").wait_for()
    page.get_by_role("button", name="Previous page").click()
    page.get_by_text("Page 1 of 2").wait_for()
