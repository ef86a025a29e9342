"""Hardening found missing by an outside review, through the real Nginx -> Gunicorn stack:
no static file on Gunicorn's own port, 1 MB bodies outside the upload, per-address connection
limits and short client timeouts, PDF bombs that never time a worker out, TLS 1.2/1.3 only
whatever the main nginx.conf says, and JSON (never HTML) when the app cannot answer."""

import json
import socket
import ssl
import subprocess
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from support.common import free_port, wait_for
from support.nginx import render_nginx
from support.pdf_bombs import object_stream_bomb

from .conftest import ADMIN, self_signed_cert
from .test_stack import login_from, raw_request

pytestmark = pytest.mark.ops


def test_gunicorn_port_serves_no_static_file(stack):
    for path in (
        "/",
        "/frontend/signin.html",
        "/frontend/..%2fbackend/.env",
        "/css/..%2f..%2fetc/passwd",
        "/images/..%2fREADME.md",
        "/frontend/..%2f.git/config",
        "/favicon.ico",
    ):
        r = requests.get(f"http://{stack.gunicorn_bind}{path}", timeout=10, allow_redirects=False)
        assert r.status_code == 404 and r.json()["code"] == 404, (path, r.status_code)


def test_a_2_mb_body_outside_the_upload_is_a_json_413_from_nginx(stack):
    seen = stack.gunicorn_log().count("/api/me/password")
    for path in ("/api/me/password", "/api/login", "/api/admin/users"):
        r = stack.post(
            path,
            headers={**stack.auth(), "Content-Type": "application/json"},
            data=b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}',
        )
        assert r.status_code == 413, (path, r.status_code)
        assert r.headers["Content-Type"] == "application/json"
        assert r.json()["message"] == "The request is larger than the limit of 1 MB.", r.text
    assert stack.gunicorn_log().count("/api/me/password") == seen  # Gunicorn never saw them


def _hold(source: str, count: int, request: bytes) -> list[socket.socket]:
    held = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", _hold.port), timeout=10, source_address=(source, 0))
        sock.sendall(request)
        held.append(sock)
    return held


def _closed_by_server(sock: socket.socket, deadline: float) -> bytes | None:
    """What the server sent before closing, or None if it is still open at `deadline`."""
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return None
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    return None


def _health_from(source: str) -> float:
    started = time.monotonic()
    answer = raw_request(
        _hold.port,
        b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        source=source,
        timeout=10,
    )
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    return time.monotonic() - started


