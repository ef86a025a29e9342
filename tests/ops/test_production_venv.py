"""The venv a production host gets holds the runtime only: deploy_ec2.sh builds it from
requirements.txt, and update.sh, when requirements.txt changes, installs that file again and
nothing of requirements-dev.txt. Both run on a scratch clone of this repository (update.sh in
front of the test stack, as in test_update.py); pip installs from the machine's package index."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from support.common import require

from .test_update import FAKE_SYSTEMCTL, git, update

pytestmark = [pytest.mark.ops, pytest.mark.slow]

TEST_TOOLS = ["pytest", "moto", "hypothesis", "schemathesis", "playwright", "ruff"]
RUNTIME = ["flask", "gunicorn", "flask_smorest", "sqlalchemy", "psycopg", "boto3", "pypdf", "bcrypt"]
PROBE = """
import importlib.metadata, importlib.util, json, sys
tools, runtime = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def installed(name):
    try:
        importlib.metadata.distribution(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return importlib.util.find_spec(name) is not None
print(json.dumps({"tools": [t for t in tools if installed(t)],
                  "runtime_missing": [r for r in runtime if importlib.util.find_spec(r) is None]}))
"""


def venv_contents(venv: Path) -> dict:
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c", PROBE, json.dumps(TEST_TOOLS), json.dumps(RUNTIME)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    contents = json.loads(probe.stdout)
    contents["executables"] = [t for t in TEST_TOOLS if (venv / "bin" / t).exists()]
    return contents


def assert_runtime_only(venv: Path) -> None:
    contents = venv_contents(venv)
    assert contents["runtime_missing"] == [], "the app cannot run without them"
    assert contents["tools"] == [], "test or lint tools in a production venv"
    assert contents["executables"] == []


@pytest.fixture
def host(stack, tmp_path):
    """(host checkout with a venv built by deploy_ec2.sh, developer clone, environment for update.sh)."""
    require("curl", "curl")
    upstream, host, dev = tmp_path / "upstream.git", tmp_path / "host", tmp_path / "dev"
    git(tmp_path, "clone", "--quiet", "--bare", str(Path(__file__).resolve().parents[2]), str(upstream))
    git(tmp_path, "clone", "--quiet", str(upstream), str(host))
    git(tmp_path, "clone", "--quiet", str(upstream), str(dev))
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
    # deploy_ec2.sh's own venv step (the rest of it needs root on an Ubuntu host).
    built = subprocess.run(
        ["bash", "-c", 'source "$1/deploy_ec2.sh" && setup_venv', "bash", str(host)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert built.returncode == 0, built.stderr
    assert "installing Python requirements (requirements.txt)" in built.stderr
    return host, dev, env


def test_production_venv_has_the_runtime_and_no_test_tool(host):
    host, dev, env = host
    venv = host / "backend" / "venv"
    assert_runtime_only(venv)
    assert (venv / ".requirements.sha256").is_file()
    assert not (venv / ".requirements-dev.sha256").exists()

    # A release that changes requirements.txt: update.sh installs it again, the runtime only.
    requirements = dev / "requirements.txt"
    requirements.write_text(requirements.read_text() + "# a release that touches the requirements\n")
    git(dev, "commit", "--quiet", "-am", "A release with new requirements")
    git(dev, "push", "--quiet", "origin", "HEAD")
    result = update(host, env)
    assert result.returncode == 0, result.stderr
    assert "installing Python requirements (requirements.txt)" in result.stderr
    assert "is live" in result.stderr
    assert "restart sequoalpha" in Path(env["SYSTEMCTL_LOG"]).read_text(), "new libraries need a restart"
    assert_runtime_only(venv)
    assert not (venv / ".requirements-dev.sha256").exists()
