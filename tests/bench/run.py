"""./manage.sh bench [--smoke] [options]: build the data set, start the production stack on loopback,
measure every figure of issue 7 against its same-run baseline, print the table, stop everything."""

import argparse
import base64
import hashlib
import json
import logging
import os
import platform
import secrets
import shutil
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import requests

from . import dataset
from .figures import Figures, Row
from .services import (
    REPO,
    BenchError,
    BenchUnavailable,
    Cleanup,
    CpuMeter,
    Nginx,
    app_env,
    cluster_possible,
    configured_workers,
    flask_cli,
    postmaster_pid,
    ready,
    signin_slots,
    start_cluster,
    start_gunicorn,
    start_s3,
    start_scratch_database,
    work_directory,
)

FIGURES = (
    "api_against_hello",
    "worker_memory",
    "xaccel_download",
    "listing_during_downloads",
    "logins",
    "latency_scaling",
    "upload_memory",
)
ROW_KEYS = (
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
)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="./manage.sh bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Exit status: 0 every figure was measured (met or not; with --strict 1 when a "
        "goal is missed), 2 a figure could not be measured, 3 this machine lacks a "
        "package or account the benchmark needs, 130 interrupted.",
    )
    p.add_argument(
        "--smoke", action="store_true", help="tiny data set, 1 s per figure, one round: checks the benchmark runs (CI)"
    )
    p.add_argument("--seconds", type=int, help="seconds per measurement (full: 8, smoke: 1)")
    p.add_argument("--rounds", type=int, help="rounds of figure/baseline alternation (full: 3, smoke: 1)")
    p.add_argument(
        "--download-rate",
        default="10M",
        help="bandwidth of each of the 10 download clients of figure 4, e.g. 10M (bytes/s); "
        "0 = as fast as loopback goes (default 10M = 80 Mbit/s)",
    )
    p.add_argument(
        "--login-clients",
        type=int,
        help="concurrent login clients of figure 5 (default: cores + 1 while the listing is "
        "measured, one per worker for logins/s and the flood)",
    )
    p.add_argument(
        "--database",
        choices=("auto", "cluster", "scratch"),
        default="auto",
        help="cluster: a throwaway PostgreSQL cluster (initdb, as postgres when root); scratch: a "
        "database created next to TEST_DATABASE_URL and dropped after; auto: cluster if possible",
    )
    p.add_argument("--only", action="append", choices=FIGURES, help="run only these figures (repeatable)")
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs) after the run")
    p.add_argument("--strict", action="store_true", help="exit status 1 when a goal is missed")
    return p.parse_args(argv)


# A token handed out must outlive its longest use (a 50 MB upload may take 300 s on a busy
# machine); the app's access tokens live 15 min, so this renews them every 5 min.
TOKEN_MARGIN = 600


