"""Every page at a phone width (375 px) and a desktop width (1280 px): no console errors, no
CSP violations, no request to another origin (checked by the open_page fixture), an axe-core
accessibility check (labels, roles, names, contrast…), no horizontal scrolling, and a
screenshot in test-artifacts/screenshots/ for a person to look at."""

import pytest

WIDTHS = (375, 1280)


@pytest.fixture
def portal(admin_api, make_user, ui):
    ann = make_user("ann", groups=["Fund I"])
    groups = admin_api.call("GET", "/api/admin/groups")["items"]
    reports = admin_api.category("Quarterly reports")
    admin_api.category("Tax documents")
    admin_api.upload(
        "Quarterly report Q1 2026",
        everyone=True,
        category_id=reports["id"],
        description="Performance, holdings and the partners' letter for the first quarter.",
    )
    admin_api.upload("Tax statement 2025", user_ids=[ann], description="Form 1099 for the 2025 tax year.")
    admin_api.upload("Fund I capital call notice", group_ids=[groups[0]["id"]])
    admin_api.call(
        "POST",
        "/api/admin/documents/link",
        json={
            "title": "Regulatory filing (Form ADV)",
            "external_url": "https://adviserinfo.example/sequoalpha",
            "visibility": {"everyone": True},
        },
    )
    return ann


def no_horizontal_scroll(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


@pytest.mark.parametrize("width", WIDTHS)
def test_public_pages(open_page, ui, width):
    page, _watch = open_page(width=width)
    page.goto("/")
    assert page.title().startswith("SequoAlpha Management")
    assert page.locator("link[rel=icon]").get_attribute("href") == "/images/favicon.svg"
    assert page.get_by_role("link", name="Client sign-in").first.is_visible()
    for section in ("Who we are", "What we do", "Contact"):
        assert page.get_by_role("heading", name=section).is_visible()
    no_horizontal_scroll(page)
    ui.check_accessibility(page)
    ui.screenshot(page, "home")

    page.get_by_role("link", name="Client sign-in").first.click()
    page.wait_for_url("**/frontend/signin.html")
    page.goto("/frontend/signin.html?expired=1")  # with its notice showing
    page.locator("#notice").wait_for()
    no_horizontal_scroll(page)
    ui.check_accessibility(page)
    ui.screenshot(page, "signin")


@pytest.mark.parametrize("width", WIDTHS)
def test_document_center(open_page, portal, ui, width):
    page, watch = open_page(width=width)
    ui.sign_in(page, "ann")
    ui.wait_for_documents(page)
    assert page.locator("#doc-rows tr[data-id]").count() == 4
    assert page.get_by_role("link", name="Admin console").count() == 0
    no_horizontal_scroll(page)
    ui.check_accessibility(page)
    ui.screenshot(page, "documents")

    page.get_by_role("button", name="Change password").click()
    dialog = page.get_by_role("dialog", name="Change your password")
    dialog.wait_for()
    dialog.get_by_label("Current password").fill("not my password")
    dialog.get_by_label("New password", exact=True).fill("another good passphrase")
    dialog.get_by_label("Repeat the new password").fill("another good passphrase")
    watch.allow_status(422)  # the wrong current password, shown next to its field
    dialog.get_by_role("button", name="Change password").click()
    dialog.locator(".field-error").first.wait_for()
    assert "current password is wrong" in dialog.locator(".field-error").first.inner_text().lower()
    if width == 1280:  # dialogs are laid out alike at both widths: one check is enough
        ui.check_accessibility(page)
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")

    page.get_by_label("Search", exact=True).fill("no such thing anywhere")
    page.keyboard.press("Enter")
    ui.wait_for_documents(page)
    assert page.get_by_text("No documents match your search").is_visible()

    # A client who types the admin console's address is told it is not for them.
    page.goto("/frontend/admin.html")
    page.get_by_role("heading", name="Administrators only").wait_for()
    assert page.locator("#console").is_hidden()
    if width == 1280:
        ui.check_accessibility(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_admin_console(open_page, portal, ui, width, tmp_path):
    page, _watch = open_page(width=width)
    ui.sign_in(page, "boss", expect_url="**/frontend/admin.html*")
    page.goto("/frontend/admin.html")
    page.locator("#panel-documents tr[data-id]").first.wait_for()
    no_horizontal_scroll(page)
    ui.check_accessibility(page)
    ui.screenshot(page, "admin-documents")

    # The upload queue with a file in it, and the edit dialog.
    pdf = tmp_path / "Annual_report_2025.pdf"
    pdf.write_bytes(ui.make_pdf(label="annual"))
    page.get_by_label("Choose PDF files to upload").set_input_files(str(pdf))
    page.locator(".upload-item").wait_for()
    page.get_by_role("button", name="Edit Tax statement 2025").click()
    page.get_by_role("dialog").get_by_label("Title").wait_for()
    if width == 1280:
        ui.check_accessibility(page)
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()

    # Every other tab, reached with the keyboard (arrow keys move along the tab list).
    page.get_by_role("tab", name="Documents").focus()
    for tab, ready in (
        ("Users", "#panel-users tr[data-id]"),
        ("Groups", "#panel-groups tr[data-id]"),
        ("Categories", "#panel-categories tr[data-id]"),
        ("Audit log", "#panel-audit tbody tr time"),
    ):
        page.keyboard.press("ArrowRight")
        assert page.get_by_role("tab", name=tab).get_attribute("aria-selected") == "true"
        page.locator(ready).first.wait_for()
        no_horizontal_scroll(page)
        if tab == "Users":
            ui.screenshot(page, "admin-users")
    # One accessibility check over every section at once (axe skips hidden panels).
    page.evaluate("document.querySelectorAll('[role=tabpanel]').forEach(p => { p.hidden = false; })")
    ui.check_accessibility(page)
