"""The shipped Nginx site rendered for loopback ports in a prefix of its own (`render_nginx`),
deploy/render.sh as the one rendering mechanism (`render`), and a work directory whose uploads/
Nginx's workers reach as on the server (`production_like_dirs`)."""

from __future__ import annotations

import grp
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .common import REPO, free_port, require

RENDER = REPO / "deploy" / "render.sh"
SITE_TEMPLATE = REPO / "deploy" / "nginx" / "sequoalpha.conf"
HEADERS_TEMPLATE = REPO / "deploy" / "nginx" / "security-headers.conf"
NGINX_USER = "www-data"


def render(template: Path, **values) -> str:
    """deploy/render.sh TEMPLATE NAME=VALUE ...: the one rendering mechanism of deploy/."""
    args = [str(RENDER), str(template)] + [f"{name}={value}" for name, value in values.items()]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@dataclass
class NginxSetup:
    """A rendered site in its own prefix: nginx.conf (ours), site.conf and the snippet."""

    prefix: Path
    http_port: int
    https_port: int
    conf: Path = field(init=False)

    def __post_init__(self):
        self.conf = self.prefix / "nginx.conf"

    def cmd(self, *args: str) -> list[str]:
        return [
            require("nginx", "nginx-light"),
            "-p",
            str(self.prefix),
            "-c",
            str(self.conf),
            "-e",
            str(self.prefix / "logs" / "error.log"),
            *args,
        ]

    def test_config(self) -> subprocess.CompletedProcess:
        return subprocess.run(self.cmd("-t"), capture_output=True, text=True)


def render_nginx(
    prefix: Path,
    *,
    upstream: str,
    upload_dir: Path,
    tls: bool = False,
    cert: Path | None = None,
    key: Path | None = None,
    max_upload_mb: int = 50,
    real_ip_from: str = "",
    signin_slots: int = 2,
) -> NginxSetup:
    """The shipped site and snippet rendered for loopback high ports under `prefix`, plus a
    main nginx.conf standing in for /etc/nginx/nginx.conf (pid, logs, temp dirs in `prefix`)."""
    for sub in ("logs", "snippets", "acme", "tmp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    setup = NginxSetup(prefix, free_port(), free_port())
    (prefix / "snippets" / "sequoalpha-security-headers.conf").write_text(render(HEADERS_TEMPLATE))
    site = render(
        SITE_TEMPLATE,
        APP_DIR=REPO,
        UPLOAD_DIR=upload_dir,
        SERVER_NAME='127.0.0.1 localhost "~^[0-9.]+$"',
        NGINX_SNIPPETS=prefix / "snippets",
        UPSTREAM=upstream,
        MAX_UPLOAD_MB=max_upload_mb,
        SIGNIN_SLOTS=signin_slots,
        HTTP_LISTEN=f"127.0.0.1:{setup.http_port}",
        HTTP_LISTEN6="",
        HTTPS_LISTEN=f"127.0.0.1:{setup.https_port}",
        HTTPS_LISTEN6="",
        TLS="yes" if tls else "no",
        SSL_CERT=cert or "/nonexistent",
        SSL_KEY=key or "/nonexistent",
        ACME_ROOT=prefix / "acme",
        LOG_DIR=prefix / "logs",
        REAL_IP_FROM=real_ip_from,
    )
    (prefix / "site.conf").write_text(site)
    # As root, the workers run as www-data, as on the server (Ubuntu's nginx.conf): they must
    # be able to read the static files and, through the uploads folder's group, the uploads.
    user = f"user {NGINX_USER} {NGINX_USER};\n" if os.geteuid() == 0 else ""
    tmp = prefix / "tmp"
    setup.conf.write_text(f"""{user}worker_processes 2;
pid {prefix}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log {prefix}/logs/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {prefix}/site.conf;
}}
""")
    return setup


def production_like_dirs() -> tuple[Path, Path]:
    """(base, uploads): as on the server, Nginx's workers (www-data) can reach the uploads
    folder only through its group: sequoalpha:www-data 2750 there, root:www-data here (the
    test runs Gunicorn as itself). pytest's own temp directories (0700) would hide them."""
    base = Path(tempfile.mkdtemp(prefix="sequoalpha-ops-"))
    base.chmod(0o711)
    uploads = base / "uploads"
    uploads.mkdir()
    if os.geteuid() == 0:
        try:
            gid = grp.getgrnam(NGINX_USER).gr_gid
        except KeyError:
            pytest.skip(f"no {NGINX_USER} group (it comes with the nginx package)")
        os.chown(uploads, 0, gid)
    uploads.chmod(0o2750)
    return base, uploads