def seconds_left(token: str) -> float:
    """Seconds until the JWT's `exp`; its payload is read, not verified (the app verifies it)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims["exp"] - time.time()


def size_arg(text: str) -> int:
    text = text.strip().upper()
    factor = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1:], 1)
    return int(float(text.rstrip("KMG")) * factor)


class Bench:
    """The running stack and what the figures need from it."""

    def __init__(self, args, cleanup: Cleanup, workdir: Path):
        self.cleanup = cleanup
        self.workdir = workdir
        self.smoke = args.smoke
        self.seconds = args.seconds or (1 if args.smoke else 8)
        self.rounds = args.rounds or (1 if args.smoke else 3)
        self.warmup = 0 if args.smoke else 2
        self.download_rate = size_arg(args.download_rate)
        self.scale = dataset.SMOKE if args.smoke else dataset.FULL
        self.password = "bench-" + secrets.token_urlsafe(16)
        self.prehashed_password = base64.b64encode(hashlib.sha256(self.password.encode()).digest())
        self._tokens: dict[str, str] = {}
        self.database_choice = args.database
        self.cluster = None
        self.login_clients = args.login_clients
        self.meta: dict = {}

    def log(self, message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    def database(self) -> str:
        choice = self.database_choice
        if choice == "auto":
            choice = "cluster" if cluster_possible() else "scratch"
        if choice == "cluster":
            if not cluster_possible():
                raise BenchUnavailable("no usable initdb/pg_ctl (apt-get install postgresql), or no postgres user")
            self.meta["database"] = "throwaway PostgreSQL cluster (initdb) on a loopback port"
            self.cluster = start_cluster(self.cleanup)
            return self.cluster.url()
        if not os.environ.get("TEST_DATABASE_URL"):
            raise BenchUnavailable("no PostgreSQL: install the server (initdb) or set TEST_DATABASE_URL")
        self.meta["database"] = "scratch database on TEST_DATABASE_URL's server (dropped after)"
        return start_scratch_database(self.cleanup)

    def start(self) -> None:
        for tool in ("wrk", "curl"):
            if shutil.which(tool) is None:
                raise BenchUnavailable(f"{tool} is not installed (apt-get install {tool})")
        started = time.monotonic()
        self.upload_dir = self.workdir / "uploads"  # made by work_directory()
        database_url = self.database_url = self.database()
        self.s3 = start_s3(self.cleanup)
        env = self.env = app_env(database_url, self.upload_dir, self.s3)
        if self.smoke and not os.environ.get("GUNICORN_WORKERS"):
            env["GUNICORN_WORKERS"] = "2"  # the config's override: a quicker boot; smoke figures mean nothing
        self.log(f"database ready ({time.monotonic() - started:.1f} s); migrating")
        flask_cli(env, "db", "upgrade")
        # Gunicorn and Nginx boot while the admin is made (bcrypt, cost 12) and the data set inserted.
        self.app, app_booting = start_gunicorn(self.cleanup, env, self.workdir, "/api/health")
        self.hello, hello_booting = start_gunicorn(
            self.cleanup, env, self.workdir, "/api/hello", app="hello:app", chdir=REPO / "tests" / "bench"
        )
        self.signin_slots = signin_slots(configured_workers(env))
        app_nginx = Nginx(
            self.cleanup,
            self.workdir / "nginx-app",
            self.app.bind,
            self.upload_dir,
            static_dir=self.upload_dir,
            signin_slots=self.signin_slots,
        )
        hello_nginx = Nginx(self.cleanup, self.workdir / "nginx-hello", self.hello.bind, self.upload_dir)
        self.app_url, self.hello_url, self.static_url = app_nginx.url, hello_nginx.url, app_nginx.static_url
        self.gunicorn_url = f"http://{self.app.bind}"
        flask_cli(
            env,
            "create-admin",
            "--username",
            "benchadmin",
            "--email",
            "benchadmin@bench.example",
            "--password-stdin",
            input=self.password + "\n",
        )
        self.log(
            f"building the data set ({self.scale.documents:,} documents, {self.scale.users} users, "
            f"{self.scale.groups} groups)"
        )
        self.dataset = dataset.build(database_url, self.upload_dir, self.scale)
        self.log(f"data set built ({time.monotonic() - started:.1f} s)")
        with psycopg.connect(database_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT password_hash FROM users WHERE id = 1")
            self.password_hash = cur.fetchone()[0]
            cur.execute("SELECT version()")
            self.meta["postgresql"] = cur.fetchone()[0].split(" on ")[0]
            cur.execute("SELECT username FROM users WHERE username LIKE 'user%%' ORDER BY id")
            self.login_users = [row[0] for row in cur.fetchall()]
        conn.close()
        ready(self.cleanup, self.app, app_booting)
        ready(self.cleanup, self.hello, hello_booting)
        app_nginx.wait("/api/health")
        hello_nginx.wait("/api/hello")
        self.workers = len(self.app.worker_pids())
        self.cpu = CpuMeter(
            {
                "app": [self.app.proc.pid],
                "hello": [self.hello.proc.pid],
                "nginx": [app_nginx.proc.pid, hello_nginx.proc.pid],
                "postgres": [postmaster_pid(self.cluster) if self.cluster else None],
            }
        )
        self.connections = 2 * self.workers
        self.max_upload_bytes = int(env["MAX_UPLOAD_MB"]) * 1024 * 1024

        self.visible = {}
        for who in ("bench_client", "bench_all", "bench_ten"):
            r = requests.get(f"{self.app_url}/api/documents?per_page=1", headers=self.auth_header(who), timeout=30)
            r.raise_for_status()
            self.visible[who] = r.json()["total"]
        self.client_s3_ids = self.s3_documents_of("bench_client", 20 if self.smoke else 100)
        s3 = self.s3.client()
        pdf = self.dataset.small_pdf.read_bytes()
        with psycopg.connect(database_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT storage_key FROM documents WHERE id = ANY(%s)", (self.client_s3_ids,))
            for (key,) in cur.fetchall():
                s3.put_object(Bucket=self.s3.bucket, Key=key, Body=pdf, ContentType="application/pdf")
        conn.close()
        self.meta["setup_seconds"] = round(time.monotonic() - started, 1)
        self.log(
            f"stack up in {self.meta['setup_seconds']} s: Nginx {self.app_url} (hello {self.hello_url}), "
            f"Gunicorn {self.app.bind} with {self.workers} workers; the client sees "
            f"{self.visible['bench_client']:,} documents"
        )

    def s3_documents_of(self, who: str, count: int) -> list[int]:
        """`count` small documents `who` sees that are in S3 (not the local-only ones)."""
        local_only = set(self.dataset.small_local_ids)
        ids, page = [], 1
        while len(ids) < count:
            r = requests.get(
                f"{self.app_url}/api/documents?per_page=100&page={page}", headers=self.auth_header(who), timeout=30
            )
            items = r.json()["items"]
            if not items:
                break
            ids += [
                d["id"]
                for d in items
                if d["kind"] == "file" and d["size_bytes"] < dataset.MB and d["id"] not in local_only
            ]
            page += 1
        return ids[:count]

    def settle(self, timeout: float = 60) -> None:
        """Wait until the app's workers are idle: a finished wrk run leaves requests in flight
        (a login takes a while), which must not be charged to the next measurement."""

        def ticks() -> int:
            total = 0
            for pid in self.app.worker_pids():
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    total += int(fields[11]) + int(fields[12])  # utime + stime
                except (OSError, IndexError, ValueError):
                    pass
            return total

        deadline = time.monotonic() + timeout
        last = ticks()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = ticks()
            if now - last <= 1:
                return
            last = now

    def logins_done(self) -> int:
        """Successful logins so far (the app audits each one)."""
        with psycopg.connect(self.database_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM audit_events WHERE action = 'login'")
            count = cur.fetchone()[0]
        conn.close()
        return count

    def token(self, username: str) -> str:
        """An access token with at least TOKEN_MARGIN seconds to live by its own `exp` (the wall
        clock the app checks), signed in directly at Gunicorn (Nginx throttles /api/login) when
        the cached one has less. Callers fetch it for each use (a wrk run, an upload), never
        once per figure: a figure on a busy machine can outlast a token."""
        token = self._tokens.get(username)
        if token is None or seconds_left(token) < TOKEN_MARGIN:
            r = requests.post(
                f"http://{self.app.bind}/api/login", json={"username": username, "password": self.password}, timeout=60
            )
            if r.status_code != 200:
                raise BenchError(f"login of {username}: {r.status_code} {r.text[:200]}")
            token = self._tokens[username] = r.json()["access_token"]
        return token

    def auth_header(self, username: str) -> dict:
        return {"Authorization": f"Bearer {self.token(username)}"}


# ---- the report ----------------------------------------------------------------------------


def machine() -> dict:
    model = "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return {
        "nproc": nproc,
        "cpu": model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def fmt(value: float, unit: str) -> str:
    if unit in ("req/s", "logins/s", "MB/s"):
        return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"
    return f"{value:.1f} {unit}"


def table(rows: list[Row]) -> str:
    header = ["id", "figure", "value", "baseline (same run)", "baseline value", "ratio", "goal", "result", "spread"]
    lines = []
    for row in rows:
        ratio = f"{row.ratio:+.1f} MB" if row.unit == "MB" else f"{row.ratio:.2f}"
        result = "info" if row.passed is None else ("pass" if row.passed else "FAIL")
        lines.append(
            [
                row.key,
                row.figure,
                fmt(row.value, row.unit),
                row.baseline,
                fmt(row.baseline_value, row.unit),
                ratio,
                row.goal,
                result,
                row.spread,
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    out = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    out += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) + " |" for line in lines]
    return "\n".join(out)


CPU_GROUPS = (("app", "Gunicorn workers"), ("hello", "hello workers"), ("postgres", "PostgreSQL"), ("nginx", "Nginx"))


def cpu_table(cpu: dict[str, dict[str, float]]) -> str:
    """Where the time goes: CPU ms per request of each group of processes, reaped ones included."""
    header = ["request"] + [title for _, title in CPU_GROUPS] + ["total"]
    lines = [
        [name] + [f"{ms[group]:.2f}" if group in ms else "-" for group, _ in CPU_GROUPS] + [f"{sum(ms.values()):.2f}"]
        for name, ms in cpu.items()
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    out = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |" for line in lines]
    return "\n".join(out)


def report(bench: Bench, rows: list[Row], failures: list[str], meta: dict, cpu: dict | None = None) -> str:
    m = meta["machine"]
    lines = [
        f"SequoAlpha benchmark ({'smoke' if bench.smoke else 'full'} run), {meta['finished']}, commit {meta['commit']}",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB RAM, Linux {m['kernel']}, "
        f"Python {m['python']}; load average {meta['load_before']} before, {meta['load_after']} after",
        f"Stack: Nginx (shipped site) -> Gunicorn (deploy/gunicorn.conf.py, {bench.workers} sync workers) -> Flask; "
        f"{meta.get('postgresql', 'PostgreSQL')} ({meta.get('database')}); moto as S3",
        f"Data: {bench.scale.documents:,} documents, {bench.scale.users} users, {bench.scale.groups} groups; "
        f"the client sees {bench.visible['bench_client']:,}. wrk: {bench.connections} connections unless said, "
        f"{bench.seconds} s per measurement, {bench.rounds} round(s), medians",
        "",
        table(rows),
    ]
    if cpu:
        lines += ["", "CPU ms per request (from /proc, medians of the rounds):", "", cpu_table(cpu)]
    notes = [f"- {row.key}: {note}" for row in rows for note in row.notes if not note.startswith("CPU ms")]
    if notes:
        lines += ["", "Notes:", *notes]
    if failures:
        lines += ["", "Figures that could not be measured:", *(f"- {f}" for f in failures)]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server runs in this process
    rows: list[Row] = []
    failures: list[str] = []
    workdir = None
    try:
        workdir = work_directory()
        with Cleanup() as cleanup:
            bench = Bench(args, cleanup, workdir)
            meta = {
                "workdir": str(workdir),
                "machine": machine(),
                "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
                "commit": git_commit(),
            }
            bench.meta = meta
            bench.start()
            figures = Figures(bench)
            for name in args.only or FIGURES:
                bench.log(f"measuring {name.replace('_', ' ')}")
                try:
                    getattr(figures, name)()
                except Exception as exc:
                    if not isinstance(exc, BenchError):
                        traceback.print_exc()
                    failures.append(f"{name}: {type(exc).__name__}: {exc}")
                    bench.log(f"{name} could not be measured: {exc}")
            rows = figures.rows
            meta["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
            meta["finished"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            print(report(bench, rows, failures, meta, figures.cpu), flush=True)
            meta["pids"] = cleanup.pids
            if args.json:
                args.json.write_text(
                    json.dumps(
                        {
                            "meta": meta,
                            "smoke": bench.smoke,
                            "visible": bench.visible,
                            "rows": [row.__dict__ for row in rows],
                            "cpu_ms": figures.cpu,
                            "failures": failures,
                        },
                        indent=2,
                    )
                )
    except BenchUnavailable as exc:
        print(f"bench: cannot run here: {exc}", file=sys.stderr)
        return 3
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; everything started has been stopped", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        return 2
    finally:
        if workdir is not None and args.keep:
            print(f"bench: work directory kept: {workdir}", file=sys.stderr)
        elif workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    if failures:
        return 2
    if args.strict and any(row.passed is False for row in rows):
        return 1
    return 0


def git_commit() -> str:
    done = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"
