"""Load generators: wrk (Debian's wrk 4, driven by a generated Lua script that sets headers, method
and body, cycles through paths and reports its summary as one parseable line) and curl download
clients (10 clients fetching 10 MB files, optionally at a client's bandwidth)."""

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .services import BenchError, Cleanup, spawn, stop_process

WRK = shutil.which("wrk") or "/usr/bin/wrk"

LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %d %d %d %d %d %d %d %d %.0f %.0f %.0f %.0f\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
"""


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Lua string literal for our ASCII values


def lua_script(
    *,
    method: str = "GET",
    paths: list[str] | None = None,
    headers: dict | None = None,
    bodies: list[str] | None = None,
    backoff_ms: int = 0,
) -> str:
    """A wrk script: fixed method and headers; cycles through `paths` and `bodies` if several.
    `backoff_ms`: after a 503 (Nginx's cap), the connection waits that long before its next
    request, as a client told Retry-After would (run one wrk thread per connection)."""
    lines = [f"wrk.method = {lua_string(method)}"]
    if backoff_ms:
        lines.append(f"""local wait = 0
response = function(status, headers, body)
  if status == 503 then wait = {backoff_ms} else wait = 0 end
end
delay = function() return wait end""")
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    if bodies and len(bodies) == 1 and not (paths and len(paths) > 1):
        lines.append(f"wrk.body = {lua_string(bodies[0])}")
        bodies = None
    if (paths and len(paths) > 1) or bodies:
        paths = paths or [None]
        lines.append("local paths = {" + ", ".join(lua_string(p) if p else "nil" for p in paths) + "}")
        lines.append("local bodies = {" + ", ".join(lua_string(b) for b in bodies or []) + "}")
        lines.append("""local n = math.random(1, 1000)
request = function()
  n = n + 1
  local body = nil
  if #bodies > 0 then body = bodies[(n % #bodies) + 1] end
  return wrk.format(nil, paths[(n % #paths) + 1], nil, body)
end""")
    return "\n".join(lines) + "\n" + LUA_DONE


@dataclass
class Result:
    requests: int
    seconds: float
    bytes: int
    errors: dict = field(default_factory=dict)
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    mean_ms: float = 0.0
    cpu_ms: dict = field(default_factory=dict)  # CPU ms per request by process group (CpuMeter)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / 1e6 if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def parse(stdout: str) -> Result:
    for line in stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            v = [float(x) for x in line.split()[1:]]
            errors = dict(zip(("connect", "read", "write", "status", "timeout"), (int(x) for x in v[3:8]), strict=True))
            return Result(
                requests=int(v[0]),
                seconds=v[1] / 1e6,
                bytes=int(v[2]),
                errors={k: n for k, n in errors.items() if n},
                p50_ms=v[8] / 1000,
                p90_ms=v[9] / 1000,
                p99_ms=v[10] / 1000,
                mean_ms=v[11] / 1000,
            )
    raise BenchError(f"wrk printed no result:\n{stdout[-2000:]}")


class Wrk:
    """One wrk run; start() for a background load, run() for a measurement."""

    def __init__(
        self,
        workdir: Path,
        url: str,
        script: str,
        *,
        seconds: float,
        connections: int,
        threads: int = 1,
        name: str = "wrk",
    ):
        self.script_path = workdir / f"{name}-{time.monotonic_ns()}.lua"
        self.script_path.write_text(script)
        self.cmd = [
            WRK,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(seconds, 1):.0f}s",
            "--timeout",
            "30s",
            "-s",
            str(self.script_path),
            url,
        ]
        self.seconds = seconds
        self.proc = None

    def start(self) -> "Wrk":
        self.proc = subprocess.Popen(
            self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        return self

    def result(self) -> Result:
        try:
            out, _ = self.proc.communicate(timeout=self.seconds + 90)
        finally:
            if self.proc.poll() is None:
                stop_process(self.proc, timeout=2)
        return parse(out)

    def run(self) -> Result:
        return self.start().result()


class Downloaders:
    """`clients` curl processes, each downloading its URL over and over (keep-alive) at `rate`
    bytes/s (0 = as fast as loopback goes), until stopped; counts completed downloads (written
    to stderr, unbuffered, so that none is lost when the client is stopped)."""

    def __init__(self, cleanup: Cleanup, workdir: Path, urls: list[str], token: str, rate: int):
        self.procs: list[subprocess.Popen] = []
        self.outputs: list[Path] = []
        for n, url in enumerate(urls):
            config = workdir / f"curl-{n}-{time.monotonic_ns()}.conf"
            lines = [
                "silent",
                "show-error",
                f'header = "Authorization: Bearer {token}"',
                'write-out = "%{stderr}%{http_code} %{size_download}\\n"',
            ]
            if rate:
                lines.append(f"limit-rate = {rate}")
            for _ in range(2000):
                lines += [f'url = "{url}"', 'output = "/dev/null"']
            config.write_text("\n".join(lines) + "\n")
            config.chmod(0o600)  # it holds a token
            output = workdir / f"curl-{n}-{time.monotonic_ns()}.out"
            self.outputs.append(output)
            self.procs.append(spawn(cleanup, f"curl downloader {n}", ["curl", "--config", str(config)], output))

    def stop(self) -> tuple[int, int]:
        """Stop the clients; (completed downloads with 200, other answers)."""
        for proc in self.procs:
            stop_process(proc, timeout=5)
        ok = bad = 0
        for output in self.outputs:
            for line in output.read_text(errors="replace").splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0].isdigit():
                    if parts[0] == "200":
                        ok += 1
                    else:
                        bad += 1
        return ok, bad