def test_half_sent_headers_do_not_take_the_site_down_and_are_dropped(stack):
    """Found by an outside review: 1,100 half-sent requests from one address made /api/health
    unreachable. Here 300 (the test's Nginx has 1,024 connections), then the header timeout."""
    _hold.port = stack.http_port
    held = _hold("127.0.0.7", 300, b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    try:
        assert _health_from("127.0.0.1") < 3
        deadline = time.monotonic() + 16  # client_header_timeout 10 s
        still_open = sum(_closed_by_server(sock, deadline) is None for sock in held)
        assert still_open == 0, f"{still_open} of {len(held)} half-sent requests still held after 16 s"
    finally:
        for sock in held:
            sock.close()


def test_slow_bodies_are_limited_per_address(stack):
    """Requests whose body trickles in count against the address's limit (64 in progress):
    beyond it Nginx answers a JSON 503 at once; other addresses are not affected."""
    _hold.port = stack.http_port
    request = (
        b"POST /api/admin/groups HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b'Content-Length: 1000\r\n\r\n{"name": '
    )
    held = _hold("127.0.0.8", 100, request)
    try:
        answers = [_closed_by_server(sock, time.monotonic() + 0.5) for sock in held]
        refused = [a for a in answers if a is not None]
        assert len(refused) >= 30, f"only {len(refused)} of 100 slow requests were refused"
        shown = [a for a in refused if a]
        assert shown, f"{len(refused)} refused without an answer"
        head, _, body = shown[0].partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503") and b"application/json" in head.lower(), refused[0][:300]
        assert json.loads(body)["code"] == 503
        assert _health_from("127.0.0.1") < 3
        deadline = time.monotonic() + 16  # client_body_timeout 10 s
        still_open = sum(
            _closed_by_server(sock, deadline) is None for sock, a in zip(held, answers, strict=True) if a is None
        )
        assert still_open == 0, f"{still_open} slow bodies still held after 16 s"
    finally:
        for sock in held:
            sock.close()


def test_sign_ins_in_progress_are_capped_for_the_whole_host(stack):
    """A login flood cannot take every Gunicorn worker: at most SIGNIN_SLOTS (2 in the test
    site, 3 workers) sign-ins are in progress on the host, whatever their addresses; beyond that
    Nginx answers a JSON 503 with Retry-After at once, and Gunicorn never sees the request."""
    _hold.port = stack.http_port
    request = (
        b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"username": '
    )
    held = _hold("127.0.0.21", 1, request) + _hold("127.0.0.22", 1, request)  # two slow sign-ins
    try:
        time.sleep(0.5)  # Nginx has read their headers: they count
        seen = stack.gunicorn_log().count("/api/login")
        for path in ("/api/login", "/api/login/mfa"):
            conn = socket.create_connection(
                ("127.0.0.1", stack.http_port), timeout=10, source_address=("127.0.0.23", 0)
            )
            try:
                body = b'{"username": "x", "password": "y"}'
                conn.sendall(
                    b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                answer = b""
                while chunk := conn.recv(65536):
                    answer += chunk
            finally:
                conn.close()
            head, _, payload = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503"), (path, answer[:300])
            assert b"\r\nretry-after: 5\r\n" in head.lower() and b"content-type: application/json" in head.lower()
            assert json.loads(payload) == {
                "code": 503,
                "status": "Service Unavailable",
                "message": "Too many requests at once. Try again in a moment.",
            }
        assert stack.gunicorn_log().count("/api/login") == seen  # refused in front of the workers
    finally:
        for sock in held:
            sock.close()
    # The slots are free again as soon as those clients are gone.
    deadline = time.monotonic() + 10
    while (status := login_from(stack, "127.0.0.23", ADMIN["username"], ADMIN["password"])[0]) == 503:
        assert time.monotonic() < deadline, "the sign-in slots were not released"
        time.sleep(0.2)
    assert status == 200


def test_pdf_bombs_are_a_json_422_and_no_worker_times_out(stack):
    """Found by an outside review: three PDF bombs at once timed every worker out (HTML 500)."""
    bomb = object_stream_bomb(pages=8, inflated_mb=70)
    token = stack.token

    def send(i):
        started = time.monotonic()
        r = stack.post(
            "/api/admin/documents/upload",
            headers=stack.auth(token),
            data={"title": f"bomb {i}", "visibility": json.dumps({"everyone": True})},
            files={"file": (f"bomb{i}.pdf", bomb, "application/pdf")},
        )
        return r.status_code, r.headers.get("Content-Type"), time.monotonic() - started

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(send, range(3)))
    assert [status for status, _, _ in results] == [422] * 3, results
    assert all(ctype == "application/json" for _, ctype, _ in results), results
    assert max(seconds for _, _, seconds in results) < 25, results  # Gunicorn's timeout is 30 s
    assert "WORKER TIMEOUT" not in stack.gunicorn_log()
    assert stack.get("/api/health").status_code == 200


def _tls_version(port: int, version: ssl.TLSVersion, cafile) -> str:
    ctx = ssl.create_default_context(cafile=str(cafile))
    if version < ssl.TLSVersion.TLSv1_2:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer an old version at all
    ctx.minimum_version = ctx.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        return tls.version()


def test_tls_1_3_is_negotiated_and_1_1_refused_whatever_the_main_conf_says(stack, tmp_path):
    """Found by an outside review: TLS 1.3 depended on the main nginx.conf (Debian's named older
    versions only). The main conf here says TLS 1.0-1.2, as such a host's would."""
    cert, key = self_signed_cert(tmp_path)
    setup = render_nginx(
        tmp_path / "tls", upstream=stack.gunicorn_bind, upload_dir=stack.upload_dir, tls=True, cert=cert, key=key
    )
    setup.conf.write_text(
        setup.conf.read_text().replace("http {", "http {\n    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;", 1)
    )
    proc = subprocess.Popen(setup.cmd("-g", "daemon off;"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:

        def up():
            try:
                return requests.get(f"https://localhost:{setup.https_port}/", verify=str(cert), timeout=2).ok
            except requests.RequestException:
                return False

        wait_for(up, 15, "Nginx with TLS")
        assert _tls_version(setup.https_port, ssl.TLSVersion.TLSv1_3, cert) == "TLSv1.3"
        assert _tls_version(setup.https_port, ssl.TLSVersion.TLSv1_2, cert) == "TLSv1.2"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the client offering them is the point
            for old in (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1):
                with pytest.raises((ssl.SSLError, ConnectionResetError)):
                    _tls_version(setup.https_port, old, cert)
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_dead_app_is_a_json_502_and_logged(stack, tmp_path):
    """Gunicorn stopped (nothing listens on its port): the client gets the API's JSON error
    shape, not Nginx's HTML page, and the operator a JSON line in sequoalpha_api_errors.log."""
    setup = render_nginx(tmp_path / "dead", upstream=f"127.0.0.1:{free_port()}", upload_dir=stack.upload_dir)
    proc = subprocess.Popen(setup.cmd("-g", "daemon off;"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{setup.http_port}"

        def up():
            try:
                return requests.get(base + "/", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, 15, "Nginx")
        for path in ("/api/health", "/api/login", "/api/admin/documents/upload"):
            r = requests.get(base + path, timeout=10)
            assert r.status_code == 502, (path, r.status_code)
            assert r.headers["Content-Type"] == "application/json", (path, r.text[:200])
            assert r.json()["code"] == 502 and "<html" not in r.text.lower()
        lines = (setup.prefix / "logs" / "sequoalpha_api_errors.log").read_text().splitlines()
        logged = [json.loads(line) for line in lines]
        assert [entry["status"] for entry in logged][-3:] == [502, 502, 502], lines
    finally:
        proc.terminate()
        proc.wait(10)
