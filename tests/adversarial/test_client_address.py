"""The client address the audit log and Gunicorn's access log record: a trusted proxy's
X-Real-IP (or X-Forwarded-For) is believed only when it is an IP address; any other text
(markup, terminal escapes, log-line forgeries) falls back to the peer's own address."""

import socket

import pytest

from support.api import PASSWORD, SECRETS, login
from support.gunicorn import Gunicorn, app_env

FORGED = [
    "<script>alert(1)</script>",
    "\x1b[2J\x1b[31mroot",
    "127.0.0.1 X-Evil: 1",
    "1.2.3.4, <b>x</b>",
    "1.2.3.4 <b>",
    "999.1.1.1",
    "localhost",
    "' OR 1=1 --",
    "a" * 100,
    "1.2.3.4\x00",
    "::1%<b>",
    "\u202e1.2.3.4",
    "\uff11.\uff12.\uff13.\uff14",  # fullwidth digits: int() would read them as 1.2.3.4
]


@pytest.fixture
def app_config(app_config):
    app_config["TRUSTED_PROXIES"] = ["127.0.0.1"]  # the test client's peer address
    return app_config


def last_login_ip(client, headers) -> str:
    events = client.get("/api/admin/audit?action=login&per_page=1", headers=headers).get_json()["items"]
    return events[0]["ip"]


def test_only_an_ip_address_from_a_trusted_proxy_is_recorded(client, make_user):
    """Found by an outside review: X-Real-IP was stored verbatim, so markup and terminal escapes
    from a trusted peer landed in the audit log's `ip`."""
    make_user("admin", is_admin=True)
    headers = login(client, "admin")
    recorded = {}
    for header in ("X-Real-IP", "X-Forwarded-For"):
        for value in FORGED:
            response = client.post(
                "/api/login",
                json={"username": "admin", "password": PASSWORD},
                headers={header: value},
                environ_base={"REMOTE_ADDR": "127.0.0.1"},
            )
            assert response.status_code == 200
            recorded[(header, value)] = last_login_ip(client, headers)
    assert set(recorded.values()) == {"127.0.0.1"}, {k: v for k, v in recorded.items() if v != "127.0.0.1"}
    for value, expected in (("203.0.113.7", "203.0.113.7"), (" 2001:DB8::1 ", "2001:db8::1")):
        client.post("/api/login", json={"username": "admin", "password": PASSWORD}, headers={"X-Real-IP": value})
        assert last_login_ip(client, headers) == expected


def test_an_untrusted_peer_cannot_name_its_address(client, make_user):
    make_user("admin", is_admin=True)
    headers = login(client, "admin")
    client.post(
        "/api/login",
        json={"username": "admin", "password": PASSWORD},
        headers={"X-Real-IP": "203.0.113.7"},
        environ_base={"REMOTE_ADDR": "198.51.100.9"},
    )
    assert last_login_ip(client, headers) == "198.51.100.9"


@pytest.mark.slow  # starts Gunicorn
def test_gunicorn_access_log_starts_with_an_ip_address(tmp_path):
    """The access log line starts with the client address: a forged X-Real-IP must not start it."""
    (tmp_path / "uploads").mkdir()
    env = app_env(f"sqlite:///{tmp_path / 'prod.db'}", tmp_path / "uploads", TRUSTED_PROXIES="127.0.0.1", **SECRETS)
    with Gunicorn(env, tmp_path, workers=1) as gunicorn:
        for value in ("<b>bold</b>", "FORGED 200 GET /admin", "1.2.3.4 <b>", "203.0.113.9"):
            with socket.create_connection(("127.0.0.1", gunicorn.port), timeout=10) as sock:
                sock.sendall(
                    f"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Real-IP: {value}\r\nConnection: close\r\n\r\n".encode()
                )
                while sock.recv(65536):
                    pass
        gunicorn.stop()
        lines = [line for line in gunicorn.log_path.read_text().splitlines() if "/api/health" in line]
    firsts = [line.split(" ", 1)[0] for line in lines]
    assert firsts[-4:] == ["127.0.0.1", "127.0.0.1", "127.0.0.1", "203.0.113.9"], lines[-4:]
    assert not any("<b>" in line or "FORGED" in line for line in lines), lines
