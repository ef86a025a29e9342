"""Second factor in real Chromium: enrolling an authenticator app and signing in with its codes,
registering a passkey with the DevTools virtual authenticator and signing in with it (no
username), the admin sent to enrolment, all axe-checked and at phone width.

WebAuthn needs a secure context and refuses an IP address as the relying party, so here the app
is browsed at http://localhost:<port> (a secure context) with PUBLIC_URL set to match."""

import threading
import time
from pathlib import Path

import pyotp
import pytest
from werkzeug.serving import make_server

pytestmark = pytest.mark.browser

WIDTHS = (375, 1280)


@pytest.fixture
def live_server(app):
    """The app served on a free loopback port, as http://localhost:<port> (overrides the
    127.0.0.1 address of tests/browser/conftest.py for these tests)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://localhost:{server.server_port}"
    app.config["PUBLIC_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def strict_admins(app_config):
    """Admins must enrol (as in production); requested before `app` so the app is built with it."""
    app_config["MFA_REQUIRED_FOR_ADMINS"] = True
    return app_config


def no_horizontal_scroll(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def virtual_authenticator(page):
    """Chromium's DevTools virtual authenticator: a platform authenticator with resident keys and
    user verification that always succeeds."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def code_after(secret, used_step):
    """A TOTP code of a step after `used_step` (waiting for the clock if needed): each step's
    code works once."""
    totp = pyotp.TOTP(secret)
    while int(time.time()) // 30 <= used_step:
        time.sleep(0.5)
    step = int(time.time()) // 30
    return totp.at(step * 30), step


def sign_out(page):
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url("**/frontend/signin.html?signedout=1")


@pytest.mark.parametrize("width", WIDTHS)
def test_authenticator_app_enrolment_and_two_step_sign_in(open_page, make_user, ui, width):
    make_user("ann")
    page, watch = open_page(width=width)
    ui.sign_in(page, "ann")
    page.get_by_role("link", name="Security").click()
    page.wait_for_url("**/frontend/security.html")
    page.get_by_role("heading", name="Authenticator app").wait_for()
    no_horizontal_scroll(page)
    ui.check_accessibility(page)

    page.get_by_role("button", name="Set up an authenticator app").click()
    qr = page.get_by_role("img", name="QR code to add SequoAlpha to your authenticator app")
    qr.wait_for()
    assert qr.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0  # the SVG QR code rendered
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert len(secret) >= 16
    # A wrong code first: said next to the field, nothing turned on.
    watch.allow_status(422)
    page.get_by_label("6-digit code from the app").fill("000000")
    page.get_by_role("button", name="Turn on").click()
    page.locator("#totp-confirm-form .form-message").wait_for(state="visible")
    code, step = code_after(secret, -1)
    page.get_by_label("6-digit code from the app").fill(code)
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    assert page.locator("#totp-badge").inner_text() == "On"
    no_horizontal_scroll(page)
    ui.check_accessibility(page)
    ui.screenshot(page, "security-recovery-codes")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as .txt").click()
    assert download.value.suggested_filename == "sequoalpha-recovery-codes.txt"
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert all(c in saved for c in codes)
    page.get_by_role("button", name="I have saved them").click()
    assert page.locator("#recovery").is_hidden()

    # Sign in again: the password, then the second step.
    sign_out(page)
    ui.sign_in(page, "ann", expect_url=None)
    page.get_by_role("heading", name="Two-step verification").wait_for()
    assert page.get_by_label("Password").is_hidden()
    no_horizontal_scroll(page)
    ui.check_accessibility(page)
    ui.screenshot(page, "signin-second-step")
    watch.allow_status(401)
    page.get_by_label("Code", exact=True).fill("123456")
    page.get_by_role("button", name="Verify").click()
    message = page.locator("#mfa-form .form-message")
    message.wait_for(state="visible")
    assert "wrong or has already been used" in message.inner_text()
    code, step = code_after(secret, step)
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/frontend/documents.html")

    # A recovery code works too, once.
    sign_out(page)
    ui.sign_in(page, "ann", expect_url=None)
    page.get_by_label("Code", exact=True).fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/frontend/documents.html")


