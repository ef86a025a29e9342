"""PostgreSQL restarted under load: the real Gunicorn (shipped config) on the fault suite's
throwaway cluster (never the machine's server).

Three threads keep asking for the document list and the health page while the cluster is
stopped (`pg_ctl stop -m fast`: every connection is cut) for three seconds and started again.
During the outage every answer must be a JSON 503, quickly (no hang, no traceback, no 500);
within 5 s of the database accepting connections again every answer must be a 200, with the
same Gunicorn master (no restart).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
import requests

from support import figures
from support.gunicorn import Gunicorn

from .support import deploy

OUTAGE_SECONDS = 3.0
RECOVERY_LIMIT = 5.0
QUICK = 5.0  # an answer during the outage must come within this many seconds


@dataclass
class Answer:
    started: float
    ended: float
    path: str
    status: int | None  # None: no HTTP answer (timeout, connection error)
    json_error: bool  # a JSON body in the API's error shape (or the health shape)
    detail: str = ""


def _ask(url: str, path: str, headers: dict) -> Answer:
    started = time.monotonic()
    try:
        response = requests.get(url + path, headers=headers, timeout=15)
    except requests.RequestException as exc:
        return Answer(started, time.monotonic(), path, None, False, type(exc).__name__)
    ended = time.monotonic()
    try:
        body = response.json()
    except ValueError:
        body = None
    shaped = isinstance(body, dict) and (
        (body.get("code") == response.status_code and bool(body.get("message")))
        or (path == "/api/health" and body.get("database") in {"ok", "unavailable"})
    )
    return Answer(started, ended, path, response.status_code, shaped, response.text[:200])


@pytest.mark.slow
def test_postgres_restart_under_load(tmp_path, pg_cluster, portal_database):
    cluster = pg_cluster
    portal = deploy(tmp_path, portal_database())
    try:
        with Gunicorn(portal.env, tmp_path, workers=2) as server:
            portal.sign_in(server.url)
            master = server.proc.pid
            answers: list[Answer] = []
            stop = threading.Event()

            def load(path: str):
                while not stop.is_set():
                    answers.append(_ask(server.url, path, portal.auth))
                    time.sleep(0.05)

            threads = [
                threading.Thread(target=load, args=(path,), daemon=True)
                for path in ("/api/documents", "/api/documents?q=report", "/api/health")
            ]
            for thread in threads:
                thread.start()
            try:
                time.sleep(1.5)
                down_at = time.monotonic()
                cluster.stop("fast")
                stopped_at = time.monotonic()
                time.sleep(OUTAGE_SECONDS)
                # The server may accept connections a little before pg_ctl (-w) has seen it: the
                # outage ends, and recovery is timed from, the moment it is started.
                up_at = time.monotonic()
                cluster.start()
                time.sleep(RECOVERY_LIMIT + 2)
            finally:
                stop.set()
                for thread in threads:
                    thread.join(20)
            assert server.proc.poll() is None and server.proc.pid == master, "Gunicorn was restarted"
            assert len(server.worker_pids()) == 2
    finally:
        if not cluster.running():  # the cluster is shared with the other fault tests
            cluster.start()

    before = [a for a in answers if a.ended < down_at]
    outage = [a for a in answers if a.started > stopped_at and a.ended < up_at]
    after = [a for a in answers if a.started >= up_at]
    ok_again = [a.started for a in after if a.status == 200]
    # Recovered: the first success after the last failure (the database was back at up_at).
    last_failure = max((a.started for a in after if a.status != 200), default=up_at)
    recovered_at = min((t for t in ok_again if t >= last_failure), default=float("inf"))
    lost = [
        a
        for a in answers
        if a.status is None or (a.status >= 500 and a.status != 503) or (a.status != 200 and not a.json_error)
    ]
    slow = [a for a in outage if a.ended - a.started > QUICK]
    figures.add("faults", injected=1, requests=len(answers), lost=len(lost) + len(slow))
    figures.add(
        "pg_restart",
        outage_requests=len(outage),
        outage_503=sum(a.status == 503 for a in outage),
        slowest_ms=1000 * max((a.ended - a.started for a in outage), default=0),
        recovery_ms=1000 * max(recovered_at - up_at, 0),
    )

    assert before and all(a.status == 200 for a in before), [a for a in before if a.status != 200][:5]
    assert len(outage) >= 10, f"only {len(outage)} requests during the outage"
    assert all(a.status == 503 and a.json_error for a in outage), [a for a in outage if a.status != 503][:5]
    assert not slow, slow[:5]
    assert not lost, lost[:5]
    assert ok_again, "no request succeeded after the database came back"
    assert recovered_at - up_at <= RECOVERY_LIMIT, (
        f"still failing {recovered_at - up_at:.1f} s after the database returned",
        [a for a in after if a.status != 200][-5:],
    )
