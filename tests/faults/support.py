"""A deployed portal for the fault tests: a database in a throwaway cluster, migrated like
production (`flask db upgrade`), an admin made with `flask create-admin`, and a small HTTP
client that never hangs (every request has a timeout) and reports what it saw."""

from __future__ import annotations

import io
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from support import figures
from support.documents import make_pdf
from support.gunicorn import app_env, flask_cli

ADMIN = "faultadmin"


@dataclass
class Portal:
    env: dict
    upload_dir: Path
    password: str
    url: str = ""
    token: str = ""
    session: requests.Session = field(default_factory=requests.Session)

    def cli(self, *args: str, timeout: float = 120):
        return flask_cli(self.env, *args, timeout=timeout)

    def sign_in(self, url: str) -> None:
        self.url = url
        response = self.session.post(
            f"{url}/api/login", json={"username": ADMIN, "password": self.password}, timeout=30
        )
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        self.session.cookies.clear()  # Bearer only: no CSRF needed for writes

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def upload(self, content: bytes, name: str, timeout: float = 30, **fields) -> requests.Response:
        form = {"title": fields.pop("title", name), "visibility": '{"everyone": true}', **fields}
        return requests.post(
            f"{self.url}/api/admin/documents/upload",
            headers=self.auth,
            data=form,
            files={"file": (name, io.BytesIO(content), "application/pdf")},
            timeout=timeout,
            allow_redirects=False,
        )

    def get(self, path: str, timeout: float = 30, **kw) -> requests.Response:
        kw.setdefault("allow_redirects", False)
        return requests.get(f"{self.url}{path}", headers=self.auth, timeout=timeout, **kw)

    def download(self, document_id: int, timeout: float = 30) -> bytes:
        """The document's bytes, following a redirect to a presigned URL if there is one."""
        response = self.get(f"/api/documents/{document_id}/download", timeout=timeout)
        if response.status_code == 302:
            response = requests.get(response.headers["Location"], timeout=timeout)
        assert response.status_code == 200, (response.status_code, response.text[:200])
        return response.content


def install(env: dict) -> str:
    """Migrate the database of `env` and create the admin, as deploy_ec2.sh would; returns the
    admin's password."""
    password = "fault-" + secrets.token_urlsafe(18)
    figures.secret(password)
    migrated = flask_cli(env, "db", "upgrade")
    assert migrated.returncode == 0, migrated.stderr
    made = flask_cli(
        env,
        "create-admin",
        "--username",
        ADMIN,
        "--email",
        f"{ADMIN}@example.com",
        "--password-stdin",
        input=password + "\n",
    )
    assert made.returncode == 0, made.stderr
    return password


def deploy(tmp_path: Path, database: tuple[str, str], **env_extra: str) -> Portal:
    """A portal on `database` = (URL, admin password) of an installed database (the faults
    conftest's `portal_database()`), with its own uploads folder and settings."""
    url, password = database
    upload_dir = tmp_path / "uploads"
    upload_dir.mkdir(exist_ok=True)
    return Portal(env=app_env(url, upload_dir, **env_extra), upload_dir=upload_dir, password=password)


def pdf(label: str) -> bytes:
    """A small real PDF, different for every label."""
    return make_pdf(label=f"{label} {secrets.token_hex(4)}")


def elapsed(start: float) -> float:
    return time.monotonic() - start
