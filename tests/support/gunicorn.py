"""The app as a production process: its environment (`app_env`), the Flask CLI as an operator
runs it (`flask_cli`), and `Gunicorn` with the shipped deploy/gunicorn.conf.py on a free
loopback port, its log in a file. The output of both joins the log scan of support/figures.py.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
from pathlib import Path

from . import figures
from .common import BACKEND, REPO, VENV_BIN, free_port, wait_for, wait_for_http

GUNICORN_CONF = REPO / "deploy" / "gunicorn.conf.py"


def app_env(database_url: str, upload_dir: Path, **extra: str) -> dict:
    """The environment of a production-mode app process on `database_url`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "S3_", "GUNICORN_", "SEQUOALPHA_", "MAIL_", "SMTP_"))
        and key
        not in {
            "DATABASE_URL",
            "SECRET_KEY",
            "JWT_SECRET_KEY",
            "UPLOAD_FOLDER",
            "X_ACCEL_PREFIX",
            "NOTIFY_SOCKET",
            "RUNTIME_DIRECTORY",
        }
    }
    env.update(
        {
            "SEQUOALPHA_ENV": "production",
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "JWT_SECRET_KEY": secrets.token_urlsafe(48),
            "UPLOAD_FOLDER": str(upload_dir),
            "COOKIE_SECURE": "false",
            "PUBLIC_URL": "http://localhost",  # required in production (links in e-mails)
            # Admins sign in with a password here; tests/test_mfa_* cover the policy.
            "MFA_REQUIRED_FOR_ADMINS": "false",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(extra)
    return env


def flask_cli(env: dict, *args: str, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`flask --app main ARGS` from backend/, like an operator; its output joins the log scan."""
    done = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "main", *args],
        cwd=BACKEND,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
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
            self.proc = subprocess.Popen(
                self.args, cwd=BACKEND, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
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
