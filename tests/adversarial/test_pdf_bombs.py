"""PDF bombs: a small upload that inflates to hundreds of MB is refused (422) within a bound of
time and memory, by a parser run in a child process (sequoalpha.documents.pdf_check)."""

import os
import time

import pytest

from sequoalpha.documents.pdf_check import BoundExceeded, Bounds, CheckFailed, PdfFacts, pdf_facts, run_bounded
from support.documents import make_pdf, upload
from support.pdf_bombs import object_stream_bomb

QUICK = Bounds(seconds=3, memory_bytes=64 * 1024 * 1024, result_bytes=1024 * 1024)

pytestmark = pytest.mark.slow  # child processes held to their time bounds: seconds each


def test_an_object_stream_bomb_is_a_quick_422(client, admin_headers):
    """Found by an outside review: a 578 KB PDF whose object streams inflate to hundreds of MB
    took 36 s and 744 MB in validation (here, unbounded: 100 s and 680 MB)."""
    bomb = object_stream_bomb(pages=8, inflated_mb=70)
    assert len(bomb) < 1024 * 1024
    started = time.monotonic()
    response = upload(client, admin_headers, bomb, "bomb.pdf", title="Bomb")
    elapsed = time.monotonic() - started
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == 422 and "too complex" in body["message"]
    assert elapsed < 20, elapsed  # the bound is 10 s; Gunicorn's worker timeout is 30 s
    # A real PDF is still accepted afterwards.
    assert upload(client, admin_headers, make_pdf(pages=3), "fine.pdf", title="Fine").status_code == 201


def _magic_repeated(path):
    """An answer larger than its input: the child's result comes back whole."""
    with open(path, "rb") as pdf:
        return pdf.read(5) * 1000


def test_run_bounded_returns_the_result(tmp_path):
    path = tmp_path / "ok.pdf"
    path.write_bytes(make_pdf(pages=2))
    assert run_bounded(pdf_facts, str(path)) == PdfFacts(pages=2, locked=False)
    assert run_bounded(_magic_repeated, str(path)) == b"%PDF-" * 1000


def test_run_bounded_reports_what_the_function_raised(tmp_path):
    with pytest.raises(CheckFailed) as failed:
        run_bounded(lambda p: {}["missing"], str(tmp_path / "x"))
    assert failed.value.kind == "KeyError"


def _spin(_path):
    while True:
        pass


def _sleep(_path):
    time.sleep(60)


def _hog(_path):
    return b"x" * (1024 * 1024 * 1024)


def _huge_answer(_path):
    return "t" * (8 * 1024 * 1024)


@pytest.mark.parametrize(
    "func, reason", [(_spin, "time"), (_sleep, "time"), (_hog, "memory"), (_huge_answer, "result size")]
)
def test_run_bounded_stops_at_each_bound(tmp_path, func, reason):
    started = time.monotonic()
    with pytest.raises(BoundExceeded) as exceeded:
        run_bounded(func, str(tmp_path / "x"), QUICK)
    assert exceeded.value.reason == reason
    assert time.monotonic() - started < QUICK.seconds + 3


def test_the_child_is_reaped(tmp_path, monkeypatch):
    """Every child run_bounded forks is waited for, even one it had to kill: none is left a
    zombie. (Only its own children are looked at: the suite starts many other processes.)"""
    forked, real_fork = [], os.fork

    def fork():
        pid = real_fork()
        if pid:  # the parent's side
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    for _ in range(3):
        with pytest.raises(BoundExceeded):
            run_bounded(_sleep, str(tmp_path / "x"), Bounds(seconds=0.5))
    assert len(forked) == 3
    for pid in forked:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                state, parent = fh.read().split(")")[-1].split()[:2]
        except FileNotFoundError:
            continue  # reaped: gone
        assert not (state == "Z" and int(parent) == os.getpid()), f"child {pid} left a zombie"
