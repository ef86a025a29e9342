"""Sign-in's ?next=: a page or a download on this site is returned to (after a silent refresh
when the refresh cookie is still there, else after signing in); anything else is ignored, so
the sign-in page can never send someone to another site."""

from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.browser

UNSAFE = [
    "https://evil.example/frontend/documents.html",
    "//evil.example/frontend/documents.html",
    "/\\evil.example/frontend/documents.html",
    "\\\\evil.example/api/documents/1/download",
    "javascript:alert(1)",
    "/frontend/../api/admin/users",
    "/frontend/%2e%2e/api/admin/users",
    "/api/documents/1/..%2f..%2fadmin",
    "/api/admin/documents/1/download",
    "/frontend/signin.html",
    "/frontend//evil.example",
    " /frontend/documents.html",
    "/frontend/documents.html\n",
]
SAFE = {
    "/frontend/documents.html?q=tax#top": "/frontend/documents.html?q=tax#top",
    "/frontend/admin.html#users": "/frontend/admin.html#users",
    "/api/documents/12/download": "/api/documents/12/download",
    "/api/documents/12/download?disposition=inline": "/api/documents/12/download?disposition=inline",
}


def test_only_pages_and_downloads_of_this_site_are_accepted(open_page):
    page, _watch = open_page()
    page.goto("/frontend/signin.html")
    checked = page.evaluate(
        """async ([unsafe, safe]) => {
        const { safeNext } = await import('/frontend/js/next-url.js');
        return { unsafe: unsafe.map(safeNext), safe: safe.map(safeNext) };
    }""",
        [UNSAFE, list(SAFE)],
    )
    assert checked["unsafe"] == [None] * len(UNSAFE)
    assert checked["safe"] == list(SAFE.values())


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_an_external_next_is_ignored_after_sign_in(open_page, make_user, ui, target):
    make_user("ann")
    page, watch = open_page()
    page.goto("/frontend/signin.html?" + urlencode({"next": target}))
    page.get_by_label("Username or email").fill("ann")
    page.get_by_label("Password").fill(ui.PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/frontend/documents.html")
    assert not watch.foreign_requests


def test_a_download_link_comes_back_after_sign_in(open_page, make_user, admin_api, ui):
    ann = make_user("ann")
    doc = admin_api.upload("Annual letter 2026", user_ids=[ann])
    page, _watch = open_page()
    page.goto(f"/frontend/signin.html?next=/api/documents/{doc['id']}/download")
    assert "Please sign in to continue" in page.locator("#notice").inner_text()
    page.get_by_label("Username or email").fill("ann")
    page.get_by_label("Password").fill(ui.PASSWORD)
    with page.expect_download() as download:
        page.get_by_role("button", name="Sign in", exact=True).click()
    assert ui.sha256_of(download.value.path()) == doc["sha256"]


def test_a_live_refresh_cookie_returns_silently(open_page, make_user, ui):
    make_user("ann")
    page, watch = open_page()
    ui.sign_in(page, "ann")
    ui.wait_for_documents(page)
    page.context.clear_cookies(name="access_token_cookie")  # the 15 minutes are over
    page.goto("/frontend/signin.html?next=/frontend/documents.html?q=letter")
    page.wait_for_url("**/frontend/documents.html?q=letter")
    ui.wait_for_documents(page)
    assert any(r.endswith("/api/token/refresh 200") for r in watch.responses), watch.responses
