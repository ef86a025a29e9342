"""update.sh on a scratch clone of this repository, in front of the test stack: a new commit is
fast-forwarded, checked, migrated and reloaded with no failed request; a commit whose code does
not load is refused and the previous commit is back. systemd is played by a stand-in
`systemctl` on PATH that sends HUP to the stack's Gunicorn."""

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from support.common import BACKEND, REPO, require, wait_for

from .conftest import Traffic, record_measurement

FAKE_SYSTEMCTL = """#!/bin/sh
# systemctl, as far as update.sh needs it, for the test stack.
echo "$*" >> "$SYSTEMCTL_LOG"
case "$1" in
  is-active) exit 0 ;;
  reload|restart) kill -HUP "$GUNICORN_MASTER_PID" ;;
  *) echo "unexpected systemctl $*" >&2; exit 1 ;;
esac
"""


def git(cwd, *args) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "ops test",
        "GIT_AUTHOR_EMAIL": "ops@example.com",
        "GIT_COMMITTER_NAME": "ops test",
        "GIT_COMMITTER_EMAIL": "ops@example.com",
    }
    return subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


@pytest.fixture
def checkout(stack, tmp_path):
    """(host checkout, developer clone, environment for update.sh)."""
    require("curl", "curl")
    upstream, host, dev = tmp_path / "upstream.git", tmp_path / "host", tmp_path / "dev"
    git(tmp_path, "clone", "--quiet", "--bare", str(REPO), str(upstream))
    git(tmp_path, "clone", "--quiet", str(upstream), str(host))
    git(tmp_path, "clone", "--quiet", str(upstream), str(dev))
    marker = BACKEND / "venv" / ".requirements.sha256"
    wanted = hashlib.sha256((host / "requirements.txt").read_bytes()).hexdigest()
    if not marker.is_file() or marker.read_text().strip() != wanted:
        pytest.skip("backend/venv was not installed from the committed requirements.txt")
    (host / "backend" / "venv").symlink_to(BACKEND / "venv")  # pip has nothing to do
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text(FAKE_SYSTEMCTL)
    (bin_dir / "systemctl").chmod(0o755)
    env = {
        **stack.env,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SYSTEMCTL_LOG": str(tmp_path / "systemctl.log"),
        "GUNICORN_MASTER_PID": str(stack.gunicorn.pid),
        "SEQUOALPHA_URL": stack.url,
        "SEQUOALPHA_DEPLOY_CONF": str(tmp_path / "no-such.conf"),
        "BACKUP_DIR": str(tmp_path / "backups"),
    }
    return host, dev, env


def update(host, env) -> subprocess.CompletedProcess:
    return subprocess.run([str(host / "update.sh")], env=env, capture_output=True, text=True, timeout=600)


def test_update_deploys_a_new_commit_without_dropping_requests(stack, checkout):
    host, dev, env = checkout
    nothing = update(host, env)
    assert nothing.returncode == 0, nothing.stderr
    assert "already up to date" in nothing.stderr

    (dev / "release-note.md").write_text("A harmless change.\n")
    git(dev, "add", "release-note.md")
    git(dev, "commit", "--quiet", "-m", "A release")
    git(dev, "push", "--quiet", "origin", "HEAD")
    new = git(dev, "rev-parse", "HEAD")
    before = stack.worker_pids()
    with Traffic(stack) as traffic:
        result = update(host, env)
    assert result.returncode == 0, result.stderr
    assert git(host, "rev-parse", "HEAD") == new
    assert "is live" in result.stderr
    wait_for(lambda: not stack.worker_pids() & before, 60, "the reloaded workers")
    assert "reload sequoalpha" in Path(env["SYSTEMCTL_LOG"]).read_text()
    record_measurement(f"update.sh: fast-forward + trial load + migrations + HUP, {traffic.summary()}")
    assert traffic.failures == [], traffic.failures[:10]


def test_update_refuses_code_that_does_not_load_and_stays_on_the_previous_commit(stack, checkout):
    host, dev, env = checkout
    old = git(host, "rev-parse", "HEAD")
    main = dev / "backend" / "main.py"
    main.write_text(main.read_text() + "\nraise RuntimeError('this release does not start')\n")
    git(dev, "commit", "--quiet", "-am", "A broken release")
    git(dev, "push", "--quiet", "origin", "HEAD")
    with Traffic(stack) as traffic:
        result = update(host, env)
    assert result.returncode == 1, result.stderr
    assert "UPDATE FAILED: the new code does not load" in result.stderr
    assert "rolled back" in result.stderr
    assert git(host, "rev-parse", "HEAD") == old
    assert stack.get("/api/health").status_code == 200
    assert traffic.failures == [], traffic.failures[:10]


def test_update_refuses_local_changes(checkout):
    host, _, env = checkout
    (host / "manage.sh").write_text((host / "manage.sh").read_text() + "\n# local edit\n")
    result = update(host, env)
    assert result.returncode == 1 and "local changes" in result.stderr
