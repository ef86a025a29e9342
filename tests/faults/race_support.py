"""Concurrent requests against one app: each thread has its own test client, app context and so
its own database session and connection; a barrier releases them together."""

import threading
from concurrent.futures import ThreadPoolExecutor


def at_once(app, requests: list, timeout: float = 30) -> list:
    """Send every `request(client)` at the same moment, one thread each; their responses in order."""
    start = threading.Barrier(len(requests))

    def send(request):
        client = app.test_client()
        start.wait(timeout)
        return request(client)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


class Counted:
    """A wrapper that counts its calls, and slows each by `delay` so that a race has room to show."""

    def __init__(self, fn, delay: float = 0.05):
        self.fn, self.delay, self.calls = fn, delay, 0
        self._lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        with self._lock:
            self.calls += 1
        threading.Event().wait(self.delay)
        return self.fn(*args, **kwargs)
