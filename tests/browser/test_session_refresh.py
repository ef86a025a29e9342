"""The access token is short-lived (15 min); when it has expired, the pages refresh it
silently with the refresh cookie and carry on, for API calls and for downloads alike."""

from datetime import timedelta

from flask_jwt_extended import create_access_token

from sequoalpha.extensions import db
from sequoalpha.models import User


def expire_access_token(app, page, username):
    """Put an expired (but otherwise genuine) access token in the browser's cookie jar, as if
    15 minutes had passed since the last refresh."""
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == username))
        token = create_access_token(
            identity=user, expires_delta=timedelta(seconds=-30), additional_claims={"ver": user.token_version}
        )
    context = page.context
    (old,) = [c for c in context.cookies() if c["name"] == "access_token_cookie"]
    context.clear_cookies(name="access_token_cookie")
    context.add_cookies([{**old, "value": token}])


def test_an_expired_access_token_is_refreshed_silently(open_page, make_user, admin_api, app, ui):
    ann = make_user("ann")
    doc = admin_api.upload("Annual letter 2026", user_ids=[ann])
    page, watch = open_page()
    watch.allow_status(401)  # the expired access token's answer, before the refresh
    ui.sign_in(page, "ann")
    ui.wait_for_documents(page)

    expire_access_token(app, page, "ann")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download Annual letter 2026").click()
    assert ui.sha256_of(download.value.path()) == doc["sha256"]
    assert page.url.endswith("/frontend/documents.html")

    expire_access_token(app, page, "ann")
    page.get_by_label("Search", exact=True).fill("annual")
    page.get_by_role("button", name="Search", exact=True).click()
    ui.wait_for_documents(page)
    assert page.locator("#doc-rows tr[data-id]").count() == 1
    assert page.url.endswith("/frontend/documents.html?q=annual")
    refreshes = [r for r in watch.responses if r.endswith("/api/token/refresh 200")]
    assert len(refreshes) == 2, watch.responses

    # Signing out with an expired access token still ends the session server-side: the
    # page refreshes first, then logs out, and the refresh token dies with it.
    expire_access_token(app, page, "ann")
    jar = page.context.cookies()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/frontend/signin.html?signedout=1")
    assert any(r.endswith("/api/logout 204") for r in watch.responses), watch.responses
    page.context.add_cookies(jar)  # replay the old cookies
    csrf = next(c["value"] for c in jar if c["name"] == "csrf_refresh_token")
    assert page.request.post("/api/token/refresh", headers={"X-CSRF-TOKEN": csrf}).status == 401
