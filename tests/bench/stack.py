"""The processes of a benchmark run: PostgreSQL, moto's S3 server, two Gunicorns (SequoAlpha and
the hello baseline) and two Nginx instances rendered from the shipped site, all on loopback.

Rendering, ports and moto come from tests/ops/conftest.py (the ops tests' stack helpers); this
file adds what a benchmark needs besides: a throwaway PostgreSQL cluster, Gunicorn with any app
module, a static-file baseline server and one cleanup list that stops every process we started,
whatever happens (exceptions, Ctrl-C, SIGTERM).
"""
import os
import pwd
import runpy
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.ops.conftest import FakeS3, free_port, render_nginx, wait_for, which

REPO = Path(__file__).resolve().parents[2]
BACKEND = REPO / "backend"
VENV_BIN = Path(sys.executable).parent
GUNICORN_CONF = REPO / "deploy" / "gunicorn.conf.py"
PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


class BenchError(RuntimeError):
    """The benchmark cannot run here (a missing tool, a process that would not start)."""


# ---- cleanup -------------------------------------------------------------------------------

class Cleanup:
    """Stop actions, run last-in first-out exactly once; SIGTERM/SIGHUP unwind like Ctrl-C."""

    def __init__(self):
        self._actions: list[tuple[str, callable]] = []
        self.pids: list[int] = []  # every process spawned (the smoke test checks they are gone)

    def push(self, what: str, action) -> None:
        self._actions.append((what, action))

    def run(self) -> None:
        while self._actions:
            what, action = self._actions.pop()
            try:
                action()
            except Exception as exc:  # noqa: BLE001 -- keep stopping the others
                print(f"bench: stopping {what} failed: {exc}", file=sys.stderr)

    def __enter__(self):
        def unwind(signum, _frame):
            raise KeyboardInterrupt(f"signal {signum}")

        self._previous = {sig: signal.signal(sig, unwind) for sig in (signal.SIGTERM, signal.SIGHUP)}
        return self

    def __exit__(self, *exc):
        # A second Ctrl-C while stopping must not leave processes behind.
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self.run()
        finally:
            signal.signal(signal.SIGINT, previous_int)
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)
        return False


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop one child we started (it leads its own session): `sig`, then SIGKILL to its group."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of its own process group only
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


def spawn(cleanup: Cleanup, what: str, cmd: list[str], log: Path, sig: int = signal.SIGTERM, **kw) -> subprocess.Popen:
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, **kw)
    cleanup.push(what, lambda: stop_process(proc, sig))
    cleanup.pids.append(proc.pid)
    return proc


def answers(url: str, status: int = 200) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == status
    except requests.RequestException:
        return False


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---- PostgreSQL ----------------------------------------------------------------------------

def _pg_tool(name: str) -> str | None:
    for directory in PG_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    return None


def cluster_possible() -> bool:
    """initdb/pg_ctl are installed and we can run them (as postgres when we are root)."""
    if not (_pg_tool("initdb") and _pg_tool("pg_ctl")):
        return False
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False
        return shutil.which("runuser") is not None
    return True


