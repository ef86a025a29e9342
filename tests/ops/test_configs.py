"""The shipped scripts and configs, checked without running the site: ShellCheck, bash -n,
render.sh, `nginx -t` on the rendered site (with and without TLS), systemd-analyze."""

import re
import subprocess

import pytest

from support.common import REPO, require
from support.gunicorn import GUNICORN_CONF
from support.nginx import SITE_TEMPLATE, render, render_nginx

from .conftest import SHELL_SCRIPTS, UNIT_TEMPLATE, self_signed_cert

MAX_EXPOSURE = 2.0


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shellcheck_clean(script):
    shellcheck = require("shellcheck", "shellcheck")
    result = subprocess.run([shellcheck, "-x", "-S", "warning", str(script)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_bash_syntax(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("script", ["manage.sh", "update.sh", "deploy_ec2.sh"])
def test_scripts_follow_the_house_style(script):
    text = (REPO / script).read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert "usage() {" in text and "<<USAGE" in text
    assert text.rstrip().endswith('main "$@"')


def test_unknown_manage_subcommand_prints_usage_and_fails():
    result = subprocess.run([str(REPO / "manage.sh"), "no-such-command"], capture_output=True, text=True)
    assert result.returncode != 0
    assert "Usage: ./manage.sh" in result.stderr
    for sub in (
        "start",
        "stop",
        "restart",
        "reload",
        "status",
        "logs",
        "errors",
        "test",
        "backup",
        "restore FILE",
        "sync",
        "create-admin",
        "dev",
        "check",
    ):
        assert f"  {sub}" in result.stderr, sub


@pytest.mark.parametrize("script", ["update.sh", "deploy_ec2.sh"])
def test_other_scripts_answer_help_and_refuse_unknown_options(script):
    ok = subprocess.run([str(REPO / script), "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "Usage:" in ok.stdout
    bad = subprocess.run([str(REPO / script), "--no-such-option"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Usage:" in bad.stderr


# ---- render.sh -------------------------------------------------------------------------------


def test_render_fills_placeholders_and_conditions(tmp_path):
    template = tmp_path / "t.conf"
    template.write_text(
        "a @X@ b @X@ & \\1 @lower@ @\n#if ON\nkept @Y@\n#else\ndropped\n#endif\n"
        "#if !ON\ndropped\n#endif\n#if OFF\n  #if ON\ndropped\n  #endif\n#endif\nend\n"
    )
    out = render(template, X="v&1/\\", Y="y", ON="yes", OFF="no")
    assert out == "a v&1/\\ b v&1/\\ & \\1 @lower@ @\nkept y\nend\n"


def test_render_repeats_a_for_block_per_item(tmp_path):
    template = tmp_path / "t.conf"
    template.write_text("up {\n#for S\n  server @S@ w=@W@;\n#endfor\n}\n#if OFF\n#for S\nno @S@\n#endfor\n#endif\n")
    assert (
        render(template, S="10.0.1.5:8000, 10.0.2.5:8000,", W="1", OFF="")
        == "up {\n  server 10.0.1.5:8000 w=1;\n  server 10.0.2.5:8000 w=1;\n}\n"
    )
    assert render(template, S="127.0.0.1:8000", W="1", OFF="") == "up {\n  server 127.0.0.1:8000 w=1;\n}\n"
    template.write_text("#for S\n#if X\n#endif\n#endfor\n")
    nested = subprocess.run(
        [str(REPO / "deploy" / "render.sh"), str(template), "S=a", "X=1"], capture_output=True, text=True
    )
    assert nested.returncode == 2 and "inside a #for block" in nested.stderr


def test_render_refuses_a_missing_value(tmp_path):
    template = tmp_path / "t.conf"
    template.write_text("x @MISSING@\n")
    result = subprocess.run([str(REPO / "deploy" / "render.sh"), str(template)], capture_output=True, text=True)
    assert result.returncode == 2 and "@MISSING@" in result.stderr


def test_every_shipped_placeholder_is_documented_by_use():
    """Templates use only the names deploy_ec2.sh passes (a typo would fail at deploy time)."""
    script = (REPO / "deploy_ec2.sh").read_text()
    for template in (SITE_TEMPLATE, UNIT_TEMPLATE):
        for name in set(re.findall(r"@([A-Z][A-Z0-9_]*)@", template.read_text())):
            assert f"{name}=" in script, f"{template.name}: @{name}@ is not passed by deploy_ec2.sh"


# ---- Nginx -------------------------------------------------------------------------------------


def test_nginx_accepts_the_rendered_site(tmp_path):
    setup = render_nginx(tmp_path, upstream="127.0.0.1:8000", upload_dir=tmp_path / "uploads")
    result = setup.test_config()
    assert result.returncode == 0, result.stderr
    site = (tmp_path / "site.conf").read_text()
    assert not re.search(r"@[A-Z][A-Z0-9_]*@", site)
    assert not re.search(r"^\s*#(if|else|endif)\b", site, re.M)
    assert "ssl_certificate" not in site  # no TLS server before a certificate exists


def test_nginx_accepts_several_app_servers(tmp_path):
    setup = render_nginx(tmp_path, upstream="127.0.0.1:8000,127.0.0.1:8001", upload_dir=tmp_path / "uploads")
    result = setup.test_config()
    assert result.returncode == 0, result.stderr
    site = (tmp_path / "site.conf").read_text()
    assert re.findall(r"server (\S+) max_fails=2 fail_timeout=10s;", site) == ["127.0.0.1:8000", "127.0.0.1:8001"]


def test_nginx_accepts_the_rendered_tls_site(tmp_path):
    cert, key = self_signed_cert(tmp_path)
    setup = render_nginx(
        tmp_path / "ng", upstream="127.0.0.1:8000", upload_dir=tmp_path / "uploads", tls=True, cert=cert, key=key
    )
    result = setup.test_config()
    assert result.returncode == 0, result.stderr
    site = (tmp_path / "ng" / "site.conf").read_text()
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in site
    assert "return 301 https://$host$request_uri;" in site
    assert "ssl_reject_handshake on;" in site


def test_site_matches_the_app_limits_and_the_header_rules():
    site = SITE_TEMPLATE.read_text()
    assert "client_max_body_size @MAX_UPLOAD_MB@m;" in site
    assert "#for UPSTREAM\n    server @UPSTREAM@ max_fails=2 fail_timeout=10s;\n#endfor" in site
    assert "proxy_next_upstream error timeout http_502;" in site
    assert "limit_req_status 429;" in site
    assert "proxy_request_buffering on;" in site
    assert re.search(r"location \^~ /_protected/ \{\s*internal;", site)
    # Every location that adds a header includes the snippet (else it loses the others).
    for block in re.findall(r"location [^{]*\{[^}]*\}", site):
        if "add_header" in block or "return 4" in block:
            assert "sequoalpha-security-headers.conf" in block, block


# ---- systemd and Gunicorn -------------------------------------------------------------------


@pytest.fixture
def rendered_unit(tmp_path):
    unit = tmp_path / "sequoalpha.service"
    unit.write_text(render(UNIT_TEMPLATE, APP_DIR=REPO, UPLOAD_DIR=REPO / "backend" / "uploads"))
    return unit


@pytest.fixture(params=["sequoalpha.service", "sequoalpha-mail.service"])
def each_unit(request, tmp_path):
    """Both shipped units (the app's and the mail worker's), rendered."""
    unit = tmp_path / request.param
    unit.write_text(
        render(UNIT_TEMPLATE.with_name(request.param), APP_DIR=REPO, UPLOAD_DIR=REPO / "backend" / "uploads")
    )
    return unit


def test_systemd_verify(each_unit):
    analyze = require("systemd-analyze", "systemd")
    result = subprocess.run([analyze, "verify", str(each_unit)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert each_unit.name not in result.stderr, result.stderr  # no warning about our unit


def test_systemd_security_exposure_at_most_2(each_unit):
    rendered_unit = each_unit
    analyze = require("systemd-analyze", "systemd")
    result = subprocess.run(
        [analyze, "security", "--offline=yes", "--no-pager", str(rendered_unit)], capture_output=True, text=True
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout
    # The threshold check is systemd's own too (exit status non-zero above it).
    strict = subprocess.run(
        [
            analyze,
            "security",
            "--offline=yes",
            f"--threshold={int(MAX_EXPOSURE * 10)}",
            "--no-pager",
            str(rendered_unit),
        ],
        capture_output=True,
        text=True,
    )
    assert strict.returncode == 0, strict.stdout


def test_unit_contract(rendered_unit):
    unit = rendered_unit.read_text()
    for line in (
        "Type=notify",
        "User=sequoalpha",
        f"EnvironmentFile={REPO}/backend/.env",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "KillMode=mixed",
        "Restart=on-failure",
        "ProtectSystem=strict",
        f"ReadWritePaths={REPO}/backend/uploads",
        f"ExecStart={REPO}/backend/venv/bin/gunicorn --config {REPO}/deploy/gunicorn.conf.py",
    ):
        assert line in unit.splitlines(), line
    assert len(re.findall(r"^ReadWritePaths=", unit, re.M)) == 1


def test_mail_unit_contract(tmp_path):
    unit = render(UNIT_TEMPLATE.with_name("sequoalpha-mail.service"), APP_DIR=REPO).splitlines()
    app_unit = render(UNIT_TEMPLATE, APP_DIR=REPO, UPLOAD_DIR=REPO / "backend" / "uploads").splitlines()
    for line in (
        "User=sequoalpha",
        f"EnvironmentFile={REPO}/backend/.env",
        "Restart=on-failure",
        f"ExecStart={REPO}/backend/venv/bin/flask --app main mail worker",
        "RestartPreventExitStatus=78",
    ):
        assert line in unit, line
    # The same sandbox as the app's, less the uploads folder it has no business writing.
    sandbox = {
        line
        for line in app_unit[app_unit.index(next(entry for entry in app_unit if "Sandboxing" in entry)) :]
        if line and not line.startswith("#")
    }
    assert sandbox - set(unit) == {f"ReadWritePaths={REPO}/backend/uploads"}
    assert not any(line.startswith("ReadWritePaths=") for line in unit)


def test_gunicorn_config(monkeypatch):
    settings = {"__file__": str(GUNICORN_CONF)}
    monkeypatch.delenv("GUNICORN_BIND", raising=False)
    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    monkeypatch.delenv("RUNTIME_DIRECTORY", raising=False)
    exec(compile(GUNICORN_CONF.read_text(), str(GUNICORN_CONF), "exec"), settings)
    assert settings["bind"] == ["127.0.0.1:8000"]
    assert 3 <= settings["workers"] <= 12
    assert settings["timeout"] == 30 and settings["graceful_timeout"] > 0
    assert settings["max_requests"] > 0 and settings["max_requests_jitter"] > 0
    assert settings["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert settings["preload_app"] is False
    assert settings["accesslog"] == "-" and settings["errorlog"] == "-"
    assert settings["wsgi_app"] == "main:app"
