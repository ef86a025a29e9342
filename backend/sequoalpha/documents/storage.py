"""Document stores behind one small interface: the local uploads folder and S3.

Both hold a document's bytes under its generated storage key and offer `put`, `exists`,
`sha256`, `delete` and `keys`; failures raise StorageError. S3 also presigns downloads; the
local store gives the path to serve. Bytes only: which document a key belongs to, and what its
row says, is documents/files.py's business. S3 clients are created once per process (per Gunicorn
worker) with short timeouts, and a reachability probe is remembered for PROBE_SECONDS, so a
dead S3 costs seconds, never a worker timeout.
"""

import base64
import hashlib
import os
import re
import threading
import time
import uuid
from pathlib import Path

from flask import current_app

from ..config import PRESIGN_MAX_SECONDS

KEY_PATTERN = re.compile(r"^[0-9a-f]{32}\.pdf$")
CHUNK_BYTES = 1024 * 1024
PROBE_SECONDS = 10.0  # how long an S3 reachability probe is believed
CONTENT_TYPE = "application/pdf"


class StorageError(RuntimeError):
    """A store could not do what was asked (unreachable, refused, disk error)."""


def _boto() -> None:
    """Import boto3 and botocore on first use of S3 (their names are module globals from then
    on): a worker with S3 off never loads them, about 15 MB and 0.5 s of import per process."""
    global boto3, Config, BotoCoreError, ClientError
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError


def new_key() -> str:
    """A generated storage key; the uploader's file name never reaches a path or an S3 key."""
    return uuid.uuid4().hex + ".pdf"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class LocalStore:
    """The uploads folder: every upload lands here first; the fallback while S3 is away."""

    name = "local"

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        if not KEY_PATTERN.fullmatch(key):
            raise StorageError(f"invalid storage key {key!r}")
        return self.folder / key

    def put(self, key: str, source: Path, sha256: str) -> None:
        """Move `source` (a file in the same folder, already hashed) into place."""
        try:
            os.replace(source, self.path(key))
        except OSError as exc:
            raise StorageError(f"local put of {key} failed: {exc.strerror}") from exc

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def sha256(self, key: str) -> str | None:
        """The stored bytes' sha256, or None when the file is missing."""
        path = self.path(key)
        try:
            return file_sha256(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"local read of {key} failed: {exc.strerror}") from exc

    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"local delete of {key} failed: {exc.strerror}") from exc

    def keys(self) -> set[str]:
        """Names of the stored files (dot-files such as .gitkeep and upload temporaries excluded)."""
        return {p.name for p in self.folder.iterdir() if p.is_file() and not p.name.startswith(".")}


_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()
_probes: dict[tuple, tuple[float, bool]] = {}


# Transfers: ≤ 2 attempts of (2 s connect + 5 s read); probes: one short attempt. A silent S3
# costs a probe (≤ 3 s, then remembered), at worst one transfer (measured 12 s, bounded by 17 s):
# never a worker timeout (30 s).
TRANSFER = {"connect_timeout": 2, "read_timeout": 5, "retries": {"mode": "standard", "total_max_attempts": 2}}
PROBE = {"connect_timeout": 1, "read_timeout": 2, "retries": {"mode": "standard", "total_max_attempts": 1}}


def _s3_client(endpoint: str | None, region: str, probe: bool = False):
    """One boto3 client per process, endpoint and purpose, created on first use (after Gunicorn
    forks, so no worker shares a connection pool)."""
    key = (os.getpid(), endpoint, region, probe)
    with _clients_lock:
        if key not in _clients:
            config = Config(
                signature_version="s3v4",
                # Custom endpoints (tests, S3-compatible stores) rarely resolve bucket hostnames.
                s3={"addressing_style": "path" if endpoint else "auto"},
                **(PROBE if probe else TRANSFER),
            )
            session = boto3.session.Session()
            _clients[key] = session.client("s3", region_name=region, endpoint_url=endpoint, config=config)
        return _clients[key]


