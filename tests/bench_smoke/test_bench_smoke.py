"""The benchmark's smoke mode runs in CI so that tests/bench cannot rot: `./manage.sh bench --smoke`
must start the stack, measure every figure and print the whole table. Its ratios are not asserted:
a benchmark on a shared CI machine is not a timed test (the full run is on demand)."""

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROW_KEYS = [
    "listing",
    "listing-direct",
    "presign",
    "presign-direct",
    "xaccel-small",
    "xaccel-small-direct",
    "worker-uss",
    "xaccel",
    "downloads",
    "logins",
    "login-load",
    "login-flood",
    "p50-scale",
    "upload-rss",
]


def _postgres_available() -> bool:
    initdb = list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return bool(initdb) or bool(os.environ.get("TEST_DATABASE_URL"))


def test_smoke_run_prints_every_figure(tmp_path):
    for tool, package in (("nginx", "nginx-light"), ("wrk", "wrk"), ("curl", "curl")):
        if not (shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")):
            pytest.skip(f"{tool} is not installed (apt-get install {package})")
    if not _postgres_available():
        pytest.skip("no PostgreSQL: neither initdb nor TEST_DATABASE_URL")
    results = tmp_path / "bench.json"
    done = subprocess.run(
        [str(REPO / "manage.sh"), "bench", "--smoke", "--json", str(results)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode == 3:  # a package or account this machine lacks (the bench says which)
        pytest.skip(done.stderr.strip().splitlines()[-1])
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-5000:]}"

    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| id "))
    table = []
    for line in lines[start:]:  # the figures' table; the CPU table follows after a blank line
        if not line.startswith("|"):
            break
        if line.startswith("| "):
            table.append(line)
    assert table[0].split("|")[1].strip() == "id", done.stdout
    printed = [line.split("|")[1].strip() for line in table[1:]]
    assert printed == ROW_KEYS, done.stdout
    for line in table[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == 9 and all(cells[:8]), line  # figure, values, ratio, goal, result all present
        assert cells[7] in {"pass", "FAIL", "info"}, line

    report = json.loads(results.read_text())
    assert report["failures"] == []
    rows = {row["key"]: row for row in report["rows"]}
    assert list(rows) == ROW_KEYS
    for key, row in rows.items():
        assert math.isfinite(row["value"]) and math.isfinite(row["baseline_value"]), (key, row)
        assert row["baseline_value"] > 0, (key, row)
    cpu = report["cpu_ms"]
    assert {"listing", "presign", "xaccel-small", "hello", "hello-direct"} <= set(cpu), cpu
    assert "| request " in done.stdout, done.stdout  # the CPU table is printed
    assert report["visible"]["bench_ten"] == 10
    assert 0 < report["visible"]["bench_client"] < report["visible"]["bench_all"]

    # Everything the run started is gone: nothing runs from its work directory (Nginx, PostgreSQL),
    # and its work directory itself is removed.
    workdir = report["meta"]["workdir"]
    assert not Path(workdir).exists(), workdir
    leftovers = subprocess.run(["pgrep", "-f", workdir], capture_output=True, text=True).stdout.split()
    assert leftovers == [], f"processes left behind: {leftovers}"
    alive = [pid for pid in report["meta"]["pids"] if Path(f"/proc/{pid}").exists()]
    assert alive == [], f"Gunicorn/Nginx/curl processes of the run still alive: {alive}"
