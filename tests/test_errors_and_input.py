"""Bad input everywhere gets a 4xx JSON answer in the one error shape; never a 500."""

import pytest

from sequoalpha.config import ConfigError, load_config
from support.api import login


def assert_error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.is_json
    body = response.get_json()
    assert body["code"] == status and body["status"] and body["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def test_malformed_json_is_400(client, admin_headers):
    for path in ("/api/login", "/api/admin/users", "/api/admin/groups"):
        r = client.post(path, data=b'{"username": ', headers={**admin_headers, "Content-Type": "application/json"})
        assert_error(r, 400)


@pytest.mark.parametrize(
    "body",
    [
        [],
        "a string",
        {"username": 123, "email": "x@example.com", "password": "0123456789"},
        {"username": "ann", "email": "not an email", "password": "0123456789"},
        {"username": "ann", "password": "0123456789"},
        {"username": "ann", "email": "ann@example.com", "password": "0123456789", "is_admin": "maybe"},
        {"username": "ann", "email": "ann@example.com", "password": "0123456789", "group_ids": ["1"]},
        {"username": "ann", "email": "ann@example.com", "password": "0123456789", "role": "root"},
        {"username": "a\nb", "email": "ann@example.com", "password": "0123456789"},
        {"username": "ann\n", "email": "ann@example.com", "password": "0123456789"},  # `$` before a final newline
        {"username": "../etc", "email": "ann@example.com", "password": "0123456789"},
        {"username": "ann", "email": "ann@example.com", "password": "0123456789", "full_name": "A\r\nB"},
        {"username": "ann", "email": "ann@example.com", "password": "0123456789", "full_name": "x\x00"},
        {"username": "ann", "email": "ann@example.com", "password": "0123456789", "full_name": "x" * 201},
    ],
)
def test_invalid_user_bodies_are_422(client, admin_headers, body):
    body = assert_error(client.post("/api/admin/users", headers=admin_headers, json=body), 422)
    assert body["errors"]


def test_unicode_names_are_fine(client, admin_headers):
    r = client.post(
        "/api/admin/users",
        headers=admin_headers,
        json={
            "username": "zoe",
            "email": "zoe@example.com",
            "password": "pässwörd-✓-密码",
            "full_name": "Zoë Ñúñez 李",
        },
    )
    assert r.status_code == 201 and r.get_json()["full_name"] == "Zoë Ñúñez 李"
    r = client.post("/api/admin/groups", headers=admin_headers, json={"name": "Fonds Élysée — 2026"})
    assert r.status_code == 201
    assert_error(client.post("/api/admin/groups", headers=admin_headers, json={"name": "a\u0007b"}), 422)


def test_hostile_sign_in_bodies_are_4xx(client, admin_headers):
    """Found in review: each of these was a 500."""
    lone_surrogate = '{"username": "\\ud800", "password": "x"}'
    assert_error(client.post("/api/login", data=lone_surrogate, content_type="application/json"), 422)
    assert_error(
        client.post("/api/login", data='{"username": "ann", "password": "\\udfff"}', content_type="application/json"),
        422,
    )
    nested = '{"username": ' + "[" * 100_000 + "]" * 100_000 + ', "password": "x"}'
    assert (
        "nested"
        in assert_error(client.post("/api/login", data=nested, content_type="application/json"), 400)["message"]
    )
    # "İ" lower-cases to two characters: 200 of them are 400 once lowered, longer than any name.
    assert_error(client.post("/api/login", json={"username": "\u0130" * 200, "password": "x"}), 401)
    email = "\u0130" * 130 + "@example.com"
    assert_error(
        client.post(
            "/api/admin/users",
            headers=admin_headers,
            json={"username": "ivan", "email": email, "password": "0123456789"},
        ),
        422,
    )
    assert_error(client.get("/api/admin/users/" + "9" * 5000, headers=admin_headers), 404)


def test_surrounding_spaces_are_trimmed_but_control_characters_refused(client, admin_headers):
    """The schema refuses control characters anywhere, the ends included (the fuzzer found a
    trailing form feed trimmed away and accepted)."""
    r = client.post("/api/admin/categories", headers=admin_headers, json={"name": " \u00a0Reports  "})
    assert r.status_code == 201 and r.get_json()["name"] == "Reports"
    for name in ("Reports\f", "\tReports", "Reports\n"):
        assert_error(client.post("/api/admin/categories", headers=admin_headers, json={"name": name}), 422)


def test_ten_megabyte_body_is_413(client, admin_headers, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    big = b'{"username": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    r = client.post("/api/login", data=big, headers={"Content-Type": "application/json"})
    assert "limit of 1 MB" in assert_error(r, 413)["message"]  # not the upload limit: this is no upload


def test_query_args_are_validated(client, admin_headers):
    for query in ("page=0", "page=abc", "per_page=101", "per_page=-1"):
        body = assert_error(client.get(f"/api/admin/users?{query}", headers=admin_headers), 422)
        assert "query" in body["errors"]


def test_unknown_api_paths_and_methods(client, admin_headers):
    assert_error(client.get("/api/nope"), 404)
    assert_error(client.get("/api/admin/users/999999", headers=admin_headers), 404)
    body = assert_error(client.delete("/api/login"), 405)
    assert "method" in body["message"].lower()


def test_a_crash_is_a_json_500_without_traceback(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/api/test-crash")
    def crash():
        raise RuntimeError("secret internal detail")

    body = assert_error(client.get("/api/test-crash"), 500)
    assert "secret internal detail" not in str(body)


def test_security_headers_on_api_and_errors(client):
    for r in (client.get("/api/health"), client.get("/api/nope"), client.post("/api/login", json={})):
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"]
        assert r.headers["Permissions-Policy"]
        assert r.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in client.get("/api/health").headers
    assert "Strict-Transport-Security" in client.get("/api/health", base_url="https://localhost").headers


def test_health_and_openapi(client):
    body = client.get("/api/health").get_json()
    assert body == {"status": "ok", "database": "ok", "storage": {"s3": "disabled", "local": "ok", "mode": "fallback"}}
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/login", "/api/me/password", "/api/admin/users/{user_id}", "/api/admin/audit"):
        assert path in spec["paths"], path
    login_body = spec["paths"]["/api/login"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert login_body["$ref"].endswith("/Login")


def test_health_is_503_when_the_database_is_unreachable(app, client):
    from sqlalchemy import create_engine

    from sequoalpha.extensions import db

    with app.app_context():
        # A closed port, as a stopped PostgreSQL looks to the app.
        working, db.engines[None] = db.engines[None], create_engine("postgresql+psycopg://x@127.0.0.1:1/x")
    try:
        r = client.get("/api/health")
        assert r.status_code == 503
        assert r.get_json()["database"] == "unavailable"
        body = assert_error(client.post("/api/login", json={"username": "a", "password": "b"}), 503)
        assert "database" in body["message"] and r.headers["Cache-Control"] == "no-store"
    finally:
        with app.app_context():
            db.engines[None] = working


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_lost_after_the_last_query_still_answers(app, client, make_user):
    """PostgreSQL going away between a request's last query and its end (seen once under the
    restart fault test) must not turn the finished answer into Gunicorn's HTML 500."""
    from sqlalchemy import create_engine, text

    from sequoalpha.extensions import db

    app.config["PROPAGATE_EXCEPTIONS"] = False
    killer = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")
    cut = {"armed": False}

    @app.after_request
    def terminate_this_requests_backend(response):
        if cut["armed"]:
            pid = db.session.connection().connection.dbapi_connection.info.backend_pid
            with killer.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return response

    make_user("client1")
    headers = login(client, "client1")
    cut["armed"] = True
    try:
        r = client.get("/api/me", headers=headers)  # a read that leaves its transaction open
    finally:
        cut["armed"] = False
        killer.dispose()
    assert r.status_code == 200 and r.get_json()["username"] == "client1"
    assert client.get("/api/me", headers=headers).status_code == 200  # the pool recovered


@pytest.mark.parametrize(
    "env, reason",
    [
        ({}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "short", "JWT_SECRET_KEY": "j" * 40}, "SECRET_KEY is shorter than 32 bytes"),
        ({"SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "short"}, "JWT_SECRET_KEY is shorter than 32 bytes"),
        ({"SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "s" * 40}, "must differ"),
        ({"SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "j" * 40, "PUBLIC_URL": ""}, "PUBLIC_URL is not set"),
    ],
)
def test_production_refuses_weak_secrets(monkeypatch, env, reason):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    monkeypatch.setenv("PUBLIC_URL", "https://portal.example.com")
    monkeypatch.setenv("SEQUOALPHA_ENV", "production")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=reason):
        load_config()


def test_production_accepts_strong_secrets_and_secures_cookies(monkeypatch):
    monkeypatch.setenv("SEQUOALPHA_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("JWT_SECRET_KEY", "j" * 40)
    monkeypatch.setenv("PUBLIC_URL", "https://portal.example.com")
    monkeypatch.delenv("COOKIE_SECURE", raising=False)
    monkeypatch.delenv("BCRYPT_ROUNDS", raising=False)
    cfg = load_config()
    assert cfg["JWT_COOKIE_SECURE"] is True and cfg["BCRYPT_ROUNDS"] == 12
