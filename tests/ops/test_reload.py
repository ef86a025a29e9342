"""Zero downtime: while clients keep sending requests through Nginx, the Gunicorn master is sent
HUP three times (what `systemctl reload sequoalpha` / `./manage.sh reload` / update.sh do).

Gunicorn retires the old workers as soon as it has forked the new ones, so while the new ones
import the app (no preload) requests wait in the listen backlog: slower, never dropped. The
clients' timeout is above Nginx's proxy_read_timeout (60 s), so a 504 would count as a failure."""
import os
import signal
import threading
import time
from collections import Counter

import pytest
import requests

from .conftest import REPO, wait_for

pytestmark = pytest.mark.ops

RELOADS = 3
CLIENTS = 4


def test_three_hups_drop_no_request(stack):
    token = stack.token
    stop = threading.Event()
    outcomes: Counter = Counter()
    failures: list = []
    slowest = [0.0]
    lock = threading.Lock()

    def client(n: int):
        session = requests.Session()
        paths = ["/api/health", "/api/documents?per_page=5", "/api/me", "/"]
        i = n
        while not stop.is_set():
            path = paths[i % len(paths)]
            i += 1
            started = time.monotonic()
            try:
                r = session.get(stack.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=90)
                ok = r.status_code == 200
                result = r.status_code
            except requests.RequestException as exc:
                ok, result = False, type(exc).__name__
            with lock:
                slowest[0] = max(slowest[0], time.monotonic() - started)
                outcomes["ok" if ok else "failed"] += 1
                if not ok:
                    failures.append((path, result))

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        for _ in range(RELOADS):
            before = stack.worker_pids()
            os.kill(stack.gunicorn.pid, signal.SIGHUP)
            # The new generation is up and the old one has gone (graceful exit).
            wait_for(lambda: (pids := stack.worker_pids()) and len(pids) == len(before) and not pids & before,
                     60, "Gunicorn to replace its workers", interval=0.2)
            time.sleep(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(100)
    assert stack.gunicorn.poll() is None, stack.gunicorn_log()[-2000:]
    total = outcomes["ok"] + outcomes["failed"]
    report = (f"reload: {RELOADS} HUPs, {total} requests by {CLIENTS} clients, {outcomes['failed']} failed, "
              f"slowest {slowest[0]:.1f} s\n")
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    with open(REPO / "test-artifacts" / "ops-measurements.txt", "a") as fh:
        fh.write(report)
    print(report)
    assert total >= 4 * RELOADS, report
    assert failures == [], f"{report}{failures[:10]}"
