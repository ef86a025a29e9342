"""{anonymous, user, admin} × every /api route and method → the expected status.

The routes come from the app's URL map, so a new endpoint joins the matrix by itself."""

import re

import pytest

from support.api import login

PUBLIC = {
    "/api/health",
    "/api/openapi.json",
    "/api/login",
    "/api/login/mfa",
    "/api/login/passkey/options",
    "/api/login/passkey",
}
PUBLIC |= {"/api/password/forgot", "/api/password/reset"}  # a link's token is the credential


def api_cells(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path, rule.rule


def expected(role, method, path):
    """The set of acceptable statuses for one cell."""
    if path in PUBLIC:
        return None  # open to all; checked elsewhere
    if role == "anonymous":
        return {401}
    if path == "/api/token/refresh":
        return {401}  # an access token cannot refresh
    if path.startswith("/api/admin/") and role == "user":
        return {403}
    return "allowed"


@pytest.fixture
def tokens(app, make_user):
    """Per role, a way to get fresh headers (each sign-in on its own client: no shared cookies)."""
    make_user("admin", is_admin=True)
    make_user("client1")
    return {
        "anonymous": lambda: {},
        "user": lambda: login(app.test_client(), "client1"),
        "admin": lambda: login(app.test_client(), "admin"),
    }


def test_authorisation_matrix(app, tokens):
    client = app.test_client()
    cells = list(api_cells(app))
    assert len(cells) >= 20
    checked = 0
    headers = {role: make() for role, make in tokens.items()}
    for method, path, rule in cells:
        for role in ("anonymous", "user", "admin"):
            want = expected(role, method, path)
            if want is None:
                continue
            # A search (`q`) is authorised exactly like the plain request.
            for query in ("", "?q=report") if method == "GET" else ("",):
                r = client.open(path + query, method=method, json={}, headers=headers[role])
                body = r.get_json(silent=True)
                if want == "allowed":
                    assert r.status_code not in (401, 403), (role, method, rule, body)
                    assert r.status_code < 500, (role, method, rule, body)
                else:
                    assert r.status_code in want, (role, method, rule, r.status_code, body)
                    assert body["code"] == r.status_code and body["message"]
                checked += 1
            if path == "/api/logout" and r.status_code == 204:
                headers[role] = tokens[role]()
    assert checked >= 55
