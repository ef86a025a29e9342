"""deploy_ec2.sh's options for one of several app hosts (README "Scaling out"): --database-url
(no local PostgreSQL), --s3-only / --s3-bucket, --real-ip-from (the load balancer's ranges) and
--app-servers (Nginx's upstream list). The script's functions are called one at a time, as in
test_deploy_database.py; the rendered site is checked by `nginx -t` and by a real Nginx."""

import os
import subprocess
import time

import pytest
import requests

from support.common import REPO, free_port, require, wait_for
from support.nginx import render_nginx

pytestmark = pytest.mark.ops

RDS = "postgresql://portal:s3cr%40t-pw@db.internal.example:5432/sequoalpha?sslmode=require"


def deploy_fn(tmp_path, script: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """`source deploy_ec2.sh`, then `script` (bash) with ARGS as "$@"."""
    env = {**os.environ, "SEQUOALPHA_DEPLOY_CONF": str(tmp_path / "deploy.conf")}
    return subprocess.run(
        ["bash", "-c", f'source "$0/deploy_ec2.sh" && {script}', str(REPO), *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )


PRINT = (
    'parse_args "$@" && printf "%s|%s|%s|%s|%s\\n" "$EXTERNAL_DB" "$S3_ONLY" "$REAL_IP_FROM" "$APP_SERVERS" '
    '"$DATABASE_URL_OPT"'
)


def test_the_options_are_parsed_and_checked(tmp_path):
    done = deploy_fn(
        tmp_path,
        PRINT,
        "--database-url",
        "-",
        "--s3-only",
        "--real-ip-from",
        "10.0.0.0/16",
        "--real-ip-from",
        "10.1.0.0/16",
        "--app-servers",
        "10.0.1.5:8000,10.0.2.5:8000",
        input=RDS + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"1|1|10.0.0.0/16,10.1.0.0/16|10.0.1.5:8000,10.0.2.5:8000|{RDS}"
    # Without options: this host's own database and Gunicorn, as before.
    assert deploy_fn(tmp_path, PRINT).stdout.strip() == "0|0||127.0.0.1:8000|"
    for bad, message in (
        (["--real-ip-from", "10.0.0.0/16;evil"], "not an address range"),
        (["--app-servers", "10.0.1.5:8000,nohost"], "not host:port"),
        (["--database-url", "mysql://x@y/z"], "--database-url: expected"),
        (["--s3-bucket", "Not_A_Bucket"], "not a bucket name"),
    ):
        refused = deploy_fn(tmp_path, PRINT, *bad)
        assert refused.returncode != 0 and message in refused.stderr, (bad, refused.stderr)


def test_the_settings_go_to_env_and_the_password_stays_out_of_the_deploy_conf(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DATABASE_URL=postgresql://sequoalpha:CHANGE_ME_DB_PASSWORD@127.0.0.1:5432/sequoalpha\nS3_BUCKET=\n"
    )
    env_file.chmod(0o600)
    applied = deploy_fn(
        tmp_path,
        'parse_args "${@:2}" && apply_scaling_settings "$1" && save_settings',
        str(env_file),
        "--database-url",
        RDS,
        "--s3-only",
        "--s3-bucket",
        "portal-docs",
        "--real-ip-from",
        "10.0.0.0/16",
    )
    assert applied.returncode == 0, applied.stderr
    settings = env_file.read_text()
    assert f"DATABASE_URL={RDS}\n" in settings and "S3_BUCKET=portal-docs\n" in settings
    assert "STORAGE_MODE=s3-only\n" in settings and oct(env_file.stat().st_mode)[-3:] == "600"
    conf = (tmp_path / "deploy.conf").read_text()
    assert "s3cr" not in conf and "EXTERNAL_DATABASE=yes\n" in conf and "STORAGE_MODE=s3-only\n" in conf
    # A later run (e.g. --configs-only) keeps the shape without the options given again.
    assert deploy_fn(tmp_path, PRINT).stdout.strip() == "1|1|10.0.0.0/16|127.0.0.1:8000|"


def test_s3_only_needs_a_bucket_and_an_external_database_needs_its_url(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DATABASE_URL=postgresql://sequoalpha:CHANGE_ME_DB_PASSWORD@127.0.0.1:5432/sequoalpha\nS3_BUCKET=\n"
    )
    no_bucket = deploy_fn(tmp_path, 'parse_args "${@:2}" && apply_scaling_settings "$1"', str(env_file), "--s3-only")
    assert no_bucket.returncode != 0 and "--s3-only needs a bucket" in no_bucket.stderr
    (tmp_path / "deploy.conf").write_text("EXTERNAL_DATABASE=yes\n")
    no_url = deploy_fn(tmp_path, 'parse_args "${@:2}" && apply_scaling_settings "$1"', str(env_file))
    assert no_url.returncode != 0 and "give --database-url" in no_url.stderr
    assert "STORAGE_MODE" not in env_file.read_text()


def test_nginx_takes_the_client_address_from_the_load_balancer_only(tmp_path):
    """With --real-ip-from 127.0.0.1/32 (the "load balancer" here), Nginx logs and passes on the
    address in X-Forwarded-For; the site renders with several app servers and passes nginx -t."""
    require("nginx", "nginx-light")
    app_servers = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    setup = render_nginx(
        tmp_path / "ng", upstream=app_servers, upload_dir=tmp_path / "uploads", real_ip_from="127.0.0.1/32,10.0.0.0/16"
    )
    checked = setup.test_config()
    assert checked.returncode == 0, checked.stderr
    site = (setup.prefix / "site.conf").read_text()
    assert "set_real_ip_from 127.0.0.1/32;\nset_real_ip_from 10.0.0.0/16;\nreal_ip_header X-Forwarded-For;" in site
    proc = subprocess.Popen(setup.cmd("-g", "daemon off;"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{setup.http_port}/"
        wait_for(lambda: _answers(url), 15, "Nginx")
        assert requests.get(url, headers={"X-Forwarded-For": "203.0.113.7"}, timeout=10).status_code == 200
        # The app servers are down: an idempotent request is tried on both, then a JSON 502.
        down = requests.get(url + "api/health", timeout=30)
        assert down.status_code == 502 and down.json()["code"] == 502
    finally:
        proc.terminate()
        proc.wait(10)
    time.sleep(0.2)
    access = (setup.prefix / "logs" / "sequoalpha_access.log").read_text()
    assert access.splitlines()[-2].startswith("203.0.113.7 "), access
    errors = (setup.prefix / "logs" / "sequoalpha_error.log").read_text()
    assert all(server in errors for server in app_servers.split(",")), errors


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
