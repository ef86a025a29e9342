"""Processes a test owns, for the fault suites and any other suite that needs them:

- `PostgresCluster`: a throwaway PostgreSQL cluster (initdb + pg_ctl of the installed server) on a
  free loopback port, in a temporary directory, stopped and deleted at the end. It can be
  stopped and started again in the middle of a test. The machine's own server is never used.
- `Gunicorn`: the app under the shipped deploy/gunicorn.conf.py, bound to a free loopback port,
  with its log in a file (searched for secrets by tests/figures.py when it stops).
- `BlackHole`: a TCP port that accepts connections and never answers (a hung S3).
- `FakeS3`: moto's S3 server on a free loopback port, which can be stopped and started again.
- `render_nginx`: the shipped Nginx site rendered for loopback ports in a prefix of its own;
  `production_like_dirs`: a work directory whose uploads/ Nginx's workers reach as on the server.
- `scratch_database`: a new database next to TEST_DATABASE_URL's.
- `flask_cli`, `wait_for_http`, `free_port`, `wait_for`, `which`, `require`, `render` and the paths
  `REPO`, `BACKEND`, `VENV_BIN`, `GUNICORN_CONF`, `SITE_TEMPLATE`, also used by tests/ops and tests/bench.

Everything here skips the calling test, saying why, when a tool is missing.
"""
from __future__ import annotations

import grp
import os
import pwd
import secrets as _secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

import figures

__all__ = [
    "BACKEND", "GUNICORN_CONF", "REPO", "SITE_TEMPLATE", "VENV_BIN", "BlackHole", "FakeS3", "Gunicorn", "NginxSetup",
    "PostgresCluster", "app_env", "flask_cli", "free_port", "production_like_dirs", "render", "render_nginx",
    "require", "scratch_database", "wait_for", "wait_for_http", "which",
]

REPO = Path(__file__).resolve().parents[1]
BACKEND = REPO / "backend"
VENV_BIN = Path(sys.executable).parent
GUNICORN_CONF = REPO / "deploy" / "gunicorn.conf.py"
RENDER = REPO / "deploy" / "render.sh"
SITE_TEMPLATE = REPO / "deploy" / "nginx" / "sequoalpha.conf"
HEADERS_TEMPLATE = REPO / "deploy" / "nginx" / "security-headers.conf"
NGINX_USER = "www-data"
PG_BIN_DIRS = [Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15", "14", "13")]


def pg_tool(name: str) -> str:
    """initdb/pg_ctl from the installed PostgreSQL (Debian keeps them off PATH)."""
    for directory in PG_BIN_DIRS:
        if (directory / name).is_file():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (apt-get install postgresql)")
    return found


def which(tool: str) -> str | None:
    """A tool on PATH, or in the sbin directories a non-root PATH may lack."""
    return shutil.which(tool) or shutil.which(tool, path="/usr/local/sbin:/usr/sbin:/sbin")


def require(tool: str, package: str) -> str:
    path = which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (apt-get install {package})")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_for_http(url: str, timeout: float = 30, status: int = 200, proc: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers `status`; fail early when `proc` died."""

    def answers():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the process serving {url} exited with {proc.returncode}")
        try:
            return requests.get(url, timeout=2).status_code == status
        except requests.RequestException:
            return False

    wait_for(answers, timeout, url)


# --- PostgreSQL ---------------------------------------------------------------------------

class PostgresCluster:
    """A throwaway cluster. As root, its files belong to the `postgres` user and the server
    runs as that user (PostgreSQL refuses to run as root)."""

    def __init__(self):
        self.initdb, self.pg_ctl = pg_tool("initdb"), pg_tool("pg_ctl")
        self.run_as: list[str] = []
        owner = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no postgres user to run PostgreSQL as")
            runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
            if runuser is None:
                pytest.skip("running as root and runuser (util-linux) is missing: PostgreSQL refuses root")
            self.run_as = [runuser, "-u", "postgres", "--"]
        self.base = Path(tempfile.mkdtemp(prefix="sequoalpha-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.port = free_port()
        if owner is not None:
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
        self._run([self.initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                   "--no-sync", "--no-instructions"], timeout=120)

    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        done = subprocess.run(self.run_as + args, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr or done.stdout}")
        return done

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run([self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "30",
                   "start"])

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: disconnect everyone; `immediate`: like a crash)."""
        self._run([self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop"])

    def running(self) -> bool:
        done = subprocess.run(self.run_as + [self.pg_ctl, "-D", str(self.data), "status"],
                              capture_output=True, text=True)
        return done.returncode == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None, template: str | None = None) -> str:
        """A new database in this cluster (a copy of `template` if given); returns its URL."""
        from sqlalchemy import create_engine, text

        name = name or f"sequoalpha_{_secrets.token_hex(5)}"
        engine = create_engine(self.url().replace("postgresql://", "postgresql+psycopg2://"),
                               isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        finally:
            engine.dispose()
        return self.url(name)

    def close(self) -> None:
        if self.data.exists() and self.running():
            try:
                self.stop("immediate")
            except RuntimeError:
                pass
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def scratch_database() -> tuple[str, callable]:
    """A new database next to TEST_DATABASE_URL's: (its plain postgresql:// URL, drop())."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    url = make_url(base)
    name = f"sequoalpha_ops_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(drivername="postgresql+psycopg2"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    plain = url.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    return plain, drop


# --- S3 -----------------------------------------------------------------------------------

class FakeS3:
    """moto's server on a loopback port; stop() makes S3 unreachable (connection refused)."""

    def __init__(self):
        self.port = free_port()
        self.bucket = "sequoalpha-ops"
        self.server = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server._server.server_close()  # stop() leaves the socket listening
            self.server = None

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")


# --- Nginx --------------------------------------------------------------------------------

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
        return [require("nginx", "nginx-light"), "-p", str(self.prefix), "-c", str(self.conf),
                "-e", str(self.prefix / "logs" / "error.log"), *args]

    def test_config(self) -> subprocess.CompletedProcess:
        return subprocess.run(self.cmd("-t"), capture_output=True, text=True)


def render_nginx(prefix: Path, *, upstream: str, upload_dir: Path, tls: bool = False,
                 cert: Path | None = None, key: Path | None = None, max_upload_mb: int = 50,
                 real_ip_from: str = "") -> NginxSetup:
    """The shipped site and snippet rendered for loopback high ports under `prefix`, plus a
    main nginx.conf standing in for /etc/nginx/nginx.conf (pid, logs, temp dirs in `prefix`)."""
    for sub in ("logs", "snippets", "acme", "tmp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    setup = NginxSetup(prefix, free_port(), free_port())
    (prefix / "snippets" / "sequoalpha-security-headers.conf").write_text(render(HEADERS_TEMPLATE))
    site = render(
        SITE_TEMPLATE,
        APP_DIR=REPO, UPLOAD_DIR=upload_dir, SERVER_NAME='127.0.0.1 localhost "~^[0-9.]+$"',
        NGINX_SNIPPETS=prefix / "snippets", UPSTREAM=upstream, MAX_UPLOAD_MB=max_upload_mb,
        HTTP_LISTEN=f"127.0.0.1:{setup.http_port}", HTTP_LISTEN6="",
        HTTPS_LISTEN=f"127.0.0.1:{setup.https_port}", HTTPS_LISTEN6="",
        TLS="yes" if tls else "no", SSL_CERT=cert or "/nonexistent", SSL_KEY=key or "/nonexistent",
        ACME_ROOT=prefix / "acme", LOG_DIR=prefix / "logs", REAL_IP_FROM=real_ip_from,
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


# --- the app ------------------------------------------------------------------------------

def app_env(database_url: str, upload_dir: Path, **extra: str) -> dict:
    """The environment of a production-mode app process on `database_url`."""
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("AWS_", "S3_", "GUNICORN_", "SEQUOALPHA_", "MAIL_", "SMTP_")) and key not in {
            "DATABASE_URL", "SECRET_KEY", "JWT_SECRET_KEY", "UPLOAD_FOLDER", "X_ACCEL_PREFIX", "NOTIFY_SOCKET",
            "RUNTIME_DIRECTORY"}
    }
    env.update({
        "SEQUOALPHA_ENV": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": _secrets.token_urlsafe(48),
        "JWT_SECRET_KEY": _secrets.token_urlsafe(48),
        "UPLOAD_FOLDER": str(upload_dir),
        "COOKIE_SECURE": "false",
        "PUBLIC_URL": "http://localhost",  # required in production (links in e-mails)
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.update(extra)
    return env


def flask_cli(env: dict, *args: str, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`flask --app main ARGS` from backend/, like an operator; its output joins the log scan."""
    done = subprocess.run([str(VENV_BIN / "flask"), "--app", "main", *args], cwd=BACKEND, env=env,
                          input=input, capture_output=True, text=True, timeout=timeout)
    figures.add_log_text(f"flask {' '.join(args[:2])}", done.stdout + done.stderr)
    return done


class Gunicorn:
    """The app under Gunicorn with the shipped config (bind and workers overridden)."""

    def __init__(self, env: dict, log_dir: Path, workers: int = 2, timeout: int | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir) / f"gunicorn-{self.port}.log"
        self.env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}", "GUNICORN_WORKERS": str(workers)}
        args = [str(VENV_BIN / "gunicorn")]
        if GUNICORN_CONF.is_file():
            args += ["--config", str(GUNICORN_CONF)]
        else:
            args += ["--chdir", str(BACKEND), "--workers", str(workers), "main:app"]
        args += ["--bind", f"127.0.0.1:{self.port}"]
        if timeout is not None:
            args += ["--timeout", str(timeout)]
        self.args = args
        self.proc: subprocess.Popen | None = None

    def start(self, wait: float = 30, ready_path: str = "/api/health") -> Gunicorn:
        """Start and wait until `ready_path` answers 200 and every worker is up."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, cwd=BACKEND, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        try:
            wait_for_http(self.url + ready_path, wait, proc=self.proc)
            wait_for(lambda: len(self.worker_pids()) >= int(self.env["GUNICORN_WORKERS"]), wait, "workers")
        except BaseException:
            self.stop()
            raise
        return self

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return {int(pid) for pid in children.read_text().split()}
        except FileNotFoundError:
            return set()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # master and workers: its own session
                self.proc.wait()
        figures.add_log_text(f"gunicorn:{self.port}", self.log())
        self.proc = None

    def __enter__(self) -> Gunicorn:
        return self if self.proc is not None else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- a hung network peer ------------------------------------------------------------------

class BlackHole:
    """Listens on a loopback port, accepts every connection and never sends a byte."""

    def __init__(self, port: int | None = None):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port or 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.held: list[socket.socket] = []
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="black-hole", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.accepted += 1
            self.held.append(conn)  # never read, never answered

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()

    def __enter__(self) -> BlackHole:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

