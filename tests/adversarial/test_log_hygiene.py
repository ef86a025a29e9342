"""Log hygiene: secrets never reach a log, and user input cannot forge a log line.

Every log record of the run is kept by tests/support/figures.py (a handler on the root logger) and
searched at the end of the session for every password the app hashed or checked, for JWTs and
for presigned-URL signatures. The tests here drive the paths most likely to leak (failed and
successful sign-ins, cookies, refresh, logout, password changes, S3 presigning and S3 failures)
and check right away; the end-of-session scan covers the rest of the suite, the Gunicorn
processes of the fault suite and the CLI commands they run.
"""

import logging
import socket
import time

import pytest

from support import figures
from support.api import login
from support.documents import make_pdf, upload
from support.gunicorn import Gunicorn, app_env, flask_cli

LONG_SECRET = "Hygiene-check password 7f3a9c1e, never logged"
FORGED = "audit action=login actor='admin' FORGED"


def _lines_since(mark: int) -> list[tuple[str, str]]:
    return figures.records()[mark:]


def test_secrets_stay_out_of_logs_through_a_whole_session(app, client, make_user, s3):
    figures.secret(LONG_SECRET)
    mark = len(figures.records())
    admin_id = make_user("admin", is_admin=True, password=LONG_SECRET)
    make_user("client1", password=LONG_SECRET + "!")
    logging.getLogger("sequoalpha").info("hygiene test: records are being kept")

    # Failed sign-ins: wrong password, unknown user, the password typed as the username.
    for body in (
        {"username": "admin", "password": LONG_SECRET + "x"},
        {"username": "nobody", "password": LONG_SECRET},
        {"username": "admin", "password": ""},
    ):
        assert client.post("/api/login", json=body).status_code in {401, 422}
    # Cookie session: login, a CSRF-protected write, refresh, logout.
    response = client.post("/api/login", json={"username": "admin", "password": LONG_SECRET})
    assert response.status_code == 200
    tokens = response.get_json()
    csrf = client.get_cookie("csrf_access_token").value
    refresh_csrf = client.get_cookie("csrf_refresh_token").value
    assert client.post("/api/token/refresh", headers={"X-CSRF-TOKEN": refresh_csrf}).status_code == 200
    # Bearer session: an admin creates a user and resets a password, with bad and good input.
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (
        client.post(
            "/api/admin/users",
            headers=headers,
            json={"username": "carol", "email": "carol@example.com", "password": LONG_SECRET + "carol"},
        ).status_code
        == 201
    )
    assert (
        client.post(
            "/api/admin/users",
            headers=headers,
            json={"username": "carol", "email": "carol@example.com", "password": LONG_SECRET + "carol"},
        ).status_code
        == 409
    )
    assert (
        client.post(
            "/api/admin/users", headers=headers, json={"username": "x", "email": "bad", "password": LONG_SECRET[:5]}
        ).status_code
        == 422
    )
    carol = client.get("/api/admin/users?per_page=100", headers=headers).get_json()["items"][-1]["id"]
    assert (
        client.patch(f"/api/admin/users/{carol}", headers=headers, json={"password": LONG_SECRET + "reset"}).status_code
        == 200
    )
    # A forged, an expired-looking and a malformed token.
    for value in (tokens["access_token"][:-4] + "AAAA", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.x", "garbage"):
        assert client.get("/api/me", headers={"Authorization": f"Bearer {value}"}).status_code in {401, 422}
    # S3: an upload pushed to moto, a presigned download, then S3 failing under a download.
    response = upload(client, headers, make_pdf(), "hygiene.pdf", title="Hygiene", visibility={"everyone": True})
    assert response.status_code == 201 and response.get_json()["storage"]["s3"] is True
    document = response.get_json()["id"]
    response = client.get(f"/api/documents/{document}/download", headers=headers)
    assert response.status_code == 302 and "X-Amz-Signature=" in response.headers["Location"]
    app.config["S3_BUCKET"] = "no-such-bucket"
    response = client.get(f"/api/documents/{document}/download", headers=headers)
    assert response.status_code == 200  # the local copy, S3 being "gone"
    response.close()
    # Password change (wrong, then right), and logout with the cookie.
    body = {"current_password": LONG_SECRET + "wrong", "new_password": LONG_SECRET + "new"}
    assert client.post("/api/me/password", json=body, headers=headers).status_code == 422
    body["current_password"] = LONG_SECRET
    csrf = client.get_cookie("csrf_access_token").value  # the refresh above set a new one
    assert client.post("/api/me/password", json=body, headers={"X-CSRF-TOKEN": csrf}).status_code == 204
    client.post("/api/logout", headers={"X-CSRF-TOKEN": client.get_cookie("csrf_access_token").value})

    kept = _lines_since(mark)
    assert any("hygiene test" in text for _, text in kept), "the root handler is not keeping records"
    assert any("login_failed" in text for _, text in kept)
    leaks = [
        (source, text)
        for source, text in kept
        if LONG_SECRET in text
        or figures.JWT.search(text)
        or figures.PRESIGNED.search(text)
        or tokens["access_token"] in text
        or tokens["refresh_token"] in text
    ]
    assert not leaks, leaks
    assert admin_id


@pytest.mark.parametrize(
    "evil",
    [
        "admin\r\n" + FORGED,
        "admin\n" + FORGED,
        "admin\r" + FORGED,
        "admin\u2028" + FORGED,
        "admin\x1b[2K\r" + FORGED,
    ],
)
def test_cr_lf_in_user_input_cannot_forge_log_lines(app, client, make_user, evil):
    """Usernames, titles, descriptions, file names and search text carrying CR/LF (and other
    line breaks) are refused or logged on one line, escaped."""
    make_user("admin", is_admin=True)
    headers = login(client, "admin")
    mark = len(figures.records())
    client.post("/api/login", json={"username": evil, "password": "whatever password"})
    client.post(
        "/api/admin/users",
        headers=headers,
        json={"username": evil, "email": "e@example.com", "password": "a fine password", "full_name": evil},
    )
    client.post("/api/admin/groups", headers=headers, json={"name": evil})
    client.post("/api/admin/categories", headers=headers, json={"name": evil})
    client.post(
        "/api/admin/documents/link",
        headers=headers,
        json={"title": evil, "description": evil, "external_url": "https://example.com/" + evil},
    )
    upload(client, headers, make_pdf(label="evil name"), evil + ".pdf", title="Fine title", description="fine")
    upload(client, headers, make_pdf(label="evil title"), "fine.pdf", title=evil, description=evil)
    upload(client, headers, b"%PDF-1.7\n" + evil.encode() + b"\n%%EOF\n", "broken.pdf", title="Broken")
    client.get("/api/documents", headers=headers, query_string={"q": evil})
    client.get("/api/admin/audit", headers=headers, query_string={"action": evil})

    rendered = _render(_lines_since(mark))
    forged = [line for line in rendered.splitlines() if line.lstrip().startswith(FORGED)]
    assert not forged, rendered
    assert not [m for m in figures.scan()["forged"] if FORGED in m[1]]


def _render(lines) -> str:
    """The records as a log file shows them: one line per record (tracebacks aside)."""
    return "\n".join(f"INFO {source}: {text}" for source, text in lines)


@pytest.mark.slow
def test_gunicorn_logs_cannot_be_forged_over_the_wire(tmp_path):
    """The access and error logs of the real Gunicorn (shipped config) under raw requests whose
    request line and headers carry CR, LF and escapes: no line of the log starts with the
    forged text. Runs on SQLite: no database server needed."""
    env = app_env(f"sqlite:///{tmp_path / 'portal.db'}", tmp_path / "uploads")
    (tmp_path / "uploads").mkdir()
    migrated = flask_cli(env, "db", "upgrade")
    assert migrated.returncode == 0, migrated.stderr
    with Gunicorn(env, tmp_path, workers=1) as server:
        raw = [
            f"GET /api/health?x=1\r\n{FORGED} HTTP/1.1\r\nHost: x\r\n\r\n",
            f"GET /api/health HTTP/1.1\r\nHost: x\r\nUser-Agent: a\r\n{FORGED}\r\n\r\n",
            f"GET /api/health HTTP/1.1\r\nHost: x\r\nUser-Agent: a\n {FORGED}\r\n\r\n",
            f"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Real-IP: 1.2.3.4\r{FORGED}\r\n\r\n",
            f"GET /api/%0d%0a{FORGED.replace(' ', '%20')} HTTP/1.1\r\nHost: x\r\n\r\n",
            _post_json("/api/login", '{"username": "a\\r\\n' + FORGED + '", "password": "not the password"}'),
        ]
        for request in raw:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(request.encode("latin-1"))
                sock.shutdown(socket.SHUT_WR)
                try:
                    while sock.recv(65536):
                        pass
                except OSError:
                    pass
        time.sleep(0.5)
        log = server.log()
    assert "GET /api/health" in log  # the access log is on
    forged = [line for line in log.splitlines() if line.lstrip().startswith(FORGED[:20])]
    assert not forged, log


def _post_json(path: str, body: str) -> str:
    data = body.encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n{body}"
    )
