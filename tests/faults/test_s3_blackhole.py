"""S3 black hole: S3_ENDPOINT_URL points at a port that accepts connections and never answers
(the worst kind of outage: no error, only silence), under the real Gunicorn.

Uploads must still complete, locally, within 15 s each (storage.s3 false); downloads fall back
to the local copy with the same bytes; health says S3 is `unavailable` while the database is
fine. Then S3 comes back on the same address (moto's server), `flask storage sync` pushes what
is pending, `flask storage check` is clean, and downloads are presigned S3 URLs again: nothing
was lost.
"""

from __future__ import annotations

import time

import pytest

from support import figures
from support.common import wait_for
from support.documents import sha256
from support.gunicorn import Gunicorn
from support.s3 import BlackHole, FakeS3

from .support import deploy, pdf

UPLOAD_LIMIT = 15.0
BUCKET = "sequoalpha-blackhole"


@pytest.mark.slow
def test_uploads_and_downloads_survive_an_s3_black_hole(tmp_path, portal_database):
    hole = BlackHole()
    s3 = FakeS3(BUCKET)
    lost = 0
    try:
        portal = deploy(tmp_path, portal_database(), S3_BUCKET=BUCKET, S3_ENDPOINT_URL=hole.url)
        with Gunicorn(portal.env, tmp_path, workers=2).start(ready_path="/api/openapi.json") as server:
            portal.sign_in(server.url)
            files = {f"blackhole-{n}.pdf": pdf(f"black hole {n}") for n in range(2)}
            ids, slowest = {}, 0.0
            for name, content in files.items():
                started = time.monotonic()
                response = portal.upload(content, name, timeout=60)
                took = time.monotonic() - started
                slowest = max(slowest, took)
                assert response.status_code == 201, response.text
                body = response.json()
                assert body["storage"] == {"s3": False, "local": True}, body
                assert body["sha256"] == sha256(content)
                assert took < UPLOAD_LIMIT, f"upload took {took:.1f} s with S3 silent"
                ids[name] = body["id"]
            assert hole.accepted > 0, "the app never tried S3"

            served_locally = 0
            for name, document_id in ids.items():
                started = time.monotonic()
                response = portal.get(f"/api/documents/{document_id}/download", timeout=60)
                assert response.status_code == 200, (response.status_code, response.text[:200])
                assert sha256(response.content) == sha256(files[name])
                assert time.monotonic() - started < UPLOAD_LIMIT
                served_locally += 1

            health = portal.get("/api/health", timeout=60)
            assert health.status_code == 200, health.text
            assert health.json()["database"] == "ok"
            assert health.json()["storage"] == {"s3": "unavailable", "local": "ok", "mode": "fallback"}

            # S3 comes back, on the same address.
            hole.close()
            s3.port = hole.port
            s3.start()

            synced = portal.cli("storage", "sync")
            assert synced.returncode == 0, synced.stdout + synced.stderr
            assert f"{len(files)} pushed" in synced.stdout, synced.stdout
            checked = portal.cli("storage", "check")
            check_problems = 0 if checked.returncode == 0 else max(1, checked.stdout.count("\n") - 1)
            assert checked.returncode == 0 and "0 problem(s)" in checked.stdout, checked.stdout + checked.stderr
            stored = {obj["Key"] for obj in s3.client().list_objects_v2(Bucket=BUCKET).get("Contents", [])}
            assert len(stored) == len(files)

            # Once the workers' S3 probes expire (10 s), downloads are presigned S3 URLs again.
            def presigned(document_id):
                response = portal.get(f"/api/documents/{document_id}/download")
                return response.status_code == 302 and response.headers["Location"].startswith(s3.endpoint)

            for name, document_id in ids.items():
                wait_for(
                    lambda document_id=document_id: presigned(document_id), 30, "downloads from S3 again", interval=1
                )
                lost += sha256(portal.download(document_id)) != sha256(files[name])
            # Each worker believes its last S3 probe for 10 s: health says ok once they all re-probed.
            wait_for(
                lambda: portal.get("/api/health").json()["storage"]["s3"] == "ok",
                30,
                "health to report S3 ok",
                interval=1,
            )
    finally:
        hole.close()
        s3.stop()
    figures.add("faults", injected=1, requests=2 * len(files) + 1, lost=lost, documents_lost=lost)
    figures.add(
        "s3_blackhole",
        uploads=len(files),
        slowest_upload_ms=1000 * slowest,
        local_downloads=served_locally,
        synced=len(stored),
        check_problems=check_problems,
    )
    assert lost == 0
