"""Who read what, in Chromium: an admin opens a document's readers, sees who has not opened it,
reminds them (the e-mails reach a real SMTP server once the outbox is sent), and looks, from the
Users tab, at what one client can see and has not opened."""

import pytest

from support.api import login
from support.smtp import SmtpServer


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def app_config(app_config, smtp, tmp_path):
    """The app under test sends its mail to the SMTP server above."""
    return {**app_config, **smtp.settings(), "MAIL_DIR": str(tmp_path / "mail")}


def download_as(app, username, document_id, expect=200):
    client = app.test_client()
    response = client.get(f"/api/documents/{document_id}/download", headers=login(client, username))
    response.close()  # the file it streams
    assert response.status_code == expect


def test_admin_reminds_those_who_have_not_opened_a_document(open_page, admin_api, make_user, app, smtp, ui):
    ids = [make_user(name, groups=["Fund I"]) for name in ("ann", "bob", "carol")]
    make_user("dave")  # not in the group: not in the audience
    fund = admin_api.call("GET", "/api/admin/groups")["items"][0]
    doc = admin_api.upload("Capital call notice March 2026", group_ids=[fund["id"]])
    download_as(app, "ann", doc["id"])
    assert len(ids) == 3

    page, _watch = open_page()
    ui.sign_in(page, "boss", expect_url="**/frontend/admin.html*")
    row = page.locator(f"#panel-documents tr[data-id='{doc['id']}']")
    row.get_by_text("1 of 3 opened").wait_for()

    row.get_by_role("button", name=f"Readers of {doc['title']}").click()
    dialog = page.get_by_role("dialog", name=f"Readers of “{doc['title']}”")
    dialog.get_by_text("3 readers.").wait_for()
    dialog.get_by_label("Show").select_option(label="Not opened")
    dialog.get_by_text("2 readers.").wait_for()
    names = dialog.locator("tbody tr td:first-child").evaluate_all("cells => cells.map(c => c.firstChild.textContent)")
    assert names == ["bob", "carol"]
    assert dialog.locator(".badge--warn", has_text="Not opened").count() == 2
    ui.check_accessibility(page)

    dialog.get_by_role("button", name="Remind those who haven’t").click()
    confirm = page.get_by_role("dialog", name="Send reminders?")
    confirm.get_by_role("button", name="Send reminders").click()
    page.get_by_text("2 reminders queued.").wait_for()
    assert page.get_by_role("dialog").count() == 0

    # The outbox is sent the way the mail worker does it, one pass, to the real SMTP server.
    result = app.test_cli_runner().invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0, result.output
    assert "sent 2" in result.output
    received = {
        tuple(rcpts): message
        for (_sender, rcpts), message in zip(smtp.handler.envelopes, smtp.handler.messages, strict=True)
    }
    assert sorted(received) == [("bob@example.com",), ("carol@example.com",)]
    for message in received.values():
        assert doc["title"] in message["Subject"]
        assert "/frontend/documents.html" in message.get_body(("plain",)).get_content()

    # A second reminder the same day reaches nobody, and says so.
    row.get_by_role("button", name=f"Readers of {doc['title']}").click()
    dialog.get_by_role("button", name="Remind those who haven’t").click()
    page.get_by_role("dialog", name="Send reminders?").get_by_role("button", name="Send reminders").click()
    page.get_by_text("Nobody to remind").wait_for()

    # The audit trail says what happened, with the plural right.
    page.get_by_role("tab", name="Audit log").click()
    audit = page.locator("#panel-audit")
    reminded = audit.locator("tbody tr", has_text="Readers reminded")
    reminded.first.wait_for()
    assert [t.strip() for t in reminded.locator("td[data-label='Details']").all_inner_texts()] == [
        "nobody to remind",
        "2 reminders sent",
    ]
    assert reminded.first.locator("td[data-label='Document']").inner_text().strip() == doc["title"]


def test_users_tab_shows_what_a_client_can_see_and_has_not_opened(open_page, admin_api, make_user, app, ui):
    ann = make_user("ann", groups=["Fund I"])
    make_user("bob")
    admin_api.call("PATCH", f"/api/admin/users/{ann}", json={"full_name": "Ann Investor"})
    fund = admin_api.call("GET", "/api/admin/groups")["items"][0]
    links = [
        admin_api.call(
            "POST",
            "/api/admin/documents/link",
            json={
                "title": f"Market note {n:02d}",
                "external_url": f"https://research.example/notes/{n}",
                "visibility": {"everyone": True},
            },
        )
        for n in range(1, 23)
    ]
    report = admin_api.upload("Fund I report Q1 2026", group_ids=[fund["id"]])
    admin_api.upload("Bob tax statement 2025", user_ids=[])  # admins only: nobody's
    download_as(app, "ann", report["id"])
    download_as(app, "ann", links[0]["id"], expect=302)  # a link redirects; it counts as opened

    page, _watch = open_page()
    ui.sign_in(page, "boss", expect_url="**/frontend/admin.html*")
    page.get_by_role("tab", name="Users").click()
    users = page.locator("#panel-users")
    users.locator("tr[data-username='ann']").wait_for()
    assert users.locator("tr[data-username='boss']").get_by_role("button", name="Documents of boss").count() == 0

    users.get_by_role("button", name="Documents of ann").click()
    dialog = page.get_by_role("dialog", name="Documents of Ann Investor")
    dialog.get_by_text("23 documents they can see.").wait_for()
    pager = dialog.get_by_role("navigation", name="Pages of Ann Investor’s documents")
    assert pager.get_by_text("Page 1 of 2").is_visible()
    assert dialog.locator("tbody tr[data-id]").count() == 20
    assert dialog.get_by_text("Bob tax statement 2025").count() == 0
    ui.check_accessibility(page)

    dialog.get_by_label("Show").select_option(label="Opened")
    dialog.get_by_text("2 documents they have opened.").wait_for()
    titles = dialog.locator("tbody tr[data-id] .doc-title").all_inner_texts()
    assert sorted(titles) == ["Fund I report Q1 2026", "Market note 01"]
    assert dialog.locator("tbody time").count() == 2
    assert pager.is_hidden()

    dialog.get_by_label("Show").select_option(label="Not opened")
    dialog.get_by_text("21 documents they have not opened.").wait_for()
    pager.get_by_role("button", name="Next page").click()
    pager.get_by_text("Page 2 of 2").wait_for()
    assert dialog.locator("tbody tr[data-id]").count() == 1
    assert dialog.locator("tbody .badge--warn", has_text="Not opened").count() == 1

    dialog.get_by_role("button", name="Close").click()
    dialog.wait_for(state="detached")