def start_cluster(cleanup: Cleanup, base: Path) -> str:
    """A throwaway PostgreSQL cluster on a loopback port (the machine's server is not touched);
    returns its URL. Run as postgres when we are root (initdb refuses root)."""
    data = base / "pgdata"
    data.mkdir(mode=0o700)
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(data, account.pw_uid, account.pw_gid)
        base.chmod(0o755)  # postgres must reach its data directory
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(as_postgres + [_pg_tool("initdb"), "-D", str(data), "--auth=trust", "--username=postgres",
                                  "--encoding=UTF8", "--locale=C", "--no-sync"],
                   check=True, capture_output=True, text=True)
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    log = data / "server.log"
    subprocess.run(as_postgres + [_pg_tool("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w",
                                  "-t", "60", "start"], check=True, capture_output=True, text=True)

    def stop():
        done = subprocess.run(as_postgres + [_pg_tool("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30",
                                             "stop"], capture_output=True, text=True)
        if done.returncode != 0 and (data / "postmaster.pid").exists():
            pid = int((data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGQUIT)

    cleanup.push("PostgreSQL", stop)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def scratch_database(cleanup: Cleanup, base_url: str) -> str:
    """A new database next to `base_url` (dropped at the end); returns its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    name = f"sequoalpha_bench_{secrets.token_hex(5)}"
    admin = create_engine(url.set(drivername="postgresql+psycopg2"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    cleanup.push(f"database {name}", drop)
    return url.set(drivername="postgresql", database=name).render_as_string(hide_password=False)


# ---- S3 ------------------------------------------------------------------------------------

def start_s3(cleanup: Cleanup) -> FakeS3:
    s3 = FakeS3()
    s3.bucket = "sequoalpha-bench"
    s3.start()
    cleanup.push("moto S3", s3.stop)
    s3.client().create_bucket(Bucket=s3.bucket)
    return s3


# ---- Gunicorn ------------------------------------------------------------------------------

class Gunicorn:
    """Gunicorn with deploy/gunicorn.conf.py; `app` None means SequoAlpha (the config's main:app)."""

    def __init__(self, cleanup: Cleanup, base: Path, name: str, env: dict, app: str | None = None,
                 chdir: Path | None = None):
        self.name = name
        self.env = env
        self.bind = f"127.0.0.1:{free_port()}"
        self.log = base / f"gunicorn-{name}.log"
        cmd = [str(VENV_BIN / "gunicorn"), "--config", str(GUNICORN_CONF)]
        if chdir:
            cmd += ["--chdir", str(chdir)]
        if app:
            cmd.append(app)
        self.proc = spawn(cleanup, f"Gunicorn ({name})", cmd, self.log, cwd=BACKEND,
                          env={**env, "GUNICORN_BIND": self.bind})

    def wait(self, path: str, timeout: float = 60) -> None:
        wait_for(lambda: answers(f"http://{self.bind}{path}") or self.proc.poll() is not None,
                 timeout, f"Gunicorn ({self.name})")
        if self.proc.poll() is not None:
            raise BenchError(f"Gunicorn ({self.name}) exited:\n{tail(self.log)}")

    def expected_workers(self) -> int:
        """`workers` as deploy/gunicorn.conf.py computes it in this environment."""
        saved = os.environ.get("GUNICORN_WORKERS")
        try:
            if self.env.get("GUNICORN_WORKERS"):
                os.environ["GUNICORN_WORKERS"] = self.env["GUNICORN_WORKERS"]
            else:
                os.environ.pop("GUNICORN_WORKERS", None)
            return int(runpy.run_path(str(GUNICORN_CONF))["workers"])
        finally:
            if saved is None:
                os.environ.pop("GUNICORN_WORKERS", None)
            else:
                os.environ["GUNICORN_WORKERS"] = saved

    def wait_workers(self, timeout: float = 60) -> int:
        expected = self.expected_workers()
        wait_for(lambda: len(self.worker_pids()) >= expected, timeout, f"{expected} Gunicorn workers ({self.name})")
        return len(self.worker_pids())

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in children.read_text().split()]
        except OSError:
            return []


def memory_of(pid: int) -> dict[str, int] | None:
    """VmRSS and VmHWM (peak RSS) of a process, in kB; None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = {}
    for line in status.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


# ---- Nginx ---------------------------------------------------------------------------------

class Nginx:
    """The shipped site rendered for `upstream` (tests/ops' render_nginx), plus, when `static_dir`
    is given, a baseline server on its own port serving that directory under /static/."""

    def __init__(self, cleanup: Cleanup, prefix: Path, upstream: str, upload_dir: Path,
                 static_dir: Path | None = None):
        if which("nginx") is None:
            raise BenchError("nginx is not installed (apt-get install nginx-light)")
        self.setup = render_nginx(prefix, upstream=upstream, upload_dir=upload_dir)
        self.url = f"http://127.0.0.1:{self.setup.http_port}"
        self.static_url = None
        if static_dir is not None:
            port = free_port()
            self.static_url = f"http://127.0.0.1:{port}/static"
            snippet = prefix / "snippets" / "sequoalpha-security-headers.conf"
            (prefix / "baseline.conf").write_text(f"""# Benchmark baseline: Nginx serving a file, nothing else.
server {{
    listen 127.0.0.1:{port};
    server_name _;
    server_tokens off;
    access_log {prefix}/logs/baseline_access.log;
    location /static/ {{
        alias {static_dir}/;
        add_header Cache-Control "no-store" always;
        include {snippet};
    }}
}}
""")
            conf = self.setup.conf.read_text()
            site_include = f"include {prefix}/site.conf;"
            if site_include not in conf:
                raise BenchError("tests/ops/conftest.py's nginx.conf changed shape; update tests/bench/stack.py")
            self.setup.conf.write_text(conf.replace(site_include, f"{site_include}\n    include {prefix}/baseline.conf;"))
        checked = self.setup.test_config()
        if checked.returncode != 0:
            raise BenchError(f"nginx -t failed:\n{checked.stderr}")
        self.proc = spawn(cleanup, f"Nginx ({prefix.name})", self.setup.cmd("-g", "daemon off;"),
                          prefix / "logs" / "stdout.log", sig=signal.SIGQUIT)

    def wait(self, path: str, timeout: float = 20) -> None:
        wait_for(lambda: answers(self.url + path) or self.proc.poll() is not None, timeout, "Nginx")
        if self.proc.poll() is not None:
            raise BenchError(f"Nginx exited:\n{tail(self.setup.prefix / 'logs' / 'error.log')}")


def app_env(database_url: str, upload_dir: Path, s3: FakeS3) -> dict:
    """The production environment of backend/.env (deploy/env.example), pointed at this stack."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GUNICORN_", "SEQUOALPHA_", "S3_", "AWS_")) and k not in {
               "DATABASE_URL", "SECRET_KEY", "JWT_SECRET_KEY", "UPLOAD_FOLDER", "MAX_UPLOAD_MB",
               "X_ACCEL_PREFIX", "TRUSTED_PROXIES", "COOKIE_SECURE", "BCRYPT_ROUNDS", "NOTIFY_SOCKET",
               "RUNTIME_DIRECTORY"}}
    env.update({
        "SEQUOALPHA_ENV": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "UPLOAD_FOLDER": str(upload_dir),
        "MAX_UPLOAD_MB": "50",
        "S3_BUCKET": s3.bucket,
        "S3_ENDPOINT_URL": s3.endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "S3_PRESIGN_SECONDS": "300",
        "X_ACCEL_PREFIX": "/_protected/",
        "TRUSTED_PROXIES": "127.0.0.1",
        "COOKIE_SECURE": "false",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    if os.environ.get("GUNICORN_WORKERS"):
        env["GUNICORN_WORKERS"] = os.environ["GUNICORN_WORKERS"]
    return env


def flask_cli(env: dict, *args: str, input: str | None = None) -> str:
    done = subprocess.run([str(VENV_BIN / "flask"), "--app", "main", *args], cwd=BACKEND, env=env,
                          input=input, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise BenchError(f"flask {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout
