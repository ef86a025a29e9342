"""Sign-in in the browser: the messages for a wrong password, a locked account, a disabled
account and an expired session; keyboard-only sign-in."""

import re


def alert_text(page):
    alert = page.locator("#signin-form .form-message")
    alert.wait_for(state="visible")
    return alert.inner_text()


def test_wrong_password_says_so_and_keeps_the_person_on_the_page(open_page, make_user, ui):
    make_user("ann")
    page, watch = open_page()
    watch.allow_status(401)
    ui.sign_in(page, "ann", "not the password", expect_url=None)
    assert "username/email or password is incorrect" in alert_text(page)
    assert page.url.endswith("/frontend/signin.html")
    # The unknown user gets the very same message.
    ui.sign_in(page, "nobody-here", "whatever it is", expect_url=None)
    assert "username/email or password is incorrect" in alert_text(page)


def test_locked_account_shows_the_wait_from_retry_after(open_page, make_user, app, ui):
    make_user("bob")
    client = app.test_client()
    for _ in range(5):
        assert client.post("/api/login", json={"username": "bob", "password": "wrong password"}).status_code == 401
    page, watch = open_page()
    watch.allow_status(429)
    ui.sign_in(page, "bob", ui.PASSWORD, expect_url=None)  # even the right password waits
    text = alert_text(page)
    assert "temporarily locked" in text
    assert re.search(r"Try again in \d+ seconds", text), text


def test_disabled_account_is_told_to_contact_client_service(open_page, make_user, ui):
    make_user("cat", is_active=False)
    page, watch = open_page()
    watch.allow_status(403)
    ui.sign_in(page, "cat", ui.PASSWORD, expect_url=None)
    assert "account has been disabled" in alert_text(page)


def test_sign_in_with_the_keyboard_only_and_by_email(open_page, make_user, ui):
    make_user("dora", email="Dora@Example.com")
    page, _watch = open_page(width=375)
    page.goto("/frontend/signin.html")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")  # focused on arrival
    page.keyboard.type("dora@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type(ui.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/frontend/documents.html")


def test_expired_session_returns_to_sign_in_with_a_message(open_page, make_user, app, ui):
    make_user("eve")
    page, watch = open_page()
    watch.allow_status(401)
    ui.sign_in(page, "eve")
    ui.wait_for_documents(page)

    # The session ends elsewhere: a password change revokes every earlier token.
    client = app.test_client()
    token = client.post("/api/login", json={"username": "eve", "password": ui.PASSWORD}).get_json()["access_token"]
    response = client.post(
        "/api/me/password",
        headers={"Authorization": f"Bearer {token}"},
        json={"current_password": ui.PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert response.status_code == 204

    page.get_by_label("Search", exact=True).fill("anything")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url("**/frontend/signin.html?expired=1*")
    notice = page.locator("#notice")
    assert "session has expired" in notice.inner_text()

    # Signing in again leads back to where the person was.
    page.get_by_label("Username or email").fill("eve")
    page.get_by_label("Password").fill("a brand new passphrase")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/frontend/documents.html*")
    ui.wait_for_documents(page)
