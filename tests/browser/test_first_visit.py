"""What a first visit showed: where people land after sign-in, the focus on the sign-in page,
the password dialog's "too short", the public site's year, legal pages, contact details from
one place, and its header folding behind a menu button on a phone."""

from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.browser


def test_admins_land_on_the_console_and_clients_on_their_documents(open_page, admin_api, make_user, ui):
    make_user("ann")
    page, _watch = open_page()
    ui.sign_in(page, "boss", expect_url="**/frontend/admin.html")
    page.locator("#panel-documents").wait_for()
    client, _ = open_page()
    ui.sign_in(client, "ann", expect_url="**/frontend/documents.html")


def test_the_username_field_has_the_focus(open_page):
    page, _watch = open_page(width=375)
    page.goto("/frontend/signin.html")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")
    page.keyboard.type("typed straight away")
    assert page.get_by_label("Username or email").input_value() == "typed straight away"
    # The telephone number for client service comes from the firm's details.
    phone = page.locator(".auth-foot a[href^='tel:']")
    assert phone.inner_text() == "+1 (415) 555-0199"
    assert phone.get_attribute("href") == "tel:+14155550199"


def test_the_password_dialog_says_too_short_before_asking_the_server(open_page, make_user, ui):
    make_user("ann")
    page, watch = open_page()
    ui.sign_in(page, "ann")
    ui.wait_for_documents(page)
    page.get_by_role("button", name="Change password").click()
    dialog = page.get_by_role("dialog", name="Change your password")
    dialog.get_by_label("Current password").fill(ui.PASSWORD)
    dialog.get_by_label("New password", exact=True).fill("short1")
    dialog.get_by_label("Repeat the new password").fill("short1")
    dialog.get_by_role("button", name="Change password").click()
    error = dialog.locator(".field-error").first
    error.wait_for()
    assert "too short" in error.inner_text().lower()
    assert "10 characters" in error.inner_text()
    assert dialog.get_by_label("New password", exact=True).get_attribute("aria-invalid") == "true"
    assert not [r for r in watch.responses if "/api/me/password" in r]
    # Different but long enough still says they differ.
    dialog.get_by_label("New password", exact=True).fill("a long enough passphrase")
    dialog.get_by_label("Repeat the new password").fill("another long passphrase")
    dialog.get_by_role("button", name="Change password").click()
    dialog.get_by_text("The two new passwords differ.").wait_for()


def header_height(page):
    return page.locator(".site-header").evaluate("h => h.getBoundingClientRect().height")


def test_the_public_header_folds_on_a_phone(open_page, ui):
    page, _watch = open_page(width=375)
    page.goto("/")
    menu = page.get_by_role("button", name="Menu")
    menu.wait_for()
    assert menu.get_attribute("aria-expanded") == "false"
    assert header_height(page) <= 72, header_height(page)
    assert page.get_by_role("navigation", name="Main").is_hidden()

    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="Client sign-in").is_visible()
    ui.check_accessibility(page)
    nav.get_by_role("link", name="Contact").click()  # an in-page link folds the menu again
    assert menu.get_attribute("aria-expanded") == "false"
    menu.click()
    page.keyboard.press("Escape")
    assert menu.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.id") == "menu-toggle"

    desktop, _ = open_page(width=1280)
    desktop.goto("/")
    desktop.get_by_role("navigation", name="Main").get_by_role("link", name="Contact").wait_for()
    assert desktop.get_by_role("button", name="Menu").is_hidden()
    assert header_height(desktop) <= 72


def test_public_site_year_legal_pages_and_contact_details_from_one_place(open_page, ui):
    page, _watch = open_page()
    page.goto("/")
    year = str(datetime.now(UTC).year)
    page.locator("[data-year]").wait_for()
    page.wait_for_function("document.querySelector('[data-year]').textContent === String(new Date().getFullYear())")
    assert f"© {year} SequoAlpha Management" in page.locator(".site-footer").inner_text()

    firm = page.evaluate("import('/frontend/js/firm.js').then(m => m.FIRM)")
    contact = page.locator("#contact")
    page.wait_for_function("document.querySelector('#contact address p') !== null")
    assert [line for line in contact.locator("address").inner_text().splitlines() if line] == firm["office"]["lines"]
    for who in ("newRelationships", "clientService"):
        email, phone = firm[who]["email"], firm[who]["phone"]
        assert contact.get_by_role("link", name=email).get_attribute("href") == f"mailto:{email}"
        tel = "tel:" + "".join(c for c in phone if c == "+" or c.isdigit())
        assert contact.get_by_role("link", name=phone).get_attribute("href") == tel
    assert firm["clientService"]["hours"] in contact.inner_text()

    for name, url, heading in (
        ("Privacy notice", "**/frontend/privacy.html", "Privacy notice"),
        ("Regulatory disclosures", "**/frontend/disclosures.html", "Regulatory disclosures"),
    ):
        page.goto("/")
        page.get_by_role("navigation", name="Footer").get_by_role("link", name=name).click()
        page.wait_for_url(url)
        assert page.get_by_role("heading", name=heading, level=1).is_visible()
        assert "Placeholder" in page.locator("[data-placeholder]").inner_text()
        assert year in page.locator(".site-footer").inner_text()
        ui.check_accessibility(page)
