"""Paths, free loopback ports and the one way to wait for something, shared by the process
helpers (postgres, gunicorn, nginx, s3) and by tests/ops and tests/bench."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
BACKEND = REPO / "backend"
VENV_BIN = Path(sys.executable).parent


def which(tool: str) -> str | None:
    """A tool on PATH, or in the sbin directories a non-root PATH may lack."""
    return shutil.which(tool) or shutil.which(tool, path="/usr/local/sbin:/usr/sbin:/sbin")


def require(tool: str, package: str) -> str:
    """The tool's path; skips the calling test, saying which package to install, when it is missing."""
    path = which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (apt-get install {package})")
    return path


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released): connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    """Poll `predicate` until it returns something true (returned), or TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def answers(url: str, status: int = 200) -> bool:
    """Whether `url` answers `status` now (a connection error is a no)."""
    try:
        return requests.get(url, timeout=2).status_code == status
    except requests.RequestException:
        return False


def wait_for_http(url: str, timeout: float = 30, status: int = 200, proc: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers `status`; fail early when `proc`, its server, died."""

    def ready():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the process serving {url} exited with {proc.returncode}")
        return answers(url, status)

    wait_for(ready, timeout, url)
