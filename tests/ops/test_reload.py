"""Zero downtime: while clients keep sending requests through Nginx, the Gunicorn master is sent
HUP three times (what `systemctl reload sequoalpha` / `./manage.sh reload` / update.sh do).

Gunicorn retires the old workers as soon as it has forked the new ones, so while the new ones
import the app (no preload) requests wait in the listen backlog: slower, never dropped."""

import os
import signal
import time

from support.common import wait_for

from .conftest import Traffic, record_measurement

RELOADS = 3


def test_three_hups_drop_no_request(stack):
    with Traffic(stack) as traffic:
        for _ in range(RELOADS):
            before = stack.worker_pids()
            os.kill(stack.gunicorn.pid, signal.SIGHUP)
            # The new generation is up and the old one has gone (graceful exit).
            wait_for(
                lambda before=before: (pids := stack.worker_pids()) and len(pids) == len(before) and not pids & before,
                60,
                "Gunicorn to replace its workers",
                interval=0.2,
            )
            time.sleep(1)
    assert stack.gunicorn.poll() is None, stack.gunicorn_log()[-2000:]
    report = f"reload: {RELOADS} HUPs, {traffic.summary()}"
    record_measurement(report)
    assert traffic.total >= 4 * RELOADS, report
    assert traffic.failures == [], f"{report}: {traffic.failures[:10]}"
