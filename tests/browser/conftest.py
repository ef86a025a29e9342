"""Browser fixtures: the app served on a free loopback port, Debian's Chromium driven by
Playwright, a watch on every page (console errors, CSP violations, requests to another
origin), axe-core accessibility checks and screenshots.

The app, its fresh schema and the user factory come from tests/support/app.py; here the
database is pinned to SQLite (the browser tier tests the site, not the database) and the app
is served for real by werkzeug in a thread, so the browser talks HTTP to it.
"""

import contextlib
import functools
import hashlib
import io
import json
import os
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from support.api import PASSWORD, login
from support.documents import make_pdf

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"  # axe-core 4.14.1 (MPL-2.0)
WIDTHS = (375, 1280)

# Records CSP violations as the page sees them (an init script runs outside the page's CSP).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  const where = `${e.sourceFile || ''}:${e.lineNumber || ''}`;
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${where}`);
});
"""


# --- the app, served -------------------------------------------------------------------


@pytest.fixture
def database_url(tmp_path):
    """Browser tests run on SQLite only (overrides the sqlite/postgresql parametrisation)."""
    return f"sqlite:///{tmp_path / 'browser.db'}"


@pytest.fixture
def live_server(app):
    """The app on http://127.0.0.1:<free port>, serving the site and the API like Nginx does."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- talking to the API directly (setting the scene) -----------------------------------


class Api:
    """The API through Flask's test client with a Bearer token (no browser involved)."""

    def __init__(self, app, username, password=PASSWORD):
        self.client = app.test_client()
        self.headers = login(self.client, username, password)

    def call(self, method, path, expect=(200, 201, 204), **kw):
        response = self.client.open(path, method=method, headers=self.headers, **kw)
        assert response.status_code in expect, (method, path, response.status_code, response.get_json())
        return response.get_json() if response.is_json else None

    def group(self, name, user_ids=()):
        return self.call("POST", "/api/admin/groups", json={"name": name, "user_ids": list(user_ids)})

    def category(self, name):
        return self.call("POST", "/api/admin/categories", json={"name": name})

    def upload(
        self,
        title,
        data=None,
        filename=None,
        category_id=None,
        everyone=False,
        group_ids=(),
        user_ids=(),
        description="",
        **fields,
    ):
        """Upload a PDF; `fields` are more form fields (document_date, download_name…)."""
        data = data if data is not None else make_pdf(label=title)
        form = {
            "file": (
                io.BytesIO(data),
                filename or f"{re.sub(r'[^A-Za-z0-9]+', '-', title).strip('-')}.pdf",
                "application/pdf",
            ),
            "title": title,
            "description": description,
            "visibility": json.dumps({"everyone": everyone, "group_ids": list(group_ids), "user_ids": list(user_ids)}),
        }
        if category_id:
            form["category_id"] = str(category_id)
        form.update({name: str(value) for name, value in fields.items()})
        return self.call("POST", "/api/admin/documents/upload", data=form, content_type="multipart/form-data")


@pytest.fixture
def admin_api(app, make_user):
    """An admin account ("boss") and an API session for it."""
    make_user("boss", is_admin=True, email="boss@example.com")
    return Api(app, "boss")


# --- the browser -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright_browser():
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class PageWatch:
    """Everything a page must not do: console errors, uncaught exceptions, CSP violations,
    requests to another origin. HTTP statuses a test provokes on purpose are allowed."""

    def __init__(self, page, origin):
        self.page = page
        self.origin = origin
        self.console_errors = []
        self.page_errors = []
        self.foreign_requests = []
        self.responses = []  # "METHOD url status" of every API call, for tests to inspect
        self.allowed_statuses = set()
        context = page.context  # every tab of the context: "View" opens new ones
        context.on("console", self._on_console)
        context.on("weberror", lambda web_error: self.page_errors.append(str(web_error.error)))
        context.on("request", self._on_request)
        context.on("response", self._on_response)

    def _on_console(self, message):
        if message.type in ("error", "assert"):
            self.console_errors.append(message.text)

    def _on_request(self, request):
        parts = urlsplit(request.url)
        # Only the network counts: data:, blob:, about: and the browser's own chrome: and
        # chrome-extension: pages (its built-in PDF viewer, behind "View") are not requests
        # to anybody.
        if parts.scheme not in ("http", "https", "ws", "wss"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign_requests.append(request.url)

    def _on_response(self, response):
        if "/api/" in response.url:
            self.responses.append(f"{response.request.method} {response.url} {response.status}")

    def allow_status(self, *statuses):
        """Let "Failed to load resource: … status of N" pass for these N (expected answers)."""
        self.allowed_statuses.update(statuses)

    def csp_violations(self):
        found = []
        for page in self.page.context.pages:
            with contextlib.suppress(Exception):  # a page that closed meanwhile has nothing to say
                found += page.evaluate("window.__cspViolations || []")
        return found

    def problems(self):
        errors = []
        for text in self.console_errors:
            match = re.search(r"status of (\d{3})", text)
            if match and int(match.group(1)) in self.allowed_statuses:
                continue
            errors.append(text)
        csp = [t for t in errors if "Content Security Policy" in t] + self.csp_violations()
        return {
            "console errors": [t for t in errors if "Content Security Policy" not in t],
            "uncaught exceptions": self.page_errors,
            "CSP violations": csp,
            "requests to another origin": self.foreign_requests,
        }

    def assert_clean(self):
        problems = {k: v for k, v in self.problems().items() if v}
        assert not problems, f"the page misbehaved: {json.dumps(problems, indent=2)}"


@pytest.fixture
def open_page(playwright_browser, live_server):
    """open_page(width=1280) -> (page, watch): a fresh browser context (own cookies) per call.
    At the end of the test every page must be clean (see PageWatch)."""
    contexts = []

    def factory(width=1280, height=900):
        context = playwright_browser.new_context(
            viewport={"width": width, "height": height},
            base_url=live_server,
            accept_downloads=True,
            locale="en-GB",
            timezone_id="UTC",
        )
        context.set_default_timeout(20_000)  # generous: CI machines are small and busy
        context.add_init_script(WATCH_CSP)
        page = context.new_page()
        watch = PageWatch(page, live_server)
        contexts.append((context, watch))
        return page, watch

    yield factory
    try:
        for _context, watch in contexts:
            watch.assert_clean()
    finally:
        for context, _watch in contexts:
            context.close()


# --- helpers the tests share (the `ui` fixture) ---------------------------------------


@functools.lru_cache(maxsize=1)
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


class UI:
    """What the tests do again and again in the browser."""

    PASSWORD = PASSWORD
    WIDTHS = WIDTHS
    make_pdf = staticmethod(make_pdf)

    @staticmethod
    def sign_in(page, username, password=PASSWORD, expect_url="**/frontend/documents.html*"):
        page.goto("/frontend/signin.html")
        page.get_by_label("Username or email").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in", exact=True).click()
        if expect_url:
            page.wait_for_url(expect_url)

    @staticmethod
    def wait_for_documents(page):
        """Wait until the document list has finished loading."""
        page.wait_for_selector("#doc-region[aria-busy='false']")

    @staticmethod
    def screenshot(page, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        width = page.viewport_size["width"]
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)

    @staticmethod
    def check_accessibility(page, context=None):
        """Run axe-core (WCAG 2.x A/AA rules and best practices: labels, roles, names, contrast…)
        and fail with a readable list of the violations."""
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(_axe_source() + "\n;true")  # evaluated by DevTools, so the page's CSP allows it
        result = page.evaluate(
            """async (ctx) => {
                const r = await axe.run(ctx || document, {
                  runOnly: {type: 'tag',
                            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
                  resultTypes: ['violations'],
                });
                return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
            }""",
            context,
        )
        assert result == [], "accessibility violations:\n" + json.dumps(result, indent=2)

    @staticmethod
    def sha256_of(path) -> str:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(65536), b""):
                digest.update(chunk)
        return digest.hexdigest()


@pytest.fixture
def ui():
    return UI