@pytest.mark.parametrize("width", WIDTHS)
def test_passkey_registration_and_sign_in_without_a_username(open_page, make_user, app, ui, width):
    make_user("ann", email="ann@example.com")
    page, _watch = open_page(width=width)
    cdp, authenticator = virtual_authenticator(page)
    ui.sign_in(page, "ann")
    page.goto("/frontend/security.html")
    page.get_by_role("heading", name="Passkeys").wait_for()
    page.locator("#passkeys-empty").wait_for(state="visible")
    page.get_by_label("Name of the new passkey").fill("This laptop")
    page.get_by_role("button", name="Add a passkey").click()
    item = page.locator("#passkey-list li", has_text="This laptop")
    item.wait_for()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"] is True
    no_horizontal_scroll(page)
    ui.check_accessibility(page)
    ui.screenshot(page, "security-passkeys")

    # Sign out, then sign in with the passkey alone.
    sign_out(page)
    page.get_by_role("button", name="Sign in with a passkey", exact=True).click()
    page.wait_for_url("**/frontend/documents.html")
    ui.wait_for_documents(page)

    # The password now leads to the second step, where the passkey is offered too.
    sign_out(page)
    ui.sign_in(page, "ann", expect_url=None)
    page.get_by_role("button", name="Use a passkey instead").click()
    page.wait_for_url("**/frontend/documents.html")

    # Remove it: the list is empty again and the password alone signs in.
    page.goto("/frontend/security.html")
    page.get_by_role("button", name="Remove passkey This laptop").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    page.locator("#passkeys-empty").wait_for(state="visible")
    with app.app_context():
        from sequoalpha.extensions import db
        from sequoalpha.models import AuditEvent

        events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "login")).all()
        assert [e.detail.get("method") for e in events].count("passkey") == 2
        actions = set(db.session.scalars(db.select(AuditEvent.action)).all())
        assert {"passkey_added", "passkey_removed"} <= actions


def test_an_admin_without_a_second_factor_is_sent_to_enrolment(strict_admins, open_page, make_user, ui):
    make_user("boss", is_admin=True)
    page, watch = open_page(width=375)
    watch.allow_status(403)
    # An admin lands on the console, which sends one without a second factor to enrol.
    ui.sign_in(page, "boss", expect_url="**/frontend/security.html?enrol=required")
    alert = page.locator("#enrol-required")
    alert.wait_for(state="visible")
    assert "Administrators must turn on two-step verification" in alert.inner_text()
    no_horizontal_scroll(page)
    ui.check_accessibility(page)
    # After enrolling, the console opens.
    page.get_by_role("button", name="Set up an authenticator app").click()
    page.locator("#totp-qr").wait_for()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    code, _step = code_after(secret, -1)
    page.get_by_label("6-digit code from the app").fill(code)
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    page.goto("/frontend/admin.html")
    page.locator("#console").wait_for(state="visible")

    # Sign out everywhere, from the Security page, after a confirmation.
    page.goto("/frontend/security.html")
    page.get_by_role("button", name="Sign out everywhere").click()
    dialog = page.get_by_role("dialog", name="Sign out everywhere?")
    dialog.wait_for()
    ui.check_accessibility(page)
    dialog.get_by_role("button", name="Sign out everywhere").click()
    page.wait_for_url("**/frontend/signin.html?signedout=1")


def test_an_admin_resets_a_clients_second_factor(open_page, make_user, app, ui):
    make_user("boss", is_admin=True)
    make_user("ann")
    client = app.test_client()
    headers = {
        "Authorization": "Bearer "
        + client.post("/api/login", json={"username": "ann", "password": ui.PASSWORD}).get_json()["access_token"]
    }
    secret = client.post("/api/me/mfa/totp", headers=headers).get_json()["secret"]
    code, _step = code_after(secret, -1)
    assert client.post("/api/me/mfa/totp/confirm", headers=headers, json={"code": code}).status_code == 200

    page, _watch = open_page(width=375)
    ui.sign_in(page, "boss", expect_url="**/frontend/admin.html*")
    page.wait_for_load_state("networkidle")
    page.goto("/frontend/admin.html#users")
    row = page.locator("#panel-users tr[data-username='ann']")
    row.get_by_text("2-step on").wait_for()
    no_horizontal_scroll(page)
    row.get_by_role("button", name="Reset 2-step verification of ann").click()
    dialog = page.get_by_role("dialog", name="Reset two-step verification of ann?")
    dialog.wait_for()
    ui.check_accessibility(page)
    dialog.get_by_role("button", name="Reset").click()
    dialog.wait_for(state="detached")
    page.locator("#panel-users tr[data-username='ann']").get_by_text("2-step on").wait_for(state="detached")
    step = client.post("/api/login", json={"username": "ann", "password": ui.PASSWORD}).get_json()
    assert "access_token" in step and "mfa_required" not in step
