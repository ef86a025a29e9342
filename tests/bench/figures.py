"""The figures of issue 7, each against a baseline measured in the same run.

Every throughput figure alternates with its baseline for `rounds` rounds (so slow drifts of the
machine's load hit both) and reports medians; the spread column is (max - min) / median over the
rounds of the figure, an honest measure of the noise.
"""

import contextlib
import json
import os
import re
import statistics
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import requests

from .dataset import MB, sized_pdf
from .loadgen import Downloaders, Result, Wrk, lua_script
from .services import REPO, BenchError, memory_of, worker_uss


@dataclass
class Row:
    key: str
    figure: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    ratio: float
    goal: str  # e.g. ">= 0.40", "<= 2.00", "<= +10 MB"
    passed: bool | None  # None: informational, no goal
    spread: str = ""
    notes: list[str] = field(default_factory=list)


def uploads_per_address() -> int:
    """The shipped site's cap on uploads in progress per address (`limit_conn sequoalpha_uploads`):
    the benchmark, one loopback address, stays under it."""
    site = (REPO / "deploy" / "nginx" / "sequoalpha.conf").read_text()
    found = re.search(r"limit_conn sequoalpha_uploads (\d+);", site)
    if found is None:
        raise BenchError("the site's upload cap changed shape; update tests/bench/figures.py")
    return int(found.group(1))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else float("nan")


def spread(values: list[float]) -> str:
    if len(values) < 2 or not median(values):
        return "1 round"
    return f"±{(max(values) - min(values)) / median(values) / 2 * 100:.0f}%"


def check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchError(message)


def download_paths(ids: list[int]) -> list[str]:
    return [f"/api/documents/{i}/download" for i in ids]


def errors_note(name: str, results: list[Result]) -> list[str]:
    total: dict[str, int] = {}
    for result in results:
        for kind, count in result.errors.items():
            total[kind] = total.get(kind, 0) + count
    return [f"{name}: {count} {kind} errors" for kind, count in total.items()]


