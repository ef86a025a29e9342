"""Lists keep their place in the address: a reload opens the same page with the same filters,
a page can be reached by its number, and a new page starts from the top of the list."""

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def many_links(admin_api):
    """41 documents for everyone (links: no PDF to build), in two categories."""
    letters = admin_api.category("Letters")
    admin_api.category("Empty category")
    for n in range(41):
        payload = {
            "title": f"Letter number {n:02d}",
            "external_url": f"https://example.org/letter/{n}",
            "visibility": {"everyone": True},
        }
        if n % 2:
            payload["category_id"] = letters["id"]
        admin_api.call("POST", "/api/admin/documents/link", json=payload)
    return letters


def test_the_client_list_keeps_its_page_on_reload_and_jumps_to_a_page(open_page, many_links, make_user, ui):
    make_user("ann")
    page, watch = open_page(width=375)
    ui.sign_in(page, "ann")
    ui.wait_for_documents(page)
    # The category choice is asked for categories with a document this person can see.
    assert any("/api/categories?in_use=true " in r for r in watch.responses), watch.responses

    pager = page.get_by_role("navigation", name="Pagination")
    pager.scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 0
    pager.get_by_label("Go to page").fill("3")
    pager.get_by_role("button", name="Go to this page").click()
    ui.wait_for_documents(page)
    assert pager.get_by_text("Page 3 of 3").is_visible()
    assert page.url.endswith("/frontend/documents.html?page=3")
    # Back at the top of the list (as far as the page scrolls), not left at the pager.
    top = page.locator("#filter-form").evaluate("f => f.closest('section').getBoundingClientRect().top")
    assert -1 < top < page.viewport_size["height"] / 2, top  # -1: sub-pixel rounding of the scroll

    page.reload()
    ui.wait_for_documents(page)
    assert pager.get_by_text("Page 3 of 3").is_visible()
    assert page.locator("#doc-rows tr[data-id]").count() == 1


def test_the_admin_list_keeps_page_and_filters_on_reload(open_page, many_links, ui):
    page, _watch = open_page()
    ui.sign_in(page, "boss", expect_url="**/frontend/admin.html*")
    panel = page.locator("#panel-documents")
    panel.locator("tr[data-id]").first.wait_for()
    pager = panel.get_by_role("navigation", name="Documents pages")
    pager.get_by_role("button", name="Next page").click()
    pager.get_by_text("Page 2 of 2").wait_for()
    assert "page=2" in page.url

    panel.get_by_role("search").get_by_label("Category").select_option(label="Letters")  # a filter starts at page 1
    pager.wait_for(state="hidden")
    assert "category_id=" in page.url and "page=" not in page.url
    panel.get_by_label("Search", exact=True).fill("number 31")  # full-text: whole words
    panel.get_by_role("button", name="Search", exact=True).click()
    panel.locator(".doc-title", has_text="Letter number 31").wait_for()
    url = page.url
    assert "q=number+31" in url

    page.reload()
    panel.locator(".doc-title", has_text="Letter number 31").wait_for()
    assert panel.get_by_label("Search", exact=True).input_value() == "number 31"
    assert (
        panel.get_by_role("search").get_by_label("Category").evaluate("s => s.selectedOptions[0].textContent")
        == "Letters"
    )
    assert page.url == url
