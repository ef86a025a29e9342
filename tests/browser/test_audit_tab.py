"""The Audit log tab in Chromium: last week's events exported as CSV (the same rows as the list),
the filters kept in the address, deleted documents named by their last title, and with 5,000
documents the first rows show at once and a document is found by typing part of its title."""

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import insert

from sequoalpha.documents import search
from sequoalpha.extensions import db
from sequoalpha.models import AuditEvent, Document


def add_events(app, rows):
    with app.app_context():
        db.session.execute(insert(AuditEvent), rows)
        db.session.commit()


def open_audit_tab(page, ui):
    ui.sign_in(page, "boss", expect_url="**/frontend/admin.html*")
    page.locator("#panel-documents tbody tr").first.wait_for()
    page.get_by_role("tab", name="Audit log").click()
    return page.locator("#panel-audit")


def test_export_last_weeks_audit_log_as_csv(open_page, admin_api, make_user, app, ui):
    ann = make_user("ann")
    now = datetime.now(UTC)
    add_events(
        app,
        [
            {"at": now - timedelta(days=30), "action": "login", "actor_id": ann, "ip": "192.0.2.1", "detail": {}},
            {"at": now - timedelta(days=3), "action": "login", "actor_id": ann, "ip": "192.0.2.2", "detail": {}},
        ],
    )
    admin_api.call(
        "PATCH", f"/api/admin/users/{ann}", json={"full_name": "Ann Investor", "email": "ann@investor.example"}
    )
    gone = admin_api.upload("Side letter draft")
    deleted = admin_api.client.delete(f"/api/admin/documents/{gone['id']}", headers=admin_api.headers)
    assert deleted.status_code == 204

    page, _watch = open_page()
    audit = open_audit_tab(page, ui)
    audit.locator("tbody tr[data-id]").first.wait_for()

    # A deleted document reads by its last title, marked deleted; actions read as words.
    deleted = audit.locator("tbody tr", has_text="Document deleted")
    assert deleted.locator("td[data-label='Document'] .doc-title").inner_text() == "Side letter draft"
    assert deleted.locator("td[data-label='Document'] .badge").inner_text() == "Deleted"
    audit.locator("tbody tr", has_text="User updated").get_by_text(
        "concerning ann · changed email, full name"
    ).wait_for()

    # Last week, by its dates.
    today = now.date()
    week_ago = today - timedelta(days=7)
    audit.get_by_label("From (UTC date)").fill(week_ago.isoformat())
    audit.get_by_label("To (UTC date, included)").fill(today.isoformat())
    audit.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"**from={week_ago}**")
    assert f"to={today}" in page.url

    export = audit.get_by_role("link", name="Export CSV")
    href = export.get_attribute("href")
    assert parse_qs(urlsplit(href).query) == {"from": [week_ago.isoformat()], "to": [today.isoformat()]}
    listed = page.request.get(f"/api/admin/audit?from={week_ago}&to={today}&per_page=100").json()
    shown = audit.locator("tbody tr[data-id]").evaluate_all("rows => rows.map(r => Number(r.dataset.id))")
    assert shown == [e["id"] for e in listed["items"]]

    # The link downloads with the browser's own cookie (a GET: no CSRF header needed).
    response = page.request.get(href)
    assert response.status == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text())))
    assert [int(r["id"]) for r in rows] == [e["id"] for e in listed["items"]]
    logins = [(r["actor"], r["ip"]) for r in rows if r["action"] == "login"]
    assert ("ann", "192.0.2.2") in logins and ("ann", "192.0.2.1") not in logins
    with page.expect_download() as download:
        export.click()
    assert download.value.suggested_filename.startswith("audit-") and download.value.suggested_filename.endswith(".csv")
    with open(download.value.path(), encoding="utf-8") as fh:
        assert [int(r["id"]) for r in csv.DictReader(fh)] == [int(r["id"]) for r in rows]

    # The concerned user narrows it down; one event reads "1 event".
    audit.get_by_label("Concerning user").select_option(label="ann")
    audit.get_by_role("button", name="Apply").click()
    audit.get_by_text("1 event matches.").wait_for()
    assert f"target_user_id={ann}" in export.get_attribute("href")

    # A reload opens the same filtered list.
    page.reload()
    audit.get_by_text("1 event matches.").wait_for()
    assert audit.get_by_label("From (UTC date)").input_value() == week_ago.isoformat()
    assert audit.get_by_label("Concerning user").evaluate("s => s.selectedOptions[0].textContent") == "ann"
    ui.check_accessibility(page, "#panel-audit")


