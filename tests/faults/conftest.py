"""The fault suite: each test owns a throwaway PostgreSQL cluster and the processes it starts
(tests/support). Registers tests/support/figures.py (the end-of-run figures and the log scan)."""

import pytest

from support import figures
from support.gunicorn import app_env
from support.postgres import PostgresCluster

from .support import install


def pytest_configure(config):
    figures.register(config)


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL cluster for the fault tests that do not restart it; each test
    makes its own database in it (`pg_cluster.create_database()`)."""
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def portal_database(pg_cluster, tmp_path_factory):
    """Factory of installed databases: `portal_database()` -> (URL, admin password). The first
    is migrated with `flask db upgrade` and given its admin by `flask create-admin`; the others
    are copies of it (CREATE DATABASE … TEMPLATE), which saves a migration per test."""
    template = "sequoalpha_installed"
    url = pg_cluster.create_database(template)
    password = install(app_env(url, tmp_path_factory.mktemp("installed")))

    def new() -> tuple[str, str]:
        return pg_cluster.create_database(template=template), password

    return new
