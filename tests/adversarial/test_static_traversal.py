"""Path traversal against the static-site routes: every folder the app serves in development,
with every spelling of `..` we could think of, must never return a file outside that folder;
in production (Nginx serves the site) the app has no static route at all, on Gunicorn's own
port included."""

import itertools
import sqlite3

import pytest
import requests

from sequoalpha import create_app
from support.api import SECRETS, make_config
from support.gunicorn import Gunicorn, app_env

CANARY = "CANARY-9f2c61"
# The secrets an attacker wants, relative to the repository root.
SECRET_FILES = {
    "backend/instance/jwt_secret_key.txt": CANARY + "-jwt",
    "backend/instance/secret_key.txt": CANARY + "-secret",
    "backend/.env": f"JWT_SECRET_KEY={CANARY}-env",
    ".git/config": f"[remote]\nurl = {CANARY}-git",
    "README.md": CANARY + "-readme",
}
TARGETS = ["backend/instance/jwt_secret_key.txt", "backend/instance/sequoalpha.db", ".git/config"]
# What may be served: the public folders.
PUBLIC_FILES = {
    "index.html": "<html>home</html>",
    "frontend/signin.html": "<html>signin</html>",
    "frontend/.hidden": CANARY + "-dotfile",
    "css/site.css": "body{}",
    "images/favicon.svg": "<svg/>",
    "images/sub/logo.svg": "<svg/>",
}

# Ways to say "the parent folder" in a URL path (each followed by a path separator spelling).
DOTS = [
    "..",
    "%2e%2e",
    "%2E%2E",
    ".%2e",
    "%2e.",
    "%252e%252e",
    "%c0%ae%c0%ae",
    "%e0%80%ae%e0%80%ae",
    "%ef%bc%8e%ef%bc%8e",
    "\uff0e\uff0e",
    "%u002e%u002e",
    "..;",
    "...",
    "....",
    ".. ",
    "..%00",
    "%2e%2e%00",
]
SLASHES = [
    "/",
    "%2f",
    "%2F",
    "%5c",
    "%5C",
    "\\",
    "%252f",
    "%c0%af",
    "%e0%80%af",
    "%ef%bc%8f",
    "%u2215",
    "//",
    "/./",
    "%00/",
]
PREFIXES = [
    "/frontend/",
    "/css/",
    "/images/",
    "/images/sub/",
    "/frontend/nothing/",
    "/favicon.ico/",
    "/",
    "/index.html/",
]


def traversals() -> list[str]:
    """Up one or three levels, with every dot and slash spelling, plus absolute paths."""
    urls = []
    for prefix, dots, slash in itertools.product(PREFIXES, DOTS, SLASHES):
        for depth in (1, 3):
            for target in TARGETS:
                urls.append(prefix + (dots + slash) * depth + target)
    for prefix in PREFIXES:
        for absolute in ("/etc/passwd", "%2fetc%2fpasswd", "//etc/passwd", "%5cetc%5cpasswd", "C:%5cwindows"):
            urls.append(prefix + absolute)
    return urls


@pytest.fixture
def fake_root(tmp_path):
    """A repository root whose secrets are canaries, so a leak is recognised by content."""
    root = tmp_path / "repo"
    for relative, content in {**SECRET_FILES, **PUBLIC_FILES}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content)
    db = root / "backend" / "instance" / "sequoalpha.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE secret (value TEXT)")
        conn.execute("INSERT INTO secret VALUES (?)", (CANARY + "-db",))
    return root


def leaks(response_text: str) -> bool:
    return CANARY in response_text or "root:x:0:0" in response_text


def test_public_files_are_still_served_in_development(tmp_path, fake_root):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, STATIC_ROOT=str(fake_root)))
    client = app.test_client()
    for url, expected in (
        ("/", "home"),
        ("/frontend/signin.html", "signin"),
        ("/css/site.css", "body"),
        ("/images/sub/logo.svg", "svg"),
        ("/favicon.ico", "svg"),
    ):
        with client.get(url) as response:
            assert response.status_code == 200 and expected in response.text, url
    with client.get("/frontend/signin.html") as response:
        assert response.headers["Cache-Control"] == "no-cache"


@pytest.mark.slow  # 11,000 URLs
def test_no_spelling_of_dot_dot_leaves_a_static_folder(tmp_path, fake_root):
    """Found by an outside review: /frontend/..%2fbackend/instance/jwt_secret_key.txt returned the
    JWT key (the route joined the path onto the repository root)."""
    app = create_app(make_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, STATIC_ROOT=str(fake_root)))
    client = app.test_client()
    urls = traversals()
    leaked = []
    for url in urls:
        with client.get(url, follow_redirects=True) as response:
            body = response.get_data(as_text=True)
        if leaks(body) or (response.status_code == 200 and "backend" in url):
            leaked.append((url, response.status_code))
    assert not leaked, f"{len(leaked)} of {len(urls)} traversals answered: {leaked[:10]}"


def test_dotfiles_in_a_public_folder_are_not_served(tmp_path, fake_root):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, STATIC_ROOT=str(fake_root)))
    with app.test_client().get("/frontend/.hidden") as response:
        body = response.get_data(as_text=True)
    assert response.status_code == 404 and CANARY not in body


def test_production_registers_no_static_route(tmp_path, fake_root):
    """In production Nginx serves the site: the app answers the API's JSON 404 for every static path."""
    app = create_app(
        make_config(
            f"sqlite:///{tmp_path / 'x.db'}",
            tmp_path,
            STATIC_ROOT=str(fake_root),
            ENV_MODE="production",
            BCRYPT_ROUNDS=12,
            PUBLIC_URL="https://portal.example.com",
        )
    )
    assert "site.asset" not in app.view_functions and "site.index" not in app.view_functions
    client = app.test_client()
    for url in (
        "/",
        "/favicon.ico",
        "/frontend/signin.html",
        "/css/site.css",
        "/images/favicon.svg",
        "/frontend/..%2fbackend/instance/jwt_secret_key.txt",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.get_json()["code"] == 404, url


@pytest.mark.slow  # starts Gunicorn
def test_production_gunicorn_port_serves_no_repository_file(tmp_path):
    """The same attack on production Gunicorn's own port (the real repository: its README,
    config and scripts stand in for the secrets a server holds next to them)."""
    env = app_env(f"sqlite:///{tmp_path / 'prod.db'}", tmp_path / "uploads", **SECRETS)
    (tmp_path / "uploads").mkdir()
    with Gunicorn(env, tmp_path, workers=1) as gunicorn:
        for url in (
            "/",
            "/frontend/signin.html",
            "/frontend/..%2fREADME.md",
            "/frontend/..%2fmanage.sh",
            "/css/..%2fbackend/sequoalpha/config.py",
            "/images/..%2f..%2fbackend/instance/jwt_secret_key.txt",
            "/frontend/..%2f.git",
            "/frontend/%2e%2e%2fbackend/.env",
            "/frontend/..%5cREADME.md",
        ):
            response = requests.get(gunicorn.url + url, timeout=10, allow_redirects=False)
            assert response.status_code == 404, (url, response.status_code, response.text[:200])
            assert response.headers["Content-Type"] == "application/json", url
