"""Through the real Nginx (shipped site, rendered) -> Gunicorn (shipped config) -> Flask ->
PostgreSQL, with moto's server as S3: static files, the API, sign-in, uploads, both download
paths, what must stay private, throttling, the size limit and the headers on every answer."""

import hashlib
import http.client
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from support.common import require, wait_for
from support.nginx import render_nginx

from .conftest import ADMIN, SECURITY_HEADERS, self_signed_cert


def assert_security_headers(response, *, hsts: bool = False):
    """Each security header exactly once (Nginx's copy; the app's is hidden), HSTS on TLS only."""
    headers = response.raw.headers if hasattr(response, "raw") else response.msg
    getlist = headers.getlist if hasattr(headers, "getlist") else headers.get_all
    status = response.status_code if hasattr(response, "status_code") else response.status
    where = f"{getattr(response, 'url', '')} ({status})"
    for name, expected in SECURITY_HEADERS.items():
        values = getlist(name) or []
        assert len(values) == 1, f"{where}: {name} sent {len(values)} times: {values}"
        assert expected in values[0], f"{where}: {name}: {values[0]}"
    hsts_values = getlist("Strict-Transport-Security") or []
    assert len(hsts_values) == (1 if hsts else 0), f"{where}: HSTS {hsts_values}"
    assert (headers.get("Server") or "nginx") == "nginx", f"{where}: version leaked: {headers.get('Server')}"


def raw_request(port: int, request: bytes, *, source: str = "127.0.0.1", timeout: float = 10) -> bytes:
    """Send bytes as they are; return the answer (head and Content-Length body), or b"" when the
    server closes the connection without a word."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body


def login_from(stack, source: str, username: str, password: str) -> tuple[int, dict, bytes]:
    """POST /api/login from another loopback address (Nginx throttles per client address)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=60, source_address=(source, 0))
    try:
        conn.request(
            "POST",
            "/api/login",
            body=json.dumps({"username": username, "password": password}),
            headers={"Content-Type": "application/json", "X-Forwarded-For": "6.6.6.6"},
        )
        response = conn.getresponse()
        return response.status, response, response.read()
    finally:
        conn.close()


def download(stack, document_id: int, token: str | None = None) -> requests.Response:
    return stack.get(f"/api/documents/{document_id}/download", headers=stack.auth(token))


# ---- static site -------------------------------------------------------------------------------


def test_home_page_and_assets(stack):
    home = stack.get("/")
    assert home.status_code == 200 and "<html" in home.text.lower()
    assert home.headers["Content-Type"].startswith("text/html")
    assert home.headers["Cache-Control"] == "no-cache"
    assert_security_headers(home)

    css = stack.get("/css/site.css", headers={"Accept-Encoding": "gzip"})
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert css.headers["Cache-Control"].startswith("public, max-age=")
    assert css.headers.get("Content-Encoding") == "gzip"
    assert_security_headers(css)

    page = stack.get("/frontend/signin.html")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-cache"
    assert_security_headers(page)

    for path in ("/images/logo.svg", "/favicon.ico"):
        image = stack.get(path)
        assert image.status_code == 200 and image.headers["Content-Type"] == "image/svg+xml", path
        assert image.headers["Cache-Control"].startswith("public"), path


@pytest.mark.parametrize(
    "path",
    [
        "/backend/main.py",
        "/backend/.env",
        "/backend/sequoalpha/config.py",
        "/.git/config",
        "/.gitignore",
        "/deploy/gunicorn.conf.py",
        "/manage.sh",
        "/requirements.txt",
        "/tests/ops/conftest.py",
        "/frontend/.hidden",
        "/_protected/",
        "/_protected/x.pdf",
        "/uploads/",
        "/backend/uploads/",
        "/frontend/../backend/main.py",
        "/%2e%2e/backend/main.py",
    ],
)
def test_not_public(stack, path):
    r = stack.get(path)
    assert r.status_code in (400, 404), (path, r.status_code)
    assert "SECRET" not in r.text and "import" not in r.text
    assert_security_headers(r)


def test_unknown_host_gets_no_answer(stack):
    answer = raw_request(stack.http_port, b"GET / HTTP/1.1\r\nHost: scanner.example\r\nConnection: close\r\n\r\n")
    assert answer == b""  # 444: the connection is closed without a word


