"""The fault suite: each test owns a throwaway PostgreSQL cluster and the processes it starts
(tests/stack.py). Registers tests/figures.py (the end-of-run figures and the log scan)."""
import pytest

import figures
import stack


def pytest_configure(config):
    figures.register(config)


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL cluster for the fault tests that do not restart it; each test
    makes its own database in it (`pg_cluster.create_database()`)."""
    with stack.PostgresCluster() as cluster:
        yield cluster
