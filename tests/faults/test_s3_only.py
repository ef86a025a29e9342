"""The fault tests of the fallback mode, in STORAGE_MODE=s3-only under the real Gunicorn (shipped
config) with moto's server as S3: 0 documents lost, 0 half-stored (a row without its object, an
object or a staging file left once `storage sync` has cleaned up).

- S3 down (connection refused, then moto stopped mid-run): every upload is a JSON 503 with
  Retry-After, and there is no row, no object, no file in the uploads folder.
- A worker SIGKILLed mid-upload (while the body arrives; while the upload is staged, checked and
  put): no row. What SIGKILL leaves (a staging file; an object put just before the kill, whose
  row never came) is reported by `storage check` and removed by `storage sync` once stale;
  afterwards check is clean and the bucket holds only documents that have rows.
- Concurrency: 12 uploads at once are all stored, each verified in S3, with no staging file left.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from support import figures
from support.common import free_port, wait_for
from support.documents import make_pdf, sha256
from support.gunicorn import Gunicorn
from support.s3 import FakeS3

from .support import deploy, pdf
from .test_worker_kill import _kill_mid_upload

BUCKET = "sequoalpha-s3only"  # + a suffix per test: moto's servers in one process share their buckets
UPLOADS = 12


def _objects(s3) -> dict[str, int]:
    return {o["Key"]: o["Size"] for o in s3.client().list_objects_v2(Bucket=s3.bucket).get("Contents", [])}


def _rows(portal) -> list[dict]:
    return portal.get("/api/admin/documents?per_page=100").json()["items"]


def _local(portal) -> list[str]:
    return sorted(p.name for p in portal.upload_dir.iterdir())


@pytest.mark.slow
def test_s3_down_refuses_uploads_and_stores_nothing(tmp_path, portal_database):
    refused = free_port()  # nothing listens here
    portal = deploy(
        tmp_path,
        portal_database(),
        STORAGE_MODE="s3-only",
        S3_BUCKET=BUCKET + "-down",
        S3_ENDPOINT_URL=f"http://127.0.0.1:{refused}",
    )
    answers = []
    with Gunicorn(portal.env, tmp_path, workers=2).start(ready_path="/api/openapi.json") as server:
        portal.sign_in(server.url)
        for n in range(3):
            answers.append(portal.upload(pdf(f"refused {n}"), f"refused-{n}.pdf", timeout=60))
        health = portal.get("/api/health").json()
        rows_while_down = _rows(portal)
    # S3 on a live address that then goes away: the probe said ok, the put fails.
    with FakeS3(BUCKET + "-gone") as s3:
        portal = deploy(
            tmp_path, portal_database(), STORAGE_MODE="s3-only", S3_BUCKET=s3.bucket, S3_ENDPOINT_URL=s3.endpoint
        )
        with Gunicorn(portal.env, tmp_path, workers=1) as server:
            portal.sign_in(server.url)
            stored = portal.upload(pdf("before"), "before.pdf")
            assert stored.status_code == 201, stored.text
            s3.stop()
            answers.append(portal.upload(pdf("gone"), "gone.pdf", timeout=60))
            rows_after = _rows(portal)
            s3.start()
            objects = _objects(s3)
    bad = [
        (r.status_code, r.headers.get("Retry-After"), r.text[:120])
        for r in answers
        if r.status_code != 503 or not r.headers.get("Retry-After") or r.json().get("code") != 503
    ]
    half_stored = (
        len(rows_while_down)
        + (len(rows_after) - 1)
        + (len(objects) - 1)
        + len([name for name in _local(portal) if name != ".gitkeep"])
    )
    figures.add("faults", injected=2, requests=len(answers) + 1, lost=0, documents_lost=0)
    figures.add("s3_only_down", refused=len(answers) - len(bad), half_stored=half_stored)
    assert not bad, bad
    assert health["storage"] == {"s3": "unavailable", "local": "ok", "mode": "s3-only"}
    assert rows_while_down == [] and [r["filename"] for r in rows_after] == ["before.pdf"]
    assert list(objects.values()) == [stored.json()["size_bytes"]]
    assert half_stored == 0


@pytest.mark.slow
def test_worker_killed_mid_upload_leaves_nothing_once_synced(tmp_path, portal_database):
    with FakeS3(BUCKET + "-kill") as s3:
        portal = deploy(
            tmp_path, portal_database(), STORAGE_MODE="s3-only", S3_BUCKET=s3.bucket, S3_ENDPOINT_URL=s3.endpoint
        )
        with Gunicorn(portal.env, tmp_path, workers=2) as server:
            portal.sign_in(server.url)
            for when, size in (("body", 3 * 1024 * 1024), ("storing", 12 * 1024 * 1024)):
                worker = _kill_mid_upload(
                    server, portal.token, make_pdf(size), f"killed-{when}.pdf", portal.upload_dir, when
                )
                wait_for(
                    lambda killed=worker: killed not in server.worker_pids() and len(server.worker_pids()) == 2,
                    30,
                    "the master to replace the killed worker",
                )
            rows_after_kills = _rows(portal)
            leftovers = [name for name in _local(portal) if name.startswith(".upload-")]
            orphans = set(_objects(s3))

            content = make_pdf(64 * 1024)
            response = portal.upload(content, "after.pdf")
            assert response.status_code == 201, response.text
            assert response.json()["storage"] == {"s3": True, "local": False}
            assert sha256(portal.download(response.json()["id"])) == sha256(content)

            # What SIGKILL left is reported, then removed by the operator's sync once stale.
            for name in leftovers:
                os.utime(portal.upload_dir / name, (time.time() - 7200, time.time() - 7200))
            reported = portal.cli("storage", "check", "--no-hash")
            synced = portal.cli("storage", "sync", "--orphans-older-than", "0")
            checked = portal.cli("storage", "check")
            objects = _objects(s3)
            local_after = [name for name in _local(portal) if name != ".gitkeep"]
    figures.add("faults", injected=2, requests=3, lost=0, documents_lost=0)
    figures.add(
        "s3_only_worker_kill",
        kills=2,
        staging_left=len(leftovers),
        orphan_objects=len(orphans),
        half_stored_after_sync=len(objects) - 1 + len(local_after),
    )
    assert rows_after_kills == []
    assert len(leftovers) <= 1, leftovers
    if leftovers or orphans:
        assert reported.returncode == 1, reported.stdout
        assert all(name in reported.stdout for name in leftovers) and all(key in reported.stdout for key in orphans)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert f"{len(orphans)} orphan object(s) removed" in synced.stdout, synced.stdout
    assert checked.returncode == 0 and "1 file document(s), 0 problem(s)" in checked.stdout, checked.stdout
    assert list(objects.values()) == [len(content)] and local_after == []


@pytest.mark.slow
def test_concurrent_uploads_are_all_stored_and_verified(tmp_path, portal_database):
    with FakeS3(BUCKET + "-concurrent") as s3:
        portal = deploy(
            tmp_path, portal_database(), STORAGE_MODE="s3-only", S3_BUCKET=s3.bucket, S3_ENDPOINT_URL=s3.endpoint
        )
        with Gunicorn(portal.env, tmp_path, workers=3) as server:
            portal.sign_in(server.url)
            files = {f"concurrent-{n:02}.pdf": make_pdf(48 * 1024 + n * 997) for n in range(UPLOADS)}
            start = threading.Barrier(UPLOADS)

            def send(item):
                name, content = item
                start.wait(30)
                return name, portal.upload(content, name, timeout=120)

            with ThreadPoolExecutor(max_workers=UPLOADS) as pool:
                uploaded = dict(pool.map(send, files.items()))
            failed = {name: (r.status_code, r.text[:200]) for name, r in uploaded.items() if r.status_code != 201}
            lost = sum(
                sha256(portal.download(r.json()["id"])) != sha256(files[name])
                for name, r in uploaded.items()
                if r.status_code == 201
            )
            rows = _rows(portal)
            checked = portal.cli("storage", "check")
            objects = _objects(s3)
            local_after = [name for name in _local(portal) if name != ".gitkeep"]
    figures.add("faults", injected=0, requests=2 * UPLOADS, lost=lost, documents_lost=lost)
    figures.add(
        "s3_only_concurrency", uploads=UPLOADS, failed=len(failed), objects=len(objects), staging_left=len(local_after)
    )
    assert not failed, failed
    assert lost == 0
    assert len(rows) == UPLOADS and all(r["storage"] == {"s3": True, "local": False} for r in rows)
    assert sorted(objects.values()) == sorted(len(c) for c in files.values())
    assert checked.returncode == 0 and "0 problem(s)" in checked.stdout, checked.stdout
    assert local_after == []
