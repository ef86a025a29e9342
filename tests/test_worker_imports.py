"""What a Gunicorn worker imports: nothing it does not use. boto3 only once S3 is on (about
15 MB per worker), and no test tool ever. Checked in a fresh interpreter, as a worker starts."""

import json
import subprocess
import sys

import pytest

from support.api import SECRETS
from support.common import BACKEND

PROBE = """
import json, sys
import main
client = main.app.test_client()
assert client.get("/api/health").status_code == 200
assert client.get("/api/documents").status_code == 401
print(json.dumps(sorted(sys.modules)))
"""

TEST_TOOLS = {"pytest", "_pytest", "moto", "schemathesis", "hypothesis", "playwright", "responses"}

pytestmark = pytest.mark.slow  # a fresh interpreter per test


def imported(tmp_path, **env) -> set[str]:
    environment = {
        "PATH": "/usr/bin:/bin",
        "SEQUOALPHA_ENV": "production",
        "DATABASE_URL": f"sqlite:///{tmp_path}/app.db",
        "UPLOAD_FOLDER": str(tmp_path),
        "PUBLIC_URL": "http://localhost",
        "COOKIE_SECURE": "false",
        **SECRETS,
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=BACKEND, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}


def test_s3_off_loads_no_boto3_and_no_test_tool(tmp_path):
    modules = imported(tmp_path)
    assert "sequoalpha" in modules and "flask" in modules  # the probe did import the app
    assert not {"boto3", "botocore", "s3transfer"} & modules
    assert not TEST_TOOLS & modules


def test_s3_on_loads_boto3_when_it_is_used(tmp_path):
    # /api/health probes the bucket (nothing listens on port 9: "unavailable", not an error).
    modules = imported(
        tmp_path,
        S3_BUCKET="bucket",
        S3_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    assert {"boto3", "botocore"} <= modules
    assert not TEST_TOOLS & modules
