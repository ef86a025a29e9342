"""An admin uploads two PDFs in one go (a progress bar per file reaching 100%), restricts one
to a group, and the group's member sees it while a non-member does not."""

import base64
import hashlib


def test_upload_two_pdfs_restrict_one_to_a_group(open_page, admin_api, make_user, ui, tmp_path):
    carol = make_user("carol")
    make_user("dave")
    admin_api.group("Fund II investors", user_ids=[carol])
    admin_api.category("Quarterly reports")
    files = []
    for name in ("Fund_II_Q2_2026_report.pdf", "Market_outlook_2026.pdf"):
        path = tmp_path / name
        path.write_bytes(ui.make_pdf(label=name, size=200_000))  # big enough for several progress events
        files.append(path)

    page, _watch = open_page()
    ui.sign_in(page, "boss", expect_url="**/frontend/admin.html*")
    page.get_by_role("link", name="Admin console", exact=True).click()
    page.wait_for_url("**/frontend/admin.html*")
    assert page.get_by_role("tab", name="Documents").get_attribute("aria-selected") == "true"

    # Record every value each progress bar takes, to see real upload progress events.
    page.evaluate("""() => {
        window.__progress = {};
        new MutationObserver((records) => {
          for (const r of records) {
            if (r.target.tagName === 'PROGRESS') {
              const key = r.target.getAttribute('aria-label');
              (window.__progress[key] ||= []).push(r.target.value);
            }
          }
        }).observe(document.body, {subtree: true, attributes: true, attributeFilter: ['value']});
    }""")

    page.get_by_label("Choose PDF files to upload").set_input_files([str(p) for p in files])
    items = page.locator(".upload-item")
    assert items.count() == 2
    assert items.nth(0).get_by_label("Title").input_value() == "Fund II Q2 2026 report"
    page.get_by_label("Category").first.select_option(label="Quarterly reports")
    page.locator(".upload-settings").get_by_label("All clients").check()
    page.get_by_role("button", name="Upload 2 files").click()

    page.get_by_text("2 files uploaded.").wait_for()
    for i in range(2):
        item = items.nth(i)
        assert item.locator("progress").evaluate("p => p.value") == 100
        assert "Uploaded as" in item.locator(".upload-result").inner_text()
    assert page.locator(".badge--warn").count() == 0  # S3 is off here: no "waiting for S3" mark

    # Restrict the report to the group.
    table = page.locator("#panel-documents table")
    table.locator(".doc-title", has_text="Fund II Q2 2026 report").wait_for()
    page.get_by_role("button", name="Edit Fund II Q2 2026 report").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Selected groups and clients").check()
    dialog.get_by_label("Fund II investors").check()
    dialog.get_by_role("button", name="Save changes").click()
    dialog.wait_for(state="detached")
    report_row = table.locator("tr", has_text="Fund II Q2 2026 report")
    report_row.get_by_text("Group: Fund II investors").wait_for()
    assert "All clients" in table.locator("tr", has_text="Market outlook 2026").inner_text()

    # The member sees both documents; the non-member only the one shared with everyone.
    for username, expected in (
        ("carol", ["Market outlook 2026", "Fund II Q2 2026 report"]),
        ("dave", ["Market outlook 2026"]),
    ):
        client_page, _ = open_page()
        ui.sign_in(client_page, username)
        ui.wait_for_documents(client_page)
        titles = client_page.locator("#doc-rows tr[data-id] .doc-title").evaluate_all(
            "cells => cells.map(c => c.firstChild.textContent.trim())"
        )
        assert sorted(titles) == sorted(expected), username
        assert client_page.get_by_role("link", name="Admin console").count() == 0

    progress = page.evaluate("window.__progress")
    assert len(progress) == 2 and all(values[-1] == 100 for values in progress.values()), progress


def test_drag_and_drop_onto_the_drop_zone(open_page, admin_api, ui):
    pdf = ui.make_pdf(label="dropped")
    page, _watch = open_page()
    ui.sign_in(page, "boss", expect_url="**/frontend/admin.html*")
    page.goto("/frontend/admin.html")
    zone = page.locator(".dropzone")
    zone.wait_for()
    transfer = page.evaluate_handle(
        """([b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, {type: 'application/pdf'}));
            dt.items.add(new File(['not a pdf'], 'notes.txt', {type: 'text/plain'}));
            return dt;
        }""",
        [base64.b64encode(pdf).decode(), "Dropped_letter.pdf"],
    )
    zone.dispatch_event("dragenter", {"dataTransfer": transfer})
    assert "is-dragover" in zone.get_attribute("class")
    zone.dispatch_event("drop", {"dataTransfer": transfer})
    items = page.locator(".upload-item")
    assert items.count() == 2
    assert "Not a PDF" in items.nth(1).inner_text()  # refused before any upload
    page.get_by_role("button", name="Upload", exact=True).click()
    page.get_by_text("1 file uploaded.").wait_for()
    assert items.nth(0).locator("progress").evaluate("p => p.value") == 100
    docs = admin_api.call("GET", "/api/admin/documents")["items"]
    assert [(d["title"], d["filename"], d["sha256"]) for d in docs] == [
        ("Dropped letter", "Dropped_letter.pdf", hashlib.sha256(pdf).hexdigest())
    ]
