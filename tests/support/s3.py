"""S3 as the tests see it: moto's server on a loopback port (`FakeS3`, which can be stopped and
started again), a port that accepts connections and never answers (`BlackHole`, a hung S3), and
the fixtures of the API tests that use S3 (`moto_endpoint` for the run, `s3`: a fresh bucket the
app uses). Loaded as a plugin by tests/conftest.py."""

from __future__ import annotations

import logging
import socket
import threading
import uuid

import pytest

from .common import free_port

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
}


class FakeS3:
    """moto's server on a loopback port, with `bucket` made on the first start; stop() makes S3
    unreachable (connection refused) and start() brings it back on the same port and data."""

    def __init__(self, bucket: str | None = None):
        self.port = free_port()
        self.bucket = bucket
        self.server = None
        self._bucket_made = False

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeS3:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        if self.bucket and not self._bucket_made:
            self.client().create_bucket(Bucket=self.bucket)
            self._bucket_made = True
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server._server.server_close()  # stop() leaves the socket listening
            self.server = None

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def __enter__(self) -> FakeS3:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


class BlackHole:
    """Listens on a loopback port, accepts every connection and never sends a byte."""

    def __init__(self, port: int | None = None):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port or 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.held: list[socket.socket] = []
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="black-hole", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self.held.append(conn)  # never read, never answered

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self.held:
            conn.close()
        self.sock.close()

    def __enter__(self) -> BlackHole:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- fixtures of the API tests ------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 as a real HTTP server for the whole run (each test makes its own bucket).

    Its access log (Werkzeug's logger) would carry presigned URLs, signatures included, into
    the log records the suite scans for secrets: it is silenced while the server runs."""
    werkzeug_logger = logging.getLogger("werkzeug")
    level = werkzeug_logger.level
    werkzeug_logger.setLevel(logging.ERROR)
    try:
        with FakeS3() as server:
            yield server.endpoint
    finally:
        werkzeug_logger.setLevel(level)


@pytest.fixture
def aws_env(monkeypatch):
    """Credentials for moto only: nothing of the machine's AWS set-up is read."""
    from sequoalpha.documents import storage  # imported here: tests/bench imports this module without backend/

    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    storage._probes.clear()
    yield
    storage._probes.clear()


@pytest.fixture
def s3(moto_endpoint, aws_env, app):
    """A fresh bucket in moto, used by the app from now on (the stores read app.config).

    Yields a boto3 client of the test's own, to look at the bucket from outside."""
    import boto3

    bucket = f"sequoalpha-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    app.config.update(S3_BUCKET=bucket, S3_ENDPOINT_URL=moto_endpoint, AWS_REGION="us-east-1")
    client.bucket = bucket
    yield client
    client.close()