class S3Store:
    """The S3 bucket: the document store proper; clients download from it by presigned URL."""

    name = "s3"

    def __init__(self, config: dict):
        _boto()
        self.bucket = config["S3_BUCKET"]
        self.endpoint = config["S3_ENDPOINT_URL"]
        self.region = config["AWS_REGION"]
        self.presign_seconds = min(int(config["S3_PRESIGN_SECONDS"]), PRESIGN_MAX_SECONDS)
        self._probe_key = (self.endpoint, self.bucket)

    @property
    def client(self):
        return _s3_client(self.endpoint, self.region)

    def _call(self, operation: str, **params) -> dict:
        """Call S3, unless the (cached) probe says it is unreachable: then fail at once."""
        if not self.available():
            raise StorageError(f"S3 {operation} skipped: S3 is unreachable")
        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **params)
        except BotoCoreError as exc:  # unreachable, timed out: believe it for a while
            _probes[self._probe_key] = (time.monotonic() + PROBE_SECONDS, False)
            raise StorageError(f"S3 {operation} failed: {exc}") from exc
        except ClientError as exc:
            raise StorageError(f"S3 {operation} failed: {exc}") from exc

    def put(self, key: str, source: Path, sha256: str) -> None:
        """Upload with server-side encryption; S3 verifies the body against our sha256."""
        with open(source, "rb") as body:
            self._call(
                "put_object",
                Key=key,
                Body=body,
                ContentType=CONTENT_TYPE,
                ServerSideEncryption="AES256",
                ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(),
                Metadata={"sha256": sha256},
            )

    def _head(self, key: str) -> dict | None:
        try:
            return self._call("head_object", Key=key, ChecksumMode="ENABLED")
        except StorageError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and cause.response["Error"]["Code"] in {"404", "NoSuchKey"}:
                return None
            raise

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def verify(self, key: str, size: int, sha256: str) -> None:
        """Re-read the object's size and sha256 from S3; StorageError unless both match."""
        head = self._head(key)
        if head is None:
            raise StorageError(f"S3 verify of {key} failed: the object is missing after its put")
        stored = self._head_sha256(head)
        if head.get("ContentLength") != size or stored != sha256:
            raise StorageError(
                f"S3 verify of {key} failed: {head.get('ContentLength')} bytes, sha256 {stored}"
                f" (expected {size} bytes, sha256 {sha256})"
            )

    def sha256(self, key: str) -> str | None:
        """The object's sha256 as S3 verified it on put, or None when the object is missing."""
        head = self._head(key)
        return None if head is None else self._head_sha256(head)

    @staticmethod
    def _head_sha256(head: dict) -> str:
        checksum = head.get("ChecksumSHA256", "")
        if checksum and "-" not in checksum:  # "-N" marks a multipart composite checksum
            return base64.b64decode(checksum).hex()
        return head.get("Metadata", {}).get("sha256", "")

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=key)

    def keys(self) -> set[str]:
        return set(self.listing())

    def listing(self) -> dict[str, float]:
        """Every object's key and its last-modified time (a Unix timestamp)."""
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
            return {obj["Key"]: obj["LastModified"].timestamp() for page in pages for obj in page.get("Contents", [])}
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 listing failed: {exc}") from exc

    def fetch(self, key: str, out) -> None:
        """Copy the object into the binary file `out`, in chunks."""
        self._call("download_fileobj", Key=key, Fileobj=out)

    def presign(self, key: str, content_disposition: str) -> str:
        """A SigV4 GET URL (≤ PRESIGN_MAX_SECONDS) whose response carries our Content-Type/Disposition."""
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentType": CONTENT_TYPE,
            "ResponseContentDisposition": content_disposition,
        }
        try:
            return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=self.presign_seconds)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"S3 presign failed: {exc}") from exc

    def available(self) -> bool:
        """Is the bucket reachable? Probed at most once per PROBE_SECONDS per worker."""
        now = time.monotonic()
        cached = _probes.get(self._probe_key)
        if cached and cached[0] > now:
            return cached[1]
        try:
            _s3_client(self.endpoint, self.region, probe=True).head_bucket(Bucket=self.bucket)
            ok = True
        except (BotoCoreError, ClientError) as exc:
            current_app.logger.warning("S3 bucket %s unavailable: %s", self.bucket, exc)
            ok = False
        _probes[self._probe_key] = (time.monotonic() + PROBE_SECONDS, ok)
        return ok


def s3_only() -> bool:
    """STORAGE_MODE=s3-only: S3 is the only store; the uploads folder only stages uploads."""
    return current_app.config.get("STORAGE_MODE", "fallback") == "s3-only"


def local_store() -> LocalStore:
    return LocalStore(current_app.config["UPLOAD_FOLDER"])


def s3_store() -> S3Store | None:
    """The S3 store, or None when S3_BUCKET is unset (S3 off)."""
    return S3Store(current_app.config) if current_app.config["S3_BUCKET"] else None


def storage_health() -> dict:
    """{"s3": "ok"|"disabled"|"unavailable", "local": "ok"|"unavailable", "mode"} for /api/health
    ("local" is the uploads folder: the fallback store, or in s3-only the staging area)."""
    folder = current_app.config["UPLOAD_FOLDER"]
    local = "ok" if os.path.isdir(folder) and os.access(folder, os.W_OK) else "unavailable"
    mode = current_app.config.get("STORAGE_MODE", "fallback")
    s3 = s3_store()
    if s3 is None:
        return {"s3": "disabled", "local": local, "mode": mode}
    return {"s3": "ok" if s3.available() else "unavailable", "local": local, "mode": mode}
