"""The processes of a benchmark run, built on the test suites' helpers rather than twins of them:

tests/support (the fault and ops suites'): the throwaway PostgreSQL cluster, the Gunicorn runner,
the app's production environment, the Flask CLI, free ports, moto's S3 server, the shipped Nginx
site rendered on loopback ports and the scratch database next to TEST_DATABASE_URL.

What a benchmark adds: production durability for PostgreSQL (the suites turn fsync off), Gunicorn
running any app module (the hello baseline) with the worker count deploy/gunicorn.conf.py
computes, a static-file baseline server beside the site, and one cleanup list that stops every
process the run started whatever happens (an exception, Ctrl-C, SIGTERM).
"""

import contextlib
import os
import runpy
import signal
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))  # tests/support is imported as the suites import it

from support import common, gunicorn, postgres  # noqa: E402
from support.common import answers, free_port, wait_for, which  # noqa: E402
from support.gunicorn import GUNICORN_CONF  # noqa: E402
from support.nginx import production_like_dirs, render_nginx  # noqa: E402
from support.postgres import scratch_database  # noqa: E402
from support.s3 import FakeS3  # noqa: E402

REPO = common.REPO  # run.py's


class BenchError(RuntimeError):
    """The benchmark failed (a process that would not start, an answer that is wrong)."""


class BenchUnavailable(BenchError):
    """The benchmark cannot run on this machine: a tool, package or account is missing."""


def skips_as_errors(fn, *args, **kwargs):
    """The suites' helpers skip the calling test when a tool is missing; here that is an error."""
    try:
        return fn(*args, **kwargs)
    except pytest.skip.Exception as exc:
        raise BenchUnavailable(str(exc)) from None


# ---- cleanup -------------------------------------------------------------------------------


class Cleanup:
    """Stop actions, run last-in first-out exactly once; SIGINT/SIGTERM/SIGHUP unwind like Ctrl-C."""

    def __init__(self):
        self._actions: list[tuple[str, callable]] = []
        self.pids: list[int] = []  # every process started (the smoke test checks they are gone)

    def push(self, what: str, action) -> None:
        self._actions.append((what, action))

    def run(self) -> None:
        while self._actions:
            what, action = self._actions.pop()
            try:
                action()
            except Exception as exc:
                print(f"bench: stopping {what} failed: {exc}", file=sys.stderr)

    def __enter__(self):
        def unwind(signum, _frame):
            raise KeyboardInterrupt(f"signal {signum}")

        # SIGINT too: a background job starts with it ignored, and `kill -INT` must still stop the run.
        self._previous = {sig: signal.signal(sig, unwind) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        return self

    def __exit__(self, *exc):
        for sig in self._previous:  # a second Ctrl-C must not skip a stop
            signal.signal(sig, signal.SIG_IGN)
        try:
            self.run()
        finally:
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)
        return False


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop one child we started (it leads its own session): `sig`, then SIGKILL to its group."""
    if proc.poll() is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.send_signal(sig)
            proc.wait(timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of its own process group only
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def spawn(cleanup: Cleanup, what: str, cmd: list[str], log: Path, sig: int = signal.SIGTERM, **kw) -> subprocess.Popen:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, **kw
        )
    cleanup.push(what, lambda: stop_process(proc, sig))
    cleanup.pids.append(proc.pid)
    return proc


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def work_directory() -> Path:
    """The run's directory, laid out as tests/support/nginx.py lays out the server's: Nginx's workers (www-data)
    reach uploads/ only through its group; everything else in it is the run's own."""
    base, _uploads = skips_as_errors(production_like_dirs)
    return base


# ---- PostgreSQL ----------------------------------------------------------------------------