# ---- API through the proxy ----------------------------------------------------------------------


def test_api_is_proxied_with_one_copy_of_each_header(stack):
    health = stack.get("/api/health")
    assert health.status_code == 200, health.text
    assert health.json() == {
        "status": "ok",
        "database": "ok",
        "storage": {"s3": "ok", "local": "ok", "mode": "fallback"},
    }
    assert health.raw.headers.getlist("Cache-Control") == ["no-store"]
    assert_security_headers(health)

    missing = stack.get("/api/no-such-endpoint")
    assert missing.status_code == 404 and missing.json()["code"] == 404
    assert missing.raw.headers.getlist("Cache-Control") == ["no-store"]
    assert_security_headers(missing)

    anonymous = stack.get("/api/me")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == 401
    assert_security_headers(anonymous)


def test_sign_in(stack):
    r = stack.post("/api/login", json={"username": ADMIN["username"], "password": ADMIN["password"]})
    assert r.status_code == 200, r.text
    assert_security_headers(r)
    body = r.json()
    assert body["user"]["username"] == ADMIN["username"] and body["user"]["is_admin"] is True
    assert "access_token_cookie" in r.cookies
    me = stack.get("/api/me", headers=stack.auth(body["access_token"]))
    assert me.status_code == 200 and me.json()["username"] == ADMIN["username"]


def test_audit_records_the_client_address_not_a_forged_one(stack):
    """Nginx passes the peer address (X-Real-IP); the client's own X-Forwarded-For is ignored."""
    headers = stack.auth()
    status, _, _ = login_from(stack, "127.0.0.3", ADMIN["username"], ADMIN["password"])
    assert status == 200
    events = stack.get("/api/admin/audit?action=login&per_page=5", headers=headers).json()["items"]
    assert events[0]["ip"] == "127.0.0.3", events[0]


def test_login_burst_is_throttled_per_address(stack):
    source = "127.0.0.2"
    with ThreadPoolExecutor(max_workers=30) as pool:
        # A different name each time: five failures under one name would earn the app's own lock.
        results = list(pool.map(lambda i: login_from(stack, source, f"nobody-{i}", "wrong password!"), range(30)))
    statuses = [status for status, _, _ in results]
    assert statuses.count(429) >= 10, statuses
    # 503: those let through met the host-wide cap on sign-ins in progress (test_hardening.py).
    assert set(statuses) <= {401, 429, 503}, statuses
    _status, response, body = next(r for r in results if r[0] == 429)
    assert response.getheader("Retry-After") == "60"
    assert json.loads(body)["code"] == 429 and response.getheader("Content-Type") == "application/json"
    assert_security_headers(response)
    # Another address is not affected.
    assert login_from(stack, "127.0.0.1", ADMIN["username"], ADMIN["password"])[0] == 200


