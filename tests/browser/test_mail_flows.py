"""The e-mailed account flows in the browser, following the links the SMTP server received:
invitation → choose a password → sign in; forgot → reset → sign in; an admin-chosen password
changed first thing; the lockout countdown; the admin console's invitations and Mail tab."""

from datetime import timedelta

import pytest

from sequoalpha.extensions import db
from sequoalpha.models import User, utcnow
from support.mail import deliver, links, received, smtp_config

pytestmark = pytest.mark.browser

CHOSEN = "my chosen passphrase"


@pytest.fixture
def app_config(app_config, smtp, tmp_path):
    return smtp_config(app_config, smtp, tmp_path)


def follow(page, message) -> None:
    """Open the message's token link on the test server (the path and fragment of PUBLIC_URL's link)."""
    [(path, token)] = links(message)
    assert path == "/frontend/set-password.html" and token
    page.goto(f"{path}#token={token}")
    page.wait_for_function("!location.hash")  # the token leaves the address bar at once
    assert "token" not in page.url


def choose_password(page, password=CHOSEN):
    page.get_by_label("New password").fill(password)
    page.get_by_label("Repeat the password").fill(password)
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url("**/frontend/signin.html?password=set")
    assert "Your password is set" in page.locator("#notice").inner_text()


def test_invitation_then_choose_a_password_then_sign_in(open_page, app, admin_api, smtp, ui):
    page, _watch = open_page()
    ui.sign_in(page, "boss", expect_url="**/frontend/admin.html*")
    page.wait_for_load_state("networkidle")
    page.goto("/frontend/admin.html#users")
    form = page.locator("form[aria-labelledby='new-user-heading']")
    form.get_by_label("Username").fill("ivy")
    form.get_by_label("Email").fill("ivy@example.com")
    form.get_by_label("Full name (optional)").fill("Ivy Green")
    form.get_by_role("button", name="Create user").click()
    row = page.locator("tr[data-username='ivy']")
    row.get_by_text("Invited").wait_for()
    row.get_by_role("button", name="Resend invitation to ivy").wait_for()
    deliver(app)
    [message] = received(smtp, "ivy@example.com")
    assert message["Subject"] == "Your invitation to the Acme Capital client portal"

    page.get_by_role("tab", name="Mail").click()
    page.locator("#panel-mail tr", has_text="ivy@example.com").get_by_text("sent").wait_for()
    ui.check_accessibility(page, "#panel-mail")

    visitor, _ = open_page(width=375)
    follow(visitor, message)
    ui.check_accessibility(visitor)
    choose_password(visitor)
    ui.sign_in(visitor, "ivy", CHOSEN)
    ui.wait_for_documents(visitor)


def test_forgot_then_reset_then_sign_in(open_page, app, make_user, smtp, ui):
    make_user("fay", email="fay@example.com")
    page, _watch = open_page()
    page.goto("/frontend/signin.html")
    page.get_by_role("link", name="Forgot your password?").click()
    page.wait_for_url("**/frontend/forgot.html")
    ui.check_accessibility(page)
    page.get_by_label("E-mail address").fill("Fay@Example.com")
    page.get_by_role("button", name="Send the link").click()
    page.locator("#notice").wait_for()
    assert "on its way" in page.locator("#notice").inner_text()
    deliver(app)
    [message] = received(smtp, "fay@example.com")
    follow(page, message)
    choose_password(page)
    ui.sign_in(page, "fay", CHOSEN)
    # A used link says so, and offers a new one.
    again, watch = open_page()
    watch.allow_status(400)
    follow(again, message)
    again.get_by_label("New password").fill("another passphrase")
    again.get_by_label("Repeat the password").fill("another passphrase")
    again.get_by_role("button", name="Set password").click()
    refusal = again.locator("#notice")
    refusal.wait_for()
    assert "already used" in refusal.inner_text()


def test_an_admin_chosen_password_is_changed_first(open_page, admin_api, app, ui):
    admin_api.call(
        "POST", "/api/admin/users", json={"username": "tom", "email": "tom@example.com", "password": "temporary one"}
    )
    page, _watch = open_page()
    ui.sign_in(page, "tom", "temporary one", expect_url="**/frontend/documents.html*")
    dialog = page.get_by_role("dialog", name="Choose your own password")
    dialog.get_by_label("Current password").fill("temporary one")
    dialog.get_by_label("New password", exact=True).fill(CHOSEN)
    dialog.get_by_label("Repeat the new password").fill(CHOSEN)
    dialog.get_by_role("button", name="Change password").click()
    ui.wait_for_documents(page)
    page.get_by_role("button", name="Settings").click()
    settings = page.get_by_role("dialog", name="Settings")
    settings.get_by_label("E-mail me when new documents are available for me").uncheck()
    settings.get_by_role("button", name="Save settings").click()
    settings.wait_for(state="detached")
    with app.app_context():
        assert db.session.scalar(db.select(User.notify_new_documents).where(User.username == "tom")) is False


def test_the_lockout_message_counts_down_and_clears(open_page, make_user, app, ui):
    uid = make_user("lou")
    with app.app_context():
        db.session.get(User, uid).locked_until = utcnow() + timedelta(seconds=3)
        db.session.commit()
    page, watch = open_page()
    watch.allow_status(429)
    ui.sign_in(page, "lou", expect_url=None)
    alert = page.locator("#signin-form .form-message")
    alert.wait_for(state="visible")
    assert "Try again in" in alert.inner_text()
    alert.wait_for(state="hidden", timeout=10_000)
    ui.sign_in(page, "lou")