def test_five_thousand_documents_rows_at_once_and_a_document_found_by_typing(open_page, admin_api, make_user, app, ui):
    ann = make_user("ann")
    now = datetime.now(UTC)
    with app.app_context():
        db.session.execute(
            insert(Document),
            [
                {
                    "kind": "link",
                    "title": f"Capital call notice {n:04d}",
                    "search_text": search.normalise(f"Capital call notice {n:04d}"),  # a bulk insert skips the ORM's
                    "description": "",
                    "external_url": f"https://fund.example/calls/{n}",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(5000)
            ],
        )
        target = db.session.scalar(db.select(Document.id).where(Document.title == "Capital call notice 4321"))
        db.session.commit()
    add_events(
        app,
        [
            {
                "at": now,
                "action": "document_downloaded",
                "actor_id": ann,
                "document_id": target,
                "ip": "192.0.2.9",
                "detail": {"via": "link"},
            }
        ],
    )

    page, watch = open_page()
    ui.sign_in(page, "boss", expect_url="**/frontend/admin.html*")
    page.locator("#panel-documents tbody tr[data-id]").first.wait_for()
    first_row = page.locator("#panel-audit tbody tr[data-id]").first
    started = time.monotonic()
    page.get_by_role("tab", name="Audit log").click()
    first_row.wait_for(state="visible")
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"the first audit row took {elapsed:.2f} s"
    # Nothing went through the documents to get there.
    assert not [r for r in watch.responses if "/api/admin/documents?" in r and "per_page=25" not in r], watch.responses

    # Search as you type: a few matches from the server, picked with the keyboard.
    picker = page.get_by_role("combobox", name="Document")
    assert picker.get_attribute("aria-expanded") == "false"
    picker.press_sequentially("notice 432")
    listbox = page.get_by_role("listbox")
    listbox.get_by_role("option", name="Capital call notice 4321").wait_for()
    assert picker.get_attribute("aria-expanded") == "true"
    assert picker.get_attribute("aria-controls") == listbox.get_attribute("id")
    assert listbox.get_by_role("option").count() == 10  # per_page=10: 4320…4329, never all of them
    assert [r for r in watch.responses if "/api/admin/documents?q=notice+432&per_page=10" in r]
    ui.check_accessibility(page, "#panel-audit")
    picker.press("Escape")
    assert picker.get_attribute("aria-expanded") == "false"
    picker.press("ArrowDown")
    listbox.get_by_role("option").first.wait_for()
    picker.press("End")  # the text cursor; the list stays as it is
    picker.press_sequentially("1")
    listbox.get_by_role("option", name="Capital call notice 4321").wait_for()
    listbox.get_by_role("option", name="Capital call notice 4320").wait_for(state="detached")
    assert listbox.get_by_role("option").count() == 1
    picker.press("ArrowDown")
    active = picker.get_attribute("aria-activedescendant")
    assert page.locator(f"#{active}").inner_text() == "Capital call notice 4321"
    assert page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    picker.press("Enter")
    assert picker.input_value() == "Capital call notice 4321"
    assert picker.get_attribute("aria-expanded") == "false"

    page.get_by_role("button", name="Apply").click()
    audit = page.locator("#panel-audit")
    audit.get_by_text("1 event matches.").wait_for()
    assert f"document_id={target}" in page.url
    row = audit.locator("tbody tr[data-id]")
    assert row.locator("td[data-label='Document']").inner_text() == "Capital call notice 4321"
    assert row.locator("td[data-label='Details']").inner_text() == "link opened"

    # From the address, the chosen document is named by its events.
    page.reload()
    audit.get_by_text("1 event matches.").wait_for()
    assert picker.input_value() == "Capital call notice 4321"

    # Text that is not a choice is not silently ignored.
    picker.fill("no such thing")
    page.get_by_role("button", name="Apply").click()
    audit.get_by_text("Pick a document from the suggestions, or empty the field.").wait_for()
    assert picker.get_attribute("aria-invalid") == "true"