def test_oversize_upload_is_refused_by_nginx(stack):
    """Nginx answers 413 from the headers alone: Gunicorn never sees (or waits for) the body."""
    size = 50 * 1024 * 1024 + 1
    request = (
        f"POST /api/admin/documents/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {stack.token}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    seen_by_gunicorn = stack.gunicorn_log().count('"POST /api/admin/documents/upload')
    started = time.monotonic()
    answer = raw_request(stack.http_port, request, timeout=10)
    assert time.monotonic() - started < 3
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert json.loads(body) == {
        "code": 413,
        "status": "Payload Too Large",
        "message": "The request is larger than the upload limit of 50 MB.",
    }
    assert b"content-security-policy:" in head.lower()
    assert stack.gunicorn_log().count('"POST /api/admin/documents/upload') == seen_by_gunicorn


# ---- documents ---------------------------------------------------------------------------------


def test_upload_and_presigned_download(stack, documents):
    document, pdf = documents["s3"]
    assert document["sha256"] == hashlib.sha256(pdf).hexdigest()
    r = download(stack, document["id"])
    assert r.status_code == 302, (r.status_code, r.text)
    assert_security_headers(r)
    location = r.headers["Location"]
    assert location.startswith(stack.s3.endpoint + "/"), location
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location
    fetched = requests.get(location, timeout=30)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == document["sha256"]
    assert fetched.headers["Content-Type"] == "application/pdf"
    assert fetched.headers["Content-Disposition"].startswith("attachment;")


def stored_file_modes(stack) -> dict:
    return {p.name: oct(p.stat().st_mode & 0o777) for p in stack.upload_dir.iterdir() if p.is_file()}


def test_uploads_are_readable_by_nginx_through_the_group(stack, documents):
    """Nginx's workers (www-data) read uploads through the folder's group: files must be 0640
    (umask 0027). A file created 0600 (tempfile.mkstemp) breaks every local download."""
    modes = stored_file_modes(stack)
    assert modes and all(int(mode, 8) & 0o040 for mode in modes.values()), (
        f"stored files not group-readable: {modes}; the app should fchmod its upload temp file "
        "(mkstemp makes it 0600), e.g. os.fchmod(fd, 0o640) in uploads.received_file"
    )


def test_local_download_is_sent_by_nginx(stack, documents):
    document, pdf = documents["local"]
    r = download(stack, document["id"])
    assert r.status_code == 200, (r.status_code, r.text[:200], stored_file_modes(stack))
    assert r.content == pdf
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''Held%20locally%20Q1%20r%C3%A9sum%C3%A9.pdf" in r.headers["Content-Disposition"]
    assert "X-Accel-Redirect" not in r.headers
    assert r.raw.headers.getlist("Cache-Control") == ["no-store"]
    assert_security_headers(r)
    # Nginx sent it (sendfile, ranges), not a Gunicorn worker.
    ranged = stack.get(f"/api/documents/{document['id']}/download", headers={**stack.auth(), "Range": "bytes=0-4"})
    assert ranged.status_code == 206 and ranged.content == b"%PDF-"


def test_stored_files_are_unreachable_from_outside(stack, documents):
    key_files = [p.name for p in stack.upload_dir.iterdir() if p.suffix == ".pdf"]
    assert key_files
    for name in key_files:
        for path in (f"/_protected/{name}", f"/backend/uploads/{name}", f"/uploads/{name}"):
            r = stack.get(path)
            assert r.status_code == 404, path
            assert not r.content.startswith(b"%PDF")


def test_a_document_not_visible_is_a_404_through_nginx_too(stack, documents):
    r = stack.get("/api/documents/999999/download", headers=stack.auth())
    assert r.status_code == 404 and r.json()["code"] == 404
    assert_security_headers(r)


# ---- TLS ---------------------------------------------------------------------------------------


def test_tls_site_redirects_and_sends_hsts(stack, tmp_path):
    """The TLS rendering on a throwaway certificate, in front of the same Gunicorn."""
    cert, key = self_signed_cert(tmp_path)
    setup = render_nginx(
        tmp_path / "tls", upstream=stack.gunicorn_bind, upload_dir=stack.upload_dir, tls=True, cert=cert, key=key
    )
    import subprocess

    proc = subprocess.Popen(setup.cmd("-g", "daemon off;"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"https://localhost:{setup.https_port}"

        def up():
            try:
                return requests.get(base + "/", verify=str(cert), timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, 15, "Nginx with TLS")
        home = requests.get(base + "/", verify=str(cert), timeout=10)
        assert_security_headers(home, hsts=True)
        health = requests.get(base + "/api/health", verify=str(cert), timeout=10)
        assert health.status_code == 200
        assert_security_headers(health, hsts=True)
        plain = requests.get(f"http://localhost:{setup.http_port}/api/health?x=1", allow_redirects=False, timeout=10)
        assert plain.status_code == 301
        assert plain.headers["Location"] == "https://localhost/api/health?x=1"
    finally:
        proc.terminate()
        proc.wait(10)


# ---- operator smoke test -------------------------------------------------------------------


def test_manage_test_smoke_tests_the_running_site(stack):
    """`./manage.sh test` against this stack (SEQUOALPHA_URL, GUNICORN_BIND say where it is)."""
    require("curl", "curl")
    result = stack.manage(
        "test",
        env={
            "SEQUOALPHA_URL": stack.url,
            "GUNICORN_BIND": stack.gunicorn_bind,
            "SEQUOALPHA_DEPLOY_CONF": "/nonexistent",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout and "All good." in result.stdout
    stopped = stack.manage("test", env={"SEQUOALPHA_URL": "http://127.0.0.1:9", "GUNICORN_BIND": "127.0.0.1:9"})
    assert stopped.returncode == 1 and "FAIL" in stopped.stdout