class DurableCluster(postgres.PostgresCluster):
    """tests/support/postgres.py's throwaway cluster with the server's default durability (fsync and
    synchronous commit on, as on the EC2 host): every download commits, and that is measured."""

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base}"
        self._run([self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start"])


def cluster_possible() -> bool:
    try:
        postgres.pg_tool("initdb")
        postgres.pg_tool("pg_ctl")
    except pytest.skip.Exception:
        return False
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False
    return True


def start_cluster(cleanup: Cleanup) -> DurableCluster:
    """A throwaway PostgreSQL cluster on a loopback port (the machine's server is not touched)."""
    cluster = skips_as_errors(DurableCluster)
    cleanup.push("PostgreSQL", cluster.close)
    cluster.start()
    return cluster


def postmaster_pid(cluster: DurableCluster) -> int | None:
    try:
        return int((cluster.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def start_scratch_database(cleanup: Cleanup) -> str:
    """A database created next to TEST_DATABASE_URL's (dropped at the end)."""
    url, drop = skips_as_errors(scratch_database, "sequoalpha_bench")
    cleanup.push("scratch database", drop)
    return url


# ---- S3 and the app ------------------------------------------------------------------------


def start_s3(cleanup: Cleanup) -> FakeS3:
    s3 = FakeS3("sequoalpha-bench")
    cleanup.push("moto S3", s3.stop)
    return s3.start()


def app_env(database_url: str, upload_dir: Path, s3: FakeS3) -> dict:
    """The production environment (deploy/env.example) pointed at this stack."""
    return gunicorn.app_env(
        database_url,
        upload_dir,
        MAX_UPLOAD_MB="50",
        S3_BUCKET=s3.bucket,
        S3_ENDPOINT_URL=s3.endpoint,
        S3_PRESIGN_SECONDS="300",
        X_ACCEL_PREFIX="/_protected/",
        TRUSTED_PROXIES="127.0.0.1",
    )


def flask_cli(env: dict, *args: str, input: str | None = None) -> str:
    done = gunicorn.flask_cli(env, *args, input=input, timeout=300)
    if done.returncode != 0:
        raise BenchError(f"flask {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def configured_workers(env: dict) -> int:
    """`workers` as deploy/gunicorn.conf.py computes it (2 x cores + 1, or GUNICORN_WORKERS)."""
    saved = os.environ.get("GUNICORN_WORKERS")
    try:
        if env.get("GUNICORN_WORKERS"):
            os.environ["GUNICORN_WORKERS"] = env["GUNICORN_WORKERS"]
        else:
            os.environ.pop("GUNICORN_WORKERS", None)
        return int(runpy.run_path(str(GUNICORN_CONF))["workers"])
    finally:
        if saved is None:
            os.environ.pop("GUNICORN_WORKERS", None)
        else:
            os.environ["GUNICORN_WORKERS"] = saved


def signin_slots(workers: int) -> int:
    """The site's cap on sign-ins in progress, as deploy_ec2.sh renders it for this machine."""
    cores = len(os.sched_getaffinity(0))
    return cores if cores < workers else max(workers - 1, 1)


def start_gunicorn(
    cleanup: Cleanup, env: dict, log_dir: Path, ready_path: str, app: str | None = None, chdir: Path | None = None
) -> tuple[gunicorn.Gunicorn, Future]:
    """tests/support/gunicorn.py's Gunicorn (the shipped config) with its configured number of workers;
    `app`/`chdir` run another module (the hello baseline) under the same config. It boots in
    the background (the caller inserts the data set meanwhile): `ready()` waits for it."""
    server = gunicorn.Gunicorn(env, log_dir, workers=configured_workers(env))
    if app:
        server.args += ["--chdir", str(chdir), app]
    server.bind = f"127.0.0.1:{server.port}"
    cleanup.push(f"Gunicorn ({app or 'main:app'})", server.stop)
    pool = ThreadPoolExecutor(1, thread_name_prefix="gunicorn-boot")
    booting = pool.submit(server.start, 120, ready_path)
    cleanup.push("a Gunicorn boot", lambda: (futures_wait([booting]), pool.shutdown()))  # before its stop
    return server, booting


def ready(cleanup: Cleanup, server: gunicorn.Gunicorn, booting: Future) -> gunicorn.Gunicorn:
    try:
        booting.result()
    except pytest.skip.Exception as exc:
        raise BenchUnavailable(str(exc)) from None
    except Exception as exc:
        raise BenchError(f"Gunicorn did not start: {exc}\n{server.log()[-3000:]}") from None
    cleanup.pids.append(server.proc.pid)
    return server


# ---- Nginx ---------------------------------------------------------------------------------


class Nginx:
    """The shipped site rendered for `upstream` (tests/support/nginx.py's render_nginx), plus, when `static_dir`
    is given, a baseline server on its own port serving that directory under /static/."""

    def __init__(
        self,
        cleanup: Cleanup,
        prefix: Path,
        upstream: str,
        upload_dir: Path,
        static_dir: Path | None = None,
        signin_slots: int = 2,
    ):
        if which("nginx") is None:
            raise BenchUnavailable("nginx is not installed (apt-get install nginx-light)")
        self.setup = render_nginx(prefix, upstream=upstream, upload_dir=upload_dir, signin_slots=signin_slots)
        # Every benchmark client shares one loopback address, which the per-address sign-in
        # throttle (20 a minute) would stop at once: it is lifted here, so that the host-wide cap
        # on sign-ins in progress is what a login flood meets (the figure measures that cap).
        site = self.setup.prefix / "site.conf"
        throttle = "limit_req zone=sequoalpha_login burst=10 nodelay;"
        if throttle not in site.read_text():
            raise BenchError("the site's sign-in throttle changed shape; update tests/bench/services.py")
        site.write_text(site.read_text().replace(throttle, "# (benchmark) " + throttle))
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
                raise BenchError("tests/support/nginx.py's nginx.conf changed shape; update tests/bench/services.py")
            self.setup.conf.write_text(
                conf.replace(site_include, f"{site_include}\n    include {prefix}/baseline.conf;")
            )
        checked = self.setup.test_config()
        if checked.returncode != 0:
            raise BenchError(f"nginx -t failed:\n{checked.stderr}")
        self.proc = spawn(
            cleanup,
            f"Nginx ({prefix.name})",
            self.setup.cmd("-g", "daemon off;"),
            prefix / "logs" / "stdout.log",
            sig=signal.SIGQUIT,
        )

    def wait(self, path: str, timeout: float = 30) -> None:
        wait_for(lambda: answers(self.url + path) or self.proc.poll() is not None, timeout, "Nginx")
        if self.proc.poll() is not None:
            raise BenchError(f"Nginx exited:\n{tail(self.setup.prefix / 'logs' / 'error.log')}")


class CpuMeter:
    """CPU seconds used by groups of our processes (each a parent and all its children, reaped
    ones included through the parent's cutime/cstime): Gunicorn masters, Nginx masters, the
    postmaster. Read from /proc, so it shows where a request's time goes, whatever else runs."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, groups: dict[str, list[int]]):
        self.groups = {name: [pid for pid in pids if pid] for name, pids in groups.items()}

    @classmethod
    def _of(cls, pid: int, with_reaped: bool) -> int:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0
        ticks = int(fields[11]) + int(fields[12])
        return ticks + (int(fields[13]) + int(fields[14]) if with_reaped else 0)

    def sample(self) -> dict[str, float]:
        out = {}
        for name, parents in self.groups.items():
            ticks = 0
            for parent in parents:
                ticks += self._of(parent, True)
                try:
                    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
                except OSError:
                    children = []
                ticks += sum(self._of(int(child), False) for child in children)
            out[name] = ticks / self.TICK
        return out


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


def worker_uss(pids: list[int]) -> dict[int, float]:
    """Each process's unique set size in MB: its private pages (smaps_rollup's Private_*), what
    stopping it would free; pages shared with the Gunicorn master (preloaded libraries) are not
    counted until a worker writes to them."""
    out = {}
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        kb = sum(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Private_"))
        out[pid] = kb / 1024
    return out
