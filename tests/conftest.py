"""The suite's fixtures live in tests/support (loaded here as plugins); this file also marks
whole directories with their tier, so that a new test file there is never in the quick tier by
accident (`pytest -m "not browser and not ops and not fault and not fuzz and not bench and not slow"`)."""

from pathlib import Path

import pytest

pytest_plugins = ["support.app", "support.mail", "support.s3"]

TESTS = Path(__file__).resolve().parent
DIRECTORY_MARKERS = {
    "browser": ("browser",),
    "ops": ("ops",),
    "faults": ("fault",),
    "bench_smoke": ("bench", "ops", "slow"),
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        try:
            top = Path(item.fspath).resolve().relative_to(TESTS).parts[0]
        except ValueError:
            continue
        for marker in DIRECTORY_MARKERS.get(top, ()):
            item.add_marker(getattr(pytest.mark, marker))
