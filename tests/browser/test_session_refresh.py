"""The access token is short-lived (15 min); when it expires, the pages refresh it silently
with the refresh cookie and carry on, for API calls and for downloads alike."""
import time
from datetime import timedelta

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    """Access tokens that expire after 1 s, so the silent refresh can be seen happening."""
    return {**app_config, "JWT_ACCESS_TOKEN_EXPIRES": timedelta(seconds=1)}


def test_an_expired_access_token_is_refreshed_silently(open_page, make_user, admin_api, ui):
    ann = make_user("ann")
    doc = admin_api.upload("Annual letter 2026", user_ids=[ann])
    page, watch = open_page()
    watch.allow_status(401)  # the expired access token's answer, before the refresh
    ui.sign_in(page, "ann")
    ui.wait_for_documents(page)
    time.sleep(1.5)  # the access token (1 s here) has expired; the refresh token has not

    with page.expect_download() as download:
        page.get_by_role("link", name="Download Annual letter 2026").click()
    assert ui.sha256_of(download.value.path()) == doc["sha256"]
    assert page.url.endswith("/frontend/documents.html")

    time.sleep(1.5)
    page.get_by_label("Search", exact=True).fill("annual")
    page.get_by_role("button", name="Search", exact=True).click()
    ui.wait_for_documents(page)
    assert page.locator("#doc-rows tr[data-id]").count() == 1
    assert "/frontend/documents.html" in page.url