class Figures:
    def __init__(self, bench):
        self.b = bench
        self.rows: list[Row] = []
        self.cpu: dict[str, dict[str, float]] = {}  # scenario -> process group -> CPU ms per request

    # ---- plumbing ------------------------------------------------------------------------

    def wrk(
        self, url: str, script: str, connections: int | None = None, seconds: float | None = None, name: str = "wrk"
    ) -> Wrk:
        return Wrk(
            self.b.workdir,
            url,
            script,
            seconds=seconds or self.b.seconds,
            connections=connections or self.b.connections,
            name=name,
        )

    def alternate(self, scenarios: dict) -> dict[str, list[Result]]:
        """Run each scenario (a callable taking seconds) once per round, in turn; a short
        warm-up of each before its first round."""
        results = {name: [] for name in scenarios}
        for round_no in range(self.b.rounds):
            for name, scenario in scenarios.items():
                if round_no == 0 and self.b.warmup:
                    self.b.settle()
                    scenario(self.b.warmup)
                self.b.settle()
                results[name].append(scenario(self.b.seconds))
        return results

    def plain(self, url: str, script, connections: int | None = None):
        """A wrk measurement of `url`. `script` is the Lua text, or a function making it when the
        scenario runs: a script holding a token must be made then (see Bench.token)."""

        def scenario(seconds):
            text = script() if callable(script) else script
            before = self.b.cpu.sample()
            result = self.wrk(url, text, connections, seconds).run()
            after = self.b.cpu.sample()
            result.cpu_ms = {name: (after[name] - before[name]) * 1000 / max(result.requests, 1) for name in after}
            return result

        return scenario

    def cpu_note(self, measured: dict[str, tuple[list[Result], tuple[str, ...]]]) -> str:
        """Where the time goes: CPU ms per request of each process group, for each scenario; also
        kept for the report's CPU table (one line per scenario, the first measurement wins)."""
        texts = []
        for name, (results, groups) in measured.items():
            ms = {group: median([r.cpu_ms.get(group, 0.0) for r in results]) for group in groups}
            self.cpu.setdefault(name, ms)
            texts.append(f"{name} " + " + ".join(f"{group} {value:.2f}" for group, value in ms.items()))
        return "CPU ms per request: " + "; ".join(texts)

    def auth(self, who: str) -> dict:
        return {"Authorization": f"Bearer {self.b.token(who)}"}

    def listing(self, who: str = "bench_client", connections: int | None = None):
        return self.plain(
            self.b.app_url + "/api/documents?page=1&per_page=25",
            lambda: lua_script(headers=self.auth(who)),
            connections,
        )

    def downloads(self, ids: list[int], who: str = "bench_client"):
        """A wrk measurement of the downloads of `ids` by `who`, each request the next in turn."""
        paths = download_paths(ids)
        return self.plain(self.b.app_url + paths[0], lambda: lua_script(paths=paths, headers=self.auth(who)))

    def check_local_download(self, doc_id: int, expected: bytes, what: str) -> None:
        """A download served by X-Accel-Redirect: straight at Gunicorn the app answers an empty
        200 naming the file; through Nginx it is a 200 with the file's bytes (and no such header)."""
        path = download_paths([doc_id])[0]
        r = requests.get(self.b.gunicorn_url + path, headers=self.auth("bench_client"), timeout=60)
        check(
            r.status_code == 200 and "X-Accel-Redirect" in r.headers and not r.content,
            f"{what} straight at Gunicorn: {r.status_code}, X-Accel-Redirect {r.headers.get('X-Accel-Redirect')}",
        )
        r = requests.get(self.b.app_url + path, headers=self.auth("bench_client"), allow_redirects=False, timeout=60)
        check(
            r.status_code == 200 and r.content == expected and "X-Accel-Redirect" not in r.headers,
            f"{what} through Nginx: {r.status_code}, {len(r.content)} bytes",
        )

    def add(self, row: Row, *result_lists: tuple[str, list[Result]]) -> Row:
        for name, results in result_lists:
            row.notes += errors_note(name, results)
        if any("errors" in note for note in row.notes):
            row.passed = False if row.passed is not None else None
        self.rows.append(row)
        return row

    # ---- 1, 2, and a small X-Accel download: the API against the hello app -----------------

    def api_against_hello(self) -> None:
        """The listing, the presigned download and the small X-Accel download, each against the
        hello app through the same Nginx + Gunicorn (the goal) and straight on Gunicorn (info)."""
        b = self.b
        r = requests.get(b.app_url + "/api/documents?page=1&per_page=25", headers=self.auth("bench_client"), timeout=30)
        check(r.status_code == 200 and len(r.json()["items"]) == 25, f"listing: {r.status_code} {r.text[:200]}")
        small = b.dataset.small_pdf.read_bytes()
        r = requests.get(
            f"{b.app_url}/api/documents/{b.client_s3_ids[0]}/download",
            headers=self.auth("bench_client"),
            allow_redirects=False,
            timeout=30,
        )
        check(
            r.status_code == 302 and r.headers["Location"].startswith(b.s3.endpoint),
            f"download of an S3 document: {r.status_code} {r.headers.get('Location')}",
        )
        fetched = requests.get(r.headers["Location"], timeout=30)
        check(fetched.status_code == 200 and fetched.content == small, f"the presigned URL gave {fetched.status_code}")
        self.check_local_download(b.dataset.small_local_ids[0], small, "X-Accel download of a small document")
        check(requests.get(b.hello_url + "/api/hello", timeout=10).json() == {"hello": "world"}, "hello app")

        check(
            requests.get(f"http://{b.hello.bind}/api/hello", timeout=10).json() == {"hello": "world"},
            "hello app on Gunicorn",
        )

        results = self.alternate(
            {
                "hello": self.plain(b.hello_url + "/api/hello", lua_script()),
                "hello-direct": self.plain(f"http://{b.hello.bind}/api/hello", lua_script()),
                "listing": self.listing(),
                "presign": self.downloads(b.client_s3_ids),
                "xaccel-small": self.downloads(b.dataset.small_local_ids),
            }
        )
        baselines = {
            "": ("hello app (bare Flask, same Gunicorn + Nginx)", "hello", ("hello", "nginx")),
            "-direct": ("hello app straight on Gunicorn (no Nginx)", "hello-direct", ("hello",)),
        }
        for key, figure, goal in (
            ("listing", f"GET /api/documents (page of 25 of {b.visible['bench_client']:,} visible), req/s", 0.30),
            ("presign", "GET /api/documents/<id>/download -> 302 presigned S3 URL, req/s", 0.40),
            (
                "xaccel-small",
                f"GET /api/documents/<id>/download -> X-Accel-Redirect, Nginx sends a {len(small):,}-byte "
                "local-only PDF, req/s",
                0.40,
            ),
        ):
            value = median([x.rps for x in results[key]])
            for suffix, (baseline, name, groups) in baselines.items():
                base = median([x.rps for x in results[name]])
                # The goals are against the same path (Nginx + Gunicorn); straight on Gunicorn is
                # what the proxy itself costs the baseline, for information.
                passed = ratio(value, base) >= goal if not suffix else None
                self.add(
                    Row(
                        key + suffix,
                        figure,
                        value,
                        "req/s",
                        baseline,
                        base,
                        ratio(value, base),
                        f">= {goal:.2f}" if not suffix else "(info)",
                        passed,
                        spread([x.rps for x in results[key]]) + f" ({name} {spread([x.rps for x in results[name]])})",
                        [
                            self.cpu_note(
                                {key: (results[key], ("app", "postgres", "nginx")), name: (results[name], groups)}
                            )
                        ],
                    ),
                    (key, results[key]),
                    (name, results[name]),
                )

    # ---- worker memory after warm-up ----------------------------------------------------

    def worker_memory(self) -> None:
        """Each worker's unique memory (USS: the pages no other process shares, i.e. what one
        more worker costs) after every worker has served the listing and both downloads."""
        b = self.b
        paths = download_paths(b.client_s3_ids)
        warm = [
            ("listing", b.app_url + "/api/documents?page=1&per_page=25", None),
            ("presign", b.app_url + paths[0], paths),
            ("xaccel", f"{b.app_url}/api/documents/{b.dataset.big_ids[0]}/download", None),
            ("hello", b.hello_url + "/api/hello", None),
        ]
        for name, url, cycle in warm:
            headers = None if name == "hello" else self.auth("bench_client")
            self.wrk(
                url, lua_script(paths=cycle, headers=headers), seconds=max(self.b.warmup, 2), name=f"warm-{name}"
            ).run()
        app, hello = worker_uss(b.app.worker_pids()), worker_uss(b.hello.worker_pids())
        check(app and hello, "no worker to measure")
        value, base = median(list(app.values())), median(list(hello.values()))
        row = Row(
            "worker-uss",
            "Gunicorn worker unique memory (USS) after warm-up, median of the workers, MB",
            value,
            "MB",
            "a hello app worker (bare Flask, same config)",
            base,
            value - base,
            "(info)",
            None,
            f"workers {min(app.values()):.1f}-{max(app.values()):.1f} MB",
        )
        row.notes.append(
            "USS per worker (Private_Clean + Private_Dirty of /proc/<pid>/smaps_rollup), MB: "
            + ", ".join(f"{pid} {mb:.1f}" for pid, mb in sorted(app.items()))
            + "; hello: "
            + ", ".join(f"{pid} {mb:.1f}" for pid, mb in sorted(hello.items()))
        )
        self.add(row)

    # ---- 3: X-Accel-Redirect against Nginx serving the same file ------------------------

    def xaccel_download(self) -> None:
        b = self.b
        doc_id, key = b.dataset.big_ids[0], b.dataset.big_keys[0]
        expected = b.dataset.big_pdf.read_bytes()
        url = b.app_url + download_paths([doc_id])[0]
        self.check_local_download(doc_id, expected, "X-Accel download")
        r = requests.get(f"{b.static_url}/{key}", timeout=60)
        check(r.status_code == 200 and r.content == expected, f"static file: {r.status_code}")
        connections = 4
        results = self.alternate(
            {
                "static": self.plain(f"{b.static_url}/{key}", lua_script(), connections),
                "xaccel": self.plain(url, lambda: lua_script(headers=self.auth("bench_client")), connections),
            }
        )
        static = median([x.mb_per_s for x in results["static"]])
        value = median([x.mb_per_s for x in results["xaccel"]])
        self.add(
            Row(
                "xaccel",
                f"10 MB local-only download via X-Accel-Redirect ({connections} clients), MB/s",
                value,
                "MB/s",
                "Nginx serving the same file",
                static,
                ratio(value, static),
                ">= 0.70",
                ratio(value, static) >= 0.70,
                spread([x.mb_per_s for x in results["xaccel"]]),
                [
                    self.cpu_note(
                        {
                            "X-Accel": (results["xaccel"], ("app", "postgres", "nginx")),
                            "static": (results["static"], ("nginx",)),
                        }
                    )
                ],
            ),
            ("xaccel", results["xaccel"]),
            ("static", results["static"]),
        )

    # ---- 4: the listing while 10 clients download 10 MB files ---------------------------

    def listing_during_downloads(self) -> None:
        b = self.b
        urls = [f"{b.app_url}/api/documents/{i}/download" for i in b.dataset.big_ids]
        counts = {"ok": 0, "bad": 0}

        def loaded(seconds):
            clients = Downloaders(b.cleanup, b.workdir, urls, b.token("bench_client"), b.download_rate)
            try:
                time.sleep(1.0)  # all ten transfers in flight
                return self.listing()(seconds)
            finally:
                ok, bad = clients.stop()
                counts["ok"] += ok
                counts["bad"] += bad

        results = self.alternate({"idle": self.listing(), "loaded": loaded})
        idle = median([x.rps for x in results["idle"]])
        value = median([x.rps for x in results["loaded"]])
        rate = f"{b.download_rate / MB:.0f} MB/s each" if b.download_rate else "full loopback speed"
        row = Row(
            "downloads",
            f"GET /api/documents while 10 clients download 10 MB files ({rate}), req/s",
            value,
            "req/s",
            "the same listing, idle",
            idle,
            ratio(value, idle),
            ">= 0.40",
            ratio(value, idle) >= 0.40,
            spread([x.rps for x in results["loaded"]]),
        )
        row.notes.append(
            f"downloads completed meanwhile: {counts['ok']}" + (f", {counts['bad']} failed" if counts["bad"] else "")
        )
        if counts["bad"]:
            row.passed = False
        self.add(row, ("loaded", results["loaded"]), ("idle", results["idle"]))

    # ---- 5: logins against the bcrypt ceiling; the listing while logins saturate --------

    def hashing_nice(self) -> int:
        """The CPU priority the app's workers hash at (their threads' nice values, from /proc;
        0 unless the app lowers it for bcrypt): the ceiling is timed at the same priority."""
        nice = 0
        for pid in self.b.app.worker_pids():
            for task in Path(f"/proc/{pid}/task").glob("*"):
                with contextlib.suppress(OSError, IndexError, ValueError):  # a thread may end meanwhile
                    nice = max(nice, int((task / "stat").read_text().rsplit(")", 1)[1].split()[16]))
        return nice

    def checkpw_seconds(self, samples: int, nice: int) -> list[float]:
        """One bcrypt.checkpw at the app's cost, timed `samples` times on every core at once (a
        thread per core, each at `nice`): on an idle host that is the time of one checkpw; on a
        shared one it sees the CPU the workers get, not a moment when one core happened to be free."""
        stored, password, times = self.b.password_hash.encode(), self.b.prehashed_password, []

        def run():
            if nice:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)  # this thread only
            for _ in range(samples):
                start = time.perf_counter()
                bcrypt.checkpw(password, stored)
                times.append(time.perf_counter() - start)

        threads = [threading.Thread(target=run) for _ in range(len(os.sched_getaffinity(0)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return times

    def logins(self) -> None:
        """Logins/s against the bcrypt ceiling (cores / one checkpw), and the listing while logins
        keep every core hashing. Logins are long requests, so they are counted by the server over
        a window of steady load (audit events `login`), not by wrk (which drops those in flight)."""
        b = self.b
        users = b.login_users
        bodies = [json.dumps({"username": u, "password": b.password}) for u in users]
        r = requests.post(
            f"{b.gunicorn_url}/api/login", json={"username": users[0], "password": b.password}, timeout=30
        )
        check(r.status_code == 200, f"login: {r.status_code} {r.text[:200]}")
        script = lua_script(
            method="POST", headers={"Content-Type": "application/json"}, paths=["/api/login"], bodies=bodies
        )
        # The flood goes through Nginx (its host-wide cap on sign-ins in progress is what is
        # measured); a refused client waits a second, as one told Retry-After would.
        flood_script = lua_script(
            method="POST",
            headers={"Content-Type": "application/json"},
            paths=["/api/login"],
            bodies=bodies,
            backoff_ms=1000,
        )
        cores = len(os.sched_getaffinity(0))
        flood = b.login_clients or b.workers  # as many sign-ins as there are workers: the most it does
        flooding = b.login_clients or 2 * b.workers  # more clients signing in than there are workers
        saturating = b.login_clients or cores + 1  # a sign-in per core and one waiting: every core hashing
        ramp = 2.0
        nice = self.hashing_nice()
        samples: list[float] = []

        def under_logins(name, clients, measure, through_nginx=False):
            def scenario(seconds):
                seconds = max(seconds, 2)  # a login takes most of a second under load
                if name == "logins":  # the ceiling is timed next to each logins/s measurement
                    samples.extend(self.checkpw_seconds(2, nice))
                if through_nginx:
                    background = Wrk(
                        b.workdir,
                        b.app_url + "/api/login",
                        flood_script,
                        seconds=seconds + ramp + 2,
                        connections=clients,
                        threads=clients,
                        name="login",
                    ).start()
                else:
                    background = self.wrk(
                        b.gunicorn_url + "/api/login", script, clients, seconds + ramp + 2, "login"
                    ).start()
                try:
                    time.sleep(ramp)
                    before, start = b.logins_done(), time.monotonic()
                    result = measure(seconds)
                    done, elapsed = b.logins_done() - before, time.monotonic() - start
                finally:
                    background_result = background.result()
                errors = dict(background_result.errors)
                if through_nginx:  # 503s are the cap answering, not failures
                    refused[name].append(errors.pop("status", 0) / max(background_result.seconds, 1e-9))
                seen[name].append(Result(requests=done, seconds=elapsed, bytes=0, errors=errors))
                return result

            return scenario

        seen: dict[str, list[Result]] = {"logins": [], "loaded": [], "flooded": []}
        refused: dict[str, list[float]] = {"flooded": []}
        results = self.alternate(
            {
                "logins": under_logins("logins", flood, time.sleep),
                "idle": self.listing(),
                "loaded": under_logins("loaded", saturating, self.listing()),
                "flooded": under_logins("flooded", flooding, self.listing(), through_nginx=True),
            }
        )
        one = statistics.median(samples)
        ceiling = cores / one
        alone = seen["logins"][-b.rounds :]  # not the warm-ups
        value = median([x.rps for x in alone])
        row = Row(
            "logins",
            f"POST /api/login ({flood} clients, direct to Gunicorn), logins/s",
            value,
            "logins/s",
            f"bcrypt ceiling: {cores} cores / checkpw {one * 1000:.0f} ms",
            ceiling,
            ratio(value, ceiling),
            ">= 0.80",
            ratio(value, ceiling) >= 0.80,
            spread([x.rps for x in alone]),
        )
        row.notes.append(
            "logins go straight to Gunicorn (Nginx throttles /api/login to 20/min per address by "
            "design) and are counted by the server over a window of steady load"
        )
        row.notes.append(
            f"checkpw timed {len(samples)} times, just before each logins/s round, on every core at "
            f"once at nice {nice} (the priority the app's workers hash at)"
        )
        self.add(row, ("logins", alone))
        idle = median([x.rps for x in results["idle"]])
        for key, name, clients, goal in (
            ("login-load", "loaded", saturating, 0.50),
            ("login-flood", "flooded", flooding, 0.50),
        ):
            value = median([x.rps for x in results[name]])
            meanwhile = seen[name][-b.rounds :]
            what = (
                "logins saturate the CPU"
                if key == "login-load"
                else f"more clients sign in than there are workers, through Nginx (cap {b.signin_slots})"
            )
            row = Row(
                key,
                f"GET /api/documents while {what} ({clients} login clients), req/s",
                value,
                "req/s",
                "the same listing, idle",
                idle,
                ratio(value, idle),
                f">= {goal:.2f}" if goal else "(info)",
                ratio(value, idle) >= goal if goal else None,
                spread([x.rps for x in results[name]]),
            )
            row.notes.append(f"logins/s meanwhile: {median([x.rps for x in meanwhile]):.1f}")
            if refused.get(name):
                row.notes.append(
                    f"sign-ins refused by Nginx's cap (JSON 503, then a 1 s wait) meanwhile: "
                    f"{median(refused[name][-b.rounds :]):.1f}/s; Nginx's per-address sign-in "
                    f"throttle is lifted in the benchmark's copy of the site (one loopback address)"
                )
            self.add(row, (name, results[name]), ("idle", results["idle"]), ("background logins", meanwhile))

    # ---- 6: listing latency with 10,000 visible against 10 visible ----------------------

    def latency_scaling(self) -> None:
        b = self.b
        results = self.alternate({"ten": self.listing("bench_ten", 1), "all": self.listing("bench_all", 1)})
        ten = median([x.p50_ms for x in results["ten"]])
        value = median([x.p50_ms for x in results["all"]])
        self.add(
            Row(
                "p50-scale",
                f"GET /api/documents p50 with {b.visible['bench_all']:,} visible (1 client), ms",
                value,
                "ms",
                f"p50 with {b.visible['bench_ten']} visible",
                ten,
                ratio(value, ten),
                "<= 2.00",
                ratio(value, ten) <= 2.0,
                spread([x.p50_ms for x in results["all"]]),
            ),
            ("all", results["all"]),
            ("ten", results["ten"]),
        )

    # ---- 7: a 50 MB upload through Nginx: the worker's peak RSS --------------------------

    def upload_memory(self) -> None:
        b = self.b
        size = b.max_upload_bytes - 64 * 1024  # the multipart envelope must fit Nginx's limit too
        big = sized_pdf(b.workdir / "upload-50mb.pdf", size)
        small = sized_pdf(b.workdir / "upload-2mb.pdf", 2 * MB)

        def upload(path: Path) -> int:
            done = subprocess.run(
                [
                    "curl",
                    "--silent",
                    "--show-error",
                    "--output",
                    "/dev/null",
                    "--write-out",
                    "%{http_code}",
                    "--header",
                    f"Authorization: Bearer {b.token('benchadmin')}",
                    "--form",
                    f"file=@{path};type=application/pdf",
                    "--form",
                    f"title=Benchmark upload {path.name}",
                    "--form",
                    "allow_duplicate=true",  # the same file again and again: a duplicate on purpose
                    f"{b.app_url}/api/admin/documents/upload",
                ],
                capture_output=True,
                text=True,
                timeout=300,
            )
            return int(done.stdout or 0)

        growths, peaks, idles = [], [], []
        for _ in range(max(1, b.rounds)):
            # Warm every worker on the upload path first (lazy imports, first S3 put), no more
            # uploads at once than Nginx lets one address make (the rest would be 503s).
            with ThreadPoolExecutor(min(b.workers, uploads_per_address())) as pool:
                for _ in range(2):
                    codes = list(pool.map(upload, [small] * b.workers))
                    check(all(c == 201 for c in codes), f"warm-up uploads answered {codes}")
            before = {}
            for pid in b.app.worker_pids():
                try:
                    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
                except OSError as exc:
                    raise BenchError(f"cannot reset the peak RSS of worker {pid}: {exc}") from exc
                before[pid] = memory_of(pid)
            code = upload(big)
            check(code == 201, f"50 MB upload answered {code}")
            deltas = {}
            for pid, mem in before.items():
                after = memory_of(pid)
                if mem and after:
                    deltas[pid] = (after["VmHWM"] - mem["VmRSS"], after["VmHWM"], mem["VmRSS"])
            check(deltas, "no worker survived the upload to be measured")
            growth, peak, idle = max(deltas.values())
            growths.append(growth / 1024)
            peaks.append(peak / 1024)
            idles.append(idle / 1024)
        worst = max(range(len(growths)), key=lambda i: growths[i])
        row = Row(
            "upload-rss",
            f"{size / MB:.1f} MiB PDF upload through Nginx: worker peak RSS, MB",
            peaks[worst],
            "MB",
            "the same worker's RSS just before",
            idles[worst],
            growths[worst],
            "<= +10 MB",
            growths[worst] <= 10,
            f"growth {min(growths):.1f}-{max(growths):.1f} MB" if len(growths) > 1 else "1 round",
        )
        row.notes.append("peak = VmHWM after the upload (reset to VmRSS just before via clear_refs)")
        self.add(row)
